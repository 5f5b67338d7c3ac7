"""REES46 on Spark: the same files, columns, row rules and decisions as the pandas loader
(``data/sources/rees46.py``, whose docstring says what maps where); its ``COLUMNS``, ``SPEC``,
``REQUIRED``, header check and messages are imported from there, not copied.

What is done differently, because the data may not fit in one process:

- rows are read and checked by Spark (``spark/rows.py``): a bad row is named by file, line and
  value, with its raw record; ``on_bad_rows`` as in pandas (``error`` names the first bad line
  of a file; ``skip`` counts and drops them). Exact duplicate rows (the same raw line) are
  counted per file in ``meta["bad_rows"]["duplicates"]`` and kept, as in pandas.
- rows without a ``user_session`` are cut into sessions with window functions (per user,
  ordered by time: a new session at the first event and after each gap longer than
  ``session_gap``), giving the ids that ``sessions.sessionize`` gives.
- an item's category, brand, price and category id are the latest non-null ones by time, ties
  broken by file order (``max_by``), which is what the pandas loader's stable sort gives.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType

from shopintent.data.sessions import DEFAULT_GAP, parse_gap
from shopintent.data.sources import rees46 as pandas_rees46
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    header_columns,
    source_files,
)
from shopintent.data.spark import rows as R
from shopintent.data.spark.sessions import sessionize
from shopintent.data.spark.store import SparkShop

OPTIONS = pandas_rees46.OPTIONS


def load(
    spark: SparkSession,
    source: Path,
    on_bad_rows: str = "error",
    session_gap: str | pd.Timedelta = DEFAULT_GAP,
) -> SparkShop:
    """The REES46 files of ``source`` (a file or a folder of monthly files) as canonical tables.

    Bad rows are checked here, file by file (one Spark job each); the tables are computed when
    they are written (``spark/store.save``).
    """
    check_on_bad_rows(on_bad_rows)
    gap = parse_gap(session_gap)
    bad = BadRows()
    persisted: list = []
    frames = []
    good = no_session = 0
    for i, path in enumerate(source_files(source, "rees46", ("*.csv", "*.csv.gz"))):
        pandas_rees46.present_columns(path)  # fails on a header without the required columns
        rows, counted = R.check_file(
            spark,
            path,
            header_columns(path),
            {c: pandas_rees46.SPEC[c] for c in pandas_rees46.COLUMNS},
            on_bad_rows,
            bad,
            file_index=i,
            extra=_checks,
            count_good={"none": F.col("user_session").isNull()},
            persisted=persisted,
        )
        good += counted["good"]
        no_session += counted["none"]
        frames.append(rows)
    raw = frames[0]
    for f in frames[1:]:
        raw = raw.unionByName(f)
    order = F.struct("event_time", "_file", "_block", "_row")  # time, then file order

    events = raw.select(
        F.col("user_id"),
        F.col("user_session").alias("session_id"),
        F.col("event_time").alias("ts"),
        F.col("event_type"),
        F.col("product_id").alias("item_id"),
        F.lit(None).cast("string").alias("query_id"),
        F.col("price"),
        order.alias("_order"),
    )
    if not good:
        raise SourceError(f"rees46: no valid rows in {source}")
    if no_session:
        events = events.filter(F.col("session_id").isNotNull()).unionByName(
            sessionize(
                events.filter(F.col("session_id").isNull()),
                gap,
                prefix=pandas_rees46.NO_SESSION_PREFIX,
            )
        )
    events = events.drop("_order")

    def latest(col: str):
        return F.max_by(col, F.when(F.col(col).isNotNull(), order))

    items = raw.groupBy(F.col("product_id").alias("item_id")).agg(
        latest("category_code").alias("category_code"),
        latest("brand").alias("brand"),
        latest("price").alias("price"),
        latest("category_id").alias("category_id"),
    )
    items = items.select(
        "item_id",
        F.lit(None).cast("string").alias("title"),
        "brand",
        F.coalesce("category_code", F.concat(F.lit("cat"), "category_id")).alias("category"),
        F.col("price").cast("double"),
        F.lit(None).cast(MapType(StringType(), StringType())).alias("attributes"),
        F.lit(None).cast("string").alias("description"),
        "category_id",
    )
    meta = {
        "dataset": "rees46",
        "bad_rows": bad.as_meta(),
        "session_gap": str(pd.Timedelta(gap)),
        "events_without_session": int(no_session),
        "engine": "spark",
    }
    return SparkShop(events=events, items=items, meta=meta, persisted=persisted)


def _checks(rows: DataFrame) -> list:
    """The pandas loader's checks after parsing: no negative price; a session or a user."""
    price = F.col("price")
    orphan = F.col("user_session").isNull() & F.col("user_id").isNull()
    return [
        F.when(
            price < 0,
            F.concat(F.lit("column price: "), price.cast("string"), F.lit(" is negative")),
        ),
        F.when(orphan, F.lit(f"column user_session: None {pandas_rees46.ORPHAN}")),
    ]
