"""Opening a prepared dataset on Spark, whichever engine wrote it.

A prepared folder holds ``events.parquet`` either as one file (the pandas engine) or as a
folder partitioned by day (``date=YYYY-MM-DD/``: Spark's ``store.save`` and the sharded
synthetic shop), and ``items.parquet`` as one file or a folder of parts. ``read_tables`` gives
both as Spark DataFrames with exactly the canonical columns, in order and of the canonical
Spark types (the ``date`` partition column and any source extras dropped), so analysis code has
one way in and never depends on which engine prepared the data.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from shopintent.data.schema import TABLES, SchemaError
from shopintent.data.store import PARTITION

#: the Spark type of each canonical column kind, as ``store._ARROW`` writes them (``ts``: Parquet's
#: ``timestamp[us, UTC]`` reads as TimestampType, an instant, shown in the session's UTC)
SPARK_TYPES: dict[str, DataType] = {
    "str": StringType(),
    "ts": TimestampType(),
    "float": DoubleType(),
    "int": LongType(),
    "dict": MapType(StringType(), StringType()),
    "entities": ArrayType(
        StructType(
            [
                StructField("start", IntegerType()),
                StructField("end", IntegerType()),
                StructField("label", StringType()),
            ]
        )
    ),
}


def spark_schema(table: str) -> StructType:
    """The canonical columns of ``table`` as a Spark schema (every column nullable, as Parquet
    files written by pandas declare them)."""
    return StructType([StructField(c.name, SPARK_TYPES[c.kind]) for c in TABLES[table]])


def read_table(spark: SparkSession, path: str | Path, table: str) -> DataFrame:
    """``<path>/<table>.parquet`` (a file, or a folder of files, maybe partitioned by day) with
    exactly the canonical columns and types; fails naming a missing column or table."""
    file = Path(path) / f"{table}.parquet"
    if not file.exists():
        raise SchemaError(f"{path}: table file {file.name} is missing")
    df = spark.read.parquet(str(file))
    missing = [c.name for c in TABLES[table] if c.name not in df.columns]
    if missing:
        raise SchemaError(f"{table}: no column(s) {', '.join(missing)} in {file}")
    out = []
    for field in spark_schema(table):
        col = F.col(field.name)
        if df.schema[field.name].dataType != field.dataType:
            col = col.cast(field.dataType)  # e.g. an all-null column written as Parquet's null
        out.append(col.alias(field.name))
    return df.select(*out)


def read_tables(spark: SparkSession, path: str | Path) -> tuple[DataFrame, DataFrame]:
    """A prepared dataset's ``(events, items)`` on Spark, from either layout (see the module
    docstring); nothing is computed until an action runs. The partition column ``date`` is
    dropped (it is ``ts``'s UTC day); a filter on ``ts`` still skips row groups by statistics."""
    if PARTITION in (c.name for c in TABLES["events"]):  # pragma: no cover - a schema change
        raise SchemaError(f"events has a column named {PARTITION!r}, the partition column")
    return read_table(spark, path, "events"), read_table(spark, path, "items")
