"""RFM segments (``eda.segments``) on Spark, for logs whose users do not fit in one process.

The per-user features and scores stay Spark DataFrames (one row per user); only the summary
per segment (ten rows) comes back as pandas. The rules are the pandas module's own, restated:

- quintile scores: pandas bins the values' order (``rank(method="first")``) with ``qcut`` and
  gives tied values the lowest bin any of them got, i.e. the bin of the tie group's first rank
  ``r = 1 + #(values better-ordered below)`` (SQL ``rank()``). With ranks 1..n, qcut's edges are
  1 + (n - 1)k/q, so that bin is ``max(1, ceil(q(r - 1) / (n - 1)))``: computed here in whole
  numbers (a test holds it to ``pd.qcut`` for every n up to thousands). The ranking is over the
  distinct values, the one step that runs in a single partition.
- monetary is summed in exact decimals (12 places) and turned back into a double, so that two
  users who bought the same prices tie whatever order Spark adds them in (pandas' compensated
  sum agrees to ~1e-15).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from shopintent.eda.quality import unavailable
from shopintent.eda.segments import RFM_COLUMNS, SEGMENT_GRID, SEGMENTS, SUMMARY_COLUMNS

_US_PER_DAY = 86_400 * 1_000_000


def _micros(now) -> int:
    """Microseconds since the epoch of ``now`` (naive times read as UTC, as pandas does)."""
    ts = pd.Timestamp(now)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return int((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1))


def rfm_features(events: DataFrame, now: pd.Timestamp | None = None) -> DataFrame:
    """``eda.segments.rfm_features`` on Spark: one row per known user, ``RFM_COLUMNS``.

    One small aggregation runs now (the log's end, and whether purchases carry prices); the
    per-user table is lazy. ``monetary`` is null for every user when the log has no priced
    purchase (``segment_summary`` says why).
    """
    purchase = F.col("event_type") == "purchase"
    known = events.filter(F.col("user_id").isNotNull())
    head = events.agg(
        F.max(F.unix_micros("ts")).alias("end"),
        F.sum(
            (F.col("user_id").isNotNull() & purchase & F.col("price").isNotNull()).cast("long")
        ).alias("priced"),
    ).collect()[0]
    end = head["end"] if now is None else _micros(now)
    spend = F.sum(F.when(purchase, F.col("price").cast("decimal(38,12)")))
    monetary = F.coalesce(spend.cast("double"), F.lit(0.0)) if head["priced"] else F.lit(None)
    out = known.groupBy("user_id").agg(
        F.max("ts").alias("last_ts"),
        F.countDistinct("session_id").alias("frequency"),
        monetary.cast("double").alias("monetary"),
        F.sum(purchase.cast("long")).alias("purchases"),
        F.countDistinct(F.when(purchase, F.col("session_id"))).alias("purchase_sessions"),
    )
    if end is None:  # no events at all: an empty table of the right shape
        end = 0
    recency = (F.lit(end) - F.unix_micros("last_ts")) / float(_US_PER_DAY)
    return out.withColumn("recency_days", recency).select(*RFM_COLUMNS)


def quantile_scores(
    table: DataFrame, column: str, name: str, q: int = 5, higher_is_better: bool = True
) -> DataFrame:
    """``table`` plus ``name``: ``eda.segments.quantile_scores`` of ``column`` (1..q, q = best;
    null where the value is null), by the rule in the module docstring."""
    value = F.col(column)
    counts = table.filter(value.isNotNull()).groupBy(column).count()
    order = value.asc() if higher_is_better else value.desc()
    before = Window.orderBy(order).rowsBetween(Window.unboundedPreceding, -1)
    everyone = Window.partitionBy()
    ranked = counts.select(
        column,
        (F.coalesce(F.sum("count").over(before), F.lit(0)) + 1).alias("_rank"),
        F.sum("count").over(everyone).alias("_n"),
    )
    # ceil(q(r - 1) / (n - 1)) in whole numbers: (q(r - 1) + n - 2) div (n - 1)
    score = F.expr(
        f"CASE WHEN _n <= 1 THEN 1 ELSE GREATEST(1, ({q} * (_rank - 1) + _n - 2) div (_n - 1)) END"
    )
    scores = ranked.select(column, score.cast("long").alias(name))
    return table.join(scores, on=column, how="left")


def rfm_segments(rfm: DataFrame, q: int = 5) -> DataFrame:
    """``eda.segments.rfm_segments`` on Spark: ``rfm`` plus ``r_score, f_score, m_score``,
    ``rfm_code`` and ``segment`` (from ``SEGMENT_GRID`` by R and F; null unless q = 5)."""
    out = quantile_scores(rfm, "recency_days", "r_score", q, higher_is_better=False)
    out = quantile_scores(out, "frequency", "f_score", q)
    out = quantile_scores(out, "monetary", "m_score", q)
    digits = [F.coalesce(F.col(c).cast("string"), F.lit("-")) for c in ("r_score", "f_score")]
    code = F.concat(*digits, F.coalesce(F.col("m_score").cast("string"), F.lit("-")))
    if q == 5:
        grid = F.array(*[F.lit(s) for s in SEGMENT_GRID.ravel()])
        segment = F.element_at(grid, ((F.col("r_score") - 1) * 5 + F.col("f_score")).cast("int"))
    else:
        segment = F.lit(None).cast("string")
    return out.select(
        *RFM_COLUMNS,
        "r_score",
        "f_score",
        "m_score",
        code.alias("rfm_code"),
        segment.alias("segment"),
    )


def segment_summary(segments: DataFrame) -> pd.DataFrame:
    """``eda.segments.segment_summary`` of ``rfm_segments`` on Spark: one aggregation, ten rows
    back, in ``SEGMENTS`` order; ``attrs["reason"]`` says why monetary is null, as pandas does."""
    rows = (
        segments.filter(F.col("segment").isNotNull())
        .groupBy("segment")
        .agg(
            F.count(F.lit(1)).alias("users"),
            F.avg("recency_days").alias("mean_recency_days"),
            F.avg("frequency").alias("mean_frequency"),
            F.avg("monetary").alias("mean_monetary"),
            F.avg((F.col("purchases") > 0).cast("double")).alias("buyer_share"),
            F.sum("purchase_sessions").alias("_bought"),
            F.sum("frequency").alias("_sessions"),
            F.sum("purchases").alias("_purchases"),
            F.count("monetary").alias("_priced"),
        )
        .collect()
    )
    if not rows:
        return unavailable(SUMMARY_COLUMNS, "no segments (no known users, or q is not 5)")
    out = pd.DataFrame([r.asDict() for r in rows]).set_index("segment")
    out["session_conversion"] = out["_bought"] / out["_sessions"]
    purchases, priced = int(out["_purchases"].sum()), int(out["_priced"].sum())
    if purchases == 0:
        out[["buyer_share", "session_conversion"]] = np.nan
    out["mean_monetary"] = out["mean_monetary"].astype(float)
    out.insert(1, "user_share", out["users"] / out["users"].sum())
    order = [s for s in SEGMENTS if s in out.index]
    out = out.loc[order].rename_axis("segment").reset_index()[SUMMARY_COLUMNS]
    out["users"] = out["users"].astype(np.int64)
    if purchases == 0:
        out.attrs["reason"] = "monetary is null: the log has no purchases"
    elif priced == 0:
        out.attrs["reason"] = "monetary is null: purchases carry no prices"
    return out
