"""DIGINETICA (CIKM Cup 2016) on Spark: the files, row rules and decisions of the pandas loader
(``data/sources/diginetica.py``, whose docstring says what maps where; its specs, column names
and constants are imported from there).

The views file (1.2 M lines in the full dataset) is read and checked on Spark. The purchases
file and the item -> category file are the full dataset's own at every scale (18k and 184k
lines): they are read and checked by the pandas loader's own functions and joined in.
Session start dates, the first known user of a session and the purchase times are computed
with aggregations and joins, with the same tie rules (views by timeframe then file order,
then purchase lines by timeframe then file order).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType

from shopintent.data.schema import TS_MAX, TS_MIN
from shopintent.data.sources import diginetica as D
from shopintent.data.sources.reading import BadRows, SourceError, check_on_bad_rows, source_file
from shopintent.data.spark import rows as R
from shopintent.data.spark.store import SparkShop

OPTIONS = D.OPTIONS


def load(spark: SparkSession, source: Path, on_bad_rows: str = "error") -> SparkShop:
    check_on_bad_rows(on_bad_rows)
    scratch = Path(tempfile.mkdtemp(prefix="diginetica-", dir=_scratch_root(spark)))
    try:
        return _load(spark, Path(source), on_bad_rows, scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _load(spark: SparkSession, source: Path, on_bad_rows: str, scratch: Path) -> SparkShop:
    folder = source.parent if source.is_file() else source
    bad = BadRows()
    persisted: list = []
    views_path = source_file(source, "diginetica", D.VIEWS)
    columns = D.view_columns(views_path)
    views, counted = R.check_file(
        spark,
        views_path,
        columns,
        {c: D.VIEW_SPEC[v] for c, v in zip(columns, D.VIEW_COLUMNS, strict=True)},
        on_bad_rows,
        bad,
        sep=D.SEP,
        null_value=D.NA[0],
        extra=lambda rows: [_timeframe_outside(rows)],
        persisted=persisted,
    )
    views = views.toDF(*D.VIEW_COLUMNS, *views.columns[len(D.VIEW_COLUMNS) :])
    purchases_path = source_file(folder, "diginetica", D.PURCHASES)
    purchases_pd = D.read_purchases(purchases_path, on_bad_rows, bad)
    categories_pd = D.read_categories(
        source_file(folder, "diginetica", D.CATEGORIES), on_bad_rows, bad
    )
    if not counted["good"]:
        raise SourceError(f"diginetica: no valid rows in the views file in {folder}")

    start = views.groupBy("session_id").agg(F.min("eventdate").alias("_start"))
    views = views.join(start, "session_id").withColumn("ts", _plus_ms("_start", "timeframe"))
    _no_time_outside(views, views_path)
    last_view = views.groupBy("session_id").agg(F.max("ts").alias("_last"))

    purchases = _frame(spark, purchases_pd, scratch).withColumnRenamed("sessionId", "session_id")
    outside = purchases.join(start, "session_id", "left_anti").count()
    purchases = purchases.join(start, "session_id").join(last_view, "session_id")
    at = _plus_ms("_start", "timeframe")
    delay_us = int(D.PURCHASE_DELAY / pd.Timedelta(microseconds=1))
    purchases = purchases.withColumn("_moved", at < F.col("_last")).withColumn(
        "ts",
        F.when(F.col("_moved"), F.timestamp_micros(F.unix_micros("_last") + delay_us)).otherwise(
            at
        ),
    )
    counts = purchases.agg(
        F.count(F.lit(1)).alias("lines"),
        F.count_if("_moved").alias("moved"),
        F.count_if(_outside("ts")).alias("outside"),
    ).collect()[0]
    if counts["outside"]:
        raise SourceError(f"{purchases_path}: {counts['outside']} rows {_TIMES}")

    # a session's user: its first known userId, views by (timeframe, line), then purchases
    users = views.select(
        "session_id",
        "user_id",
        _key(0, "_block", "_row"),
    ).unionByName(
        purchases.select(
            "session_id",
            F.col("userId").alias("user_id"),
            _key(1, F.lit(0), "_line"),
        )
    )
    users = users.filter(F.col("user_id").isNotNull())
    session_user = users.groupBy("session_id").agg(
        F.min_by("user_id", "_key").alias("user_id"),
        F.count_distinct("user_id").alias("_users"),
    )
    several = session_user.filter(F.col("_users") > 1).count()

    events = views.select(
        "session_id",
        "ts",
        F.lit("view").alias("event_type"),
        "item_id",
        F.lit(None).cast("string").alias("order_id"),
    ).unionByName(
        purchases.select(
            "session_id",
            "ts",
            F.lit("purchase").alias("event_type"),
            F.col("itemId").alias("item_id"),
            F.col("ordernumber").alias("order_id"),
        )
    )
    events = events.join(session_user.drop("_users"), "session_id", "left").select(
        "user_id",
        "session_id",
        "ts",
        "event_type",
        "item_id",
        F.lit(None).cast("string").alias("query_id"),
        F.lit(None).cast("double").alias("price"),
        "order_id",
    )
    category = _frame(spark, categories_pd[["itemId", "categoryId"]], scratch).withColumnRenamed(
        "itemId", "item_id"
    )
    items = (
        events.select("item_id")
        .distinct()
        .join(category, "item_id", "left")
        .select(
            "item_id",
            F.lit(None).cast("string").alias("title"),
            F.lit(None).cast("string").alias("brand"),
            F.concat(F.lit("cat"), "categoryId").alias("category"),
            F.lit(None).cast("double").alias("price"),
            F.lit(None).cast(MapType(StringType(), StringType())).alias("attributes"),
            F.lit(None).cast("string").alias("description"),
        )
    )
    meta = {
        "dataset": "diginetica",
        "bad_rows": bad.as_meta(),
        "views_file": views_path.name,
        "purchase_lines": int(counts["lines"]),
        "purchase_lines_outside_view_sessions": int(outside),
        "purchases_moved_after_last_view": int(counts["moved"]),
        "sessions_with_several_users": int(several),
        "engine": "spark",
    }
    return SparkShop(events=events, items=items, meta=meta, persisted=persisted, scratch=[scratch])


_TIMES = "give a time outside [1990-01-01, 2100-01-01)"


def _plus_ms(date: str, ms: str):
    return F.timestamp_micros(F.unix_micros(date) + F.col(ms).cast("long") * 1000)


def _outside(col: str):
    return (F.col(col) < F.lit(TS_MIN.to_pydatetime())) | (
        F.col(col) >= F.lit(TS_MAX.to_pydatetime())
    )


def _key(part: int, block, line):
    """Where a row stands in the order the first known user is taken from."""
    return F.struct(
        F.lit(part).alias("part"),
        F.col("timeframe").cast("long").alias("timeframe"),
        F.col(block).cast("long").alias("block")
        if isinstance(block, str)
        else block.cast("long").alias("block"),
        F.col(line).cast("long").alias("line"),
    ).alias("_key")


def _timeframe_outside(rows: DataFrame):
    """The pandas loader's range check: a timeframe in [0, MAX_TIMEFRAME) milliseconds."""
    t = F.col("timeframe")
    return F.when(
        (t < 0) | (t >= D.MAX_TIMEFRAME),
        F.concat(
            F.lit("column timeframe: "),
            t.cast("string"),
            F.lit(f" is outside [0, {D.MAX_TIMEFRAME})"),
        ),
    )


def _no_time_outside(rows: DataFrame, path: Path) -> None:
    """A session start + timeframe outside [1990, 2100) fails (as ``checks.check_times`` does
    with ``on_bad_rows="error"``; such a time needs an event date near 2100)."""
    n = rows.filter(_outside("ts")).count()
    if n:
        raise SourceError(f"{path}: {n} rows {_TIMES}")


def _frame(spark: SparkSession, df: pd.DataFrame, scratch: Path) -> DataFrame:
    """A small table a pandas function read, as a Spark DataFrame, through a Parquet file in
    ``scratch`` (exact types, no row-by-row transfer); ``store.save`` removes ``scratch``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"{len(list(scratch.iterdir()))}.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    return spark.read.parquet(str(path))


def _scratch_root(spark: SparkSession) -> Path:
    """Spark's own scratch folder of this session (``spark.local.dir``, under the data folder)."""
    root = Path(spark.sparkContext.getConf().get("spark.local.dir", tempfile.gettempdir()))
    root.mkdir(parents=True, exist_ok=True)
    return root
