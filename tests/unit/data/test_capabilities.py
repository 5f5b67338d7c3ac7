"""Capabilities: what a dataset can serve, from which tables and columns are present and
non-empty (issue 18), on hand-made tables, the synthetic shop and the real samples."""

import pandas as pd
import pytest

from shopintent.data import registry
from shopintent.data.capabilities import CHECKS, Capabilities
from shopintent.data.store import ShopData

TS = pd.Timestamp("2024-05-01 10:00", tz="UTC")


def shop(events=None, items=None, queries=None, reviews=None, extras=None, meta=None):
    ev = (
        events
        if events is not None
        else pd.DataFrame(
            {
                "user_id": ["u1", "u1", "u2"],
                "session_id": ["s1", "s1", "s2"],
                "ts": [TS, TS + pd.Timedelta(minutes=1), TS + pd.Timedelta(hours=1)],
                "event_type": ["view", "purchase", "view"],
                "item_id": ["a", "a", "b"],
            }
        )
    )
    it = items if items is not None else pd.DataFrame({"item_id": ["a", "b"], "title": ["x", "y"]})
    return ShopData.from_tables(
        events=ev, items=it, queries=queries, reviews=reviews, extras=extras, meta=meta
    )


def test_a_small_log_has_what_its_columns_hold():
    caps = Capabilities.of(shop(meta={"dataset": "mine"}))
    assert caps.has("events", "users", "sessions", "timestamps", "purchases", "titles")
    assert caps.missing("events", "purchases", "titles") is None
    assert caps.missing("carts", "brands") == "no cart events; no item brands"
    assert not caps.has("queries") and "queries" not in caps
    assert caps.skip_reason("basket rules", "carts") == "mine: basket rules skipped: no cart events"
    table = caps.table()
    assert list(table.columns) == ["capability", "present", "detail"]
    assert table["capability"].tolist() == list(CHECKS)
    assert table.set_index("capability").loc["purchases", "detail"] == "1 purchase events"


def test_blank_and_null_columns_are_absent():
    items = pd.DataFrame(
        {"item_id": ["a", "b"], "title": ["x", " "], "brand": [None, ""], "category": [None, None]}
    )
    caps = Capabilities.of(shop(items=items))
    assert caps.has("titles") and caps.detail("titles") == "1 items with a title"
    assert caps.missing("brands", "categories", "prices") == (
        "no item brands; no item categories; no prices"
    )


def test_one_placeholder_time_is_no_timestamps():
    events = shop().events.assign(ts=TS)
    caps = Capabilities.of(shop(events=events))
    assert caps.has("events") and not caps.has("timestamps")


def test_an_empty_log_serves_nothing_of_behaviour():
    data = shop()
    data.events = data.events.iloc[:0]  # the schema may or may not allow it yet (another change)
    caps = Capabilities.of(data)
    assert not caps.has("events")
    assert caps.missing("purchases", "users", "sessions") == "no events"
    assert caps.has("items", "titles")


def test_null_user_ids_are_no_users():
    """Another helper makes events.user_id nullable: all-null ids read as no users."""
    data = shop()
    ev = data.events.copy()
    ev["user_id"] = None
    data.events = ev  # bypasses validation on purpose: the schema may or may not allow it yet
    caps = Capabilities.of(data)
    assert caps.has("events", "sessions") and caps.missing("users") == "no user ids"


def test_placeholder_events_are_no_behaviour_but_judgements_are_there():
    queries = pd.DataFrame({"query_id": ["q1", "q2"], "text": ["red kettle", "lamp"]})
    events = pd.DataFrame(
        {
            "user_id": ["anon-q1", "anon-q2"],
            "session_id": ["q1", "q2"],
            "ts": [TS, TS],
            "event_type": ["search", "search"],
            "query_id": ["q1", "q2"],
        }
    )
    relevance = pd.DataFrame(
        {
            "judgement_id": ["1", "2"],
            "query_id": ["q1", "q2"],
            "item_id": ["a", "b"],
            "relevance": [3.0, 1.0],
        }
    )
    data = shop(
        events=events,
        queries=queries,
        extras={"relevance": relevance},
        meta={"has_behaviour": False},
    )
    caps = Capabilities.of(data)
    assert caps.has("queries", "judgements", "titles")
    assert not caps.has("events") and not caps.has("searches") and not caps.has("users")
    assert caps.missing("purchases", "users").startswith("no behaviour log (its 2 events")
    assert caps.detail("judgements") == "2 judgements of 2 queries, 2 items"


def test_unknown_capability_is_an_error():
    with pytest.raises(KeyError, match="unknown capability 'purchase'"):
        Capabilities.of(shop()).has("purchase")


def test_the_synthetic_shop_serves_everything_but_judgements(smoke_shop):
    caps = Capabilities.of(smoke_shop)
    absent = set(CHECKS) - set(caps.present)
    assert absent == {"judgements", "kg_triples"}


@pytest.mark.parametrize(
    ("name", "folder", "present", "absent"),
    [
        (
            "homedepot",
            "homedepot-search-relevance",
            {"queries", "judgements", "titles"},
            {"events", "users", "purchases", "brands", "categories", "reviews"},
        ),
        (
            "diginetica",
            "diginetica-sample-srgnn",
            {"events", "sessions", "purchases", "categories"},
            {"queries", "titles", "brands", "judgements"},
        ),
        (
            "taobao",
            "taobao-userbehavior-sample",
            {"events", "users", "carts", "purchases"},
            {"queries", "titles", "prices", "reviews"},
        ),
    ],
)
def test_real_samples(shared_data, data_root, name, folder, present, absent):
    registry.prepare(name, source=shared_data / folder, save_as="sample")
    caps = Capabilities.of(registry.load("sample"))
    assert caps.has(*present), caps.table()
    assert not set(caps.present) & absent, caps.table()
