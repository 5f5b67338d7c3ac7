"""Sessionisation on Spark: ``data/sessions.sessionize`` as window functions."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def sessionize(
    events: DataFrame, gap: pd.Timedelta, prefix: str = "", order: str = "_order"
) -> DataFrame:
    """``events`` (``user_id``, ``ts``, ``order``) with ``session_id`` cut at gaps longer than
    ``gap``: a user's first event opens session 1, and each gap longer than ``gap`` the next.
    Ids read ``<prefix><user>-<n>``, as ``data.sessions.sessionize`` gives them.
    """
    w = Window.partitionBy("user_id").orderBy("ts", order)
    gap_us = int(pd.Timedelta(gap) / pd.Timedelta(microseconds=1))
    prev = F.lag("ts").over(w)
    new = prev.isNull() | ((F.unix_micros("ts") - F.unix_micros(prev)) > gap_us)
    number = F.sum(new.cast("long")).over(w.rowsBetween(Window.unboundedPreceding, 0))
    return events.withColumn(
        "session_id", F.concat(F.lit(prefix), "user_id", F.lit("-"), number.cast("string"))
    )
