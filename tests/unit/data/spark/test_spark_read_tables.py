"""``read_tables`` opens a prepared dataset of either layout on Spark with the canonical schema.

Values are compared with the pandas store's reading of the same folder: timestamps as epoch
microseconds (a collected TimestampType would be shown in the Python process's time zone).
"""

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -r requirements)")

from pyspark.sql import functions as F  # noqa: E402

from shopintent.data.schema import SchemaError, columns  # noqa: E402
from shopintent.data.spark.read import read_tables, spark_schema  # noqa: E402
from shopintent.data.store import ShopData  # noqa: E402
from shopintent.data.synthetic.shards import generate_shards  # noqa: E402


def _collected(df) -> pd.DataFrame:
    """A Spark frame as pandas, sorted, with ``ts`` as epoch microseconds; maps as sorted
    item lists (pandas reads them as dicts)."""
    cols = [F.unix_micros(c).alias(c) if c == "ts" else F.col(c) for c in df.columns]
    rows = [r.asDict() for r in df.select(*cols).collect()]
    out = pd.DataFrame(rows, columns=df.columns)
    return _normal(out)


def _normal(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    if "attributes" in df:
        df["attributes"] = [None if v is None else sorted(dict(v).items()) for v in df.attributes]
    if "ts" in df and str(df["ts"].dtype).startswith("datetime"):
        df["ts"] = df["ts"].astype("int64")
    df = df.astype({c: object for c in df.columns if c not in ("ts", "price")})
    df = df.where(df.notna(), None).astype({c: object for c in df.columns})
    keys = [c for c in ("session_id", "ts", "item_id", "event_type") if c in df]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def _same_as_pandas(spark, folder, want_events: int | None = None):
    events, items = read_tables(spark, folder)
    assert events.schema == spark_schema("events") and items.schema == spark_schema("items")
    assert events.columns == columns("events") and items.columns == columns("items")
    shop = ShopData.load(folder)
    if want_events is not None:
        assert len(shop.events) == want_events
    pd.testing.assert_frame_equal(_collected(events), _normal(shop.events[columns("events")]))
    pd.testing.assert_frame_equal(_collected(items), _normal(shop.items[columns("items")]))


def test_reads_the_sharded_synthetic_layout(spark, tmp_path):
    folder = generate_shards(tmp_path / "shop", 20_000, block_events=10_000)
    assert (folder / "events.parquet").is_dir()  # date=YYYY-MM-DD/part-<block>.parquet
    _same_as_pandas(spark, folder)


def test_reads_a_pandas_prepared_shop(spark, smoke_shop, tmp_path):
    folder = smoke_shop.save(tmp_path / "smoke")
    assert (folder / "events.parquet").is_file()
    _same_as_pandas(spark, folder, want_events=len(smoke_shop.events))


def test_a_missing_table_or_column_is_named(spark, tmp_path):
    with pytest.raises(SchemaError, match="events.parquet is missing"):
        read_tables(spark, tmp_path)
    pd.DataFrame({"item_id": ["1"]}).to_parquet(tmp_path / "items.parquet")
    pd.DataFrame({"session_id": ["s"]}).to_parquet(tmp_path / "events.parquet")
    with pytest.raises(SchemaError, match="events: no column.s. user_id, ts, event_type"):
        read_tables(spark, tmp_path)
