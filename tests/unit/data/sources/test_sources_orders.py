"""The orders layout: order lines with a column mapping, on the first lines of the UCI Online
Retail II file (repeated order lines, returns, guests) and on small files built here."""

import pandas as pd
import pytest

from shopintent.data import registry
from shopintent.data.sources import orders
from shopintent.data.sources.reading import SourceError

RETAIL = "uci-online-retail-ii-2009-2010/online_retail_II_2009-2010.parquet"
UCI = (
    "order=Invoice,item=StockCode,time=InvoiceDate,customer=Customer ID,quantity=Quantity,"
    "price=Price,description=Description"
)
HEADER = "inv,sku,at,cust,qty,unit,desc\n"
ROWS = [
    "o1,a,2024-05-01 10:00,c1,2,1.5,Red mug\n",
    "o1,a,2024-05-01 10:00,c1,1,1.5,Red mug\n",  # the same item twice in one order: kept
    "o1,b,2024-05-01 10:00,c1,1,3,Blue cup\n",
    "o2,b,2024-05-02 11:00,,4,2.5,BLUE CUP\n",  # a guest order; another description
    "C3,a,2024-05-03 12:00,c1,-1,1.5,Red mug\n",  # a return
]
FULL = "order=inv,item=sku,time=at,customer=cust,quantity=qty,price=unit,description=desc"


def write(tmp_path, lines, name="orders.csv"):
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="module")
def retail(shared_data, tmp_path_factory):
    """The first 5,000 lines of the real file, as Parquet (typed columns) and as CSV."""
    df = pd.read_parquet(shared_data / RETAIL).head(5000)
    folder = tmp_path_factory.mktemp("retail")
    df.to_parquet(folder / "retail.parquet")
    # as the shop's own export would write it: customer ids as whole numbers, empty for guests
    df.astype({"Customer ID": "Int64"}).to_csv(folder / "retail.csv", index=False)
    return df, folder


def test_real_order_lines(retail):
    df, folder = retail
    shop = orders.load(folder / "retail.parquet", columns=UCI)
    ev = shop.events
    back = df["Quantity"] < 0
    assert len(ev) == (~back).sum() and (ev["event_type"] == "purchase").all()
    assert len(shop.extras["returns"]) == back.sum() == shop.meta["return_lines"] == 134
    # cancelled invoices (C...) and a few stock adjustments
    cancelled = shop.extras["returns"]["order_id"].str.startswith("C")
    assert cancelled.sum() == df["Invoice"].str.startswith("C").sum() == 124
    assert ev["user_id"].isna().sum() == df.loc[~back, "Customer ID"].isna().sum()
    assert ev["session_id"].nunique() == df.loc[~back, "Invoice"].nunique()
    # repeated order lines are purchases, each kept with its own quantity
    kept = df[~back]
    assert shop.meta["repeated_order_lines"] == kept.duplicated(["Invoice", "StockCode"]).sum()
    assert ev["quantity"].sum() == kept["Quantity"].sum() and ev["price"].notna().all()
    first = ev[(ev["session_id"] == "489434") & (ev["item_id"] == "85048")].iloc[0]
    assert first["user_id"] == "13085" and first["quantity"] == 12 and first["price"] == 6.95
    assert first["ts"] == pd.Timestamp("2009-12-01 07:45", tz="UTC")
    items = shop.items.set_index("item_id")
    assert items.loc["85048", "title"] == "15CM CHRISTMAS GLASS BALL 20 LIGHTS"
    assert len(items) == df["StockCode"].nunique() and items["category"].isna().all()
    several = df.dropna(subset=["Description"]).groupby("StockCode")["Description"].nunique()
    assert shop.meta["items_with_several_descriptions"] == (several > 1).sum()
    from_csv = orders.load(folder / "retail.csv", columns=UCI)
    pd.testing.assert_frame_equal(from_csv.events, shop.events)


def test_small_orders_and_returns(tmp_path):
    shop = orders.load(write(tmp_path, [HEADER, *ROWS]), columns=FULL)
    ev = shop.events
    assert ev["quantity"].tolist() == [2, 1, 1, 4] and shop.meta["repeated_order_lines"] == 1
    assert ev["user_id"].isna().tolist() == [False, False, False, True]
    assert shop.extras["returns"][["order_id", "quantity"]].values.tolist() == [["C3", -1.0]]
    items = shop.items.set_index("item_id")
    assert items.loc["b", "title"] == "Blue cup" and items.loc["b", "price"] == 2.5
    assert shop.meta["items_with_several_descriptions"] == 1


@pytest.mark.parametrize("drop", ["customer", "quantity", "price", "description"])
def test_an_optional_field_not_given_is_null(tmp_path, drop):
    mapping = ",".join(p for p in FULL.split(",") if not p.startswith(drop + "="))
    shop = orders.load(write(tmp_path, [HEADER, *ROWS]), columns=mapping)
    ev, items = shop.events, shop.items
    if drop == "quantity":  # no quantity, no returns: every line a purchase
        assert ev["quantity"].isna().all() and len(ev) == 5
    if drop == "customer":
        assert ev["user_id"].isna().all()
    if drop == "price":
        assert ev["price"].isna().all() and items["price"].isna().all()
    if drop == "description":
        assert items["title"].isna().all()


@pytest.mark.parametrize(
    "row, message",
    [
        ("o9,a,2024-05-01,c1,0,1,x\n", r"orders.csv line 2: column quantity: 0(\.0)? is zero"),
        ("o9,a,2024-05-01,c1,1,-5,x\n", r"orders.csv line 2: column price: -5(\.0)? is negative"),
        ("o9,a,2024-05-01,c1,two,1,x\n", r"orders.csv line 2: column quantity: 'two' is not"),
        ("o9,a,,c1,1,1,x\n", r"orders.csv line 2: column time: '' is not a date-time"),
        (",a,2024-05-01,c1,1,1,x\n", r"orders.csv line 2: column order: '' is not a non-empty"),
    ],
)
def test_bad_order_lines_name_file_line_and_column(tmp_path, row, message):
    path = write(tmp_path, [HEADER, row, *ROWS])
    with pytest.raises(SourceError, match=message):
        orders.load(path, columns=FULL)
    shop = orders.load(path, columns=FULL, on_bad_rows="skip")
    assert shop.meta["bad_rows"]["total"] == 1 and len(shop.events) == 4


def test_a_mapped_column_the_file_lacks(tmp_path):
    with pytest.raises(SourceError, match=r"field customer is mapped to column 'Customer ID'"):
        orders.load(
            write(tmp_path, [HEADER, *ROWS]), columns=FULL.replace("=cust,", "=Customer ID,")
        )


def test_prepare_under_a_name_and_load_it_back(data_root, tmp_path):
    registry.prepare("orders", source=write(tmp_path, [HEADER, *ROWS]), save_as="x", columns=FULL)
    back = registry.load("x")
    assert len(back.events) == 4 and len(back.extras["returns"]) == 1
    assert back.events["quantity"].tolist() == [2, 1, 1, 4]
