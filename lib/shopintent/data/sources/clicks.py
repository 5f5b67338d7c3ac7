"""The ``clicks`` layout: a session click log of your own, one row per event, columns named by a
mapping (see ``layouts``: CSV, TSV or Parquet, ``--columns``, ``--time-format``...).

Fields: ``session``, ``item``, ``time`` required; ``user``, ``category``, ``price``,
``event_type`` optional. Example::

    shopintent data prepare --dataset clicks --source views.csv --name myshop \\
        --columns session=SessionId,item=ItemId,time=Timestamp --time-format unix_ms

Decisions:

- Events: one per row: ``session_id`` = session, ``item_id`` = item, ``ts`` = time (UTC),
  ``user_id`` = user or null (a log without users stays without users: no user is made up
  from the session), ``price`` = the row's price or null, ``query_id`` null (no searches).
- Event types: without an ``event_type`` column every event is a ``view``. With one, its
  values must be canonical types (view, cart, purchase, fav, remove_from_cart) unless
  ``event_types`` maps them: ``--event-types view=pv|click,cart=addtocart,purchase=buy``
  (canonical type = source value(s), or a JSON file of that object). An empty or unmapped
  value is a bad row naming file, line and value. ``search`` is refused: a click log has no
  query text.
- Items: one per item seen. ``category`` and ``price`` are those of the item's latest event
  that has one (null when none has); ``meta["items_with_several_categories"]`` counts items
  logged under more than one category. Titles, brands and descriptions are not in a click
  log: null.
- A negative price is a bad row. Exact duplicate rows are counted in
  ``meta["bad_rows"]["duplicates"]`` and kept (a log may record an action twice).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.schema import EVENT_TYPES
from shopintent.data.sources import layouts
from shopintent.data.sources.checks import check_range, duplicates, reject_rows
from shopintent.data.sources.reading import BadRows
from shopintent.data.store import ShopData

LAYOUT = "clicks"
FIELDS = {
    "session": True,
    "item": True,
    "time": True,
    "user": False,
    "category": False,
    "price": False,
    "event_type": False,
}
SPEC = {
    "session": "id",
    "item": "id",
    "user": "id?",
    "category": "str?",
    "price": "float?",
    "event_type": "str",
}
#: the canonical types a click log may hold (a search needs a query)
TYPES = tuple(t for t in EVENT_TYPES if t != "search")
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = (*layouts.OPTIONS, "event_types")


def event_type_map(event_types) -> dict[str, str]:
    """Source value -> canonical type, from ``view=pv|click,cart=addtocart`` (or a dict)."""
    given = layouts.parse_mapping(event_types, "--event-types")
    if not given:
        return {t: t for t in TYPES}
    out: dict[str, str] = {}
    for canon, values in given.items():
        if canon not in TYPES:
            raise ValueError(
                f"--event-types: {canon!r} is not an event type of a click log "
                f"(expected {', '.join(TYPES)} = source value(s))"
            )
        for v in [values] if isinstance(values, str) else list(values):
            if out.setdefault(str(v), canon) != canon:
                raise ValueError(f"--event-types: {v!r} is mapped to both {out[v]} and {canon}")
    return out


def load(
    source: Path,
    on_bad_rows: str = "error",
    columns=None,
    sep: str | None = None,
    encoding: str | None = None,
    na_values: str | None = None,
    time_format: str | None = None,
    event_types=None,
) -> ShopData:
    types = event_type_map(event_types)
    spec = {**SPEC, "time": layouts.time_kind(time_format)}

    def convert(path: Path, rows: pd.DataFrame, mapping: dict, bad: BadRows) -> pd.DataFrame:
        if "event_type" in mapping:
            canon = rows["event_type"].map(types)
            known = ", ".join(sorted(types))
            rows = reject_rows(
                rows,
                path,
                canon.isna().to_numpy(),
                "event_type",
                f"is not a known event type (known: {known}; map others with --event-types)",
                on_bad_rows,
                bad,
            )
            rows["event_type"] = rows["event_type"].map(types)
        else:
            rows["event_type"] = "view"
        rows = check_range(rows, path, "price", 0, None, on_bad_rows, bad)
        return duplicates(rows, path, bad, drop=False, probe=["session", "time", "item"])

    read = layouts.read_all(
        source,
        LAYOUT,
        FIELDS,
        spec,
        convert,
        columns=columns,
        sep=sep,
        encoding=encoding,
        na_values=na_values,
        on_bad_rows=on_bad_rows,
    )
    raw = read.rows

    events = pd.DataFrame(
        {
            "user_id": raw["user"],
            "session_id": raw["session"],
            "ts": raw["time"],
            "event_type": raw["event_type"],
            "item_id": raw["item"],
            "price": raw["price"].astype("float64"),
        }
    ).sort_values(["ts", "session_id"], kind="stable")
    ordered = raw.sort_values("time", kind="stable")
    latest = ordered.groupby("item", sort=True)[["category", "price"]].last()
    several = ordered.dropna(subset=["category"]).groupby("item")["category"].nunique()
    items = pd.DataFrame(
        {
            "item_id": latest.index.to_numpy(),
            "category": latest["category"].where(latest["category"].notna(), None).to_numpy(object),
            "price": latest["price"].to_numpy("float64"),
        }
    )
    meta = {
        **read.meta(),
        "event_types": dict(sorted(types.items())) if event_types else "canonical",
        "events_without_user": int(raw["user"].isna().sum()),
        "items_with_several_categories": int(np.sum(several > 1)),
    }
    return ShopData.from_tables(events, items, meta=meta)
