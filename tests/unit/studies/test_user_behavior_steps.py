"""Notebook 01's gated steps on tiny hand-made shops: each returns its result where the data can
serve it, else None and one line naming what is missing."""

import pandas as pd
import pytest

from shopintent.data.capabilities import Capabilities
from shopintent.data.store import ShopData
from shopintent.studies import user_behavior as study

TS = pd.Timestamp("2024-05-01 10:00", tz="UTC")


def _shop(users=True, queries=True, brands=True) -> ShopData:
    minute = pd.Timedelta(minutes=1)
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2", "u2"] if users else [None] * 6,
            "session_id": ["s1", "s1", "s1", "s2", "s2", "s2"],
            "ts": [TS + i * minute for i in range(6)],
            "event_type": ["view", "cart", "purchase", "view", "cart", "purchase"],
            "item_id": ["a", "a", "a", "a", "b", "b"],
            "price": [1.0, 1.0, 1.0, 1.0, 2.0, 2.0],
        }
    )
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "title": ["red mug", "blue cup", "green pot"],
            "brand": ["acme", "acme", "zeta"] if brands else [None] * 3,
            "category": ["home.mugs", "home.cups", "garden.pots"],
            "price": [1.0, 2.0, 3.0],
        }
    )
    q = pd.DataFrame({"query_id": ["q1", "q2"], "text": ["acme mug", "cheap cup"]})
    return ShopData.from_tables(
        events=events, items=items, queries=q if queries else None, meta={"dataset": "tiny"}
    )


def _no_log() -> ShopData:
    """A catalogue and queries, no behaviour (like Home Depot's judged queries)."""
    s = _shop()
    return ShopData.from_tables(events=None, items=s.items, queries=s.queries, meta=s.meta)


def test_the_log_steps_serve_a_small_log():
    shop = _shop()
    caps = Capabilities.of(shop)
    log, why = study.event_log(caps, shop)
    assert why is None and len(log.events) == 6 and "time span" in log.summary
    funnel, why = study.conversion_funnel(caps, log)
    assert why is None and "stage" in funnel.both
    sessions, _ = study.session_lengths(caps, log)
    assert sessions.lengths["sessions"].sum() == 2
    activity, _ = study.user_activity(caps, log)
    assert set(activity.users["user_id"]) == {"u1", "u2"}
    times, _ = study.activity_times(caps, log)
    assert times.daily["events"].sum() == 6 and times.hour_weekday.to_numpy().sum() == 6
    longtail, _ = study.item_concentration(caps, log, shop.items)
    assert longtail.concentration["zero_share"] == pytest.approx(2 / 3)  # b and c never viewed
    brands, _ = study.attention_shares(caps, log, shop.items, by="brand")
    assert set(brands["brand"]) == {"acme", "zeta"}
    segments, why = study.customer_segments(caps, log)
    assert why is None and len(segments.rfm) == 2 and segments.note is None
    searches, why = study.search_queries(caps, shop)
    assert why is None and len(searches.lengths) == 2


@pytest.mark.parametrize(
    "step",
    [
        study.conversion_funnel,
        study.session_lengths,
        study.user_activity,
        study.activity_times,
        study.customer_segments,
    ],
)
def test_without_a_behaviour_log_every_log_step_says_so(step):
    shop = _no_log()
    caps = Capabilities.of(shop)
    log, why = study.event_log(caps, shop)
    assert log is None and why == "tiny: sections 1-6 (the event log) skipped: no events"
    result, why = step(caps, log)
    assert result is None and why.startswith("tiny: section") and why.endswith("no events")
    for result, why in (
        study.item_concentration(caps, log, shop.items),
        study.basket_rules(caps, log, shop.items, 0.01, 0.1),
    ):
        assert result is None and "no events" in why


def test_without_user_ids_the_user_steps_name_them_and_the_rest_runs():
    shop = _shop(users=False)
    caps = Capabilities.of(shop)
    log, _ = study.event_log(caps, shop)
    for step in (study.user_activity, study.customer_segments):
        result, why = step(caps, log)
        assert result is None and why.endswith("skipped: no user ids"), step
    assert study.conversion_funnel(caps, log)[0] is not None


