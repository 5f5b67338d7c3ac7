"""Popularity concentration (Gini, top-20% share), brand and category shares, prices."""

import pandas as pd
import pytest

from shopintent.data.schema import conform
from shopintent.eda import longtail


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([5, 5, 5, 5], 0.0),  # all equal
        ([0, 0, 0, 10], 3 / 4),  # one item has everything: (n-1)/n
        ([0] * 9 + [7], 9 / 10),
        ([1, 2, 3, 4], 0.25),  # ((-3)1 + (-1)2 + (1)3 + (3)4) / (4 * 10) = 10/40
    ],
)
def test_gini_known_values(counts, expected):
    assert longtail.gini(counts) == pytest.approx(expected)


def test_gini_and_top_share_without_data():
    assert longtail.gini([]) is None and longtail.gini([0, 0]) is None
    assert longtail.top_share([]) is None


def test_top_share():
    # top ceil(0.2 * 5) = 1 value: 10 of 20; top ceil(0.4 * 5) = 2 values: 15 of 20
    assert longtail.top_share([1, 10, 3, 5, 1], 0.2) == pytest.approx(0.5)
    assert longtail.top_share([1, 10, 3, 5, 1], 0.4) == pytest.approx(0.75)


@pytest.fixture
def shop():
    items = conform(
        "items",
        pd.DataFrame(
            {
                "item_id": ["a", "b", "c", "d"],
                "brand": ["Acme", "Acme", "Zed", None],
                "category": ["electronics.phone", "electronics.tv", "home.sofa", "home.lamp"],
                "price": [100.0, 300.0, 50.0, None],
            }
        ),
    )
    rows = [("view", "a")] * 3 + [
        ("view", "b"),
        ("view", "c"),
        ("view", "c"),
        ("view", "d"),
        ("view", "d"),
        ("purchase", "d"),
        ("purchase", "d"),
    ]
    ev = pd.DataFrame(rows, columns=["event_type", "item_id"]).assign(user_id="u", session_id="s")
    ev["ts"] = pd.Timestamp("2025-01-01", tz="UTC")
    ev["price"] = [None] * 8 + [20.0, 40.0]  # d's only prices: two purchases, median 30
    return conform("events", ev), items


def test_item_popularity_with_catalogue(shop):
    ev, _ = shop
    ev = ev[ev["item_id"].isin(["a", "b"])]  # views: a 3, b 1; c never viewed here
    pop = longtail.item_popularity(ev, "view", catalogue=pd.Series(["a", "b", "c"]))
    assert pop["item_id"].tolist() == ["a", "b", "c"] and pop["events"].tolist() == [3, 1, 0]
    assert pop["share"].tolist() == pytest.approx([0.75, 0.25, 0.0])
    assert pop["cum_share"].tolist() == pytest.approx([0.75, 1.0, 1.0])
    assert pop["item_frac"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    c = longtail.concentration(pop)
    # sorted 0, 1, 3: ((-2)0 + 0*1 + 2*3) / (3 * 4) = 0.5; top ceil(0.6) = 1 item: 3/4
    assert c["gini"] == pytest.approx(0.5) and c["top_share"] == pytest.approx(0.75)
    assert c["zero_share"] == pytest.approx(1 / 3) and c["items"] == 3


def test_popularity_without_views_says_why(shop):
    ev, _ = shop
    pop = longtail.item_popularity(ev[ev["event_type"] == "purchase"], "view")
    assert pop.empty and "no 'view' events" in pop.attrs["reason"]
    assert longtail.concentration(pop)["gini"] is None


def test_brand_and_category_shares(shop):
    ev, items = shop
    brands = longtail.attribute_shares(ev, items, "brand").set_index("brand")
    # views by brand: Acme a3 + b1 = 4, Zed c2 = 2, d (no brand) 2 left out; items: Acme 2, Zed 1
    assert brands["events"].to_dict() == {"Acme": 4, "Zed": 2}
    assert brands["event_share"].tolist() == pytest.approx([4 / 6, 2 / 6])
    assert brands["item_share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert brands.attrs["unknown_events"] == 2
    cats = longtail.attribute_shares(ev, items, "category").set_index("category")
    assert cats["events"].to_dict() == {"electronics": 4, "home": 4}
    leaves = longtail.attribute_shares(ev, items, "category", level=None).set_index("category")
    assert leaves.loc["home.lamp", "events"] == 2 and leaves.loc["electronics.tv", "items"] == 1
    no_brands = items.assign(brand=None)
    assert (
        longtail.attribute_shares(ev, no_brands, "brand").attrs["reason"]
        == "the items table has no brands"
    )


def test_category_path():
    s = pd.Series(["a.b.c", "a", None])
    assert longtail.category_path(s, 1).tolist()[:2] == ["a", "a"]
    assert longtail.category_path(s, 2).tolist()[:2] == ["a.b", "a"]
    assert longtail.category_path(s, None).equals(s)


def test_price_by_category_uses_event_prices_where_the_catalogue_has_none(shop):
    ev, items = shop
    prices = longtail.price_by_category(ev, items).set_index("category")
    assert list(prices.index) == ["electronics", "home"]  # by median price, descending
    # electronics: 100, 300; home: c 50 and d 30 (median of its purchases 20, 40)
    assert prices.loc["electronics", ["items", "mean", "p50", "min", "max"]].tolist() == [
        2,
        200,
        200,
        100,
        300,
    ]
    assert prices.loc["home", ["items", "mean", "min", "max"]].tolist() == [2, 40, 30, 50]


def test_price_by_category_without_prices_says_why(shop):
    ev, items = shop
    t = longtail.price_by_category(ev.assign(price=float("nan")), items.assign(price=float("nan")))
    assert t.empty and t.attrs["reason"] == "no item has a price (neither in items nor on events)"
    assert "category" in t.columns


def test_smoke_shop(smoke_shop):
    pop = longtail.item_popularity(smoke_shop.events, catalogue=smoke_shop.items["item_id"])
    assert len(pop) == len(smoke_shop.items)
    assert pop["events"].sum() == (smoke_shop.events["event_type"] == "view").sum()
    c = longtail.concentration(pop)
    assert 0.3 < c["gini"] < 0.95 and c["top_share"] > 0.2  # long-tailed, not one item
    prices = longtail.price_by_category(smoke_shop.events, smoke_shop.items)
    assert prices["items"].sum() == len(smoke_shop.items)
