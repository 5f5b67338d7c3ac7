"""REES46 "eCommerce behavior data from multi category store": one CSV per month
(``2019-Oct.csv``, ``2019-Nov.csv``..., plain or ``.csv.gz``) with the header
``event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session``;
``event_time`` reads like ``2019-10-01 00:00:00 UTC``. ``source`` is one such file or a
folder of them (all ``*.csv`` and ``*.csv.gz`` files in it are read, in name order).

Only ``event_time``, ``event_type`` and ``product_id`` are required. ``category_id``,
``category_code``, ``brand``, ``price``, ``user_id`` and ``user_session`` may be empty or
absent from the header: what is missing is null, never invented. An event needs a session:
its ``user_session``, or its ``user_id`` to cut one from (below); a row with neither is a
bad row naming file and line, and a file whose header has neither column fails.

Decisions:

- Events: ``event_type`` view, cart and purchase map to themselves; ``remove_from_cart`` is
  kept as the canonical extra type ``remove_from_cart``. ``ts`` is ``event_time`` (UTC),
  ``price`` is the row's own price (the price the user saw at that moment), ``user_id`` and
  ``item_id`` (= ``product_id``) are the source's ids as text (``user_id`` and ``price``
  null where empty). There are no searches, so ``query_id`` is null.
- Sessions: ``session_id`` is the source's ``user_session``. The few rows with an empty
  ``user_session`` (or no such column) are not dropped: each user's such rows are cut into
  sessions at gaps longer
  than ``session_gap`` (30 minutes by default), with ids ``user-<user_id>-<n>``; their count
  is ``meta["events_without_session"]``.
- Items: one per ``product_id`` seen in the events. ``category`` is ``category_code`` (already
  a dot path such as ``electronics.smartphone``) or, when the source has none,
  ``cat<category_id>``, or null when it has neither; ``brand`` is null when empty; ``price``
  is the item's most recent known price (of its latest event that has one; with several
  files, across all of them). Category code, brand and category id also come from the item's
  latest event that has them. The
  source has no titles, descriptions or attributes: those stay null. The numeric
  ``category_id`` is kept as an extra items column.
- A file whose last line lacks its final fields or its final newline (a download cut
  mid-line) fails, or is skipped, even when only the optional ``user_session`` is missing or
  cut short (see ``reading.read_csv``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopintent.data.sessions import DEFAULT_GAP, parse_gap, sessionize
from shopintent.data.sources.checks import check_range, duplicates, parse, reject_rows
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    header_columns,
    read_csv,
    source_files,
)
from shopintent.data.store import ShopData

COLUMNS = [
    "event_time",
    "event_type",
    "product_id",
    "category_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
]
EVENT_TYPES = ("view", "cart", "purchase", "remove_from_cart")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
SPEC = {
    "event_time": ("datetime", TIME_FORMAT),
    "event_type": ("choice", EVENT_TYPES),
    "product_id": "id",
    "category_id": "id?",
    "category_code": "str?",
    "brand": "str?",
    "price": "float?",
    "user_id": "id?",
    "user_session": "id?",
}
REQUIRED = ("event_time", "event_type", "product_id")
NO_SESSION_PREFIX = "user-"
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = ("on_bad_rows", "session_gap")


def load(
    source: Path, on_bad_rows: str = "error", session_gap: str | pd.Timedelta = DEFAULT_GAP
) -> ShopData:
    check_on_bad_rows(on_bad_rows)
    session_gap = parse_gap(session_gap)
    bad = BadRows()
    frames = []
    for path in source_files(source, "rees46", ("*.csv", "*.csv.gz")):
        rows = _read(path, on_bad_rows, bad)
        # the log may record one action twice: counted, kept
        rows = duplicates(
            rows, path, bad, drop=False, probe=["user_id", "event_time", "product_id"]
        )
        frames.append(rows.drop(columns="_line"))
    raw = pd.concat(frames, ignore_index=True)
    if raw.empty:
        raise SourceError(f"rees46: no valid rows in {source}")

    events = pd.DataFrame(
        {
            "user_id": raw["user_id"],
            "session_id": raw["user_session"],
            "ts": raw["event_time"],
            "event_type": raw["event_type"],
            "item_id": raw["product_id"],
            "price": raw["price"],
        }
    )
    no_session = events["session_id"].isna()
    if no_session.any():
        events.loc[no_session, "session_id"] = sessionize(
            events.loc[no_session], session_gap, prefix=NO_SESSION_PREFIX
        )
    events = events.sort_values(["ts", "session_id"], kind="stable")

    latest = (
        raw.sort_values("event_time", kind="stable")
        .groupby("product_id", sort=True)[["category_code", "brand", "price", "category_id"]]
        .last()  # the last non-null value of each column
    )
    cid = latest["category_id"]
    category = latest["category_code"].fillna(("cat" + cid.dropna().astype(str)).reindex(cid.index))
    items = pd.DataFrame(
        {
            "item_id": latest.index.to_numpy(),
            "brand": latest["brand"].to_numpy(object),
            "category": category.where(category.notna(), None).to_numpy(object),
            "price": latest["price"].to_numpy("float64"),
            "category_id": cid.where(cid.notna(), None).to_numpy(object),
        }
    )
    meta = {
        "dataset": "rees46",
        "bad_rows": bad.as_meta(),
        "session_gap": str(pd.Timedelta(session_gap)),
        "events_without_session": int(no_session.sum()),
    }
    return ShopData.from_tables(events, items, meta=meta)


def present_columns(path: Path) -> list[str]:
    """The columns of ``COLUMNS`` on the file's header line, in ``COLUMNS`` order; fails naming
    the file when a required column is missing or neither ``user_session`` nor ``user_id`` is
    there (shared by the Spark loader, ``data/spark/rees46.py``)."""
    header = header_columns(path)
    missing = [c for c in REQUIRED if c not in header]
    if missing or not {"user_id", "user_session"} & set(header):
        if not missing:
            raise SourceError(
                f"{path} line 1: neither user_session nor user_id among the columns "
                f"({', '.join(header)}): an event needs a session, or a user to cut one from"
            )
        read_csv(path, list(REQUIRED))  # names the missing required columns and those found
    return [c for c in COLUMNS if c in header]


#: the reason a row with neither a session nor a user is bad (shared with the Spark loader)
ORPHAN = "(empty) and user_id is empty too: an event needs a session, or a user to cut one from"


def _read(path: Path, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    """One file's rows, parsed; optional columns absent from its header are null."""
    present = present_columns(path)
    raw = read_csv(path, present, on_bad_rows=on_bad_rows, bad=bad)
    for col in COLUMNS:
        if col not in raw.columns:
            raw[col] = None
    rows = parse(raw, path, SPEC, on_bad_rows=on_bad_rows, bad=bad)
    rows = check_range(rows, path, "price", 0, None, on_bad_rows, bad)
    orphan = (rows["user_session"].isna() & rows["user_id"].isna()).to_numpy()
    return reject_rows(
        rows,
        path,
        orphan,
        "user_session",
        ORPHAN,
        on_bad_rows,
        bad,
    )
