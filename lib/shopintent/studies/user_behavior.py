"""The flat headline metrics of the behaviour EDA (notebook 01 records these).

Counts of events and duplicates describe the log as loaded; everything else is computed after
exact duplicate events are dropped, except repeated purchase rows, which are order lines
(``eda.quality.duplicate_mask``). A metric the dataset cannot support is None, and
``headline_table`` says why.
"""

from __future__ import annotations

import pandas as pd

from shopintent.data.capabilities import Capabilities
from shopintent.data.store import ShopData
from shopintent.eda import baskets, funnel, longtail, quality, queries, sessions

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
