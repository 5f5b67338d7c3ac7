"""DIGINETICA (CIKM Cup 2016) loader on the real sample, and on broken copies of it."""

import pandas as pd
import pytest

from shopintent.data.sources import diginetica
from shopintent.data.sources.reading import SourceError
from shopintent.data.store import ShopData

SAMPLE = "diginetica-sample-srgnn"
VIEWS = "sample_train-item-views.csv"
PURCHASES = "train-purchases.csv"
CATEGORIES = "product-categories.csv"


@pytest.fixture(scope="module")
def shop(shared_data):
    return diginetica.load(shared_data / SAMPLE)


@pytest.fixture
def lines(shared_data):
    return (shared_data / SAMPLE / VIEWS).read_text().splitlines(keepends=True)


@pytest.fixture
def folder(shared_data, tmp_path):
    """A copy of the sample whose views file each test writes (the first 5,000 item categories only:
    an item without one gets a null category)."""
    (tmp_path / PURCHASES).write_bytes((shared_data / SAMPLE / PURCHASES).read_bytes())
    categories = (shared_data / SAMPLE / CATEGORIES).read_text().splitlines(keepends=True)
    (tmp_path / CATEGORIES).write_text("".join(categories[:5001]))
    return tmp_path


def ts(text):
    return pd.Timestamp(text, tz="UTC")


def test_real_sample_counts(shop):
    ev = shop.events
    assert ev["event_type"].value_counts().to_dict() == {"view": 12391, "purchase": 256}
    assert ev["session_id"].nunique() == 2986
    # the data README's 138 sessions ending in a purchase: 256 purchase lines (items) in them
    assert ev.loc[ev["event_type"] == "purchase", "session_id"].nunique() == 138
    assert (
        shop.meta["purchase_lines"] == 256
        and shop.meta["purchase_lines_outside_view_sessions"] == 18025 - 256
    )
    assert (
        shop.meta["purchases_moved_after_last_view"] == 12
        and shop.meta["sessions_with_several_users"] == 6
    )
    # 1,275 sessions have a known user (each a different one); the other 1,711 are anonymous:
    # their user is null, never an invented id
    anon = ev["user_id"].isna()
    assert ev.loc[~anon, "session_id"].nunique() == ev.loc[~anon, "user_id"].nunique() == 1275
    assert ev.loc[anon, "session_id"].nunique() == 2986 - 1275
    assert (ev.groupby("session_id")["user_id"].nunique(dropna=False) == 1).all()
    # every item referenced by an event: 7,139 viewed + 84 only purchased; all have a category here
    assert len(shop.items) == 7223 and set(shop.items["item_id"]) == set(ev["item_id"])
    assert shop.items["category"].str.fullmatch(r"cat\d+").all()
    assert (
        ev["price"].isna().all()
        and ev["query_id"].isna().all()
        and shop.items["title"].isna().all()
    )
    assert shop.meta["bad_rows"]["total"] == 0 and shop.meta["views_file"] == VIEWS


def test_real_sample_values(shop):
    ev = shop.events
    # views line 5: 1;NA;9654;75848;2016-05-09 (session 1, anonymous)
    row = ev[(ev["session_id"] == "1") & (ev["item_id"] == "9654")].iloc[0]
    assert (
        pd.isna(row["user_id"])
        and row["event_type"] == "view"
        and row["ts"] == ts("2016-05-09 00:01:15.848")
    )
    # purchases line 2: 150;18278;17100868;2016-05-06;16421;25911 -> session 150's views carry NA,
    # the purchase names user 18278: the whole session gets that user
    buy = ev[(ev["session_id"] == "150") & (ev["event_type"] == "purchase")].iloc[0]
    assert (
        buy["item_id"] == "25911"
        and buy["order_id"] == "16421"
        and buy["ts"] == ts("2016-05-06 04:45:00.868")
    )
    assert set(ev.loc[ev["session_id"] == "150", "user_id"]) == {"18278"}
    # purchases line 17: 505;NA;258779;2016-03-26;7203;58132 is timed before the session's last view
    # (views line 1668: 505;NA;58132;416698;2016-03-26), so it moves to that view + 1 s
    buy = ev[(ev["session_id"] == "505") & (ev["event_type"] == "purchase")].iloc[0]
    assert buy["ts"] == ts("2016-03-26 00:06:56.698") + pd.Timedelta("1s")
    # session 629 crosses midnight: views line 2060 (629;NA;1838;728961;2016-03-21) is timed from
    # the session's start date (2016-03-20, views line 2063), not from its own eventdate
    late = ev[(ev["session_id"] == "629") & (ev["ts"] == ts("2016-03-20 00:12:08.961"))]
    assert late["item_id"].tolist() == ["1838"]
    # views lines 357-362: session 104's first view (by timeframe) has NA, the others user 4
    assert set(ev.loc[ev["session_id"] == "104", "user_id"]) == {"4"}
    # views lines 5029-5030: session 1691 names users 17143 and 809; 809 comes first in time
    assert set(ev.loc[ev["session_id"] == "1691", "user_id"]) == {"809"}
    assert (
        shop.items.set_index("item_id").loc["25911", "category"] == "cat822"
    )  # product-categories line 27495
    last_view = ev[ev["event_type"] == "view"].groupby("session_id")["ts"].max()
    buys = ev[ev["event_type"] == "purchase"]
    assert (buys["ts"].to_numpy() >= buys["session_id"].map(last_view).to_numpy()).all()


def test_real_sample_round_trips(shop, tmp_path):
    back = ShopData.load(shop.save(tmp_path / "diginetica"))
    pd.testing.assert_frame_equal(back.events, shop.events)
    pd.testing.assert_frame_equal(back.items, shop.items)


