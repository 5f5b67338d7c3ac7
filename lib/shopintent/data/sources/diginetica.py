"""CIKM Cup 2016 track 2 (DIGINETICA): ``;``-separated CSVs in one folder.

- ``sample_train-item-views.csv`` (the SR-GNN sample; header
  ``session_id;user_id;item_id;timeframe;eventdate``) or the full ``train-item-views.csv``
  (header ``sessionId;userId;itemId;timeframe;eventdate``; both spellings are accepted);
  the sample is used when both are present.
- ``train-purchases.csv``: ``sessionId;userId;timeframe;eventdate;ordernumber;itemId``.
- ``product-categories.csv``: ``itemId;categoryId``.

``NA`` marks a missing user; ``timeframe`` is milliseconds since the session start and
``eventdate`` the event's own date (no time of day).

Decisions:

- Time. ``timeframe`` counts from the session start while ``eventdate`` is each event's own
  day, so times are anchored at the session's start date: the earliest ``eventdate`` among
  its views (UTC midnight). A view's ``ts`` is that date + its ``timeframe``; adding the
  timeframe to the view's own ``eventdate`` instead would differ only in sessions that cross
  midnight (2 in the sample), where it would put a spurious day inside the session. A
  purchase is often days after the session (``timeframe`` up to months): its
  ``eventdate`` already includes those days, and ``eventdate`` + ``timeframe`` would count
  them twice (in the sample, one purchase would land on 2016-07-15, after the data ends),
  whereas start date + ``timeframe`` falls on the purchase's ``eventdate`` for 212 of the
  sample's 256 purchase lines and on the day before for the other 44 (the session's time
  of day is unknown). Time of day is therefore only relative: every session starts near
  00:00 of its day.
- Sessions: ``session_id`` is the source's session id.
- Users: a session's ``user_id`` is its first known ``userId`` (views in ``timeframe``
  order, then its purchase lines), else null: an anonymous session has no user (never an
  invented one; the user-level notebooks use the sessions that have one). Sessions where the
  source names more than one user are counted in ``meta["sessions_with_several_users"]`` and
  keep the first.
- Purchases: the purchases file covers the full dataset, so only the purchase lines of
  sessions present in the views file are kept. Each line (one purchased item of an order)
  is one ``purchase`` event at session start date + its ``timeframe`` when that is at or
  after the session's last view, otherwise at the last view + 1 second (a purchase never
  precedes the views that led to it; ``meta["purchases_moved_after_last_view"]`` counts
  them). Purchase lines are not deduplicated: an item bought in two orders of one session
  is two events. The order number is kept as the extra events column ``order_id`` (null for views).
- Prices, queries, titles and brands do not exist in this source: they stay null.
- A negative ``timeframe``, or one that puts a time outside [1990, 2100), is a bad row. Exact
  duplicate lines of the views and purchases files are counted in
  ``meta["bad_rows"]["duplicates"]`` and kept; an item listed twice in ``product-categories.csv``
  is dropped when the lines are equal and a bad row when the categories differ.
- Items: every item referenced by an event; ``category`` is ``cat<categoryId>`` from
  ``product-categories.csv``, null when the item is not listed there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopintent.data.sources.checks import check_range, check_times, duplicates, parse
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    read_csv,
    source_file,
)
from shopintent.data.store import ShopData

VIEWS = ("sample_train-item-views.csv", "train-item-views.csv")
PURCHASES = ("train-purchases.csv",)
CATEGORIES = ("product-categories.csv",)
VIEW_COLUMNS = ["session_id", "user_id", "item_id", "timeframe", "eventdate"]
#: the full dataset's header spells the view columns in camelCase
CIKM_VIEW_COLUMNS = ["sessionId", "userId", "itemId", "timeframe", "eventdate"]
PURCHASE_COLUMNS = ["sessionId", "userId", "timeframe", "eventdate", "ordernumber", "itemId"]
CATEGORY_COLUMNS = ["itemId", "categoryId"]
DATE = ("datetime", "%Y-%m-%d")
SEP = ";"
NA = ("NA",)
PURCHASE_DELAY = pd.Timedelta(seconds=1)
#: how each field is parsed (``checks.parse``; shared with the Spark loader)
VIEW_SPEC = {
    "session_id": "id",
    "user_id": "id?",
    "item_id": "id",
    "timeframe": "int",
    "eventdate": DATE,
}
PURCHASE_SPEC = {
    "sessionId": "id",
    "userId": "id?",
    "timeframe": "int",
    "eventdate": DATE,
    "ordernumber": "id",
    "itemId": "id",
}
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = ("on_bad_rows",)
#: a timeframe (ms) longer than the window of plausible times is a unit or parsing bug
MAX_TIMEFRAME = int(
    (pd.Timestamp("2100-01-01") - pd.Timestamp("1990-01-01")) / pd.Timedelta(milliseconds=1)
)


def load(source: Path, on_bad_rows: str = "error") -> ShopData:
    check_on_bad_rows(on_bad_rows)
    source = Path(source)
    folder = source.parent if source.is_file() else source
    bad = BadRows()
    views_path = source_file(source, "diginetica", VIEWS)
    views = _read_views(views_path, on_bad_rows, bad)
    purchases_path = source_file(folder, "diginetica", PURCHASES)
    purchases = read_purchases(purchases_path, on_bad_rows, bad)
    categories = read_categories(source_file(folder, "diginetica", CATEGORIES), on_bad_rows, bad)
    if views.empty:
        raise SourceError(f"diginetica: no valid rows in the views file in {folder}")

    views = views.sort_values(["session_id", "timeframe"], kind="stable")
    start = views.groupby("session_id")["eventdate"].min()
    views["ts"] = views["session_id"].map(start) + pd.to_timedelta(views["timeframe"], unit="ms")
    views = check_times(views, views_path, "ts", on_bad_rows, bad)
    last_view = views.groupby("session_id")["ts"].max()

    all_lines = len(purchases)
    purchases = purchases[purchases["sessionId"].isin(start.index)].rename(
        columns={"sessionId": "session_id", "userId": "user_id", "itemId": "item_id"}
    )
    outside = all_lines - len(purchases)
    at = purchases["session_id"].map(start) + pd.to_timedelta(purchases["timeframe"], unit="ms")
    floor = purchases["session_id"].map(last_view)
    purchases["_moved"] = at < floor
    purchases["ts"] = at.where(~purchases["_moved"], floor + PURCHASE_DELAY)
    purchases = check_times(purchases, purchases_path, "ts", on_bad_rows, bad)
    moved = purchases.pop("_moved")

    users = pd.concat(
        [
            views[["session_id", "user_id"]],
            purchases.sort_values(["session_id", "timeframe"], kind="stable")[
                ["session_id", "user_id"]
            ],
        ]
    )
    known = users.dropna(subset=["user_id"]).drop_duplicates()
    several = int(known.groupby("session_id").size().gt(1).sum())
    session_user = known.drop_duplicates("session_id").set_index("session_id")["user_id"]

    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "session_id": views["session_id"],
                    "ts": views["ts"],
                    "event_type": "view",
                    "item_id": views["item_id"],
                    "order_id": None,
                }
            ),
            pd.DataFrame(
                {
                    "session_id": purchases["session_id"],
                    "ts": purchases["ts"],
                    "event_type": "purchase",
                    "item_id": purchases["item_id"],
                    "order_id": purchases["ordernumber"],
                }
            ),
        ],
        ignore_index=True,
    )
    known_user = events["session_id"].map(session_user)
    events["user_id"] = known_user.where(known_user.notna(), None)
    events = events.sort_values(["ts", "session_id"], kind="stable")

    category = categories.drop_duplicates("itemId").set_index("itemId")["categoryId"]
    item_ids = pd.Index(events["item_id"].unique()).sort_values()
    cat = pd.Series(item_ids, index=item_ids).map(category).dropna()  # may be none at all
    named = ("cat" + cat.astype(str)).reindex(item_ids)
    items = pd.DataFrame(
        {"item_id": item_ids, "category": named.where(named.notna(), None).to_numpy(object)}
    )

    meta = {
        "dataset": "diginetica",
        "bad_rows": bad.as_meta(),
        "views_file": views_path.name,
        "purchase_lines": len(purchases),
        "purchase_lines_outside_view_sessions": outside,
        "purchases_moved_after_last_view": int(moved.sum()),
        "sessions_with_several_users": several,
    }
    return ShopData.from_tables(events, items, meta=meta)


def read_purchases(path: Path, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    """The purchases file, parsed and checked (also read by the Spark loader: it is the full
    dataset's file, 18k lines, at every scale)."""
    purchases = parse(
        read_csv(path, PURCHASE_COLUMNS, sep=SEP, na_values=NA, on_bad_rows=on_bad_rows, bad=bad),
        path,
        PURCHASE_SPEC,
        on_bad_rows=on_bad_rows,
        bad=bad,
    )
    purchases = check_range(
        purchases, path, "timeframe", 0, MAX_TIMEFRAME, on_bad_rows, bad, hi_open=True
    )
    return duplicates(purchases, path, bad, drop=False)  # kept: see the module's docstring


def read_categories(path: Path, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    """The item -> category file, parsed, an item listed twice with other values a bad row
    (also read by the Spark loader: a lookup table of 184k lines)."""
    categories = parse(
        read_csv(path, CATEGORY_COLUMNS, sep=SEP, on_bad_rows=on_bad_rows, bad=bad),
        path,
        {"itemId": "id", "categoryId": "id"},
        on_bad_rows=on_bad_rows,
        bad=bad,
    )
    return duplicates(categories, path, bad, key=["itemId"], on_bad_rows=on_bad_rows)


def view_columns(path: Path) -> list[str]:
    """The views file's column names, whichever header spelling it has."""
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline()
    return CIKM_VIEW_COLUMNS if "sessionId" in header else VIEW_COLUMNS


def _read_views(path: Path, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    """The views file with snake_case columns, whichever header spelling it has."""
    columns = view_columns(path)
    raw = read_csv(path, columns, sep=SEP, na_values=NA, on_bad_rows=on_bad_rows, bad=bad)
    raw = raw.rename(columns=dict(zip(columns, VIEW_COLUMNS, strict=True)))
    views = parse(raw, path, VIEW_SPEC, on_bad_rows=on_bad_rows, bad=bad)
    views = check_range(views, path, "timeframe", 0, MAX_TIMEFRAME, on_bad_rows, bad, hi_open=True)
    return duplicates(views, path, bad, drop=False)  # a view logged twice: counted, kept
