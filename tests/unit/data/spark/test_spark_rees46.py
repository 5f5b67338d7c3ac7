"""REES46 prepared on Spark gives the pandas engine's tables, and names bad rows the same way.

All tests share the session-scoped ``spark`` fixture (local[2], UI off) and tiny inputs.
"""

import json

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -r requirements)")

from shopintent.cli import main  # noqa: E402
from shopintent.data import registry  # noqa: E402
from shopintent.data.sources import rees46  # noqa: E402
from shopintent.data.sources.reading import SourceError  # noqa: E402
from shopintent.data.spark import rees46 as spark_rees46  # noqa: E402
from shopintent.data.store import read_events  # noqa: E402

SAMPLE = "rees46-2019oct-head1000"
HEADER = (
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


def test_cli_prepare_on_spark_equals_the_pandas_prepare(spark, shared_data, data_root, capsys):
    source = str(shared_data / SAMPLE)
    assert main(["data", "prepare", "--dataset", "rees46", "--source", source]) == 0
    on_pandas = registry.load("rees46")
    args = ["data", "prepare", "--dataset", "rees46", "--source", source, "--name", "onspark"]
    assert main([*args, "--engine", "spark", "--spark-master", "local[2]"]) == 0
    on_spark = registry.load("onspark")  # read back and validated by the pandas store
    for table in ("events", "items", "queries", "reviews"):
        a, b = getattr(on_pandas, table), getattr(on_spark, table)
        assert list(b.columns) == list(a.columns), table
        pd.testing.assert_frame_equal(_sorted(b), _sorted(a), obj=table)
    assert len(on_spark.events) == 1000 and on_spark.meta["rows"]["items"] == 534
    assert on_spark.meta["engine"] == "spark" and on_spark.meta["bad_rows"]["total"] == 0
    # partitioned by day, each day's rows sorted by time
    folder = registry.dataset_dir("onspark")
    assert [p.name for p in (folder / "events.parquet").iterdir()] == ["date=2019-10-01"]
    assert on_spark.events["ts"].is_monotonic_increasing
    assert "onspark" in capsys.readouterr().out
    listed = {d["name"]: d for d in registry.list_prepared()}  # row counts from folder footers
    assert listed["onspark"]["broken"] is None and listed["onspark"]["rows"]["events"] == 1000


def _write(tmp_path, rows, name="2019-Nov.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows))
    return path


ROWS = [
    "2019-11-01 10:00:00 UTC,view,1,5,,acme,10.00,7,\n",
    "2019-11-01 10:10:00 UTC,remove_from_cart,1,5,,acme,12.50,7,\n",
    "2019-11-01 12:00:00 UTC,view,1,5,,acme,11.00,7,\n",  # 110 min later: a new session
    "2019-11-02 09:00:00 UTC,view,2,6,tv.oled,,9.00,8,s-8\n",
    "2019-11-02 09:00:00 UTC,view,2,6,,lg,,8,s-8\n",  # no price: the item keeps 9.00
]
BAD = [
    "2019-11-01 10:20:00 UTC,view,1,5,,acme,-3,7,\n",  # line 7: negative price
    "2019-13-01 10:20:00 UTC,view,1,5,,acme,3,7,\n",  # line 8: no such month
    "2019-11-01 10:20:00 UTC,click,1,5,,acme,3,7,\n",  # line 9: unknown event type
    "2019-11-01 10:20:00 UTC,view,1,5,,acme,3\n",  # line 10: fields missing
    "2019-11-01 10:20:00 UTC,view,1,5,,acme,3,,\n",  # line 11: neither session nor user
]


@pytest.fixture(scope="module")
def skipped(spark, tmp_path_factory):
    """The rows above and the bad rows, loaded with --on-bad-rows skip by both engines; the
    Spark tables saved once for the tests below (each Spark job costs a second or more)."""
    tmp = tmp_path_factory.mktemp("rees46-skip")
    path = _write(tmp, ROWS + BAD)
    shop = spark_rees46.load(spark, path, on_bad_rows="skip")
    out = shop.save(tmp / "out")
    return rees46.load(path, on_bad_rows="skip"), shop, out


def test_sessions_latest_values_and_bad_rows_skipped_as_pandas_does(skipped):
    want, shop, out = skipped
    events = read_events(out)
    pd.testing.assert_frame_equal(_sorted(events), _sorted(want.events))
    items = pd.read_parquet(out / "items.parquet")
    pd.testing.assert_frame_equal(_sorted(items), _sorted(want.items), check_dtype=False)
    by_price = events.set_index("price")
    assert by_price.loc[10.0, "session_id"] == by_price.loc[12.5, "session_id"] == "user-7-1"
    assert by_price.loc[11.0, "session_id"] == "user-7-2"
    assert items.set_index("item_id").loc["2", "price"] == 9.0
    bad = shop.meta["bad_rows"]
    assert bad["total"] == want.meta["bad_rows"]["total"] == 5
    assert shop.meta["events_without_session"] == want.meta["events_without_session"] == 3
    examples = bad["examples"]["2019-Nov.csv"]
    assert [e.split(":")[0] for e in examples] == [f"line {n}" for n in (7, 8, 9, 10, 11)]
    assert "column price: -3.0 is negative" in examples[0]
    assert "'2019-13-01 10:20:00 UTC' is not a date-time" in examples[1]
    assert "column event_type: 'click' is not one of view, cart" in examples[2]
    assert "wrong number of fields" in examples[3]
    assert examples[3].endswith("the record: '2019-11-01 10:20:00 UTC,view,1,5,,acme,3'")
    assert "an event needs a session" in examples[4]
    assert bad["lines_read"]["2019-Nov.csv"] == {
        "lines": 11,
        "header": 1,
        "records": 9,
        "malformed": 1,
    }


def test_a_bad_row_fails_naming_file_line_value_and_record(spark, tmp_path):
    path = _write(tmp_path, ROWS + BAD[1:2])
    with pytest.raises(SourceError) as err:
        spark_rees46.load(spark, path)
    msg = str(err.value)
    assert msg.startswith(f"{path} line 7: column event_time: '2019-13-01 10:20:00 UTC' is not")
    assert "the record: '2019-13-01 10:20:00 UTC,view,1,5,,acme,3,7,'" in msg


def test_a_last_line_cut_short_is_refused_as_in_pandas(spark, tmp_path):
    full = "2019-11-01 10:00:00 UTC,view,1,5,,acme,10.00,7,aaaaaaaa-0001\n"
    path = tmp_path / "2019-Nov.csv"
    path.write_text(HEADER + full + full.replace("0001", "0002") + full[:-4])  # no newline
    with pytest.raises(SourceError, match="line 4: column user_session: 'aaaaaaaa-0' ends"):
        rees46.load(path)
    with pytest.raises(SourceError, match=r"line 4: column user_session: 'aaaaaaaa-0' ends"):
        spark_rees46.load(spark, path)
    path.write_text(HEADER + full + full.replace("0001", "0002").rstrip("\n"))  # complete
    assert spark_rees46.load(spark, path).meta["bad_rows"]["total"] == 0


def test_read_events_reads_only_the_days_and_columns_asked_for(skipped):
    out = skipped[2]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["rows"] == {"events": 5, "items": 2, "queries": 0, "reviews": 0}
    days = sorted((out / "events.parquet").iterdir())
    assert [len(list(d.glob("*.parquet"))) for d in days] == [1, 1]  # one file per day
    day2 = read_events(out, columns=["ts", "item_id"], start="2019-11-02")
    assert list(day2.columns) == ["ts", "item_id"] and len(day2) == 2
    assert str(day2["ts"].dtype) == "datetime64[us, UTC]"
    day1 = read_events(out, start="2019-11-01 10:05", end="2019-11-02")
    assert day1["price"].tolist() == [12.5, 11.0]


def test_spark_refuses_sources_it_does_not_prepare_yet(data_root, tmp_path):
    with pytest.raises(ValueError, match="--engine spark does not prepare instacart yet"):
        registry.prepare("instacart", source=tmp_path, engine="spark")
    with pytest.raises(ValueError, match="--spark-master applies only with --engine spark"):
        registry.prepare("rees46", source=tmp_path, spark_master="local[2]")
