"""Taobao UserBehavior prepared on Spark gives the pandas engine's tables (shared ``spark``
fixture: local[2], UI off; tiny inputs)."""

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -r requirements)")

from shopintent.data import registry  # noqa: E402
from shopintent.data.sources import taobao  # noqa: E402
from shopintent.data.spark import taobao as spark_taobao  # noqa: E402
from shopintent.data.store import read_events  # noqa: E402


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


def test_prepare_on_spark_equals_the_pandas_prepare(spark, shared_data, data_root):
    source = shared_data / "taobao-userbehavior-sample"
    registry.prepare("taobao", source=source)
    on_pandas = registry.load("taobao")
    registry.prepare("taobao", source=source, engine="spark", spark_master="local[2]", save_as="t")
    on_spark = registry.load("t")
    for table in ("events", "items", "queries", "reviews"):
        a, b = getattr(on_pandas, table), getattr(on_spark, table)
        pd.testing.assert_frame_equal(_sorted(b), _sorted(a), obj=table)
    assert len(on_spark.events) == 4321  # the sample's 4,321 lines, all valid
    assert on_spark.events["session_id"].str.fullmatch(r"\d+-\d+").all()


def test_bad_rows_and_sessions_without_a_header_as_in_pandas(spark, tmp_path):
    path = tmp_path / "UserBehavior.csv"
    path.write_text(
        "1,10,100,pv,1511544070\n"
        "1,11,100,cart,1511544070\n"  # the same second: the same session
        "1,10,101,buy,1511546000\n"  # 32 min later: a new session; item 10 keeps category 100
        "2,12,102,fav,99\n"  # line 4: 1970
        "2,12,102,click,1511544070\n"  # line 5: unknown behaviour
        "2,12,102,pv,1511544070\n"
    )
    want = taobao.load(path, on_bad_rows="skip")
    shop = spark_taobao.load(spark, path, on_bad_rows="skip")
    out = shop.save(tmp_path / "out")
    pd.testing.assert_frame_equal(_sorted(read_events(out)), _sorted(want.events))
    items = pd.read_parquet(out / "items.parquet")
    pd.testing.assert_frame_equal(_sorted(items), _sorted(want.items), check_dtype=False)
    assert sorted(read_events(out)["session_id"]) == ["1-1", "1-1", "1-2", "2-1"]
    examples = shop.meta["bad_rows"]["examples"]["UserBehavior.csv"]
    assert [e.split(":")[0] for e in examples] == ["line 4", "line 5"]
    assert "column timestamp: '99' is outside [1990-01-01, 2100-01-01)" in examples[0]
    assert examples[1].endswith("the record: '2,12,102,click,1511544070'")
    assert shop.meta["bad_rows"]["lines_read"]["UserBehavior.csv"]["header"] == 0
