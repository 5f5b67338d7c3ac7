"""The generic ``orders`` layout prepared on Spark gives the pandas engine's tables (events,
items and the extra table ``returns``) and names bad rows as pandas does."""

import re

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -r requirements)")

from shopintent.cli import main  # noqa: E402
from shopintent.data import registry  # noqa: E402
from shopintent.data.sources import orders  # noqa: E402
from shopintent.data.sources.reading import SourceError  # noqa: E402
from shopintent.data.spark import orders as spark_orders  # noqa: E402

HEADER = "Invoice\tStockCode\tInvoiceDate\tCustomer ID\tQuantity\tPrice\tDescription\n"
ROWS = [
    "o1\tA\t01/12/2010 08:26\tc1\t6\t2.55\tWHITE MUG\n",
    "o1\tA\t01/12/2010 08:26\tc1\t2\t2.55\twhite mug\n",  # the same item again: kept
    "o1\tB\t01/12/2010 08:26\tc1\t\t3.39\t\n",  # no quantity: still a purchase
    "o2\tB\t02/12/2010 09:00\t\t1\t3.10\tRED BOX\n",  # a guest order: no user
    "C3\tA\t03/12/2010 10:00\tc1\t-2\t2.55\tWHITE MUG\n",  # a return
]
OPTIONS = {
    "columns": "order=Invoice,item=StockCode,time=InvoiceDate,customer=Customer ID,"
    "quantity=Quantity,price=Price,description=Description",
    "time_format": "%d/%m/%Y %H:%M",
}


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


def test_cli_prepare_on_spark_equals_the_pandas_prepare(spark, tmp_path, data_root):
    path = tmp_path / "lines.tsv"
    path.write_text(HEADER + "".join(ROWS))
    base = ["data", "prepare", "--dataset", "orders", "--source", str(path)]
    base += ["--columns", OPTIONS["columns"], "--time-format", OPTIONS["time_format"]]
    assert main([*base, "--name", "onpandas"]) == 0
    spark_args = ["--engine", "spark", "--spark-master", "local[2]"]
    assert main([*base, "--name", "onspark", *spark_args]) == 0
    on_pandas, on_spark = registry.load("onpandas"), registry.load("onspark")
    for table in ("events", "items", "queries", "reviews", "returns"):
        a, b = on_pandas.tables()[table], on_spark.tables()[table]
        assert list(b.columns) == list(a.columns), table
        pd.testing.assert_frame_equal(_sorted(b), _sorted(a), obj=table)
    assert len(on_spark.events) == 4 and len(on_spark.tables()["returns"]) == 1
    for key in (
        "order_lines",
        "return_lines",
        "repeated_order_lines",
        "events_without_user",
        "items_with_several_descriptions",
        "columns",
    ):
        assert on_spark.meta[key] == on_pandas.meta[key], key


@pytest.mark.parametrize(
    "row",
    [
        "o9\tZ\t01/12/2010 08:26\tc9\t0\t1.00\tX\n",  # a zero quantity
        "o9\tZ\t01/12/2010 08:26\tc9\t1\t-1.00\tX\n",  # a negative price
    ],
)
def test_a_bad_row_is_named_as_pandas_names_it(spark, tmp_path, row):
    path = tmp_path / "lines.tsv"
    path.write_text(HEADER + ROWS[0] + row)
    with pytest.raises(SourceError) as on_pandas:
        orders.load(path, **OPTIONS)
    with pytest.raises(SourceError) as on_spark:
        spark_orders.load(spark, path, **OPTIONS)
    # the same file, line, column, value and reason; the number may read 0.0 where pandas (its
    # column of whole numbers parsed as integers) shows 0
    named = re.compile(r"^(.* line \d+: column \w+: )(\S+) ([^;]*)")
    want, got = named.match(str(on_pandas.value)), named.match(str(on_spark.value))
    assert got[1] == want[1] and got[3] == want[3] and float(got[2]) == float(want[2])
