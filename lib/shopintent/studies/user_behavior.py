"""The flat headline metrics of the behaviour EDA (notebook 01 records these).

Counts of events and duplicates describe the log as loaded; everything else is computed after
exact duplicate events are dropped, except repeated purchase rows, which are order lines
(``eda.quality.duplicate_mask``). A metric the dataset cannot support is None, and
``headline_table`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from shopintent.data.capabilities import Capabilities
from shopintent.data.store import ShopData
from shopintent.eda import baskets, funnel, longtail, quality, queries, segments, sessions

#: Thresholds of the rules counted in the headline (see ``baskets.association_rules``).
RULE_THRESHOLDS = {
    "min_support": 0.01,
    "min_confidence": 0.1,
    "min_count": 2,
    "max_items": 500,
    "max_len": 3,
}

#: Headline keys read from the event log (None with the reason where the data has no behaviour).
LOG_KEYS = (
    "eda/events/count",
    "eda/events/duplicates",
    "eda/sessions/count",
    "eda/users/count",
    "eda/time/days",
    "eda/sessions/median_events",
    "eda/sessions/median_duration_min",
    "eda/funnel/search_share",
    "eda/funnel/view_to_cart",
    "eda/funnel/cart_to_purchase",
    "eda/funnel/session_conversion",
    "eda/funnel/user_conversion",
    "eda/items/gini",
    "eda/items/top20_view_share",
    "eda/items/never_viewed_share",
    "eda/rules/count",
    "eda/rules/category_count",
    "eda/rules/multi_item_baskets",
)


def _headline(shop: ShopData) -> tuple[dict[str, float | None], dict[str, str]]:
    m: dict[str, float | None] = {}
    why: dict[str, str] = {}

    def put(key: str, value, reason: str | None = None) -> None:
        m[key] = None if value is None or pd.isna(value) else value
        if m[key] is None:
            why[key] = reason or "not computable on this dataset"

    put("eda/items/count", len(shop.items) or None, "the dataset has no items table")
    no_log = Capabilities.of(shop).missing("events")
    if no_log:  # no events, or events that only carry queries: nothing about behaviour to say
        for key in LOG_KEYS:
            put(key, None, no_log)
    else:
        raw = shop.events
        put("eda/events/count", len(raw))
        put("eda/events/duplicates", int(raw.duplicated(keep="first").sum()))
        ev = quality.drop_duplicate_events(raw)  # repeated purchase rows are order lines: kept
        put("eda/sessions/count", int(ev["session_id"].nunique()))
        put("eda/users/count", int(ev["user_id"].nunique()))  # 0: no user ids
        put("eda/time/days", quality.time_span(ev)["days"])

        sess = sessions.session_table(ev)
        put("eda/sessions/median_events", float(sess["events"].median()))
        put("eda/sessions/median_duration_min", float(sess["duration_min"].median()))

        present = set(ev["event_type"].unique())

        def missing(*stages: str) -> str:
            return (
                "the log has no " + " or ".join(s for s in stages if s not in present) + " events"
            )

        by_session = funnel.funnel_rates(ev, "session")
        put("eda/funnel/search_share", by_session["search_share"], missing("search"))
        put("eda/funnel/view_to_cart", by_session["view_to_cart"], missing("view", "cart"))
        put(
            "eda/funnel/cart_to_purchase",
            by_session["cart_to_purchase"],
            missing("cart", "purchase"),
        )
        put("eda/funnel/session_conversion", by_session["conversion"], missing("purchase"))
        put(
            "eda/funnel/user_conversion",
            funnel.funnel_rates(ev, "user")["conversion"],
            missing("purchase") if ev["user_id"].notna().any() else "the log has no user ids",
        )

        pop = longtail.item_popularity(ev, "view", shop.items["item_id"])
        conc = longtail.concentration(pop)
        for key, value in (
            ("gini", conc["gini"]),
            ("top20_view_share", conc["top_share"]),
            ("never_viewed_share", conc["zero_share"]),
        ):
            put(f"eda/items/{key}", value, quality.reason(pop))

        for level, key in (("item", "eda/rules/count"), ("category", "eda/rules/category_count")):
            rules = baskets.purchase_rules(
                ev, shop.items, by="session", level=level, **RULE_THRESHOLDS
            )
            put(key, None if quality.reason(rules) else len(rules), quality.reason(rules))
        basket_items = baskets.basket_items(ev, by="session")
        put(
            "eda/rules/multi_item_baskets", baskets.basket_stats(basket_items)["multi_item_baskets"]
        )

    lengths = queries.query_lengths(shop.queries)
    no_queries = quality.reason(lengths)
    put("eda/queries/count", None if no_queries else len(lengths), no_queries)
    put(
        "eda/queries/mean_words", None if no_queries else float(lengths["words"].mean()), no_queries
    )
    share = queries.brand_share(shop.queries, shop.items)
    put("eda/queries/brand_share", share["share"], share.get("reason"))
    return m, why


def headline_metrics(shop: ShopData) -> dict[str, float | None]:
    """The flat metric dict recorded by notebook 01 (None where the dataset lacks the data):

    - ``eda/events/count`` (as loaded), ``eda/events/duplicates`` (exact copies);
      ``eda/sessions/count``, ``eda/users/count``, ``eda/items/count`` (catalogue),
      ``eda/time/days``
    - ``eda/sessions/median_events``, ``eda/sessions/median_duration_min``
    - ``eda/funnel/view_to_cart`` = sessions with a cart / sessions with a view;
      ``eda/funnel/cart_to_purchase`` = sessions with a purchase / sessions with a cart;
      ``eda/funnel/session_conversion`` = sessions with a purchase / all sessions;
      ``eda/funnel/search_share`` = sessions with a search / all sessions;
      ``eda/funnel/user_conversion`` = users with a purchase / all users
    - ``eda/items/gini``, ``eda/items/top20_view_share``, ``eda/items/never_viewed_share``:
      views per catalogue item (items never viewed count as 0)
    - ``eda/rules/count``, ``eda/rules/category_count``: association rules on per-session purchase
      baskets at ``RULE_THRESHOLDS``; ``eda/rules/multi_item_baskets``: sessions buying 2+ items
    - ``eda/queries/count``, ``eda/queries/mean_words``, ``eda/queries/brand_share``
    """
    return _headline(shop)[0]


def headline_table(shop: ShopData) -> pd.DataFrame:
    """``headline_metrics`` as a table ``metric, value, reason`` (reason set if value is None)."""
    m, why = _headline(shop)
    return pd.DataFrame(
        {
            "metric": list(m),
            "value": pd.Series(list(m.values()), dtype=object),
            "reason": [why.get(k) for k in m],
        }
    )


# --- the notebook's sections as gated steps: (result, None), or (None, a one-line reason) -------
#
# Each section of notebook 01 is one call returning ``(result, reason)``: the result where the
# data can serve the section, else None and the reason (``"<dataset>: <section> skipped: <why>"``),
# read from the data's capabilities or from the EDA table that came back empty
# (``eda.quality.reason``).


def _skipped(caps: Capabilities, what: str, why: str) -> str:
    return f"{caps.dataset}: {what} skipped: {why}"


def _table_or_reason(caps: Capabilities, what: str, table: pd.DataFrame):
    """``(table, None)``, or ``(None, reason)`` where the EDA table came back empty with one."""
    why = quality.reason(table)
    return (None, _skipped(caps, what, why)) if why else (table, None)


@dataclass(frozen=True)
class EventLog:
    """The log with exact duplicate events dropped (repeated order lines kept), what was
    dropped (``eda.quality.duplicate_events``), its time span and events per type."""

    events: pd.DataFrame
    duplicates: dict
    span: dict
    types: pd.DataFrame

    @property
    def summary(self) -> str:
        d = self.duplicates
        return (
            f"exact duplicate events: {d['count']:,} ({d['share'] or 0:.2%}): "
            f"{d['dropped']:,} dropped, {d['order_lines']:,} repeated order lines kept\n"
            f"time span: {self.span}"
        )


def event_log(caps: Capabilities, shop: ShopData) -> tuple[EventLog | None, str | None]:
    """Section 1's event log (the input of sections 2-6); None where the data has no behaviour."""
    why = caps.skip_reason("sections 1-6 (the event log)", "events")
    if why:
        return None, why
    events = quality.drop_duplicate_events(shop.events)
    return EventLog(
        events,
        quality.duplicate_events(shop.events),
        quality.time_span(events),
        quality.event_type_counts(events),
    ), None


