"""The study's data-heavy half on both engines, one call per engine, and the two side by side.

- ``eda_pandas`` / ``eda_spark``: notebook 01's recorded numbers (``user_behavior`` keys and the
  user × category rule count) and its RFM segment table;
- ``baselines_pandas`` / ``models.recommenders.spark.run_baselines``: popularity, item-kNN and
  ALS with their registry defaults on notebook 06's temporal split, scored over every test user;
- ``side_by_side``: two flat dicts of numbers as one table with the difference of each;
- ``pandas_fits`` / ``spark_capabilities``: on a log too large for one pandas process the
  comparison gives way to the Spark path alone (``eda_both`` and ``baselines_both`` with no
  pandas ``shop``: Spark's numbers, the pandas column empty), its capabilities read by Spark.

Notebook 12, ``scaling_steps`` (the scaling benchmark) and ``bench_spark_eda`` call these, so
what is timed is what is shown to agree.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pandas as pd

from shopintent.data.capabilities import Capabilities, Capability
from shopintent.data.store import ShopData
from shopintent.eda import baskets, segments
from shopintent.studies import user_behavior

#: the recommenders on both engines, by their registry names (registry defaults)
MODELS = ("popularity", "item_knn", "als")
#: pandas settings that mirror the Spark recommenders' defaults where the registry's differ:
#: Spark's ALS (rank 16, regParam 0.1, alpha 5, 15 iterations, log weights) against implicit's
#: at 16 factors and regularisation 10 (Spark scales regParam by each user's and item's count,
#: implicit does not; the slow agreement test holds the pair within 0.02 NDCG@10)
PANDAS_TWINS = {"als": {"factors": 16, "regularization": 10.0, "alpha": 5.0, "iterations": 15}}
#: rows of models that agree across engines only within seed noise (different solvers)
INEXACT = ("als/",)
#: the metrics compared (pandas' ``evaluate_recs`` keys; Spark's ``evaluate`` gives the same)
REC_METRICS = ("ndcg@10", "recall@20", "precision@10", "map@10", "mrr@20")


def eda_pandas(shop: ShopData) -> tuple[dict, pd.DataFrame]:
    """Notebook 01's numbers (``headline_metrics`` + ``eda/rules/user_category_count``) and
    the RFM segment summary, on pandas."""
    numbers = user_behavior.headline_metrics(shop)
    options = {**user_behavior.RULE_TABLES["user × category"], **user_behavior.RULE_THRESHOLDS}
    rules = baskets.purchase_rules(shop.events, shop.items, **options)
    numbers["eda/rules/user_category_count"] = None if rules.attrs.get("reason") else len(rules)
    rfm = segments.segment_summary(segments.rfm_segments(segments.rfm_features(shop.events)))
    return numbers, rfm


def eda_spark(spark, events, items, queries: pd.DataFrame | None = None):
    """``eda_pandas`` on Spark DataFrames (``queries``, small at any scale, as pandas)."""
    from shopintent.eda import spark_segments
    from shopintent.studies.user_behavior_spark import summary

    numbers = summary(spark, events, items, queries)
    rfm = spark_segments.segment_summary(
        spark_segments.rfm_segments(spark_segments.rfm_features(events))
    )
    return numbers, rfm


def baselines_pandas(shop: ShopData, *, k: int = 20, models=MODELS, test_frac: float = 0.2):
    """``run_baselines``' twin on pandas: ``{"task": {...}, <model>: {<metric>..., "fit_s",
    "eval_s"}}`` (``fit_s``: fit and every test user's top-``k``; no bootstrap)."""
    from shopintent.data.splits import temporal_split
    from shopintent.models.recommenders.evaluate import evaluate_recs, make_task
    from shopintent.models.recommenders.registry import create

    start = time.perf_counter()
    interactions = shop.events[shop.events["item_id"].notna()]
    split = temporal_split(interactions, test_frac=test_frac)
    task = make_task(split.train, split.test, shop.items, split.protocol)
    out: dict = {
        "task": {
            "cutoff": pd.Timestamp(split.cutoff).isoformat(),
            "test_users": len(task.users),
            "items": task.train.n_items,
            "split_s": time.perf_counter() - start,
        }
    }
    for name in models:
        start = time.perf_counter()
        model = create(name, **PANDAS_TWINS.get(name, {})).fit(split.train, shop.items)
        recs = model.recommend(task.users, k).index
        fitted = time.perf_counter()
        row = evaluate_recs(name, recs, task, n_boot=0)
        out[name] = {m: row[m] for m in REC_METRICS if m in row}
        out[name] |= {"fit_s": fitted - start, "eval_s": time.perf_counter() - fitted}
    return out


def _differ(a, b) -> float | None:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return None
    return abs(float(a) - float(b))


def side_by_side(pandas: dict, spark: dict) -> pd.DataFrame:
    """One row per number both give (nested dicts flattened with ``/``): pandas, Spark and
    ``|difference|`` (None where either is None, e.g. a rate the data cannot give)."""

    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for key, value in d.items():
            if isinstance(value, dict):
                out |= flat(value, f"{prefix}{key}/")
            elif isinstance(value, int | float) or value is None:
                out[f"{prefix}{key}"] = value
        return out

    a, b = flat(pandas), flat(spark)
    keys = [key for key in a if key in b]
    return pd.DataFrame(
        {
            "pandas": [a[key] for key in keys],
            "spark": [b[key] for key in keys],
            "abs_diff": [_differ(a[key], b[key]) for key in keys],
        },
        index=pd.Index(keys, name="number"),
    )


def spark_only(spark: dict) -> pd.DataFrame:
    """``side_by_side`` for Spark's numbers alone (the pandas path did not run): empty pandas
    and difference columns."""
    table = side_by_side(spark, spark)
    table["pandas"] = None
    table["abs_diff"] = None
    return table


@dataclass
class Agreement:
    """One part of the study on both engines: the numbers side by side, and each engine's
    seconds (Spark's include its lazy plan's whole execution; neither includes loading).
    ``compared`` is False where only Spark ran (the data does not fit pandas)."""

    table: pd.DataFrame
    seconds: dict[str, float]
    #: extra tables compared whole (e.g. the RFM segments): name -> equal on both engines
    equal_tables: dict[str, bool]
    compared: bool = True

    def max_abs_diff(self) -> float | None:
        """The largest |pandas - Spark| (None when pandas did not run)."""
        if not self.compared:
            return None
        d = self.table["abs_diff"].dropna()
        return float(d.max()) if len(d) else 0.0

    def disagree(self, tol: float, exact_only: bool = True) -> pd.DataFrame:
        """The rows further apart than ``tol``; with ``exact_only``, only rows of exact
        computations (not ALS, whose two solvers agree only within seed noise)."""
        t = self.table[~self.table.index.str.startswith(INEXACT)] if exact_only else self.table
        return t[t["abs_diff"] > tol]


def eda_both(
    caps, spark, shop: ShopData | None, events, items
) -> tuple[Agreement | None, str | None]:
    """Notebook 01's numbers and RFM segments on pandas and on Spark, or None and why; with
    ``shop`` None (the data does not fit pandas) on Spark alone (no query numbers: their
    table is read by pandas)."""
    why = caps.skip_reason("the behaviour summary", "events")
    if why:
        return None, why
    start = time.perf_counter()
    if shop is None:
        got, _ = eda_spark(spark, events, items)
        return Agreement(
            spark_only(got), {"spark": time.perf_counter() - start}, {}, compared=False
        ), None
    want, rfm_p = eda_pandas(shop)
    middle = time.perf_counter()
    got, rfm_s = eda_spark(spark, events, items, shop.queries)
    end = time.perf_counter()
    same_rfm = bool(
        len(rfm_p) == len(rfm_s) and (rfm_p["users"].to_numpy() == rfm_s["users"].to_numpy()).all()
    )
    return Agreement(
        side_by_side(want, got),
        {"pandas": middle - start, "spark": end - middle},
        {"rfm segment sizes": same_rfm},
    ), None


def baselines_both(
    caps, spark, shop: ShopData | None, events, items, *, k: int = 20
) -> tuple[Agreement | None, str | None]:
    """Popularity, item-kNN and ALS on both engines under notebook 06's temporal split, or
    None and why (the data must have users, items and times); with ``shop`` None (the data
    does not fit pandas) on Spark alone."""
    why = caps.skip_reason(
        "recommenders on a temporal split", "users", "interactions", "timestamps"
    )
    if why:
        return None, why
    from shopintent.models.recommenders.spark.run import run_baselines

    start = time.perf_counter()
    if shop is None:
        got = run_baselines(spark, events, items, k=k, models=MODELS)
        seconds = {"spark": time.perf_counter() - start}
        seconds |= {f"spark/{m}": got[m]["fit_s"] + got[m]["eval_s"] for m in MODELS}
        table = spark_only({m: {x: got[m][x] for x in REC_METRICS if x in got[m]} for m in MODELS})
        return Agreement(table, seconds, {}, compared=False), None
    want = baselines_pandas(shop, k=k)
    middle = time.perf_counter()
    got = run_baselines(spark, events, items, k=k, models=MODELS)
    end = time.perf_counter()
    table = side_by_side(
        {m: {x: want[m][x] for x in REC_METRICS if x in want[m]} for m in MODELS},
        {m: {x: got[m][x] for x in REC_METRICS if x in got[m]} for m in MODELS},
    )
    seconds = {"pandas": middle - start, "spark": end - middle}
    for m in MODELS:
        seconds[f"pandas/{m}"] = want[m]["fit_s"] + want[m]["eval_s"]
        seconds[f"spark/{m}"] = got[m]["fit_s"] + got[m]["eval_s"]
    return Agreement(table, seconds, {}), None


def metric_keys(eda: Agreement | None, recs: Agreement | None) -> dict[str, float | None]:
    """``spark/...``: the largest |pandas - Spark| of the summary and of the exact recommenders,
    Spark's metrics and each engine's seconds (None for a part that did not run)."""
    out: dict[str, float | None] = {
        "spark/eda/max_abs_diff": eda.max_abs_diff() if eda else None,
        "spark/eda/numbers": float(len(eda.table)) if eda else None,
        "spark/eda/rfm_equal": float(all(eda.equal_tables.values())) if eda else None,
        "spark/eda/pandas_seconds": eda.seconds.get("pandas") if eda else None,
        "spark/eda/spark_seconds": eda.seconds["spark"] if eda else None,
    }
    exact = None
    if recs and recs.compared:
        t = recs.table
        exact = float(t[~t.index.str.startswith(INEXACT)]["abs_diff"].max())
    out["spark/recs/exact_max_abs_diff"] = exact
    for model in MODELS:
        for metric in ("ndcg@10", "recall@20"):
            row = f"{model}/{metric}"
            has = recs is not None and row in recs.table.index
            out[f"spark/recs/{model}/{metric}"] = recs.table.loc[row, "spark"] if has else None
            out[f"spark/recs/{model}/abs_diff/{metric}"] = (
                recs.table.loc[row, "abs_diff"] if has and recs.compared else None
            )
    for engine in ("pandas", "spark"):
        out[f"spark/recs/{engine}_seconds"] = recs.seconds.get(engine) if recs else None
    return out


#: peak RAM per event of ``baselines_pandas`` (the larger of the two pandas steps), measured by
#: bench_spark_scaling.py on the synthetic shop: 1.43 GB at 10^6 events (2026-12-07)
PANDAS_BYTES_PER_EVENT = 1500


def pandas_fits(folder) -> tuple[bool, str | None]:
    """Whether the pandas side of the comparison would fit the prepared dataset in ``folder``
    into the memory free now, and why not: the comparison needs the log in one process; where
    it would not fit, the study runs on Spark alone."""
    from shopintent.data.memory import HEADROOM, available_bytes
    from shopintent.data.store import read_meta

    n_events = int(read_meta(folder)["rows"]["events"])
    free = available_bytes()
    need = n_events * PANDAS_BYTES_PER_EVENT
    if free is None or need <= HEADROOM * free:
        return True, None
    return False, (
        f"{n_events:,} events need about {need / 1e9:.1f} GB in pandas and {free / 1e9:.1f} GB "
        "are free: pandas is left out and the study runs on Spark alone (nothing to compare "
        "its numbers with; the comparison is made on data that fits both)"
    )


def spark_capabilities(events, folder) -> Capabilities:
    """What the Spark path needs to know of a log too large for pandas (``Capabilities.of``
    reads the pandas tables): ``events``, ``users``, ``interactions`` and ``timestamps``, from
    one Spark aggregation, with ``data.capabilities``' rules (a blank id counts as none; times
    need two distinct values) and reasons."""
    from pyspark.sql import functions as F

    from shopintent.data.store import read_meta

    meta = read_meta(folder)

    def filled(column: str):
        value = F.col(column)
        return F.count(F.when(value.isNotNull() & (F.trim(value) != ""), 1))

    row = events.agg(
        F.count(F.lit(1)).alias("n"),
        filled("user_id").alias("users"),
        filled("item_id").alias("items"),
        (F.min("ts") < F.max("ts")).alias("times"),
    ).collect()[0]
    n = int(row["n"])
    why = None
    if n == 0:
        why = "no events"
    elif meta.get("has_behaviour", True) is False:
        why = f"no behaviour log (its {n:,} events are placeholders for its queries)"

    def log(name: str, count: int, detail: str, absent: str) -> Capability:
        if why:
            return Capability(name, False, "", why)
        return Capability(name, count > 0, detail, absent)

    users, items, times = int(row["users"]), int(row["items"]), bool(row["times"])
    found = {
        "events": Capability("events", why is None, f"{n:,} events", why or ""),
        "users": log("users", users, f"{users:,} events with a user id", "no user ids"),
        "interactions": log(
            "interactions", items, f"{items:,} events with an item", "no events with an item"
        ),
        "timestamps": log(
            "timestamps",
            int(times),
            "two or more distinct event times",
            "no event times (one time for every event)",
        ),
    }
    return Capabilities(found, str(meta.get("dataset", "this dataset")))
