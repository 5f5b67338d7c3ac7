"""Taobao UserBehavior on Spark: the file, fields, row rules and decisions of the pandas loader
(``data/sources/taobao.py``: its ``COLUMNS``, ``SPEC``, ``BEHAVIOUR`` and ``FILES`` are imported
from there). Sessions are cut at gaps longer than ``session_gap`` with window functions; an
item's category is the one on its first line in the file (as ``drop_duplicates`` keeps it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType

from shopintent.data.sessions import DEFAULT_GAP, parse_gap
from shopintent.data.sources import taobao as pandas_taobao
from shopintent.data.sources.reading import BadRows, SourceError, check_on_bad_rows, source_file
from shopintent.data.spark import rows as R
from shopintent.data.spark.sessions import sessionize
from shopintent.data.spark.store import SparkShop

OPTIONS = pandas_taobao.OPTIONS


def load(
    spark: SparkSession,
    source: Path,
    on_bad_rows: str = "error",
    session_gap: str | pd.Timedelta = DEFAULT_GAP,
) -> SparkShop:
    check_on_bad_rows(on_bad_rows)
    gap = parse_gap(session_gap)
    bad = BadRows()
    persisted: list = []
    source = Path(source)
    path = source if source.is_file() else source_file(source, "taobao", pandas_taobao.FILES)
    raw, counted = R.check_file(
        spark,
        path,
        pandas_taobao.COLUMNS,
        pandas_taobao.SPEC,
        on_bad_rows,
        bad,
        header=False,
        persisted=persisted,
    )
    if not counted["good"]:
        raise SourceError(f"taobao: no valid rows in {path}")
    behaviour = F.create_map(*[F.lit(x) for kv in pandas_taobao.BEHAVIOUR.items() for x in kv])
    line = F.struct("_block", "_row")  # file order
    events = raw.select(
        "user_id",
        F.col("timestamp").alias("ts"),
        behaviour[F.col("behavior")].alias("event_type"),
        "item_id",
        F.lit(None).cast("string").alias("query_id"),
        F.lit(None).cast("double").alias("price"),
        line.alias("_order"),
    )
    events = sessionize(events, gap).drop("_order")
    items = raw.groupBy("item_id").agg(F.min_by("category_id", line).alias("category_id"))
    items = items.select(
        "item_id",
        F.lit(None).cast("string").alias("title"),
        F.lit(None).cast("string").alias("brand"),
        F.concat(F.lit("cat"), "category_id").alias("category"),
        F.lit(None).cast("double").alias("price"),
        F.lit(None).cast(MapType(StringType(), StringType())).alias("attributes"),
        F.lit(None).cast("string").alias("description"),
    )
    meta = {
        "dataset": "taobao",
        "session_gap": str(pd.Timedelta(gap)),
        "bad_rows": bad.as_meta(),
        "engine": "spark",
    }
    return SparkShop(events=events, items=items, meta=meta, persisted=persisted)
