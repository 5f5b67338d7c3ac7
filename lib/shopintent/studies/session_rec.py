"""Notebook 08's section 8: every model under the session-rec protocol.

``sequential.protocol``'s split (Ludewig et al. 2021; session-rec) of the test sessions and the
most recent ``Settings.max_train_clicks`` training clicks (whole sessions; a sliding window's
last slice, so that the default run fits its time limit), at most ``max_test_sessions`` test
sessions (a seeded sample of whole sessions). Every model is chosen on the inner split (the
same rule applied to the training sessions: fitted on its training sessions, scored on its
test prefixes), then refitted on all training sessions with what it chose (its searched
point, its best epoch, item-kNN's decay, the hybrid's weight); its ``fit_seconds`` count both
fits. Rows: HR@20 and MRR@20 of the next click with 95% bootstrap intervals that resample whole
test sessions (the prefixes of one session are not independent), precision@20 and recall@20 of
all subsequent clicks, prediction milliseconds per prefix. Keys
``recs/session_rec/<model>/next_item/hr@20``... (``metrics``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from shopintent.evaluation.bootstrap import bootstrap_mean_ci
from shopintent.models.recommenders import registry
from shopintent.models.recommenders.sequential import protocol as sr
from shopintent.models.recommenders.sequential.data import NextItems
from shopintent.studies.session_models import (
    COLOURS,
    MEMORY,
    SEARCHED,
    Fitted,
    Settings,
    _sample,
    add_hybrid,
    fit_searched,
    hybrid,
    validation_sample,
    validation_scores,
)


def recent_clicks(
    events: pd.DataFrame, max_train_clicks: int, days: float, event_types=("view",)
) -> pd.DataFrame:
    """The clicks session-rec splits: every test session (its last click within ``days`` of the
    newest click, ``session_rec_split``'s rule) and the most recent training sessions (by
    their first click) holding at most ``max_train_clicks`` clicks (0: all), a sliding
    window's last slice; the cut-off is unchanged, as the newest click is kept."""
    clicks = events[events["item_id"].notna()]
    if event_types is not None and "event_type" in clicks:
        clicks = clicks[clicks["event_type"].isin(list(event_types))]
    if not max_train_clicks or len(clicks) <= max_train_clicks:
        return clicks
    ts = pd.to_datetime(clicks["ts"], utc=True)
    per = ts.groupby(clicks["session_id"].to_numpy()).agg(["min", "max", "size"])
    test = per["max"] > ts.max() - pd.Timedelta(days=days)
    train = per[~test].sort_values("min", ascending=False)
    kept = train.index[np.cumsum(train["size"].to_numpy()) <= max_train_clicks]
    return clicks[clicks["session_id"].isin(per.index[test].union(kept))]


