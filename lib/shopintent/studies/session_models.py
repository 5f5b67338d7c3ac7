"""Notebook 08's session models and its second protocol: SR, the session-kNN family (SKNN,
V-SKNN, STAN, VSTAN), GRU4Rec and the hybrid, chosen on validation, next to popularity,
item-kNN, the LSTM and self-attention, under leave-last-out and under session-rec.

- Search (``search``): each registered session model starts at its published defaults and is
  chosen on validation NDCG@10 (``memory.tune_on_validation``) over the profile's registered
  grid, ``Settings.search_points`` points drawn from it at random besides the defaults (the
  grids hold 18 to 384 points; the time limit holds a few), scored on at most
  ``max_val_prefixes`` validation prefixes (a seeded sample).
- Hybrid (``hybrid``): the neighbourhood model and the neural model with the best validation
  NDCG@10 (the test is never read to pick them), min-max normalised per row and mixed with a
  weight chosen on the same validation prefixes (``sequential.hybrid``).
- Session-rec (``session_rec_fit``, ``session_rec_table``): ``sequential.protocol``'s split of
  the most recent ``max_clicks`` clicks (whole sessions; a sliding window's last slice, so the
  default run fits the time limit), at most ``max_test_sessions`` test sessions (a seeded
  sample of whole sessions); every model is chosen on the inner split (the same rule applied
  to the training sessions) and refitted on all training sessions with what it chose (its
  parameters, its epoch, the hybrid's weight). Intervals resample whole test sessions: the
  prefixes of one session are not independent.

Every model carries its fitting seconds (search and refit included: what choosing it cost)
and its prediction milliseconds per test prefix (lists for all test prefixes, in batches).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.evaluation.bootstrap import bootstrap_mean_ci
from shopintent.models.recommenders import registry
from shopintent.models.recommenders.sequential import protocol as sr
from shopintent.models.recommenders.sequential.base import validation_ndcg
from shopintent.models.recommenders.sequential.data import NextItems, Sequences
from shopintent.studies.settings import StudySettings

#: the memory models (no training but remembering the sessions), registry names
MEMORY = ("sr", "sknn", "vsknn", "stan", "vstan")
NEIGHBOURHOOD = ("sknn", "vsknn", "stan", "vstan")
NEURAL = ("gru4rec", "lstm", "self_attention")
SEARCHED = (*MEMORY, "gru4rec")
COLOURS = {
    "sr": "#b5838d",
    "sknn": "#264653",
    "vsknn": "#287271",
    "stan": "#8ab17d",
    "vstan": "#e9c46a",
    "gru4rec": "#f4a261",
    "hybrid": "#d62828",
}


@dataclass(frozen=True)
class Settings(StudySettings):
    """``search_points``: grid points drawn per memory model besides its defaults,
    ``gru4rec_points`` the same for GRU4Rec, ``gru4rec_epochs`` its epoch limit (early
    stopping on validation decides), ``max_val_prefixes`` validation prefixes scored per point;
    session-rec: ``days`` of test, ``max_clicks`` most recent clicks used, ``max_test_sessions``
    sampled test sessions (0: no limit)."""

    search_points: int
    gru4rec_points: int
    gru4rec_epochs: int
    max_val_prefixes: int
    days: float
    max_clicks: int
    max_test_sessions: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {
            "search_points": 0,
            "gru4rec_points": 0,
            "gru4rec_epochs": 2,
            "max_val_prefixes": 500,
            "days": 7,
            "max_clicks": 20_000,
            "max_test_sessions": 300,
        },
        "default": {
            "search_points": 3,
            "gru4rec_points": 0,
            "gru4rec_epochs": 4,
            "max_val_prefixes": 1000,
            "days": 7,
            "max_clicks": 60_000,
            "max_test_sessions": 600,
        },
        "full": {
            "search_points": 20,
            "gru4rec_points": 10,
            "gru4rec_epochs": 10,
            "max_val_prefixes": 0,
            "days": 7,
            "max_clicks": 0,
            "max_test_sessions": 0,
        },
    }


def _sample(n: int, limit: int, seed: int) -> np.ndarray:
    """Sorted row positions: all ``n``, or ``limit`` of them drawn without replacement."""
    if not limit or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, int(limit), replace=False))


def validation_sample(val: NextItems, limit: int, seed: int = 0) -> NextItems:
    """At most ``limit`` validation prefixes (a seeded sample; 0: all): what searches score."""
    rows = _sample(len(val), limit, seed)
    return NextItems(val.inputs.take(rows), val.targets[rows]) if len(rows) < len(val) else val


# ---- the search -----------------------------------------------------------------------------
def search(
    name: str,
    train: Sequences,
    val: NextItems,
    settings: Settings,
    profile: str,
    times=None,
    seed: int = 42,
    log=print,
):
    """``name`` chosen on (a sample of) ``val`` over the profile's grid, defaults first; returns
    the model fitted on ``train`` with the chosen point, the search table (best first) and the
    seconds it took."""
    from shopintent.models.recommenders.sequential.memory import tune_on_validation

    start = time.perf_counter()
    sample = validation_sample(val, settings.max_val_prefixes, seed)
    fixed: dict = {}
    points = settings.search_points
    if name == "gru4rec":
        fixed, points = {"epochs": settings.gru4rec_epochs, "seed": seed}, settings.gru4rec_points
    model, table = tune_on_validation(
        name,
        train,
        sample,
        profile,
        times=times if name in MEMORY else None,
        n_points=points,
        seed=seed,
        **fixed,
    )
    seconds = time.perf_counter() - start
    if log:
        log(f"{name}: {len(table)} points in {seconds:.1f} s, best {table.iloc[0].to_dict()}")
    return model, table, seconds


def chosen(table: pd.DataFrame) -> dict:
    """The chosen point of a search table (its first row) without the score and label."""
    row = table.iloc[0].to_dict()
    return {k: v for k, v in row.items() if k != "point" and not k.startswith("val_")}


def search_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per searched model: points scored, the chosen point (as text), its validation
    NDCG@10 and that of the published defaults."""
    rows = []
    for name, t in tables.items():
        defaults = t.loc[t["point"] == "defaults", "val_ndcg@10"]
        rows.append(
            {
                "model": name,
                "points": len(t),
                "chosen": ", ".join(f"{k}={v}" for k, v in chosen(t).items()),
                "chosen is the default": t.iloc[0]["point"] == "defaults",
                "val_ndcg@10": t.iloc[0]["val_ndcg@10"],
                "defaults val_ndcg@10": defaults.iloc[0] if len(defaults) else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("model")


def best_by_validation(scores: dict[str, float], among) -> str | None:
    """The name among ``among`` with the highest validation score (None when none has one)."""
    found = {n: s for n, s in scores.items() if n in among and s is not None and np.isfinite(s)}
    return max(found, key=found.get) if found else None


def hybrid(first, second, names: tuple[str, str], train, val, seed: int = 42, weight=None):
    """``sequence_hybrid`` of two fitted models (registry ``names``), its weight chosen on (a
    sample of) ``val`` unless given."""
    model = registry.create(
        "sequence_hybrid", first=names[0], second=names[1], parts=(first, second)
    )
    if weight is not None:
        model.weight = float(weight)
    return model.fit(train, val)


# ---- session-rec ----------------------------------------------------------------------------
def recent_clicks(events: pd.DataFrame, max_clicks: int, event_types=("view",)) -> pd.DataFrame:
    """The clicks of the most recent whole sessions (by their first click) holding at most
    ``max_clicks`` clicks (0: all): a sliding window's last slice."""
    clicks = events[events["item_id"].notna()]
    if event_types is not None and "event_type" in clicks:
        clicks = clicks[clicks["event_type"].isin(list(event_types))]
    if not max_clicks or len(clicks) <= max_clicks:
        return clicks
    per = (
        clicks.groupby("session_id")["ts"].agg(["min", "size"]).sort_values("min", ascending=False)
    )
    keep = per.index[np.cumsum(per["size"].to_numpy()) <= max_clicks]
    return clicks[clicks["session_id"].isin(keep)]


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


def session_rec_split(shop, settings: Settings, seed: int = 42) -> sr.SessionRecData:
    """The session-rec data of the run: the recent window, the time split and its inner
    validation split, the sampled test sessions."""
    clicks = recent_clicks(shop.events, settings.max_clicks)
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


def session_rec_row(
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


@dataclass
class Fitted:
    """Fitted models by name, what choosing and fitting each cost (seconds), the search tables
    and chosen points of the searched ones, and every model's validation NDCG@10 on the same
    validation rows (what the hybrid's parts are picked by)."""

    models: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    points: dict = field(default_factory=dict)
    val_scores: dict = field(default_factory=dict)
    hybrid_parts: tuple = ()


def fit_searched(
    train: Sequences,
    val: NextItems,
    settings: Settings,
    profile: str,
    times=None,
    names=SEARCHED,
    seed: int = 42,
    log=print,
    into: Fitted | None = None,
) -> Fitted:
    """Search each of ``names`` on ``val`` (see ``search``) and keep the chosen models fitted on
    ``train``."""
    out = into or Fitted()
    for name in names:
        model, table, seconds = search(name, train, val, settings, profile, times, seed, log)
        out.models[name], out.tables[name], out.seconds[name] = model, table, seconds
        out.points[name] = chosen(table)
        out.val_scores[name] = float(table.iloc[0]["val_ndcg@10"])
    return out


def add_hybrid(fitted: Fitted, train: Sequences, val: NextItems, log=print) -> Fitted:
    """The hybrid of the best neighbourhood and the best neural model by validation NDCG@10
    (neural models not yet scored on ``val`` are scored now), its weight chosen on ``val``."""
    for name in NEURAL:
        if name in fitted.models and name not in fitted.val_scores:
            fitted.val_scores[name] = validation_ndcg(fitted.models[name], val)
    first = best_by_validation(fitted.val_scores, NEIGHBOURHOOD)
    second = best_by_validation(fitted.val_scores, NEURAL)
    if first is None or second is None:
        return fitted
    start = time.perf_counter()
    model = hybrid(fitted.models[first], fitted.models[second], (first, second), train, val)
    fitted.models["hybrid"], fitted.hybrid_parts = model, (first, second)
    fitted.seconds["hybrid"] = (
        time.perf_counter() - start + fitted.seconds.get(first, 0) + fitted.seconds.get(second, 0)
    )
    fitted.points["hybrid"] = {"weight": model.weight_}
    fitted.val_scores["hybrid"] = model.validation_[model.weight_]
    if log:
        log(
            f"hybrid of {first} and {second}: weight {model.weight_} on {first} (validation "
            f"NDCG@10 by weight { ({w: round(v, 4) for w, v in model.validation_.items()}) })"
        )
    return fitted


def fit_session_rec(
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


def validation_scores(models: dict, val: NextItems) -> dict[str, float]:
    """Validation NDCG@10 of fitted models on the same validation rows."""
    return {name: validation_ndcg(m, val) for name, m in models.items()}


def gap_sentence(table: pd.DataFrame, metric: str, protocol: str) -> str:
    """Whether the best neural model or the hybrid reaches the best neighbourhood model on
    ``metric`` in ``table`` (rows = models), and by how much it falls short if not."""
    hood = table.loc[table.index.intersection(NEIGHBOURHOOD), metric].dropna()
    neural = table.loc[table.index.intersection((*NEURAL, "hybrid")), metric].dropna()
    if hood.empty or neural.empty:
        return f"{protocol}: no neighbourhood or no neural row to compare."
    b, n = hood.idxmax(), neural.idxmax()
    diff = neural[n] - hood[b]
    verdict = "reaches" if diff >= 0 else "falls short of"
    return (
        f"{protocol}: the best neural model or hybrid ({n}, {metric} {neural[n]:.4f}) {verdict} "
        f"the best neighbourhood model ({b}, {hood[b]:.4f}) by {abs(diff):.4f} "
        f"({abs(diff) / max(hood[b], 1e-12):.0%} of it)."
    )


def session_rec_metrics(rows: list[dict], data: sr.SessionRecData, points: dict) -> dict:
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


def table_of(rows: list[dict]) -> pd.DataFrame:
    """Rows as a table, best HR@20 first."""
    return pd.DataFrame(rows).set_index("model").sort_values("next_item/hr@20", ascending=False)
