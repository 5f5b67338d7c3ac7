"""Headline metrics: the smoke shop, a dataset with missing parts, and a real sample."""

import pandas as pd
import pytest

from shopintent.data.store import ShopData
from shopintent.eda import funnel
from shopintent.studies.user_behavior import headline_metrics, headline_table

REQUIRED = [
    "eda/events/count",
    "eda/sessions/count",
    "eda/funnel/view_to_cart",
    "eda/funnel/cart_to_purchase",
    "eda/funnel/session_conversion",
    "eda/items/gini",
    "eda/rules/count",
]


def test_smoke_shop(smoke_shop):
    m = headline_metrics(smoke_shop)
    assert set(REQUIRED) <= set(m)
    ev = smoke_shop.events
    assert (
        m["eda/events/count"] == len(ev) and m["eda/sessions/count"] == ev["session_id"].nunique()
    )
    assert m["eda/funnel/view_to_cart"] == pytest.approx(funnel.funnel_rates(ev)["view_to_cart"])
    assert 0 < m["eda/funnel/session_conversion"] < m["eda/funnel/cart_to_purchase"] < 1
    assert 0 < m["eda/items/gini"] < 1 and 0.2 < m["eda/items/top20_view_share"] < 1
    assert (
        m["eda/queries/count"] == len(smoke_shop.queries) and 0 < m["eda/queries/brand_share"] < 1
    )
    table = headline_table(smoke_shop).set_index("metric")
    assert table["reason"].notna().tolist() == table["value"].isna().tolist()
    # Cross-sell gives the synthetic shop multi-item baskets, so category rules must exist.
    assert m["eda/rules/multi_item_baskets"] > 0 and m["eda/rules/category_count"] > 0


@pytest.fixture
def sparse_shop():
    """Views and purchases only; no prices, brands, queries or reviews; one duplicated event."""
    rows = [
        ("u1", "s1", "2025-01-01 10:00", "view", "a"),
        ("u1", "s1", "2025-01-01 10:02", "view", "b"),
        ("u1", "s1", "2025-01-01 10:05", "purchase", "a"),
        ("u1", "s1", "2025-01-01 10:05", "purchase", "b"),
        ("u2", "s2", "2025-01-02 12:00", "view", "a"),
        ("u2", "s2", "2025-01-02 12:00", "view", "a"),
        ("u2", "s3", "2025-01-03 12:00", "view", "c"),
    ]
    events = pd.DataFrame(rows, columns=["user_id", "session_id", "ts", "event_type", "item_id"])
    items = pd.DataFrame(
        {"item_id": ["a", "b", "c", "d"], "category": ["x.p", "x.q", "y.r", "y.r"]}
    )
    return ShopData.from_tables(events, items)


def test_dataset_with_missing_parts(sparse_shop):
    m = headline_metrics(sparse_shop)
    why = headline_table(sparse_shop).set_index("metric")["reason"]
    assert m["eda/events/count"] == 7 and m["eda/events/duplicates"] == 1
    assert m["eda/sessions/count"] == 3 and m["eda/users/count"] == 2 and m["eda/items/count"] == 4
    assert (
        m["eda/funnel/view_to_cart"] is None
        and why["eda/funnel/view_to_cart"] == "the log has no cart events"
    )
    assert m["eda/funnel/cart_to_purchase"] is None and m["eda/funnel/search_share"] is None
    assert m["eda/funnel/session_conversion"] == pytest.approx(1 / 3)  # s1 of s1, s2, s3
    assert m["eda/funnel/user_conversion"] == pytest.approx(1 / 2)
    # views after dropping the copy: a 2, b 1, c 1, d 0 -> sorted 0,1,1,2:
    # ((-3)0 + (-1)1 + (1)1 + (3)2) / (4 * 4) = 6/16; top ceil(0.8) = 1 item: 2/4
    assert m["eda/items/gini"] == pytest.approx(6 / 16)
    assert m["eda/items/top20_view_share"] == pytest.approx(0.5)
    assert m["eda/items/never_viewed_share"] == pytest.approx(0.25)
    # one basket {a, b}: rules need an itemset in min_count = 2 baskets, so none can be mined
    assert m["eda/rules/multi_item_baskets"] == 1 and m["eda/rules/count"] is None
    assert why["eda/rules/count"] == "only 1 basket, fewer than min_count=2"
    for key in ("eda/queries/count", "eda/queries/mean_words", "eda/queries/brand_share"):
        assert m[key] is None and why[key] == "the dataset has no search queries"
    assert m["eda/time/days"] == pytest.approx(2 + 2 / 24)  # 01-01 10:00 -> 01-03 12:00


def test_real_taobao_sample(shared_data):
    from shopintent.data.sources import taobao

    shop = taobao.load(shared_data / "taobao-userbehavior-sample")
    m = headline_metrics(shop)
    assert m["eda/funnel/search_share"] is None and m["eda/queries/brand_share"] is None
    assert 0 < m["eda/funnel/view_to_cart"] < 1 and m["eda/funnel/session_conversion"] is not None
    assert m["eda/events/count"] == len(shop.events)


def test_a_log_without_user_ids_has_session_analyses_and_says_why_not_user_ones(smoke_shop):
    from shopintent import eda

    events = smoke_shop.events.assign(user_id=None)
    both = eda.funnel_both(events)
    assert (both["sessions"] > 0).all() and (both["users"] == 0).all()
    assert both["user_step_rate"].isna().all()
    for table in (eda.user_activity(events), eda.rfm_features(events)):
        assert table.empty and eda.reason(table) == "the log has no user ids"
    rules = eda.purchase_rules(events, smoke_shop.items, by="user", level="category")
    assert rules.empty and eda.reason(rules) == "the log has no user_ids"
    # anonymous sessions beside known users: the user analyses use the known users only
    some = smoke_shop.events.copy()
    anonymous = some["session_id"].isin(some["session_id"].unique()[::2])
    some.loc[anonymous, "user_id"] = None
    known = some.loc[~anonymous, "user_id"].nunique()
    assert len(eda.user_activity(some)) == len(eda.rfm_features(some)) == known
    assert eda.funnel_table(some, "user").attrs["total_units"] == known
    m = headline_metrics(
        ShopData(
            smoke_shop.events.assign(user_id=None),
            smoke_shop.items,
            smoke_shop.queries,
            smoke_shop.reviews,
        )
    )
    assert m["eda/users/count"] == 0 and m["eda/funnel/user_conversion"] is None