def sample_test_sessions(data: sr.SessionRecData, limit: int, seed: int = 0) -> sr.SessionRecData:
    """``data`` with at most ``limit`` test sessions (a seeded sample of whole sessions)."""
    rows = _sample(len(data.test), limit, seed)
    if len(rows) == len(data.test):
        return data
    lengths = data.test.lengths[rows]
    clicks = (
        np.repeat(data.test.indptr[rows], lengths)
        + np.arange(lengths.sum())
        - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    test = data.test.take(rows)
    counts = {
        **data.counts,
        "test_sessions": len(test),
        "test_clicks": int(len(test.items)),
        "prefixes": int(np.maximum(test.lengths - 1, 0).sum()),
        "test_sessions_before_sampling": len(data.test),
    }
    return sr.SessionRecData(
        data.train,
        data.train_times,
        test,
        data.test_times[clicks],
        data.trained,
        data.protocol,
        counts,
        data.validation,
    )


def split(shop, settings: Settings, seed: int = 42) -> sr.SessionRecData:
    """The session-rec data of the run: the recent window, the time split and its inner
    validation split, the sampled test sessions."""
    clicks = recent_clicks(shop.events, settings.max_train_clicks, settings.days)
    data = sr.session_rec_data(clicks, shop.items, days=settings.days, validation=True)
    data = sample_test_sessions(data, settings.max_test_sessions, seed)
    return sr.SessionRecData(
        data.train,
        data.train_times,
        data.test,
        data.test_times,
        data.trained,
        data.protocol,
        {**data.counts, "clicks_in_window": len(clicks)},
        data.validation,
    )


def inner_validation(data: sr.SessionRecData, limit: int, seed: int = 0) -> NextItems:
    """The inner split's test prefixes as validation rows (at most ``limit``)."""
    inner = data.validation
    return validation_sample(
        sr.all_prefixes(inner.test, inner.test_times).next_items(), limit, seed
    )


def per_prefix(lists: np.ndarray, prefixes: sr.Prefixes, k: int = 20) -> dict[str, np.ndarray]:
    """Per prefix: the next click's hit@k and reciprocal rank, the subsequent clicks' precision@k
    and recall@k (``protocol``'s definitions; their means are ``session_rec_metrics``)."""
    top = lists[:, :k]
    hit_at = top == prefixes.targets[:, None]
    rank = np.where(hit_at.any(axis=1), hit_at.argmax(axis=1) + 1, 0)
    sub = prefixes.subsequent
    rows = np.repeat(np.arange(len(top)), k)
    flat = top.ravel()
    found = np.zeros(len(flat))
    ok = flat >= 0
    found[ok] = np.asarray(sub[rows[ok], flat[ok]]).ravel()
    common = found.reshape(top.shape).sum(axis=1)
    return {
        "hr": (rank > 0).astype(np.float64),
        "mrr": np.where(rank > 0, 1.0 / np.maximum(rank, 1), 0.0),
        "precision": common / k,
        "recall": common / np.maximum(prefixes.n_subsequent, 1),
    }


def row(
    name: str,
    model,
    data: sr.SessionRecData,
    fit_seconds: float,
    k: int = 20,
    n_boot: int = 1000,
    seed: int = 42,
) -> dict:
    """One model's session-rec row: HR@k and MRR@k of the next click with 95% intervals over
    whole test sessions, precision@k and recall@k of all subsequent clicks, fit seconds and
    prediction milliseconds per prefix."""
    prefixes = sr.all_prefixes(data.test, data.test_times)
    start = time.perf_counter()
    lists = sr.session_rec_lists(model, prefixes, data.trained, k)
    ms = 1000 * (time.perf_counter() - start) / max(len(prefixes), 1)
    values = per_prefix(lists, prefixes, k)
    row: dict = {"model": name}
    for metric, key in (("hr", f"next_item/hr@{k}"), ("mrr", f"next_item/mrr@{k}")):
        ci = bootstrap_mean_ci(values[metric], groups=prefixes.session, n_boot=n_boot, seed=seed)
        row |= {key: ci.point, f"{key}_low": ci.low, f"{key}_high": ci.high}
    row[f"all_subsequent/precision@{k}"] = float(values["precision"].mean())
    row[f"all_subsequent/recall@{k}"] = float(values["recall"].mean())
    row |= {"fit_seconds": round(fit_seconds, 2), "predict_ms": round(ms, 3)}
    return row


def fit(
    data: sr.SessionRecData,
    settings: Settings,
    net_settings,
    profile: str,
    item_vectors=None,
    seed: int = 42,
    log=print,
) -> tuple[Fitted, Fitted]:
    """Every model under session-rec: chosen on the inner split (fitted on its training
    sessions, scored on its test prefixes), then refitted on all training sessions with what it
    chose. Returns (inner, final): ``final.seconds`` count both fits."""
    from dataclasses import asdict

    from shopintent.studies.sequential_recommender import LEARNING_RATES

    inner, final = Fitted(), Fitted()
    val = inner_validation(data, settings.max_val_prefixes, seed)
    itrain = data.validation.train
    # popularity: nothing to choose
    start = time.perf_counter()
    final.models["popularity"] = registry.create("sequence_popularity").fit(data.train)
    final.seconds["popularity"] = time.perf_counter() - start
    # item-kNN: its decay on validation, then all sessions with that decay
    start = time.perf_counter()
    knn = registry.create("session_item_knn").fit(itrain, val)
    final.models["item_knn"] = registry.create("session_item_knn", decay=knn.decay_).fit(data.train)
    final.seconds["item_knn"] = time.perf_counter() - start
    final.points["item_knn"] = {"decay": knn.decay_}
    fit_searched(
        itrain, val, settings, profile, data.validation.train_times, seed=seed, log=log, into=inner
    )
    for name in SEARCHED:
        start = time.perf_counter()
        point = dict(inner.points[name])
        if name in MEMORY:
            model = registry.create(name, **point).fit(data.train, times=data.train_times)
        else:
            epochs = max(int(inner.models[name].info.get("best_epoch") or 1), 1)
            point["epochs"] = epochs
            params = {**point, "patience": None, "seed": seed}
            model = registry.create(name, **params).fit(data.train)
        final.models[name], final.points[name] = model, point
        final.seconds[name] = inner.seconds[name] + time.perf_counter() - start
    cfg = asdict(net_settings)
    for name in ("lstm", "self_attention"):
        start = time.perf_counter()
        params = {"learning_rate": LEARNING_RATES[name], "seed": seed, **cfg}
        first = registry.create(name, **params).fit(itrain, val, item_vectors=item_vectors, log=log)
        inner.models[name] = first
        epochs = max(int(first.info.get("best_epoch") or 1), 1)
        params["epochs"] = epochs
        final.models[name] = registry.create(name, **params).fit(
            data.train, item_vectors=item_vectors
        )
        final.points[name] = {"epochs": epochs}
        final.seconds[name] = time.perf_counter() - start
    inner.val_scores.update(
        validation_scores({n: inner.models[n] for n in ("lstm", "self_attention")}, val)
    )
    add_hybrid(inner, itrain, val, log)
    if inner.hybrid_parts:
        a, b = inner.hybrid_parts
        start = time.perf_counter()
        final.models["hybrid"] = hybrid(
            final.models[a],
            final.models[b],
            (a, b),
            data.train,
            None,
            weight=inner.models["hybrid"].weight_,
        )
        final.seconds["hybrid"] = (
            inner.seconds["hybrid"]
            - inner.seconds.get(a, 0)
            - inner.seconds.get(b, 0)
            + final.seconds[a]
            + final.seconds[b]
            + time.perf_counter()
            - start
        )
        final.points["hybrid"] = inner.points["hybrid"]
        final.hybrid_parts = inner.hybrid_parts
    final.tables, final.val_scores = inner.tables, inner.val_scores
    return inner, final


def metrics(rows: list[dict], data: sr.SessionRecData, points: dict) -> dict:
    """``recs/session_rec/<model>/<task>/<metric>`` (+ ``_low`` / ``_high``), fit seconds and
    prediction ms per prefix, the chosen numeric parameters, and the data counts."""
    out: dict = {f"recs/session_rec/protocol/{_slug(data.protocol)}": 1}
    for row in rows:
        name = row["model"]
        for key, value in row.items():
            if key != "model" and value is not None:
                out[f"recs/session_rec/{name}/{key}"] = float(value)
    for name, point in points.items():
        for key, value in (point or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[f"recs/session_rec/{name}/chosen/{key}"] = float(value)
    for key, value in data.counts.items():
        if isinstance(value, int | float):
            out[f"recs/session_rec/data/{key}"] = value
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text.lower()).strip("-")


def table(rows: list[dict]) -> pd.DataFrame:
    """Rows as a table, best HR@20 first."""
    return pd.DataFrame(rows).set_index("model").sort_values("next_item/hr@20", ascending=False)


def figure(table: pd.DataFrame, title: str) -> go.Figure:
    """HR@20 per model with its 95% interval over test sessions, best first."""
    t = table.reset_index()
    fig = go.Figure()
    fig.add_bar(
        x=t["model"],
        y=t["next_item/hr@20"],
        marker_color=[COLOURS.get(m, "#555555") for m in t["model"]],
        error_y={
            "type": "data",
            "symmetric": False,
            "array": t["next_item/hr@20_high"] - t["next_item/hr@20"],
            "arrayminus": t["next_item/hr@20"] - t["next_item/hr@20_low"],
        },
    )
    fig.update_layout(
        title=title, yaxis_title="HR@20 (95% interval over test sessions)", height=380
    )
    return fig
