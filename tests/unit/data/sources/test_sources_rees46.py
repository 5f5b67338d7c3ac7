"""REES46 multi-category store loader on the real sample, and on broken copies of it."""

import gzip

import pandas as pd
import pytest

from shopintent.data.sources import rees46
from shopintent.data.sources.reading import SourceError
from shopintent.data.store import ShopData

SAMPLE = "rees46-2019oct-head1000/2019-Oct-sample.csv"
NAME = "2019-Oct-sample.csv"


@pytest.fixture
def lines(shared_data):
    return (shared_data / SAMPLE).read_text().splitlines(keepends=True)


def write(tmp_path, lines, name=NAME):
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


def test_real_sample_counts_and_values(shared_data):
    shop = rees46.load(shared_data / SAMPLE)
    ev, items = shop.events, shop.items
    assert len(ev) == 1000 and ev["user_id"].nunique() == 330 and ev["session_id"].nunique() == 372
    assert ev["event_type"].value_counts().to_dict() == {"view": 987, "purchase": 10, "cart": 3}
    assert shop.meta["events_without_session"] == 0 and shop.meta["bad_rows"]["total"] == 0
    assert ev["query_id"].isna().all() and ev["price"].notna().all()
    # line 164: 2019-10-01 00:02:14 UTC,purchase,1004856,...,electronics.smartphone,samsung,
    #           130.76,543272936,8187d148-...
    buy = ev[(ev["event_type"] == "purchase") & (ev["item_id"] == "1004856")].iloc[0]
    assert (
        buy["user_id"] == "543272936"
        and buy["session_id"] == "8187d148-3c41-46d4-b0c0-9c08cd9dc564"
    )
    assert buy["ts"] == pd.Timestamp("2019-10-01 00:02:14", tz="UTC") and buy["price"] == 130.76
    assert len(items) == 534 and set(items["item_id"]) == set(ev["item_id"])
    item = items.set_index("item_id")
    # line 2: empty category_code -> cat<category_id>; line 4: empty brand -> null
    assert item.loc["44600062", "category"] == "cat2103807459595387724"
    assert (
        item.loc["44600062", "brand"] == "shiseido"
        and item.loc["44600062", "category_id"] == "2103807459595387724"
    )
    assert item.loc["17200506", "category"] == "furniture.living_room.sofa" and pd.isna(
        item.loc["17200506", "brand"]
    )
    assert item.loc["17200506", "price"] == 543.10
    assert items["title"].isna().all() and items["description"].isna().all()  # not in the source


def test_real_sample_round_trips(shared_data, tmp_path):
    shop = rees46.load(shared_data / SAMPLE)
    back = ShopData.load(shop.save(tmp_path / "rees46"))
    pd.testing.assert_frame_equal(back.events, shop.events)
    pd.testing.assert_frame_equal(back.items, shop.items)
    assert back.meta["rows"]["events"] == 1000


def test_folder_of_monthly_files_plain_and_gzip(tmp_path, lines):
    with gzip.open(tmp_path / "2019-Oct.csv.gz", "wt") as f:
        f.writelines(lines[:600])
    write(tmp_path, lines[:1] + lines[600:], "2019-Nov.csv")
    shop = rees46.load(tmp_path)
    assert len(shop.events) == 1000 and shop.events["ts"].is_monotonic_increasing


def test_latest_price_missing_sessions_and_remove_from_cart(tmp_path, lines):
    header = lines[0]
    rows = [
        "2019-11-01 10:00:00 UTC,view,1,5,,acme,10.00,7,\n",
        "2019-11-01 10:10:00 UTC,remove_from_cart,1,5,,acme,12.50,7,\n",
        "2019-11-01 12:00:00 UTC,view,1,5,,acme,11.00,7,\n",  # 110 min later: a new session
        "2019-11-01 09:00:00 UTC,view,1,5,,acme,9.00,8,s-8\n",
    ]
    shop = rees46.load(write(tmp_path, [header, *rows]))
    ev = shop.events.set_index("price")
    assert ev.loc[12.50, "event_type"] == "remove_from_cart"
    assert ev.loc[10.00, "session_id"] == ev.loc[12.50, "session_id"] == "user-7-1"
    assert ev.loc[11.00, "session_id"] == "user-7-2" and ev.loc[9.00, "session_id"] == "s-8"
    assert shop.meta["events_without_session"] == 3
    assert shop.items.set_index("item_id").loc["1", "price"] == 11.00  # the most recent price
    assert shop.items.set_index("item_id").loc["1", "category"] == "cat5"


