"""Alibaba Tianchi "UserBehavior" (Taobao): ``UserBehavior.csv`` with no header,
``user_id,item_id,category_id,behavior,timestamp`` (behavior: pv, cart, fav, buy; unix seconds).

The log has no sessions: a user's events are cut into sessions at gaps of inactivity longer
than ``session_gap`` (30 minutes by default). Items carry only their category id (as the
category path ``cat<id>``); titles, brands and prices do not exist in this source and stay null.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopintent.data.sessions import DEFAULT_GAP, sessionize
from shopintent.data.sources.reading import BadRows, parse, read_csv, source_files
from shopintent.data.store import ShopData

COLUMNS = ["user_id", "item_id", "category_id", "behavior", "timestamp"]
BEHAVIOUR = {"pv": "view", "cart": "cart", "fav": "fav", "buy": "purchase"}


def load(source: Path, on_bad_rows: str = "error", session_gap: str | pd.Timedelta = DEFAULT_GAP) -> ShopData:
    bad = BadRows()
    frames = []
    for path in source_files(source, "taobao", ("UserBehavior*.csv", "UserBehavior*.csv.gz", "*.csv")):
        raw = read_csv(path, COLUMNS, header=False, on_bad_rows=on_bad_rows, bad=bad)
        frames.append(parse(raw, path, {"user_id": "str", "item_id": "str", "category_id": "str",
                                        "behavior": ("choice", tuple(BEHAVIOUR)), "timestamp": "unix_s"},
                            on_bad_rows=on_bad_rows, bad=bad))
    raw = pd.concat(frames, ignore_index=True)
    events = pd.DataFrame({"user_id": raw["user_id"], "ts": raw["timestamp"],
                           "event_type": raw["behavior"].map(BEHAVIOUR), "item_id": raw["item_id"]})
    events["session_id"] = sessionize(events, session_gap)
    events = events.sort_values(["ts", "session_id"], kind="stable")
    items = (raw.drop_duplicates("item_id")[["item_id", "category_id"]]
             .assign(category=lambda d: "cat" + d["category_id"].astype(str))[["item_id", "category"]])
    return ShopData.from_tables(events, items, meta={"dataset": "taobao", "session_gap": str(pd.Timedelta(session_gap)),
                                                     "bad_rows": bad.as_meta()})
