"""What a prepared dataset can serve, read from which tables and columns are present and non-empty.

Notebooks decide what to run from these capabilities, never from a dataset's name: a part that
needs purchases runs on any log with purchase events and is skipped, with the reason, on one
without. ``Capabilities.of(data)`` computes them once::

    caps = Capabilities.of(shop)
    caps.has("purchases", "users")          # True / False
    caps.missing("purchases", "users")      # None, or "no purchase events; no user ids"
    caps.table()                            # one row per capability, for display

A capability is present when the data holding it is there and not all null (a column the source
lacks is null, never invented). Behaviour (``events`` and everything read from the log) needs at
least one event and a log that is behaviour: a source whose events only carry its queries
(``meta["has_behaviour"]`` False, e.g. Home Depot's one placeholder search per query) has
``queries`` but no ``events``, ``users``, ``sessions``, ``timestamps`` or ``searches``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from shopintent.data.store import ShopData

#: Extra tables of the synthetic shop's ground truth, each a capability of the same name.
TRUTH_TABLES = ("session_truth", "user_truth", "item_truth")
#: Observable tables of causal questions (prices over time and units sold; a randomised campaign)
#: and the truth behind them on the synthetic shop: each a capability of the same name.
CAUSAL_TABLES = {
    "price_history": ("item_id", "week", "price", "units"),
    "campaign": ("user_id", "treated"),
}
CAUSAL_TRUTH = ("elasticity_truth", "demand_truth", "campaign_truth")
#: Columns of the extra table ``relevance`` (human judgements of a query's products).
JUDGEMENT_COLUMNS = ("query_id", "item_id", "relevance")


@dataclass(frozen=True)
class Capability:
    """One capability: ``present``, ``detail`` (what was found, e.g. "1,234 purchase events")
    and ``absent`` (the reason it is missing, phrased to follow "skipped:")."""

    name: str
    present: bool
    detail: str
    absent: str


def _nonnull(df: pd.DataFrame, column: str) -> int:
    """Rows of ``df`` whose ``column`` holds a value (blank strings count as none)."""
    if column not in df or df.empty:
        return 0
    s = df[column]
    ok = s.notna()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        ok &= s.astype(str).str.strip().ne("")
    return int(ok.sum())


def _n(count: int, what: str) -> str:
    return f"{count:,} {what}"


class Capabilities:
    """The capabilities of one dataset (see the module docstring); ``CHECKS`` lists them all."""

    def __init__(self, found: dict[str, Capability], dataset: str = "this dataset") -> None:
        self._found = dict(found)
        self.dataset = dataset

    @classmethod
    def of(cls, data: ShopData) -> Capabilities:
        return cls(
            {name: Capability(name, *check(data)) for name, check in CHECKS.items()},
            str(data.meta.get("dataset", "this dataset")),
        )

    def __contains__(self, name: str) -> bool:
        return self.has(name)

    def _get(self, name: str) -> Capability:
        if name not in self._found:
            raise KeyError(f"unknown capability {name!r}; known: {', '.join(self._found)}")
        return self._found[name]

    def has(self, *names: str) -> bool:
        """True when every one of ``names`` is present."""
        return all(self._get(n).present for n in names)

    def missing(self, *names: str) -> str | None:
        """None when every one of ``names`` is present, else the reasons of those that are not,
        joined by "; " (e.g. "no purchase events; no user ids")."""
        reasons = [self._get(n).absent for n in names if not self._get(n).present]
        return "; ".join(dict.fromkeys(reasons)) or None

    def skip_reason(self, what: str, *names: str) -> str | None:
        """``missing(*names)`` as a sentence about ``what`` was skipped and why, or None."""
        why = self.missing(*names)
        return None if why is None else f"{self.dataset}: {what} skipped: {why}"

    def detail(self, name: str) -> str:
        return self._get(name).detail

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(n for n, c in self._found.items() if c.present)

    def table(self) -> pd.DataFrame:
        """One row per capability: ``capability present detail`` (detail: what was found, or
        why it is missing)."""
        return pd.DataFrame(
            {
                "capability": list(self._found),
                "present": [c.present for c in self._found.values()],
                "detail": [c.detail if c.present else c.absent for c in self._found.values()],
            }
        )

    def __repr__(self) -> str:
        return f"Capabilities({self.dataset}: {', '.join(self.present) or 'nothing'})"


# --- the checks: data -> (present, detail, reason when absent) ---------------------------------


def _behaviour(data: ShopData) -> tuple[bool, str, str]:
    n = len(data.events)
    if n == 0:
        return False, "", "no events"
    if data.meta.get("has_behaviour", True) is False:
        return False, "", f"no behaviour log (its {n:,} events are placeholders for its queries)"
    return True, _n(n, "events"), ""


def _log(check: Callable[[pd.DataFrame], tuple[int, str]], absent: str):
    """A capability read from the events table, present only where the log is behaviour."""

    def run(data: ShopData) -> tuple[bool, str, str]:
        ok, _, why = _behaviour(data)
        if not ok:
            return False, "", why  # one reason for every capability of the log
        count, what = check(data.events)
        return count > 0, _n(count, what), absent

    return run


def _type(event_type: str):
    def count(ev: pd.DataFrame) -> tuple[int, str]:
        return int((ev["event_type"] == event_type).sum()), f"{event_type} events"

    return count


def _distinct_times(ev: pd.DataFrame) -> tuple[int, str]:
    n = int(ev["ts"].nunique()) if "ts" in ev else 0
    return (n if n >= 2 else 0), "distinct event times"


def _interactions(ev: pd.DataFrame) -> tuple[int, str]:
    return _nonnull(ev, "item_id"), "events with an item"


def _column(table: str, column: str, what: str, absent: str):
    def run(data: ShopData) -> tuple[bool, str, str]:
        df = getattr(data, table)
        n = _nonnull(df, column)
        return n > 0, _n(n, what), absent

    return run


def _rows(table: str, what: str, absent: str):
    def run(data: ShopData) -> tuple[bool, str, str]:
        n = len(getattr(data, table))
        return n > 0, _n(n, what), absent

    return run


def _entities(data: ShopData) -> tuple[bool, str, str]:
    q = data.queries
    n = 0
    if "entities" in q and len(q):
        n = int(q["entities"].map(lambda v: v is not None and not _is_na(v)).sum())
    return n > 0, _n(n, "queries with entity annotations"), "no query entity annotations"


def _is_na(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # a list or dict
        return False


def _attributes(data: ShopData) -> tuple[bool, str, str]:
    items = data.items
    n = (
        int(items["attributes"].map(lambda v: isinstance(v, dict) and bool(v)).sum())
        if ("attributes" in items and len(items))
        else 0
    )
    return n > 0, _n(n, "items with attributes"), "no item attributes"


def _prices(data: ShopData) -> tuple[bool, str, str]:
    n_items = _nonnull(data.items, "price")
    n_events = _nonnull(data.events, "price")
    detail = f"{n_items:,} item prices, {n_events:,} event prices"
    return n_items + n_events > 0, detail, "no prices"


def _judgements(data: ShopData) -> tuple[bool, str, str]:
    rel = data.extras.get("relevance")
    if rel is None or not set(JUDGEMENT_COLUMNS) <= set(rel.columns):
        return False, "", "no relevance judgements (extra table relevance)"
    rel = rel.dropna(subset=list(JUDGEMENT_COLUMNS))
    n_q = rel["query_id"].nunique()
    detail = f"{len(rel):,} judgements of {n_q:,} queries, {rel['item_id'].nunique():,} items"
    return len(rel) > 0, detail, "no relevance judgements (extra table relevance)"


def _extra(name: str, what: str):
    def run(data: ShopData) -> tuple[bool, str, str]:
        df = data.extras.get(name)
        n = 0 if df is None else len(df)
        return n > 0, _n(n, what), f"no {name} table ({what})"

    return run


def _causal(name: str, columns: tuple[str, ...], what: str):
    def run(data: ShopData) -> tuple[bool, str, str]:
        df = data.extras.get(name)
        ok = df is not None and len(df) > 0 and set(columns) <= set(df.columns)
        absent = f"no {name} table ({what}: {', '.join(columns)})"
        return ok, _n(0 if df is None else len(df), f"{name} rows"), absent

    return run


def _freebase(data: ShopData) -> tuple[bool, str, str]:
    kg, link = data.extras.get("kg"), data.extras.get("kg_link")
    ok = kg is not None and link is not None and len(kg) > 0 and len(link) > 0
    return ok, _n(len(kg) if kg is not None else 0, "triples"), "no knowledge-graph triples"


#: Every capability, in display order: name -> check(data) -> (present, detail, absent reason).
CHECKS: dict[str, Callable[[ShopData], tuple[bool, str, str]]] = {
    "events": _behaviour,
    "users": _log(lambda ev: (_nonnull(ev, "user_id"), "events with a user id"), "no user ids"),
    "sessions": _log(
        lambda ev: (_nonnull(ev, "session_id"), "events with a session id"), "no session ids"
    ),
    "timestamps": _log(_distinct_times, "no event times (one time for every event)"),
    "interactions": _log(_interactions, "no events with an item"),
    "views": _log(_type("view"), "no view events"),
    "carts": _log(_type("cart"), "no cart events"),
    "purchases": _log(_type("purchase"), "no purchase events"),
    "searches": _log(_type("search"), "no search events"),
    "queries": _column("queries", "text", "query texts", "no search queries"),
    "query_intents": _column("queries", "intent", "queries with an intent", "no query intents"),
    "query_entities": _entities,
    "judgements": _judgements,
    "reviews": _rows("reviews", "reviews", "no reviews"),
    "review_texts": _column("reviews", "text", "reviews with text", "no review texts"),
    "ratings": _column("reviews", "rating", "reviews with a rating", "no ratings"),
    "sentiment_labels": _column(
        "reviews", "sentiment", "reviews with a sentiment label", "no sentiment labels"
    ),
    "items": _rows("items", "items", "no items table"),
    "titles": _column("items", "title", "items with a title", "no item titles"),
    "descriptions": _column(
        "items", "description", "items with a description", "no item descriptions"
    ),
    "brands": _column("items", "brand", "items with a brand", "no item brands"),
    "categories": _column("items", "category", "items with a category", "no item categories"),
    "attributes": _attributes,
    "prices": _prices,
    **{name: _extra(name, "ground truth") for name in TRUTH_TABLES},
    "price_history": _causal(
        "price_history", CAUSAL_TABLES["price_history"], "prices over time with units sold"
    ),
    "campaign": _causal("campaign", CAUSAL_TABLES["campaign"], "a randomised campaign's arms"),
    **{name: _extra(name, "ground truth") for name in CAUSAL_TRUTH},
    "kg_triples": _freebase,
}
