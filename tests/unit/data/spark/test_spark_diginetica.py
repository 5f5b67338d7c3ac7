"""DIGINETICA prepared on Spark gives the pandas engine's tables (shared ``spark`` fixture)."""

import pandas as pd

from shopintent.data import registry


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


def test_prepare_on_spark_equals_the_pandas_prepare(spark, shared_data, data_root):
    source = shared_data / "diginetica-sample-srgnn"
    registry.prepare("diginetica", source=source)
    on_pandas = registry.load("diginetica")
    registry.prepare(
        "diginetica", source=source, engine="spark", spark_master="local[2]", save_as="d"
    )
    on_spark = registry.load("d")
    for table in ("events", "items", "queries", "reviews"):
        a, b = getattr(on_pandas, table), getattr(on_spark, table)
        assert list(b.columns) == list(a.columns), table
        pd.testing.assert_frame_equal(_sorted(b), _sorted(a), obj=table)
    keys = (
        "purchase_lines",
        "purchase_lines_outside_view_sessions",
        "purchases_moved_after_last_view",
        "sessions_with_several_users",
    )
    assert {k: on_spark.meta[k] for k in keys} == {k: on_pandas.meta[k] for k in keys}
    assert on_spark.meta["purchase_lines"] > 0 and not list(
        data_root.glob(".spark/tmp/diginetica-*")
    )