@dataclass(frozen=True)
class Funnel:
    """Stages reached per session (``table``) and sessions next to users (``both``)."""

    table: pd.DataFrame
    both: pd.DataFrame


def conversion_funnel(caps: Capabilities, log: EventLog | None) -> tuple[Funnel | None, str | None]:
    """Section 2: the search → view → cart → purchase funnel."""
    why = caps.skip_reason("section 2 (the funnel)", "events")
    if why or log is None:
        return None, why
    return Funnel(funnel.funnel_table(log.events, "session"), funnel.funnel_both(log.events)), None


@dataclass(frozen=True)
class Sessions:
    """Per-session statistics and the counts of session lengths."""

    stats: pd.DataFrame
    lengths: pd.DataFrame


def session_lengths(caps: Capabilities, log: EventLog | None) -> tuple[Sessions | None, str | None]:
    """Section 3: how long sessions are (events, minutes)."""
    why = caps.skip_reason("section 3 (sessions)", "events")
    if why or log is None:
        return None, why
    table = sessions.session_table(log.events)
    return Sessions(sessions.session_stats(table), sessions.length_counts(table)), None


@dataclass(frozen=True)
class UserActivity:
    """One row per known user (``users``) and the distribution of their activity (``stats``)."""

    users: pd.DataFrame
    stats: pd.DataFrame