@pytest.mark.parametrize(
    "drop", ["category_id", "category_code", "brand", "price", "user_id", "user_session"]
)
def test_an_optional_column_absent_from_the_header_is_null(tmp_path, lines, drop):
    at = rees46.COLUMNS.index(drop)
    shop = rees46.load(write(tmp_path, [c for x in lines[:200] for c in cut_line(x, at)]))
    ev, items = shop.events, shop.items.set_index("item_id")
    assert len(ev) == 199 and ev["session_id"].notna().all()
    if drop == "user_id":
        assert ev["user_id"].isna().all()
    if drop == "user_session":  # every event cut into sessions from its user
        assert shop.meta["events_without_session"] == 199
        assert ev["session_id"].str.startswith("user-").all()
    if drop == "price":
        assert ev["price"].isna().all() and items["price"].isna().all()
    if drop == "brand":
        assert items["brand"].isna().all()
    if drop == "category_code":  # the source's category id, as before
        assert items["category"].str.fullmatch(r"cat\d+").all()
    if drop == "category_id":  # only the code where there is one; no category invented
        assert pd.isna(items.loc["44600062", "category"]) and items["category_id"].isna().all()
        assert items.loc["17200506", "category"] == "furniture.living_room.sofa"


def cut_line(line, at):
    fields = line.rstrip("\n").split(",")
    return [",".join(fields[:at] + fields[at + 1 :]) + "\n"]


def test_a_click_log_without_prices_categories_or_users_invents_none(tmp_path, lines):
    rows = [
        "2019-11-01 10:00:00 UTC,view,1,,,,,,s-1\n",
        "2019-11-01 10:01:00 UTC,purchase,1,,,,,,s-1\n",
        "2019-11-01 11:00:00 UTC,view,2,,,,,7,\n",
    ]
    shop = rees46.load(write(tmp_path, [lines[0], *rows]))
    ev, items = shop.events, shop.items
    assert ev["user_id"].isna().tolist() == [True, True, False] and ev["price"].isna().all()
    assert ev["session_id"].tolist() == ["s-1", "s-1", "user-7-1"]
    assert items[["category", "brand", "price", "category_id"]].isna().all().all()
    with pytest.raises(SourceError, match=rf"{NAME} line 2: column user_session: None"):
        rees46.load(write(tmp_path, [lines[0], "2019-11-01 10:00:00 UTC,view,1,,,,,,\n"]))
    shop = rees46.load(
        write(tmp_path, [lines[0], "2019-11-01 10:00:00 UTC,view,1,,,,,,\n", *rows]),
        on_bad_rows="skip",
    )
    assert len(shop.events) == 3 and shop.meta["bad_rows"]["total"] == 1


def test_missing_source_names_what_was_expected(tmp_path):
    with pytest.raises(SourceError, match=r"rees46: .*nowhere does not exist"):
        rees46.load(tmp_path / "nowhere")
    with pytest.raises(SourceError, match=r"rees46: no file matching \*\.csv, \*\.csv\.gz in"):
        rees46.load(tmp_path)


