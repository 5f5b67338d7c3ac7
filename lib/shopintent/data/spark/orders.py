"""The ``orders`` layout on Spark: the pandas loader's fields, ``SPEC``, row checks and decisions
(``data/sources/orders.py``, whose docstring says what maps where), imported from there, with
the rows read and checked by ``spark/layouts.py``.

A value in a row error is the parsed number as Spark prints it (``0.0``, where pandas shows
``0`` when the file's column holds only whole numbers).

As in pandas: lines with a negative quantity go to the extra table ``returns``, every other
line is a ``purchase`` event (its quantity kept in the extra column ``quantity``); an item's
title is its first description in file order and its price that of its latest purchase line
with one (time, then file order: ``min_by`` / ``max_by``).
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType

from shopintent.data.sources import layouts
from shopintent.data.sources import orders as pandas_orders
from shopintent.data.spark import layouts as spark_layouts
from shopintent.data.spark.store import SparkShop

OPTIONS = pandas_orders.OPTIONS
_ZERO = " is zero: an order line neither buys nor returns anything"


def _checks(rows: DataFrame) -> list[Column]:
    """The pandas loader's checks after parsing: no zero quantity, then no negative price."""
    out = []
    if "quantity" in rows.columns:
        q = F.col("quantity")
        out.append(
            F.when(q == 0, F.concat(F.lit("column quantity: "), q.cast("string"), F.lit(_ZERO)))
        )
    out += spark_layouts.negative(rows)
    return out


def load(
    spark: SparkSession,
    source: Path,
    on_bad_rows: str = "error",
    columns=None,
    sep: str | None = None,
    encoding: str | None = None,
    na_values: str | None = None,
    time_format: str | None = None,
) -> SparkShop:
    """Order lines of your own (``source``: a file or a folder of CSV/TSV files) as canonical
    tables and ``returns``; bad rows are checked file by file here."""
    spec = {**pandas_orders.SPEC, "time": layouts.time_kind(time_format)}
    read = spark_layouts.read_all(
        spark,
        source,
        pandas_orders.LAYOUT,
        pandas_orders.FIELDS,
        spec,
        extra=_checks,
        columns=columns,
        sep=sep,
        encoding=encoding,
        na_values=na_values,
        on_bad_rows=on_bad_rows,
    )
    raw = read.rows.withColumn("quantity", F.col("quantity").cast("double")).withColumn(
        "price", F.col("price").cast("double")
    )
    returned = F.coalesce(F.col("quantity") < 0, F.lit(False))
    bought = raw.filter(~returned)
    events = bought.select(
        F.col("customer").alias("user_id"),
        F.col("order").alias("session_id"),
        F.col("time").alias("ts"),
        F.lit("purchase").alias("event_type"),
        F.col("item").alias("item_id"),
        F.lit(None).cast("string").alias("query_id"),
        "price",
        "quantity",
    )
    returns = raw.filter(returned).select(
        F.col("order").alias("order_id"),
        F.col("item").alias("item_id"),
        F.col("time").alias("ts"),
        F.col("customer").alias("user_id"),
        "quantity",
        "price",
    )
    in_file = F.struct("_file", "_block", "_row")
    by_time = F.struct("time", "_file", "_block", "_row")
    described = F.col("description").isNotNull()
    items = raw.groupBy(F.col("item").alias("item_id")).agg(
        F.min_by("description", F.when(described, in_file)).alias("title"),
        F.max_by("price", F.when(~returned & F.col("price").isNotNull(), by_time)).alias("price"),
        F.countDistinct("description").alias("_descriptions"),
    )
    facts = (
        raw.agg(
            F.count(F.lit(1)).alias("lines"),
            F.count_if(returned).alias("returns"),
            F.count_if(~returned & F.col("customer").isNull()).alias("no_user"),
            F.count_distinct(F.when(~returned, F.struct("order", "item"))).alias("pairs"),
        )
        .crossJoin(items.agg(F.count_if(F.col("_descriptions") > 1).alias("several")))
        .collect()[0]
    )
    items = items.select(
        "item_id",
        "title",
        F.lit(None).cast("string").alias("brand"),
        F.lit(None).cast("string").alias("category"),
        "price",
        F.lit(None).cast(MapType(StringType(), StringType())).alias("attributes"),
        F.lit(None).cast("string").alias("description"),
    )
    bought_lines = facts["lines"] - facts["returns"]
    meta = {
        **read.meta(),
        "order_lines": int(facts["lines"]),
        "return_lines": int(facts["returns"]),
        "repeated_order_lines": int(bought_lines - facts["pairs"]),
        "events_without_user": int(facts["no_user"]),
        "items_with_several_descriptions": int(facts["several"]),
        "returns": "lines with a negative quantity: extra table returns, not purchase events",
        "engine": "spark",
    }
    return SparkShop(
        events=events,
        items=items,
        meta=meta,
        persisted=read.persisted,
        extras={"returns": returns},
    )
