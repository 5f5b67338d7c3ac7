"""Notebook 06's baselines on Spark in one call, for benchmarks: split, fit, rank, score."""

from __future__ import annotations

import time

from pyspark.sql import DataFrame, SparkSession

from shopintent.models.recommenders.spark import baselines
from shopintent.models.recommenders.spark.evaluate import evaluate
from shopintent.models.recommenders.spark.split import make_task, temporal_split

MODELS = ("popularity", "item_knn", "als")
_RECOMMEND = {
    "popularity": baselines.recommend_popularity,
    "item_knn": baselines.recommend_item_knn,
    "als": baselines.recommend_als,
}


def run_baselines(
    spark: SparkSession,
    events: DataFrame,
    items: DataFrame,
    *,
    k: int = 20,
    models=MODELS,
    test_frac: float = 0.2,
    params: dict[str, dict] | None = None,
) -> dict:
    """``{"task": {...}, <model>: {<metric>: value, "fit_s": s, "eval_s": s}}``.

    ``fit_s`` is the time to fit and materialise every test user's top-k list (Spark is lazy:
    the lists are cached and counted), ``eval_s`` the metrics' time; ``task`` holds the split's
    seconds, cut-off and counts. ``params`` passes keyword arguments per model (e.g.
    ``{"item_knn": {"weighting": "log"}}``). ``spark`` is the session the frames belong to.
    """
    unknown = set(models) - set(_RECOMMEND)
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)}; choose from {', '.join(MODELS)}")
    params = params or {}
    start = time.perf_counter()
    train, test, cutoff = temporal_split(events, test_frac)
    task = make_task(train, test, items)
    out: dict = {
        "task": {
            "cutoff": cutoff.isoformat(),
            "test_users": task.users.count(),
            "train_pairs": task.train.count(),
            # the cached seen and truth pairs are built here, not charged to the first model
            "seen_pairs": task.seen.count(),
            "relevant_pairs": task.truth.count(),
            "items": task.n_items,
            "split_s": time.perf_counter() - start,
            "master": spark.sparkContext.master,
        }
    }
    for name in models:
        start = time.perf_counter()
        recs = _RECOMMEND[name](task, k, **params.get(name, {})).cache()
        recs.count()
        fitted = time.perf_counter()
        row = evaluate(task, recs, ks=sorted({10, k}))
        out[name] = {**row, "fit_s": fitted - start, "eval_s": time.perf_counter() - fitted}
        recs.unpersist()
    return out
