"""Instacart loader on the real sample, and on broken copies of it."""

import shutil

import pandas as pd
import pytest

from shopintent.data.sources import instacart
from shopintent.data.sources.reading import SourceError
from shopintent.data.store import ShopData

SAMPLE = "instacart-sample-billyrohh"
FILES = ("products.csv", "aisles.csv", "departments.csv", "orders.csv", "order_products__prior.csv")


@pytest.fixture(scope="module")
def shop(shared_data):
    return instacart.load(shared_data / SAMPLE)


@pytest.fixture
def folder(shared_data, tmp_path):
    """A writable copy of the sample."""
    for name in FILES:
        shutil.copyfile(shared_data / SAMPLE / name, tmp_path / name)
    return tmp_path


def read_lines(folder, name):
    return (folder / name).read_text().splitlines(keepends=True)


def ts(text):
    return pd.Timestamp(text, tz="UTC")


def test_real_sample_counts(shop):
    ev = shop.events
    # The data README counts 3,220 orders and 32,290 order lines: that is what the files hold, but
    # only 3,013 orders are in both. orders.csv lists 207 orders with no lines here (128 "train",
    # 79 "test": their lines would be in order_products__train.csv, absent from the sample) and
    # order_products__prior.csv has 2,169 lines of 201 orders that orders.csv does not list.
    assert shop.meta["dropped"] == {
        "orders_without_lines": 207,
        "orders_missing_from_orders_csv": 201,
        "order_lines_of_missing_orders": 2169,
    }
    assert len(ev) == 32290 - 2169 == 30121 and (ev["event_type"] == "purchase").all()
    assert ev["session_id"].nunique() == 3220 - 207 == 3013 and ev["user_id"].nunique() == 2954
    assert len(shop.items) == 9288 and shop.meta["products_missing_from_products_csv"] == 0
    assert shop.items["category"].isna().sum() == 55  # department and aisle "missing"
    assert shop.items["category"].dropna().str.fullmatch(r"[a-z_]+\.[a-z_]+").all()
    assert (
        ev["price"].isna().all()
        and shop.items["price"].isna().all()
        and shop.items["brand"].isna().all()
    )
    assert ev["ts"].min() == ts("2017-01-01") and ev["ts"].max() < ts("2017-03-01")
    assert (
        shop.meta["line_files"] == ["order_products__prior.csv"]
        and shop.meta["bad_rows"]["total"] == 0
    )


def test_real_sample_values(shop):
    ev = shop.events
    # orders.csv line 76: 2581,194025,"prior",8,0,"12",1 (the user's only listed order);
    # order_products__prior.csv lines 2-4: 2581,40174,1,0 / 2581,17461,2,0 / 2581,19731,3,1
    order = ev[ev["session_id"] == "2581"]
    assert set(order["user_id"]) == {"194025"} and set(order["ts"]) == {ts("2017-01-01 12:00")}
    assert order["item_id"].tolist()[:3] == ["40174", "17461", "19731"]
    assert order["add_to_cart_order"].tolist()[:3] == [1, 2, 3] and order["reordered"].tolist()[
        :3
    ] == [0, 0, 1]
    # user 105152: orders.csv line 220 (827105, order 5, hour 08) and line 127 (181036, order 31,
    # hour 12, 6 days since the prior order): 6 days apart as far as the sample can tell
    user = ev[ev["user_id"] == "105152"].drop_duplicates("session_id").set_index("session_id")["ts"]
    assert user.to_dict() == {"827105": ts("2017-01-01 08:00"), "181036": ts("2017-01-07 12:00")}
    assert (ev["session_id"] == "827105").sum() == 3  # order_products__prior.csv lines 7742-7744
    item = shop.items.set_index("item_id")
    # products.csv line 2: 1,"Chocolate Sandwich Cookies",61,19
    # (aisle 61 cookies cakes, department 19 snacks)
    assert (
        item.loc["1", "title"] == "Chocolate Sandwich Cookies"
        and item.loc["1", "category"] == "snacks.cookies_cakes"
    )
    assert item.loc["1", "aisle_id"] == "61" and item.loc["1", "department_id"] == "19"
    # products.csv line 239: 1387,...,100,21 -> aisle and department "missing":
    # unknown, not a category
    assert pd.isna(item.loc["1387", "category"])


def test_real_sample_round_trips(shop, tmp_path):
    back = ShopData.load(shop.save(tmp_path / "instacart"))
    pd.testing.assert_frame_equal(back.events, shop.events)
    pd.testing.assert_frame_equal(back.items, shop.items)


def write_orders(folder, orders, prior, train=None):
    header = (
        '"order_id","user_id","eval_set","order_number","order_dow",'
        '"order_hour_of_day","days_since_prior_order"\n'
    )
    (folder / "orders.csv").write_text(header + "".join(orders))
    lines = '"order_id","product_id","add_to_cart_order","reordered"\n'
    (folder / "order_products__prior.csv").write_text(lines + "".join(prior))
    if train is not None:
        (folder / "order_products__train.csv").write_text(lines + "".join(train))


def test_train_lines_and_first_orders(folder):
    write_orders(
        folder,
        ['10,1,"prior",1,2,"08",\n', '11,1,"train",2,3,"09",7.0\n', '12,2,"test",4,3,"09",7.0\n'],
        ["10,1,1,0\n", "10,23,2,0\n"],
        ["11,1,1,1\n"],
    )
    shop = instacart.load(folder)
    times = shop.events.groupby("session_id")["ts"].first().to_dict()
    assert times == {"10": ts("2017-01-01 08:00"), "11": ts("2017-01-08 09:00")}
    assert shop.meta["line_files"] == ["order_products__prior.csv", "order_products__train.csv"]
    assert shop.meta["dropped"]["orders_without_lines"] == 1  # the test order


