"""Taobao UserBehavior loader on the real sample, and on broken copies of it."""

import gzip

import pandas as pd
import pytest

from shopintent.data.sources import taobao
from shopintent.data.sources.reading import SourceError

SAMPLE = "taobao-userbehavior-sample/UserBehavior.csv"


@pytest.fixture
def lines(shared_data):
    return (shared_data / SAMPLE).read_text().splitlines(keepends=True)


def test_real_sample_counts(shared_data):
    shop = taobao.load(shared_data / SAMPLE)
    ev = shop.events
    # The data README says 4,320 events, but its per-type counts (and the file) add up to 4,321.
    assert len(ev) == 4321 and ev["user_id"].nunique() == 43
    assert ev["event_type"].value_counts().to_dict() == {
        "view": 3926,
        "cart": 190,
        "fav": 128,
        "purchase": 77,
    }
    assert (
        ev["query_id"].isna().all() and ev["price"].isna().all()
    )  # not in the source: null, never invented
    first = ev[ev["user_id"] == "1"].iloc[0]
    assert first["item_id"] == "2268318" and first["ts"] == pd.Timestamp(
        1511544070, unit="s", tz="UTC"
    )
    assert shop.items["title"].isna().all() and shop.items["category"].str.startswith("cat").all()


def test_sessions_are_cut_at_the_gap(shared_data):
    ev = taobao.load(shared_data / SAMPLE).events
    for _, s in ev.groupby("session_id"):
        assert s["ts"].diff().max() <= pd.Timedelta("30min") or len(s) == 1
    per_user = ev.sort_values("ts").groupby("user_id")
    gaps = per_user["ts"].diff()
    changed = per_user["session_id"].shift().ne(ev.sort_values("ts")["session_id"])
    assert (changed[gaps.notna()] == (gaps[gaps.notna()] > pd.Timedelta("30min"))).all()
    longer = taobao.load(shared_data / SAMPLE, session_gap="2h").events
    assert longer["session_id"].nunique() < ev["session_id"].nunique()


def test_gzip_and_folder_sources(shared_data, tmp_path, lines):
    with gzip.open(tmp_path / "UserBehavior.csv.gz", "wt") as f:
        f.writelines(lines[:100])
    assert len(taobao.load(tmp_path).events) == 100


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda ls: ls[:50] + [ls[50][:9]],
            r"UserBehavior.csv line 51: expected 5 fields, found 3: "
            r"column\(s\) behavior, timestamp missing",
        ),
        (
            lambda ls: [x.replace(",", ";") for x in ls],
            r"line 1: expected 5 fields .* separated by ',', found 1; "
            r"the line looks separated by ';'",
        ),
        (lambda ls: [",".join(x.split(",")[:4]) + "\n" for x in ls], r"line 1: expected 5 fields"),
        (
            lambda ls: ls[:10] + ["1,2,3,click,1511544070\n"] + ls[10:],
            r"line 11: column behavior: 'click' is not one of pv, cart, fav, buy",
        ),
        (lambda ls: [], r"the file is empty"),
    ],
)
def test_bad_input_names_file_line_and_column(tmp_path, lines, mutate, message):
    path = tmp_path / "UserBehavior.csv"
    path.write_text("".join(mutate(lines)))
    with pytest.raises(SourceError, match=message):
        taobao.load(path)


def test_non_utf8_bytes_are_reported_and_can_be_skipped(tmp_path, lines):
    path = tmp_path / "UserBehavior.csv"
    data = (
        "".join(lines[:20]).encode()
        + b"7,\xff\xfe,3,pv,1511544070\n"
        + "".join(lines[20:40]).encode()
    )
    path.write_bytes(data)
    with pytest.raises(
        SourceError, match=r"line 21: bytes that are not valid utf-8 \(byte 0xff at column 3\)"
    ):
        taobao.load(path)
    shop = taobao.load(path, on_bad_rows="skip")
    assert len(shop.events) == 40 and shop.meta["bad_rows"]["total"] == 1


def test_skip_mode_counts_unparseable_rows(tmp_path, lines):
    path = tmp_path / "UserBehavior.csv"
    path.write_text(
        "".join(lines[:30] + ["1,2,3,click,1511544070\n", "1,2,3,pv,yesterday\n"] + lines[30:60])
    )
    shop = taobao.load(path, on_bad_rows="skip")
    assert len(shop.events) == 60
    assert shop.meta["bad_rows"]["total"] == 2
    assert shop.meta["bad_rows"]["examples"]["UserBehavior.csv"][0].startswith(
        "line 31: column behavior"
    )