def test_full_dataset_header_spelling(folder, lines):
    full = ["sessionId;userId;itemId;timeframe;eventdate\n", *lines[1:200]]
    (folder / "train-item-views.csv").write_text("".join(full))
    shop = diginetica.load(folder)
    assert shop.meta["views_file"] == "train-item-views.csv"
    assert (shop.events["event_type"] == "view").sum() == 199


def test_missing_files_are_named(shared_data, tmp_path, lines):
    with pytest.raises(
        SourceError, match=rf"diginetica: expected {VIEWS} or train-item-views.csv in"
    ):
        diginetica.load(tmp_path)
    (tmp_path / VIEWS).write_text("".join(lines))
    with pytest.raises(SourceError, match=rf"diginetica: expected {PURCHASES} in"):
        diginetica.load(tmp_path)


@pytest.mark.parametrize(
    "mutate, message",
    [
        # the sample has no final newline;
        # line 51 (15;NA;19726;77423;2016-04-05) cut in its eventdate
        (
            lambda ls: ls[:50] + [ls[50][:22]],
            rf"{VIEWS} line 51: column eventdate: '2016' ends the file without a "
            "newline and may be cut short",
        ),
        # ... or before it: the eventdate is absent
        (
            lambda ls: ls[:50] + [ls[50][:17]],
            rf"{VIEWS} line 51: expected 5 fields, found 4: column\(s\) eventdate missing",
        ),
        (
            lambda ls: [x.replace(";", ",") for x in ls],
            rf"{VIEWS} line 1: missing column\(s\) session_id.*the header looks separated by ','",
        ),
        (
            lambda ls: [";".join(x.split(";")[:3] + x.split(";")[4:]) for x in ls],
            rf"{VIEWS} line 1: missing column\(s\) timeframe",
        ),
        (
            lambda ls: ls[:10] + ["1;NA;9654;soon;2016-05-09\n"] + ls[10:],
            rf"{VIEWS} line 11: column timeframe: 'soon' is not an integer",
        ),
        (
            lambda ls: ls[:10] + ["1;NA;9654;100;09/05/2016\n"] + ls[10:],
            rf"{VIEWS} line 11: column eventdate: '09/05/2016' is not a date-time",
        ),
        (
            lambda ls: ls[:10] + ["1;NA;;100;2016-05-09\n"] + ls[10:],
            rf"{VIEWS} line 11: column item_id: '' is not a non-empty value",
        ),
        (lambda ls: [], r"the file is empty"),
    ],
)
def test_bad_input_names_file_line_and_column(folder, lines, mutate, message):
    (folder / VIEWS).write_text("".join(mutate(lines)))
    with pytest.raises(SourceError, match=message):
        diginetica.load(folder)


def test_bad_purchases_line_is_named(folder, shared_data):
    purchases = (shared_data / SAMPLE / PURCHASES).read_text().splitlines(keepends=True)
    (folder / VIEWS).write_text(
        "".join((shared_data / SAMPLE / VIEWS).read_text().splitlines(keepends=True)[:100])
    )
    (folder / PURCHASES).write_text(
        "".join(purchases[:5] + ["150;NA;later;2016-05-06;1;25911\n"] + purchases[5:])
    )
    with pytest.raises(
        SourceError, match=rf"{PURCHASES} line 6: column timeframe: 'later' is not an integer"
    ):
        diginetica.load(folder)


def test_non_utf8_bytes_are_reported_and_can_be_skipped(folder, lines):
    data = (
        "".join(lines[:20]).encode()
        + b"1;NA;\xff\xfe;100;2016-05-09\n"
        + "".join(lines[20:40]).encode()
    )
    (folder / VIEWS).write_bytes(data)
    with pytest.raises(
        SourceError,
        match=rf"{VIEWS} line 21: bytes that are not valid utf-8 \(byte 0xff at column 6\)",
    ):
        diginetica.load(folder)
    shop = diginetica.load(folder, on_bad_rows="skip")
    assert (shop.events["event_type"] == "view").sum() == 39 and shop.meta["bad_rows"]["total"] == 1


def test_skip_mode_counts_unparseable_rows(folder, lines):
    bad = ["1;NA;9654;soon;2016-05-09\n", "1;NA;9654;100;yesterday\n"]
    (folder / VIEWS).write_text("".join(lines[:30] + bad + lines[30:60] + [lines[60][:12]]))
    shop = diginetica.load(folder, on_bad_rows="skip")
    assert (shop.events["event_type"] == "view").sum() == 59
    assert shop.meta["bad_rows"]["total"] == 3 and shop.meta["bad_rows"]["per_file"] == {VIEWS: 3}
    examples = shop.meta["bad_rows"]["examples"][
        VIEWS
    ]  # the cut last line is found first, by the reader
    assert examples[0].startswith("line 63: expected 5 fields") and examples[1].startswith(
        "line 31: column timeframe"
    )


@pytest.mark.parametrize(
    "categories",
    [
        ["itemId;categoryId\n"],  # the header only
        ["itemId;categoryId\n", "999999999;1\n"],  # only items no event references
    ],
)
def test_no_item_with_a_category_leaves_every_category_null(folder, lines, categories):
    """Issue 18: a numpy _UFuncNoLoopError ("cat" + an all-NaN column) when no item had one."""
    (folder / VIEWS).write_text("".join(lines[:500]))
    (folder / CATEGORIES).write_text("".join(categories))
    shop = diginetica.load(folder)
    assert len(shop.events) >= 499 and shop.items["category"].isna().all()


def test_some_items_without_a_category(folder, lines):
    (folder / VIEWS).write_text("".join(lines[:500]))
    shop = diginetica.load(folder)
    cats = shop.items["category"]
    assert cats.isna().any() and cats.dropna().str.fullmatch(r"cat\d+").all()