@pytest.mark.parametrize(
    "mutate, message",
    [
        # truncated: the last line cut in its category_code (line 51 of the sample)
        (
            lambda ls: ls[:50] + [ls[50][:70]],
            rf"{NAME} line 51: expected 9 fields, found 5: "
            r"column\(s\) brand, price, user_id, user_session missing",
        ),
        # truncated just after user_id: only the optional user_session is absent
        (
            lambda ls: ls[:50] + [ls[50].rsplit(",", 1)[0]],
            rf"{NAME} line 51: expected 9 fields, found 8: column\(s\) user_session missing",
        ),
        # the same cut line followed by good lines: neither user nor session to put it in
        (
            lambda ls: ls[:50] + [ls[50][:70] + "\n"] + ls[51:],
            rf"{NAME} line 51: column user_session: None \(empty\) and user_id is empty too",
        ),
        (
            lambda ls: [",".join(x.split(",")[:7]) + "\n" for x in ls],
            rf"{NAME} line 1: neither user_session nor user_id among the columns",
        ),
        (
            lambda ls: [",".join(x.split(",")[1:]) for x in ls],
            rf"{NAME} line 1: missing column\(s\) event_time",
        ),
        (
            lambda ls: [x.replace(",", ";") for x in ls],
            rf"{NAME} line 1: missing column\(s\) event_time.*the header looks separated by ';'",
        ),
        (
            lambda ls: [",".join(x.split(",")[:2] + x.split(",")[3:]) for x in ls],
            rf"{NAME} line 1: missing column\(s\) product_id",
        ),
        (
            lambda ls: ls[:10] + ["2019-10-01 00:00:00 UTC,view,1,2,,,1.0,3,4,5\n"] + ls[10:],
            rf"{NAME} line 11: expected 9 fields, found 10",
        ),
        (
            lambda ls: ls[:10] + ["2019-10-01T00:00:00Z,view,1,2,,,1.0,3,s\n"] + ls[10:],
            rf"{NAME} line 11: column event_time: '2019-10-01T00:00:00Z' is not a date-time",
        ),
        (
            lambda ls: ls[:20] + ["2019-10-01 00:00:00 UTC,click,1,2,,,1.0,3,s\n"] + ls[20:],
            rf"{NAME} line 21: column event_type: 'click' is not one of "
            r"view, cart, purchase, remove_from_cart",
        ),
        (
            lambda ls: ls[:30] + ["2019-10-01 00:00:00 UTC,view,1,2,,,cheap,3,s\n"] + ls[30:],
            rf"{NAME} line 31: column price: 'cheap' is not a number",
        ),
        (lambda ls: [], r"the file is empty"),
    ],
)
def test_bad_input_names_file_line_and_column(tmp_path, lines, mutate, message):
    path = write(tmp_path, mutate(lines))
    with pytest.raises(SourceError, match=message):
        rees46.load(path)


def test_non_utf8_bytes_are_reported_and_can_be_skipped(tmp_path, lines):
    path = tmp_path / NAME
    bad_line = b"2019-10-01 00:00:00 UTC,view,1,2,,\xff\xfe,1.0,3,s\n"
    path.write_bytes("".join(lines[:20]).encode() + bad_line + "".join(lines[20:40]).encode())
    with pytest.raises(
        SourceError,
        match=rf"{NAME} line 21: bytes that are not valid utf-8 \(byte 0xff at column 35\)",
    ):
        rees46.load(path)
    shop = rees46.load(path, on_bad_rows="skip")
    assert len(shop.events) == 39 and shop.meta["bad_rows"]["total"] == 1


def test_skip_mode_counts_unparseable_rows(tmp_path, lines):
    bad = [
        "2019-10-01 00:00:00 UTC,click,1,2,,,1.0,3,s\n",
        "2019-10-01 00:00:00 UTC,view,1,2,,,cheap,3,s\n",
    ]
    path = write(tmp_path, lines[:30] + bad + lines[30:60] + [lines[60].rsplit(",", 1)[0]])
    shop = rees46.load(path, on_bad_rows="skip")
    assert len(shop.events) == 59
    assert shop.meta["bad_rows"]["total"] == 3 and shop.meta["bad_rows"]["per_file"] == {NAME: 3}
    examples = shop.meta["bad_rows"]["examples"][NAME]
    assert examples[0].startswith("line 63: expected 9 fields") and examples[1].startswith(
        "line 31: column event_type"
    )
