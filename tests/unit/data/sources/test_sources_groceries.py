"""Groceries (arules) loader on the real sample, and on broken copies of it."""

import pandas as pd
import pytest

from shopintent.data.sources import groceries
from shopintent.data.sources.reading import SourceError
from shopintent.data.store import ShopData

SAMPLE = "groceries-arules"
NAME = "groceries_long.csv"


@pytest.fixture(scope="module")
def shop(shared_data):
    return groceries.load(shared_data / SAMPLE)


@pytest.fixture
def lines(shared_data):
    return (shared_data / SAMPLE / NAME).read_text().splitlines(keepends=True)


def test_real_sample_counts(shop):
    ev = shop.events
    assert len(ev) == 43367 and (ev["event_type"] == "purchase").all()
    assert (
        ev["session_id"].nunique() == ev["user_id"].nunique() == 9835
        and shop.meta["baskets"] == 9835
    )
    assert len(shop.items) == 169 and set(shop.items["item_id"]) == set(ev["item_id"])
    assert (ev["item_id"] == "whole milk").sum() == 2513
    assert shop.items["category"].str.fullmatch(r"[^.\s]+\.[^.\s]+").all()  # two readable levels
    # no users, times, prices, brands or queries in this source
    assert ev["price"].isna().all() and ev["query_id"].isna().all()
    assert shop.items["brand"].isna().all() and shop.items["price"].isna().all()
    assert shop.meta["bad_rows"]["total"] == 0


def test_real_sample_values(shop):
    ev = shop.events
    # lines 2-5: transaction 1 = citrus fruit, semi-finished bread, margarine, ready soups
    first = ev[ev["session_id"] == "1"]
    assert first["item_id"].tolist() == [
        "citrus fruit",
        "semi-finished bread",
        "margarine",
        "ready soups",
    ]
    assert set(first["user_id"]) == {"t1"} and set(first["ts"]) == {
        pd.Timestamp("2000-01-01 00:01", tz="UTC")
    }
    # lines 43364-43368: the last transaction, 9835 minutes after the epoch
    last = ev[ev["session_id"] == "9835"]
    assert len(last) == 5 and set(last["ts"]) == {
        pd.Timestamp("2000-01-01", tz="UTC") + pd.Timedelta(minutes=9835)
    }
    assert ev["ts"].is_monotonic_increasing
    item = shop.items.set_index("item_id")
    assert item.loc["citrus fruit", "category"] == "fruit_and_vegetables.fruit"
    assert item.loc["citrus fruit", "title"] == "citrus fruit"
    # line 35: 11,bottled water,non-alc. drinks,drinks (the dot is dropped to keep two levels)
    assert item.loc["bottled water", "category"] == "drinks.non-alc_drinks"
    assert item.loc["margarine", "category"] == "processed_food.vinegar/oils"


def test_real_sample_round_trips(shop, tmp_path):
    back = ShopData.load(shop.save(tmp_path / "groceries"))
    pd.testing.assert_frame_equal(back.events, shop.events)
    pd.testing.assert_frame_equal(back.items, shop.items)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(
        SourceError, match=r"groceries: expected groceries_long.csv or groceries_long.csv.gz in"
    ):
        groceries.load(tmp_path)


@pytest.mark.parametrize(
    "mutate, message",
    [
        # line 51 (15,tropical fruit,fruit,fruit and vegetables) cut before its level1
        (
            lambda ls: ls[:50] + [ls[50][: ls[50].rindex(",")]],
            rf"{NAME} line 51: expected 4 fields, found 3: column\(s\) level1 missing",
        ),
        (
            lambda ls: [x.replace(",", ";") for x in ls],
            rf"{NAME} line 1: missing column\(s\) transaction.*the header looks separated by ';'",
        ),
        (
            lambda ls: [",".join(x.split(",")[:2] + x.split(",")[3:]) for x in ls],
            rf"{NAME} line 1: missing column\(s\) level2",
        ),
        (
            lambda ls: ls[:10] + ["x1,butter,dairy produce,fresh products\n"] + ls[10:],
            rf"{NAME} line 11: column transaction: 'x1' is not an integer",
        ),
        (
            lambda ls: ls[:10] + ["3,,dairy produce,fresh products\n"] + ls[10:],
            rf"{NAME} line 11: column labels: '' is not a non-empty value",
        ),
        (lambda ls: [], r"the file is empty"),
    ],
)
def test_bad_input_names_file_line_and_column(tmp_path, lines, mutate, message):
    (tmp_path / NAME).write_text("".join(mutate(lines[:200])))
    with pytest.raises(SourceError, match=message):
        groceries.load(tmp_path)


def test_non_utf8_bytes_are_reported_and_can_be_skipped(tmp_path, lines):
    data = (
        "".join(lines[:20]).encode() + b"5,caf\xe9,coffee,drinks\n" + "".join(lines[20:40]).encode()
    )
    (tmp_path / NAME).write_bytes(data)
    with pytest.raises(
        SourceError,
        match=rf"{NAME} line 21: bytes that are not valid utf-8 \(byte 0xe9 at column 6\)",
    ):
        groceries.load(tmp_path)
    shop = groceries.load(tmp_path, on_bad_rows="skip")
    assert len(shop.events) == 39 and shop.meta["bad_rows"]["total"] == 1


def test_skip_mode_counts_unparseable_rows(tmp_path, lines):
    bad = ["x1,butter,dairy produce,fresh products\n", "3,,dairy produce,fresh products\n"]
    (tmp_path / NAME).write_text("".join(lines[:30] + bad + lines[30:60]))
    shop = groceries.load(tmp_path, on_bad_rows="skip")
    assert len(shop.events) == 59
    assert shop.meta["bad_rows"]["total"] == 2 and shop.meta["bad_rows"]["per_file"] == {NAME: 2}
    assert shop.meta["bad_rows"]["examples"][NAME][0].startswith("line 31: column transaction")