def user_activity(
    caps: Capabilities, log: EventLog | None
) -> tuple[UserActivity | None, str | None]:
    """Section 3: events, sessions and active days per user; None without user ids."""
    why = caps.skip_reason("section 3's user activity", "events", "users")
    if why or log is None:
        return None, why
    users = sessions.user_activity(log.events)
    return UserActivity(users, sessions.activity_stats(users)), None


@dataclass(frozen=True)
class ActivityTimes:
    """Active users, sessions and events per day, and events per weekday × UTC hour."""

    daily: pd.DataFrame
    hour_weekday: pd.DataFrame


def activity_times(
    caps: Capabilities, log: EventLog | None
) -> tuple[ActivityTimes | None, str | None]:
    """Section 3: when people shop."""
    why = caps.skip_reason("section 3's activity over time", "events")
    if why or log is None:
        return None, why
    ev = log.events
    return ActivityTimes(sessions.daily_activity(ev), sessions.hour_weekday_matrix(ev)), None


@dataclass(frozen=True)
class Concentration:
    """Views per catalogue item, most viewed first (``popularity``), and its concentration
    (``longtail.concentration``: gini, top share, never-viewed share)."""

    popularity: pd.DataFrame
    concentration: dict


def item_concentration(
    caps: Capabilities, log: EventLog | None, items: pd.DataFrame
) -> tuple[Concentration | None, str | None]:
    """Section 4: how concentrated views are on a few items; None without item views."""
    what = "section 4 (the long tail)"
    why = caps.skip_reason(what, "events")
    if why or log is None:
        return None, why
    pop = longtail.item_popularity(log.events, "view", items["item_id"])
    if quality.reason(pop):
        return None, _skipped(caps, what, quality.reason(pop))
    return Concentration(pop, longtail.concentration(pop)), None


def attention_shares(
    caps: Capabilities,
    log: EventLog | None,
    items: pd.DataFrame,
    by: str = "brand",
    level: int | None = 1,
) -> tuple[pd.DataFrame | None, str | None]:
    """Section 4: views against assortment per brand or category (``longtail.attribute_shares``);
    None without events, or without brands (categories) in the catalogue."""
    what = f"section 4's {by} shares"
    why = caps.skip_reason(what, "events")
    if why or log is None:
        return None, why
    table = longtail.attribute_shares(log.events, items, by=by, level=level)
    return _table_or_reason(caps, what, table)