def test_an_empty_eda_table_becomes_the_reason():
    shop = _shop(brands=False, queries=False)
    caps = Capabilities.of(shop)
    log, _ = study.event_log(caps, shop)
    brands, why = study.attention_shares(caps, log, shop.items, by="brand")
    assert (
        brands is None
        and why == "tiny: section 4's brand shares skipped: the items table has no brands"
    )
    searches, why = study.search_queries(caps, shop)
    assert searches is None and why.endswith("skipped: no search queries")


def test_rules_name_each_table_or_skip_with_every_reason():
    shop = _shop()
    caps = Capabilities.of(shop)
    log, _ = study.event_log(caps, shop)
    rules, why = study.basket_rules(caps, log, shop.items, 0.01, 0.1)
    # one item per purchase basket: no rule anywhere, and the reason lists all three tables
    assert rules is None
    assert all(name in why for name in study.RULE_TABLES) and why.startswith("tiny: section 6")


def test_rules_where_baskets_hold_several_items():
    rows = [
        (f"u{s}", f"s{s}", TS + pd.Timedelta(minutes=10 * s + i), "purchase", item, 1.0)
        for s in range(4)
        for i, item in enumerate(("a", "b"))
    ]
    events = pd.DataFrame(
        rows, columns=["user_id", "session_id", "ts", "event_type", "item_id", "price"]
    )
    shop = ShopData.from_tables(events=events, items=_shop().items, meta={"dataset": "tiny"})
    caps = Capabilities.of(shop)
    rules, why = study.basket_rules(caps, study.event_log(caps, shop)[0], shop.items, 0.01, 0.1)
    assert why is None and len(rules.tables["session × item"]) == 2  # a -> b and b -> a
    assert (
        rules.shown["lift"].is_monotonic_decreasing and "session × item: 2 rules" in rules.summary
    )


#: the real samples notebook 01's fast tests read (a log with searches and brands; one without)
SAMPLES = {"taobao": "taobao-userbehavior-sample", "rees46": "rees46-2019oct-head1000"}


@pytest.mark.parametrize("dataset", sorted(SAMPLES))
def test_every_section_on_a_real_sample(shared_data, dataset):
    """What notebook 01 does on the real samples, section by section, without a kernel (the
    notebook runs on them in the slow tier): each step gives its result or its reason, as the
    sample's capabilities say, and the headline numbers."""
    import importlib

    from shopintent.data import registry

    shop = importlib.import_module(registry.SOURCES[dataset]).load(shared_data / SAMPLES[dataset])
    caps = Capabilities.of(shop)
    log, why = study.event_log(caps, shop)
    assert why is None and len(log.events) <= len(shop.events)
    steps = {
        "funnel": study.conversion_funnel(caps, log),
        "sessions": study.session_lengths(caps, log),
        "users": study.user_activity(caps, log),
        "times": study.activity_times(caps, log),
        "longtail": study.item_concentration(caps, log, shop.items),
        "brands": study.attention_shares(caps, log, shop.items, by="brand"),
        "categories": study.attention_shares(caps, log, shop.items, by="category", level=1),
        "prices": study.price_levels(caps, log, shop.items),
        "segments": study.customer_segments(caps, log),
        "rules": study.basket_rules(caps, log, shop.items, 0.01, 0.1),
        "queries": study.search_queries(caps, shop),
    }
    for name, (result, why) in steps.items():
        assert (result is None) != (why is None), name
        assert why is None or why.startswith(f"{caps.dataset}: "), (name, why)
    assert (steps["queries"][0] is None) == (not caps.has("queries"))
    assert (steps["users"][0] is None) == (not caps.has("users"))
    assert (steps["brands"][0] is None) == (not caps.has("brands"))
    m = study.headline_metrics(shop)
    if dataset == "taobao":  # no search in Taobao
        assert m["eda/events/count"] == 4321 and m["eda/queries/count"] is None
        assert steps["queries"][1].endswith("skipped: no search queries")
    else:
        assert m["eda/events/count"] == 1000 and m["eda/funnel/cart_to_purchase"] is not None
