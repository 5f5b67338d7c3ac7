"""The ``clicks`` layout on Spark: the pandas loader's fields, ``SPEC``, event-type mapping,
row checks and decisions (``data/sources/clicks.py``, whose docstring says what maps where),
imported from there, with the rows read and checked by ``spark/layouts.py``.

Differences: exact duplicate rows are found by their raw line (``rows.count_duplicates``:
counted, kept, without examples); an item's category and price are its latest non-null ones by
time, ties broken by file order (``max_by``), which the pandas loader's stable sort gives.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType

from shopintent.data.sources import clicks as pandas_clicks
from shopintent.data.sources import layouts
from shopintent.data.spark import layouts as spark_layouts
from shopintent.data.spark.rows import _quoted
from shopintent.data.spark.store import SparkShop

OPTIONS = pandas_clicks.OPTIONS


def _checks(types: dict[str, str]):
    """The pandas loader's checks after parsing: a known event type, then no negative price."""
    known = ", ".join(sorted(types))
    lookup = F.create_map(*[F.lit(x) for kv in sorted(types.items()) for x in kv])

    def reasons(rows: DataFrame) -> list[Column]:
        out = []
        if "event_type" in rows.columns:
            value = F.col("event_type")
            out.append(
                F.when(
                    value.isNotNull() & F.element_at(lookup, value).isNull(),
                    F.concat(
                        F.lit("column event_type: "),
                        _quoted(value),
                        F.lit(
                            f" is not a known event type (known: {known}; "
                            "map others with --event-types)"
                        ),
                    ),
                )
            )
        out += spark_layouts.negative(rows)
        return out

    return reasons, lookup


def load(
    spark: SparkSession,
    source: Path,
    on_bad_rows: str = "error",
    columns=None,
    sep: str | None = None,
    encoding: str | None = None,
    na_values: str | None = None,
    time_format: str | None = None,
    event_types=None,
) -> SparkShop:
    """A click log of your own (``source``: a file or a folder of CSV/TSV files) as canonical
    tables; bad rows are checked file by file here, the tables computed when written."""
    types = pandas_clicks.event_type_map(event_types)
    spec = {**pandas_clicks.SPEC, "time": layouts.time_kind(time_format)}
    checks, lookup = _checks(types)
    read = spark_layouts.read_all(
        spark,
        source,
        pandas_clicks.LAYOUT,
        pandas_clicks.FIELDS,
        spec,
        extra=checks,
        columns=columns,
        sep=sep,
        encoding=encoding,
        na_values=na_values,
        on_bad_rows=on_bad_rows,
    )
    raw = read.rows
    event_type = F.coalesce(F.element_at(lookup, F.col("event_type")), F.lit("view"))
    events = raw.select(
        F.col("user").alias("user_id"),
        F.col("session").alias("session_id"),
        F.col("time").alias("ts"),
        event_type.alias("event_type"),
        F.col("item").alias("item_id"),
        F.lit(None).cast("string").alias("query_id"),
        F.col("price").cast("double").alias("price"),
    )
    order = F.struct("time", "_file", "_block", "_row")  # time, then file order

    def latest(col: str) -> Column:
        return F.max_by(col, F.when(F.col(col).isNotNull(), order))

    per_item = raw.groupBy(F.col("item").alias("item_id")).agg(
        latest("category").alias("category"),
        latest("price").alias("price"),
        F.countDistinct("category").alias("_categories"),
    )
    facts = per_item.agg(F.count_if(F.col("_categories") > 1).alias("several")).collect()[0]
    no_user = raw.filter(F.col("user").isNull()).count()
    items = per_item.select(
        "item_id",
        F.lit(None).cast("string").alias("title"),
        F.lit(None).cast("string").alias("brand"),
        "category",
        F.col("price").cast("double"),
        F.lit(None).cast(MapType(StringType(), StringType())).alias("attributes"),
        F.lit(None).cast("string").alias("description"),
    )
    meta = {
        **read.meta(),
        "event_types": dict(sorted(types.items())) if event_types else "canonical",
        "events_without_user": int(no_user),
        "items_with_several_categories": int(facts["several"]),
        "engine": "spark",
    }
    return SparkShop(events=events, items=items, meta=meta, persisted=read.persisted)
