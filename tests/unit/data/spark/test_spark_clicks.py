"""The generic ``clicks`` layout prepared on Spark gives the pandas engine's tables, names bad
rows as pandas does, and refuses by name the options it cannot honour yet."""

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -r requirements)")

from shopintent.cli import main  # noqa: E402
from shopintent.data import registry  # noqa: E402
from shopintent.data.sources import clicks  # noqa: E402
from shopintent.data.sources.reading import SourceError  # noqa: E402
from shopintent.data.spark import clicks as spark_clicks  # noqa: E402
from shopintent.data.spark.layouts import Unsupported  # noqa: E402

HEADER = "Sess;Product;When;Who;Cat;Cost;Action;Note\n"
ROWS = [
    "s1;i1;2024-05-01 10:00:00;u1;tv;10.5;pv;a\n",
    "s1;i2;2024-05-01 10:01:00;u1;;NA;addtocart;b\n",
    "s1;i2;2024-05-01 10:02:00;u1;tv.oled;12;buy;\n",
    "s2;i1;2024-05-02 09:00:00;;phone;9;pv;c\n",  # no user: stays without one
    "s2;i1;2024-05-02 09:00:00;;phone;9;pv;c\n",  # an exact repeat: counted, kept
    "s3;i3;2024-05-03 08:00:00;u2;;;click;\n",
]
OPTIONS = {
    "columns": "session=Sess,item=Product,time=When,user=Who,category=Cat,price=Cost,"
    "event_type=Action",
    "sep": ";",
    "na_values": "NA",
    "event_types": "view=pv|click,cart=addtocart,purchase=buy",
}


def _args(options: dict) -> list[str]:
    out = []
    for k, v in options.items():
        out += [f"--{k.replace('_', '-')}", v]
    return out


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


def test_cli_prepare_on_spark_equals_the_pandas_prepare(spark, tmp_path, data_root):
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / "a.csv").write_text(HEADER + "".join(ROWS[:5]))
    (folder / "b.csv").write_text(HEADER + "".join(ROWS[5:]))
    base = ["data", "prepare", "--dataset", "clicks", "--source", str(folder), *_args(OPTIONS)]
    assert main([*base, "--name", "onpandas"]) == 0
    assert (
        main([*base, "--name", "onspark", "--engine", "spark", "--spark-master", "local[2]"]) == 0
    )
    on_pandas, on_spark = registry.load("onpandas"), registry.load("onspark")
    for table in ("events", "items", "queries", "reviews"):
        a, b = getattr(on_pandas, table), getattr(on_spark, table)
        assert list(b.columns) == list(a.columns), table
        pd.testing.assert_frame_equal(_sorted(b), _sorted(a), obj=table)
    assert len(on_spark.events) == 6 and set(on_spark.events["event_type"]) == {
        "view",
        "cart",
        "purchase",
    }
    for key in ("events_without_user", "items_with_several_categories", "event_types", "columns"):
        assert on_spark.meta[key] == on_pandas.meta[key], key
    repeats = [e.meta["bad_rows"]["duplicates"]["a.csv"]["rows"] for e in (on_pandas, on_spark)]
    assert repeats == [1, 1]


@pytest.mark.parametrize(
    "row",
    [
        "s9;i9;2024-05-01 10:00:00;u9;;-3;pv;\n",  # negative price
        "s9;i9;2024-05-01 10:00:00;u9;;3;jump;\n",  # unknown event type
        "s9;i9;2024-13-01 10:00:00;u9;;3;pv;\n",  # no such month
    ],
)
def test_a_bad_row_is_named_as_pandas_names_it(spark, tmp_path, row):
    path = tmp_path / "log.csv"
    path.write_text(HEADER + ROWS[0] + row)
    with pytest.raises(SourceError) as on_pandas:
        clicks.load(path, **OPTIONS)
    with pytest.raises(SourceError) as on_spark:
        spark_clicks.load(spark, path, **OPTIONS)
    assert str(on_spark.value).startswith(str(on_pandas.value).split(";")[0]), str(on_spark.value)


@pytest.mark.parametrize(
    ("option", "named"),
    [({"encoding": "latin-1"}, "--encoding latin-1"), ({"na_values": "NA,null"}, "--na-values")],
)
def test_options_not_honoured_yet_are_named(spark, tmp_path, option, named):
    path = tmp_path / "log.csv"
    path.write_text(HEADER + ROWS[0])
    with pytest.raises(Unsupported, match=named):
        spark_clicks.load(spark, path, **{**OPTIONS, **option})
