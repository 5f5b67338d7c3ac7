"""The "Groceries" data (Hahsler et al., R package arules): 30 days of point-of-sale baskets of a
grocery outlet, in long form: ``groceries_long.csv`` with the header
``transaction,labels,level2,level1``, one row per item of a basket (``transaction`` is the
basket number, ``labels`` the item, ``level2``/``level1`` its two-level category).

Decisions:

- Sessions: one per transaction, ``session_id`` = the transaction number; each row is one
  ``purchase`` event of its item, in file order within the basket.
- Users: the source has none. Each transaction is its own anonymous user ``t<transaction>``
  (so no user has a history; do not read "users" of this dataset as people).
- Time: the source has none. Timestamps are synthetic but deterministic: 2000-01-01 00:00 UTC
  + ``transaction`` minutes, the same for every item of a basket. They carry only the order of
  the baskets, not when they happened (nor the real 30-day span).
- Items: ``item_id`` and ``title`` are the label (e.g. ``whole milk``); ``category`` is
  ``<level1>.<level2>`` with spaces replaced by underscores and dots removed inside a level,
  so the path keeps exactly two levels (``drinks.non-alc_drinks``). An item's category is
  taken from its first row. Prices, brands and queries do not exist here: they stay null.
- A basket is a set: a line repeating another (same basket and item) is dropped and counted in
  ``meta["bad_rows"]["duplicates"]``; the same item of a basket with another category is a bad row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopintent.data.sources.checks import check_range, duplicates, parse
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    read_csv,
    source_file,
)
from shopintent.data.store import ShopData

FILES = ("groceries_long.csv", "groceries_long.csv.gz")
COLUMNS = ["transaction", "labels", "level2", "level1"]
EPOCH = pd.Timestamp("2000-01-01", tz="UTC")
USER_PREFIX = "t"
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = ("on_bad_rows",)
#: transaction numbers beyond this would put the synthetic time past 2100
MAX_TRANSACTION = int((pd.Timestamp("2100-01-01", tz="UTC") - EPOCH) / pd.Timedelta(minutes=1))


def load(source: Path, on_bad_rows: str = "error") -> ShopData:
    check_on_bad_rows(on_bad_rows)
    bad = BadRows()
    path = source_file(source, "groceries", FILES)
    raw = read_csv(path, COLUMNS, on_bad_rows=on_bad_rows, bad=bad)
    rows = parse(
        raw,
        path,
        {"transaction": "int", "labels": "id", "level2": "str", "level1": "str"},
        on_bad_rows=on_bad_rows,
        bad=bad,
    )
    rows = check_range(
        rows, path, "transaction", 0, MAX_TRANSACTION, on_bad_rows, bad, hi_open=True
    )
    # a basket is a set: an item listed twice in one basket is one item (counted, dropped)
    rows = duplicates(rows, path, bad, key=["transaction", "labels"], on_bad_rows=on_bad_rows)
    if rows.empty:
        raise SourceError(f"{path}: no valid rows")
    number = rows["transaction"].astype("int64")
    basket = number.astype(str)
    events = pd.DataFrame(
        {
            "user_id": USER_PREFIX + basket,
            "session_id": basket,
            "ts": EPOCH + pd.to_timedelta(number, unit="min"),
            "event_type": "purchase",
            "item_id": rows["labels"],
        }
    )
    events = events.sort_values(["ts"], kind="stable")

    first = rows.drop_duplicates("labels")
    items = pd.DataFrame(
        {
            "item_id": first["labels"],
            "title": first["labels"],
            "category": _level(first["level1"]) + "." + _level(first["level2"]),
        }
    )
    items = items.sort_values("item_id", kind="stable")
    meta = {
        "dataset": "groceries",
        "bad_rows": bad.as_meta(),
        "baskets": int(basket.nunique()),
        "synthetic_time": f"{EPOCH.isoformat()} + transaction minutes (order only)",
    }
    return ShopData.from_tables(events, items, meta=meta)


def _level(s: pd.Series) -> pd.Series:
    """One readable path level: trimmed, spaces to underscores, no dots."""
    return s.str.strip().str.replace(".", "", regex=False).str.replace(r"\s+", "_", regex=True)
