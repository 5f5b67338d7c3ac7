"""Notebook 06's temporal protocol on Spark: the cut-off, the task, the weighted interactions.

Mirrors ``data.splits.temporal_split`` (cut-off = the time of the event that leaves the last
``test_frac`` of interactions in test), ``recommenders.evaluate.make_task`` (test users: known
users with a test item; truth: their test items, minus the ones seen in training) and
``base.build_interactions`` + ``baselines.weigh`` (summed ``EVENT_WEIGHTS`` per pair). Items
are numbered by their row in the catalogue (``item_idx``), the pandas column order, so both
engines break score ties the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from shopintent.models.recommenders.base import EVENT_WEIGHTS
from shopintent.models.recommenders.baselines import WEIGHTINGS

#: relative rank error of the quantile sketch that brackets the cut-off (the bracket's rows,
#: about 4 x this share of the log, are the only ones brought to the driver)
_SKETCH_ERROR = 1e-3


def interactions(events: DataFrame) -> DataFrame:
    """The rows with an item (notebook 06's ``interactions``; anonymous ones included, as the
    cut-off counts them)."""
    return events.filter(F.col("item_id").isNotNull())


def _at_position(micros: DataFrame, position: int, lo: int, hi: int) -> int | None:
    """The ``position``-th (0-based) time in order, if it lies within [lo, hi], else None."""
    before = micros.filter(F.col("us") < lo).count()
    band = [r[0] for r in micros.filter(F.col("us").between(lo, hi)).orderBy("us").collect()]
    offset = position - before
    return band[offset] if 0 <= offset < len(band) else None


def temporal_cutoff(events: DataFrame, test_frac: float = 0.2) -> dt.datetime:
    """``temporal_split``'s cut-off, exactly: the time at position n - round(n x test_frac) of
    the sorted times. Found without sorting the log: a quantile sketch brackets it, and only the
    bracket is sorted (the whole range if the sketch missed). Times travel as integer
    microseconds, so no time zone touches them."""
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
    micros = events.select(F.unix_micros("ts").alias("us")).filter(F.col("us").isNotNull())
    n = micros.count()
    if n == 0:
        raise ValueError("events is empty: nothing to split")
    position = min(n - 1, n - int(round(n * test_frac)))
    q = position / n
    lo_q, hi_q = max(0.0, q - 2 * _SKETCH_ERROR), min(1.0, q + 2 * _SKETCH_ERROR)
    lo, hi = micros.approxQuantile("us", [lo_q, hi_q], _SKETCH_ERROR)
    lo, hi = (int(lo) if lo_q > 0 else -(2**62)), (int(hi) if hi_q < 1 else 2**62)
    found = _at_position(micros, position, lo, hi)
    if found is None:  # the sketch's guarantee failed (rounding at the edges): sort all
        found = _at_position(micros, position, -(2**62), 2**62)
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=found)


def temporal_split(
    events: DataFrame, test_frac: float = 0.2, cutoff=None
) -> tuple[DataFrame, DataFrame, dt.datetime]:
    """``(train, test, cutoff)``: interactions before / at or after the cut-off."""
    ev = interactions(events)
    cutoff = temporal_cutoff(ev, test_frac) if cutoff is None else cutoff
    is_test = F.col("ts") >= F.lit(cutoff)
    return ev.filter(~is_test), ev.filter(is_test), cutoff


def catalogue_index(items: DataFrame) -> DataFrame:
    """``item_id, item_idx``: each item's 0-based row in the catalogue, as read (one window over
    the catalogue, which is small next to the log)."""
    order = Window.orderBy(F.monotonically_increasing_id())
    return items.select("item_id").withColumn("item_idx", F.row_number().over(order) - 1)


def _weight_of(event_type, weights: dict[str, float]):
    expr = F.lit(1.0)  # event types missing from the weights weigh 1, as in build_interactions
    for name, w in weights.items():
        expr = F.when(event_type == name, F.lit(float(w))).otherwise(expr)
    return expr


def build_interactions(
    events: DataFrame, catalogue: DataFrame, weights: dict[str, float] | None = None
) -> DataFrame:
    """``user_id, item_idx, weight``: summed event weights per (known user, catalogue item)
    pair. An item missing from the catalogue raises, as ``base.build_interactions`` does."""
    weights = EVENT_WEIGHTS if weights is None else weights
    ev = events.filter(F.col("user_id").isNotNull() & F.col("item_id").isNotNull())
    rows = ev.join(F.broadcast(catalogue), "item_id", "left")
    unknown = rows.filter(F.col("item_idx").isNull()).select("item_id").distinct().limit(5)
    bad = [r[0] for r in unknown.collect()]
    if bad:
        raise ValueError(
            f"events name items missing from the catalogue (item_id {', '.join(map(repr, bad))})"
        )
    return rows.groupBy("user_id", "item_idx").agg(
        F.sum(_weight_of(F.col("event_type"), weights)).alias("weight")
    )


def weigh(pairs: DataFrame, weighting: str) -> DataFrame:
    """``baselines.weigh`` on ``user_id, item_idx, weight`` rows: binary, weight or log."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    w = F.col("weight")
    value = {
        "binary": F.lit(1.0),
        "weight": w,
        "log": F.lit(1.0) + F.log(F.greatest(w, F.lit(1.0))),
    }[weighting]
    return pairs.filter(w != 0).withColumn("weight", value.cast("double"))


@dataclass(frozen=True)
class SparkTask:
    """What every model is scored on (``evaluate.RecTask`` on Spark).

    ``train``: ``user_id, item_idx, weight`` (summed event weights); ``users``: the test users
    (``user_id``); ``truth``: ``user_id, item_idx`` (relevant, each pair once); ``seen``:
    ``user_id, item_idx`` (training items of the test users, excluded from their lists);
    ``catalogue``: ``item_id, item_idx``.
    """

    train: DataFrame
    users: DataFrame
    truth: DataFrame
    seen: DataFrame
    catalogue: DataFrame
    n_items: int
    protocol: str = "temporal-global-cutoff"


def make_task(
    train: DataFrame,
    test: DataFrame,
    items: DataFrame,
    protocol: str = "temporal-global-cutoff",
    *,
    drop_seen_from_truth: bool = True,
) -> SparkTask:
    """``evaluate.make_task`` on Spark: test users are the known users with a test item; their
    truth is their test items in the catalogue (others left out, as ``interactions_matrix``
    does), minus the training ones with ``drop_seen_from_truth``."""
    catalogue = catalogue_index(items).cache()
    pairs = build_interactions(train, catalogue).cache()
    known = test.filter(F.col("user_id").isNotNull() & F.col("item_id").isNotNull())
    users = known.select("user_id").distinct().cache()
    truth = known.join(F.broadcast(catalogue), "item_id").select("user_id", "item_idx").distinct()
    seen = pairs.join(users, "user_id", "left_semi").select("user_id", "item_idx").cache()
    if drop_seen_from_truth:
        truth = truth.join(seen, ["user_id", "item_idx"], "left_anti")
    return SparkTask(pairs, users, truth.cache(), seen, catalogue, catalogue.count(), protocol)