def price_levels(
    caps: Capabilities, log: EventLog | None, items: pd.DataFrame, level: int | None = 1
) -> tuple[pd.DataFrame | None, str | None]:
    """Section 4: item prices per category (``longtail.price_by_category``)."""
    what = "section 4's prices by category"
    why = caps.skip_reason(what, "events")
    if why or log is None:
        return None, why
    table = longtail.price_by_category(log.events, items, level=level)
    return _table_or_reason(caps, what, table)


@dataclass(frozen=True)
class Segments:
    """RFM features per user, the users with their segment, the summary per segment, and a note
    on what could not be scored (e.g. "monetary is null: the log has no purchases")."""

    rfm: pd.DataFrame
    segments: pd.DataFrame
    summary: pd.DataFrame
    note: str | None

    @property
    def scored(self) -> str:
        return f"{len(self.rfm):,} users scored" + (f" ({self.note})" if self.note else "")


def customer_segments(
    caps: Capabilities, log: EventLog | None
) -> tuple[Segments | None, str | None]:
    """Section 5: recency × frequency segments of known users (``eda.segments``)."""
    why = caps.skip_reason("section 5 (customer segments)", "events", "users")
    if why or log is None:
        return None, why
    rfm = segments.rfm_features(log.events)
    table = segments.rfm_segments(rfm)
    return Segments(rfm, table, segments.segment_summary(table), quality.reason(rfm)), None


#: the three rule tables of section 6: name -> purchase_rules options
RULE_TABLES = {
    "session × item": {"by": "session", "level": "item"},
    "session × category": {"by": "session", "level": "category"},
    "user × category": {"by": "user", "level": "category"},
}


@dataclass(frozen=True)
class Rules:
    """Section 6's rule tables by name (``RULE_TABLES``; a table may be empty, with its reason)."""

    tables: dict[str, pd.DataFrame]

    @property
    def summary(self) -> str:
        return "\n".join(
            f"{name}: {quality.reason(t) or f'{len(t)} rules'}" for name, t in self.tables.items()
        )

    @property
    def shown(self) -> pd.DataFrame:
        """The first table with rules, by lift."""
        table = next(t for t in self.tables.values() if not t.empty)
        return table.sort_values("lift", ascending=False)

    @property
    def user_category_count(self) -> int | None:
        table = self.tables["user × category"]
        return None if quality.reason(table) else len(table)


def basket_rules(
    caps: Capabilities,
    log: EventLog | None,
    items: pd.DataFrame,
    min_support: float,
    min_confidence: float,
) -> tuple[Rules | None, str | None]:
    """Section 6: association rules on purchase baskets, per session (items, categories) and
    per user (categories); None where no table has a rule (the reasons of each, joined)."""
    what = "section 6 (what is bought together)"
    why = caps.skip_reason(what, "events")
    if why or log is None:
        return None, why
    thresholds = {"min_support": min_support, "min_confidence": min_confidence}
    tables = {
        name: baskets.purchase_rules(log.events, items, **options, **thresholds)
        for name, options in RULE_TABLES.items()
    }
    if all(t.empty for t in tables.values()):
        reasons = "; ".join(f"{n}: {quality.reason(t) or 'no rules'}" for n, t in tables.items())
        return None, _skipped(caps, what, reasons)
    return Rules(tables), None


@dataclass(frozen=True)
class Queries:
    """Section 7: words per query, their statistics, the share naming a catalogue brand
    (``queries.brand_share``), the most frequent terms and the intent shares."""

    lengths: pd.DataFrame
    stats: pd.DataFrame
    brand_share: dict
    terms: pd.DataFrame
    intents: pd.DataFrame


def search_queries(
    caps: Capabilities, shop: ShopData, n_terms: int = 20
) -> tuple[Queries | None, str | None]:
    """Section 7: what people type into search; None without query texts."""
    why = caps.skip_reason("section 7 (search queries)", "queries")
    if why:
        return None, why
    lengths = queries.query_lengths(shop.queries)
    return Queries(
        lengths,
        queries.length_stats(lengths),
        queries.brand_share(shop.queries, shop.items),
        queries.top_terms(shop.queries, n=n_terms),
        queries.intent_shares(shop.queries),
    ), None
