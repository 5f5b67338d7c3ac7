"""Notebook 01's summary tables on Spark, for event logs that do not fit in one process.

Each function takes the canonical ``events`` as a Spark DataFrame (e.g.
``spark.read.parquet(<dataset>/events.parquet)``), counts on the cluster with the DataFrame
API and returns the small pandas table that the pandas function of the same name returns
(the shared part, turning counts into rates, is the pandas module's own: ``funnel
.table_from_counts``); basket itemsets come from Spark ML's FP-growth. An agreement test holds
each to its pandas twin on the synthetic shop.
RFM segments are in ``eda.spark_segments``, basket rules in ``eda.spark_baskets``; the
recorded numbers of the behaviour study in one call: ``studies.user_behavior_spark.summary``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shopintent.eda import spark_baskets
from shopintent.eda.baskets import ITEMSET_COLUMNS
from shopintent.eda.funnel import FUNNEL, UNITS, rates_from_table, table_from_counts
from shopintent.eda.longtail import gini, top_share
from shopintent.eda.quality import ORDER_LINE_EVENTS, unavailable


def funnel_table(events: DataFrame, unit: str = "session") -> pd.DataFrame:
    """``eda.funnel.funnel_table`` on Spark: one pass to flag the stages each unit reaches, one
    aggregation to count them."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    col = UNITS[unit]
    reached = (
        events.filter(F.col(col).isNotNull())
        .groupBy(col)
        .agg(*[F.max((F.col("event_type") == s).cast("long")).alias(s) for s in FUNNEL])
    )
    pairs = list(zip(FUNNEL, FUNNEL[1:], strict=False))
    row = reached.agg(
        F.count(F.lit(1)).alias("_total"),
        *[F.sum(s).alias(f"_units_{s}") for s in FUNNEL],
        *[F.sum(F.col(a) * F.col(b)).alias(f"_both_{b}") for a, b in pairs],
    ).collect()[0]
    units = np.array([row[f"_units_{s}"] or 0 for s in FUNNEL], dtype=np.int64)
    both = np.array([0] + [row[f"_both_{b}"] or 0 for _, b in pairs], dtype=np.int64)
    # a stage is present when the log (its rows with a unit) has any event of it: then some
    # unit reaches it, and only then
    return table_from_counts(unit, units > 0, units, both, int(row["_total"]))


def funnel_rates(events: DataFrame, unit: str = "session") -> dict[str, float | None]:
    """``eda.funnel.funnel_rates`` on Spark."""
    return rates_from_table(funnel_table(events, unit))


def length_counts(events: DataFrame, cap: int = 30) -> pd.DataFrame:
    """``eda.sessions.length_counts`` on Spark, from the events (not a session table): how many
    sessions have 1, 2, ... events, lengths above ``cap`` pooled in ``events == cap``."""
    lengths = events.groupBy("session_id").count().select(F.least("count", F.lit(cap)).alias("n"))
    counts = lengths.groupBy("n").count().orderBy("n").collect()
    out = pd.DataFrame(
        {
            "events": np.array([r["n"] for r in counts], dtype=np.int64),
            "sessions": np.array([r["count"] for r in counts], dtype=np.int64),
        }
    )
    total = out["sessions"].sum()
    out["share"] = out["sessions"] / total if total else np.nan
    return out


def frequent_itemsets(
    events: DataFrame,
    by: str = "session",
    min_support: float = 0.01,
    min_count: int = 2,
    max_len: int | None = 3,
) -> pd.DataFrame:
    """``eda.baskets.frequent_itemsets`` of the purchase baskets on Spark ML's FP-growth
    (``pyspark.ml.fpm.FPGrowth``): ``itemset`` (sorted tuple), ``size``, ``support``,
    ``count``, most supported first; every item enters (the pandas function's ``max_items=None``).

    A basket is the distinct items bought in one session (``by="session"``) or by one user.
    """
    baskets = spark_baskets.basket_items(events, by=by).persist()
    try:
        n = baskets.select("basket").distinct().count()
        if n < min_count:
            return unavailable(
                ITEMSET_COLUMNS, f"only {n} baskets, fewer than min_count={min_count}"
            )
        found, threshold = spark_baskets.itemsets(baskets, n, min_support, min_count, max_len)
        rows = found.collect()
    finally:
        baskets.unpersist()
    out = pd.DataFrame(
        {
            "itemset": [tuple(r["items"]) for r in rows],
            "count": np.array([r["freq"] for r in rows], dtype=np.int64),
        }
    )
    out.insert(1, "size", out["itemset"].map(len).astype(np.int64))
    out.insert(2, "support", out["count"] / n)
    out = out.sort_values(
        ["support", "size", "itemset"], ascending=[False, True, True], ignore_index=True
    )
    out.attrs.update({"baskets": n, "min_support": threshold})
    return out


def concentration(
    events: DataFrame,
    event_type: str = "view",
    items: DataFrame | None = None,
    frac: float = 0.2,
) -> dict[str, float | None]:
    """``eda.longtail.concentration`` of ``item_popularity(events, event_type, catalogue)`` on
    Spark: events are counted per item on the cluster (with ``items``, every catalogue item,
    0 where it has no such event); only the per-item counts (one number per item, not per
    event) come back, into the pandas module's own ``gini`` and ``top_share``."""
    counts = (
        events.filter((F.col("event_type") == event_type) & F.col("item_id").isNotNull())
        .groupBy("item_id")
        .count()
    )
    if items is not None:
        catalogue = items.select("item_id").filter(F.col("item_id").isNotNull()).distinct()
        counts = catalogue.join(counts, "item_id", "full_outer").fillna(0, ["count"])
    x = np.array([r["count"] for r in counts.select("count").collect()], dtype=np.int64)
    if not len(x) or not x.any():
        return {"gini": None, "top_share": None, "zero_share": None, "items": 0}
    return {
        "gini": gini(x),
        "top_share": top_share(x, frac),
        "zero_share": float((x == 0).mean()),
        "items": len(x),
    }


def drop_duplicate_events(events: DataFrame) -> DataFrame:
    """``eda.quality.drop_duplicate_events`` on Spark: exact copies of an event dropped, except
    repeated purchase rows (order lines), all kept."""
    lines = F.coalesce(F.col("event_type").isin(list(ORDER_LINE_EVENTS)), F.lit(False))
    return events.filter(lines).unionByName(events.filter(~lines).dropDuplicates())
