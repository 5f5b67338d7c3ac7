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
- Session-rec: ``studies.session_rec`` (notebook 08's section 8) uses the same search and hybrid.

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
    """``search_points``: grid points drawn per memory model besides its defaults (None: the
    whole registered grid, as the smoke grids of one or two points), ``gru4rec_points`` the
    same for GRU4Rec, ``gru4rec_epochs`` its epoch limit (early stopping on validation
    decides; 10 is the reference's), lowered so that epochs x training clicks stay within
    ``gru4rec_clicks`` (0: no cap; a small log trains its full epochs, a large one fewer),
    ``gru4rec_layers`` / ``gru4rec_samples`` its GRU size and shared negatives (the published
    512 / 2048 cost about five times the time of 100 / 512 an epoch on 2 cores: the default
    profile trades them for the time limit; 0: the published value), ``max_val_prefixes``
    validation prefixes scored per point; session-rec (``session_rec``): ``days`` of test,
    the ``max_train_clicks`` most recent training clicks used, ``max_test_sessions`` sampled
    test sessions (0: no limit)."""

    search_points: int | None
    gru4rec_points: int | None
    gru4rec_epochs: int
    gru4rec_clicks: int
    gru4rec_layers: int
    gru4rec_samples: int
    max_val_prefixes: int
    days: float
    max_train_clicks: int
    max_test_sessions: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {
            "search_points": None,
            "gru4rec_points": None,
            "gru4rec_epochs": 2,
            "gru4rec_clicks": 0,
            "gru4rec_layers": 64,
            "gru4rec_samples": 256,
            "max_val_prefixes": 300,
            "days": 7,
            "max_train_clicks": 8_000,
            "max_test_sessions": 150,
        },
        "default": {
            "search_points": 3,
            "gru4rec_points": 0,
            "gru4rec_epochs": 10,
            "gru4rec_clicks": 450_000,
            "gru4rec_layers": 100,
            "gru4rec_samples": 512,
            "max_val_prefixes": 600,
            "days": 7,
            "max_train_clicks": 40_000,
            "max_test_sessions": 500,
        },
        "full": {
            "search_points": 20,
            "gru4rec_points": 10,
            "gru4rec_epochs": 10,
            "gru4rec_clicks": 0,
            "gru4rec_layers": 0,
            "gru4rec_samples": 0,
            "max_val_prefixes": 0,
            "days": 7,
            "max_train_clicks": 0,
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
        fixed, points = gru4rec_fixed(settings, seed, len(train.items)), settings.gru4rec_points
    model, table = tune_on_validation(
        name,
        train,
        sample,
        profile,
        times=times if name in MEMORY else None,
        n_points=points,
        search_seed=seed,
        **fixed,
    )
    seconds = time.perf_counter() - start
    if log:
        log(f"{name}: {len(table)} points in {seconds:.1f} s, best {table.iloc[0].to_dict()}")
    return model, table, seconds


def gru4rec_fixed(settings: Settings, seed: int, clicks: int = 0) -> dict:
    """GRU4Rec's parameters the profile fixes: its epoch limit (within ``gru4rec_clicks`` for
    ``clicks`` training clicks, at least 2) and its size where set."""
    epochs = settings.gru4rec_epochs
    if settings.gru4rec_clicks and clicks:
        epochs = int(np.clip(settings.gru4rec_clicks // clicks, 2, epochs))
    fixed = {"epochs": epochs, "seed": seed}
    if settings.gru4rec_layers:
        fixed["layers"] = [settings.gru4rec_layers]
    if settings.gru4rec_samples:
        fixed["n_sample"] = settings.gru4rec_samples
    return fixed


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


def validation_scores(models: dict, val: NextItems) -> dict[str, float]:
    """Validation NDCG@10 of fitted models on the same validation rows."""
    return {name: validation_ndcg(m, val) for name, m in models.items()}


# ---- leave-last-out --------------------------------------------------------------------------
def fit_timed(fit, names, seconds: dict) -> dict:
    """``fit(names=(name,))`` one model at a time (e.g. ``sequential_recommender.fit_models``),
    each one's wall seconds kept in ``seconds``."""
    models = {}
    for name in names:
        start = time.perf_counter()
        models |= fit(names=(name,))
        seconds[name] = time.perf_counter() - start
    return models


def evaluate_leave_last_out(
    models: dict, split, seconds: dict, n_boot: int = 1000, seed: int = 42
) -> tuple[list[dict], dict]:
    """``sequential.evaluate_sequences``' rows (same lists, same metrics, same NDCG@10
    interval), plus Recall@20 (= HR@20: one target per test sequence) with its 95% bootstrap
    interval over test sequences, fit seconds and prediction milliseconds per sequence."""
    from shopintent.evaluation.ranking import ranking_per_user
    from shopintent.models.recommenders.evaluate import evaluate_recs

    rows, recs = [], {}
    inputs = split.test.inputs
    for name, model in models.items():
        start = time.perf_counter()
        recs[name] = model.recommend_sequences(inputs, 20, exclude=True)
        ms = 1000 * (time.perf_counter() - start) / max(len(inputs), 1)
        row = evaluate_recs(name, recs[name].index, split.task, n_boot=n_boot, seed=seed)
        hits = ranking_per_user(recs[name].index, split.task.truth, (20,))["recall@20"]
        ci = bootstrap_mean_ci(hits, n_boot=n_boot, seed=seed)
        row |= {"recall@20_low": ci.low, "recall@20_high": ci.high}
        row |= {"fit_seconds": round(seconds.get(name, np.nan), 2), "predict_ms": round(ms, 3)}
        rows.append(row)
    return rows, recs


def leave_last_out_metrics(rows: list[dict], fitted: Fitted) -> dict:
    """The keys ``sequential_recommender.metrics_dict`` does not write: ``recs/<model>/`` the
    Recall@20 interval, fit seconds, prediction ms per sequence and the chosen numeric
    parameters (``chosen/<param>``; text-valued ones are in the notebook's table)."""
    out: dict = {}
    for row in rows:
        for key in ("recall@20_low", "recall@20_high", "fit_seconds", "predict_ms"):
            if row.get(key) is not None and np.isfinite(row[key]):
                out[f"recs/{row['model']}/{key}"] = float(row[key])
    for name, point in fitted.points.items():
        for key, value in (point or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[f"recs/{name}/chosen/{key}"] = float(value)
    return out


def gap_sentence(
    table: pd.DataFrame, metric: str, protocol: str, fitted: Fitted | None = None
) -> str:
    """Whether the best neural model, and the hybrid, reach the best neighbourhood model on
    ``metric`` in ``table`` (rows = models), and by how much each falls short if not; with
    ``fitted``, the hybrid's validation weight and parts are named (weight 1 or 0: it is one
    of them alone)."""
    hood = table.loc[table.index.intersection(NEIGHBOURHOOD), metric].dropna()
    neural = table.loc[table.index.intersection(NEURAL), metric].dropna()
    if hood.empty or neural.empty:
        return f"{protocol}: no neighbourhood or no neural row to compare."
    b = hood.idxmax()

    def versus(name: str, value: float) -> str:
        diff = value - hood[b]
        if diff >= 0:
            return f"{name} ({value:.4f}) reaches it (+{diff:.4f})"
        return f"{name} ({value:.4f}) falls short by {-diff:.4f} ({-diff / hood[b]:.0%} of it)"

    n = neural.idxmax()
    text = f"{protocol}, {metric}: best neighbourhood model {b} {hood[b]:.4f}; best neural model "
    text += versus(n, neural[n])
    if "hybrid" in table.index and np.isfinite(table.loc["hybrid", metric]):
        text += "; hybrid " + versus("", table.loc["hybrid", metric]).lstrip()
        if fitted is not None and fitted.hybrid_parts:
            w = fitted.points["hybrid"]["weight"]
            first, second = fitted.hybrid_parts
            text += f", weight {w:g} on {first} and {1 - w:g} on {second} (chosen on validation)"
    return text + "."