def test_empty_days_on_a_later_order_is_a_bad_row(folder):
    orders = ['10,1,"prior",1,2,"08",\n', '11,1,"prior",2,3,"09",\n', '13,1,"prior",3,3,"09",2\n']
    write_orders(folder, orders, ["10,1,1,0\n", "11,1,1,0\n", "13,1,1,0\n"])
    with pytest.raises(
        SourceError, match=r"orders.csv line 3: column days_since_prior_order: '' is not a number"
    ):
        instacart.load(folder)
    shop = instacart.load(folder, on_bad_rows="skip")
    assert set(shop.events["session_id"]) == {"10", "13"} and shop.meta["bad_rows"]["total"] == 1
    assert shop.meta["dropped"]["orders_missing_from_orders_csv"] == 1


def test_duplicate_order_is_named(folder):
    write_orders(folder, ['10,1,"prior",1,2,"08",\n', '10,1,"prior",2,3,"09",1\n'], ["10,1,1,0\n"])
    with pytest.raises(
        SourceError,
        match=(
            r"orders.csv line 3: column order_id: '10' repeats the key of an earlier line "
            r"with other values"
        ),
    ):
        instacart.load(folder)


def test_missing_files_are_named(folder, tmp_path):
    (folder / "aisles.csv").unlink()
    with pytest.raises(
        SourceError, match=r"instacart: expected aisles.csv or aisles.csv.zip or aisles.csv.gz in"
    ):
        instacart.load(folder)
    with pytest.raises(SourceError, match=r"is not a folder"):
        instacart.load(folder / "products.csv")


@pytest.mark.parametrize(
    "name, mutate, message",
    [
        # orders.csv ends with 1407617,49695,"prior",31,3,"13",0: cut after its day of week
        (
            "orders.csv",
            lambda ls: ls[:-1] + [ls[-1][:27]],
            r"orders.csv line 3221: expected 7 fields, found 6: "
            r"column\(s\) days_since_prior_order missing",
        ),
        # order_products__prior.csv ends with 3420098,17706,13,1: cut in its product id
        (
            "order_products__prior.csv",
            lambda ls: ls[:-1] + [ls[-1][:10]],
            r"order_products__prior.csv line 32291: expected 4 fields, found 2: "
            r"column\(s\) add_to_cart_order, reordered missing",
        ),
        (
            "orders.csv",
            lambda ls: [x.replace(",", ";") for x in ls],
            r"orders.csv line 1: missing column\(s\) order_id.*the header looks separated by ';'",
        ),
        (
            "products.csv",
            lambda ls: [x.replace(",", "\t") for x in ls],
            r"products.csv line 1: missing column\(s\) product_id"
            r".*the header looks separated by '\\t'",
        ),
        (
            "orders.csv",
            lambda ls: [x.rsplit(",", 1)[0] + "\n" for x in ls],
            r"orders.csv line 1: missing column\(s\) days_since_prior_order",
        ),
        (
            "orders.csv",
            lambda ls: ls[:10] + ['99,1,"prior",2,3,"9am",1\n'] + ls[10:],
            r"orders.csv line 11: column order_hour_of_day: '9am' is not an integer",
        ),
        (
            "order_products__prior.csv",
            lambda ls: ls[:5] + ["2581,,4,0\n"] + ls[5:],
            r"order_products__prior.csv line 6: column product_id: '' is not a non-empty value",
        ),
        ("aisles.csv", lambda ls: [], r"aisles.csv: the file is empty"),
    ],
)
def test_bad_input_names_file_line_and_column(folder, name, mutate, message):
    (folder / name).write_text("".join(mutate(read_lines(folder, name))))
    with pytest.raises(SourceError, match=message):
        instacart.load(folder)


def test_non_utf8_bytes_are_reported_and_can_be_skipped(folder):
    lines = read_lines(folder, "products.csv")
    data = (
        "".join(lines[:20]).encode()
        + b'99999,"Caf\xe9 Latte",26,7\n'
        + "".join(lines[20:]).encode()
    )
    (folder / "products.csv").write_bytes(data)
    with pytest.raises(
        SourceError,
        match=r"products.csv line 21: bytes that are not valid utf-8 \(byte 0xe9 at column 11\)",
    ):
        instacart.load(folder)
    shop = instacart.load(folder, on_bad_rows="skip")
    assert len(shop.items) == 9288 and shop.meta["bad_rows"]["per_file"] == {"products.csv": 1}


def test_skip_mode_counts_unparseable_rows(folder):
    lines = read_lines(folder, "order_products__prior.csv")
    bad = ["2581,40174,first,0\n", "2581,,4,0\n"]
    (folder / "order_products__prior.csv").write_text("".join(lines[:30] + bad + lines[30:]))
    shop = instacart.load(folder, on_bad_rows="skip")
    assert len(shop.events) == 30121
    assert shop.meta["bad_rows"]["total"] == 2
    assert shop.meta["bad_rows"]["per_file"] == {"order_products__prior.csv": 2}
    examples = shop.meta["bad_rows"]["examples"]["order_products__prior.csv"]
    assert examples[0].startswith("line 32: column product_id") and examples[1].startswith(
        "line 31: column add_to_cart_order"
    )
