"""Alibaba Tianchi "UserBehavior" (Taobao): ``UserBehavior.csv`` with no header,
``user_id,item_id,category_id,behavior,timestamp`` (behavior: pv, cart, fav, buy; unix seconds).
``source`` is that file (under any name) or a folder holding ``UserBehavior.csv`` or
``UserBehavior.csv.gz`` (not both; no other file of the folder is read).

The log has no sessions: a user's events are cut into sessions at gaps of inactivity longer
than ``session_gap`` (30 minutes by default). Items carry only their category id (as the
category path ``cat<id>``); titles, brands and prices do not exist in this source and stay null.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopintent.data.sessions import DEFAULT_GAP, parse_gap, sessionize
from shopintent.data.sources.checks import duplicates, parse
from shopintent.data.sources.reading import BadRows, check_on_bad_rows, read_csv, source_file
from shopintent.data.store import ShopData

COLUMNS = ["user_id", "item_id", "category_id", "behavior", "timestamp"]
BEHAVIOUR = {"pv": "view", "cart": "cart", "fav": "fav", "buy": "purchase"}
FILES = ("UserBehavior.csv", "UserBehavior.csv.gz")
#: how each field is parsed (``checks.parse``; shared with the Spark loader)
SPEC = {
    "user_id": "id",
    "item_id": "id",
    "category_id": "id",
    "behavior": ("choice", tuple(BEHAVIOUR)),
    "timestamp": "unix_s",
}
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = ("on_bad_rows", "session_gap")


def load(
    source: Path, on_bad_rows: str = "error", session_gap: str | pd.Timedelta = DEFAULT_GAP
) -> ShopData:
    check_on_bad_rows(on_bad_rows)
    session_gap = parse_gap(session_gap)
    bad = BadRows()
    source = Path(source)
    path = source if source.is_file() else source_file(source, "taobao", FILES)
    raw = read_csv(path, COLUMNS, header=False, on_bad_rows=on_bad_rows, bad=bad)
    raw = parse(raw, path, SPEC, on_bad_rows=on_bad_rows, bad=bad)
    # the log may record one action twice: counted, kept
    raw = duplicates(raw, path, bad, drop=False, probe=["user_id", "timestamp", "item_id"])
    events = pd.DataFrame(
        {
            "user_id": raw["user_id"],
            "ts": raw["timestamp"],
            "event_type": raw["behavior"].map(BEHAVIOUR),
            "item_id": raw["item_id"],
        }
    )
    events["session_id"] = sessionize(events, session_gap)
    events = events.sort_values(["ts", "session_id"], kind="stable")
    items = raw.drop_duplicates("item_id")[["item_id", "category_id"]].assign(
        category=lambda d: "cat" + d["category_id"].astype(str)
    )[["item_id", "category"]]
    return ShopData.from_tables(
        events,
        items,
        meta={
            "dataset": "taobao",
            "session_gap": str(pd.Timedelta(session_gap)),
            "bad_rows": bad.as_meta(),
        },
    )
