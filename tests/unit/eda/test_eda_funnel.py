"""The search → view → cart → purchase funnel per session and per user."""

import math

import pandas as pd
import pytest

from shopintent.data.schema import conform
from shopintent.eda import funnel


def make_events(rows):
    """rows: (user, session, type); times are one minute apart; searches get a query id."""
    df = pd.DataFrame(rows, columns=["user_id", "session_id", "event_type"])
    df["ts"] = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(range(len(df)), unit="min")
    df["item_id"] = ["i" if t != "search" else None for t in df["event_type"]]
    df["query_id"] = ["q" if t == "search" else None for t in df["event_type"]]
    return conform("events", df)


@pytest.fixture
def events():
    return make_events(
        [
            ("u1", "s1", "search"),
            ("u1", "s1", "view"),
            ("u1", "s1", "cart"),
            ("u1", "s1", "purchase"),
            ("u1", "s2", "view"),
            ("u1", "s2", "view"),
            ("u1", "s2", "cart"),
            ("u2", "s3", "view"),
            ("u3", "s4", "cart"),  # a cart without a recorded view
            ("u3", "s5", "fav"),  # only a non-funnel event: still a session in the denominator
        ]
    )


def test_session_funnel_by_hand(events):
    t = funnel.funnel_table(events, "session").set_index("stage")
    # sessions with: search {s1}=1, view {s1,s2,s3}=3, cart {s1,s2,s4}=3, purchase {s1}=1; all 5
    assert t["units"].tolist() == [1, 3, 3, 1]
    assert t["share_of_all"].tolist() == pytest.approx([0.2, 0.6, 0.6, 0.2])
    # step: 3/1, 3/3, 1/3; nested: view&search {s1}/1, cart&view {s1,s2}/3, purchase&cart {s1}/3
    assert math.isnan(t.loc["search", "step_rate"])
    assert t["step_rate"].tolist()[1:] == pytest.approx([3.0, 1.0, 1 / 3])
    assert t["from_previous"].tolist()[1:] == pytest.approx([1.0, 2 / 3, 1 / 3])


def test_session_rates_by_hand(events):
    r = funnel.funnel_rates(events, "session")
    assert r["view_to_cart"] == pytest.approx(3 / 3)  # sessions with a cart / with a view
    assert r["cart_to_purchase"] == pytest.approx(1 / 3)  # with a purchase / with a cart
    assert r["conversion"] == pytest.approx(1 / 5)  # with a purchase / all sessions
    assert r["search_share"] == pytest.approx(1 / 5)
    assert r["view_to_purchase"] == pytest.approx(1 / 3)


def test_user_rates_by_hand(events):
    r = funnel.funnel_rates(events, "user")
    # users with: search {u1}, view {u1,u2}, cart {u1,u3}, purchase {u1}; all 3
    assert r["view_to_cart"] == pytest.approx(2 / 2)
    assert r["cart_to_purchase"] == pytest.approx(1 / 2)
    assert r["conversion"] == pytest.approx(1 / 3)
    both = funnel.funnel_both(events)
    assert both["sessions"].tolist() == [1, 3, 3, 1] and both["users"].tolist() == [1, 2, 2, 1]


def test_absent_stages_give_none_not_zero():
    ev = make_events([("u1", "s1", "view"), ("u1", "s1", "purchase"), ("u2", "s2", "view")])
    r = funnel.funnel_rates(ev)
    assert r["view_to_cart"] is None and r["cart_to_purchase"] is None and r["search_share"] is None
    assert r["conversion"] == pytest.approx(1 / 2) and r["view_to_purchase"] == pytest.approx(1 / 2)
    t = funnel.funnel_table(ev).set_index("stage")
    assert t["present"].tolist() == [False, True, False, True]
    assert (
        t[["step_rate", "from_previous"]].isna().all().all()
    )  # every step touches an absent stage
    assert math.isnan(t.loc["cart", "share_of_all"])
    only_views = make_events([("u1", "s1", "view")])
    assert funnel.funnel_rates(only_views)["conversion"] is None


def test_unknown_unit_is_an_error(events):
    with pytest.raises(ValueError, match="unit must be one of session, user"):
        funnel.funnel_table(events, "basket")


def test_smoke_shop(smoke_shop):
    ev = smoke_shop.events
    r = funnel.funnel_rates(ev)
    has = ev.groupby("session_id")["event_type"].agg(set)
    carts = has.map(lambda s: "cart" in s).sum()
    views = has.map(lambda s: "view" in s).sum()
    buys = has.map(lambda s: "purchase" in s).sum()
    assert r["view_to_cart"] == pytest.approx(carts / views)
    assert r["cart_to_purchase"] == pytest.approx(buys / carts)
    assert r["conversion"] == pytest.approx(buys / len(has))
    assert 0 < r["conversion"] < r["cart_to_purchase"] < 1
