"""Purchase baskets and association rules (support, confidence, lift) checked by hand."""

import pandas as pd
import pytest

from shopintent.data.schema import conform
from shopintent.eda import baskets

# Five sessions' purchases: s1 {a, b}, s2 {a, b, c}, s3 {a, c}, s4 {b}, s5 {d}.
# support: a 3/5, b 3/5, c 2/5, d 1/5; {a,b} 2/5, {a,c} 2/5, {b,c} 1/5, {a,b,c} 1/5.
PURCHASES = [
    ("u1", "s1", "a"),
    ("u1", "s1", "b"),
    ("u1", "s2", "a"),
    ("u1", "s2", "b"),
    ("u1", "s2", "c"),
    ("u2", "s3", "a"),
    ("u2", "s3", "c"),
    ("u3", "s4", "b"),
    ("u4", "s5", "d"),
]


def make_events(purchases, extra=()):
    rows = [(u, s, "purchase", i) for u, s, i in purchases] + list(extra)
    df = pd.DataFrame(rows, columns=["user_id", "session_id", "event_type", "item_id"])
    df["ts"] = pd.Timestamp("2025-01-01", tz="UTC")
    return conform("events", df)


@pytest.fixture
def events():
    # a repeated purchase and views must not change the baskets
    return make_events(PURCHASES, [("u1", "s1", "purchase", "a"), ("u2", "s3", "view", "d")])


@pytest.fixture
def items():
    return conform(
        "items", pd.DataFrame({"item_id": list("abcd"), "category": ["x.y", "x.y", "x.z", None]})
    )


def test_basket_items_and_stats(events):
    b = baskets.basket_items(events)
    assert len(b) == 9 and set(b.loc[b["basket"] == "s1", "item"]) == {"a", "b"}
    assert baskets.basket_stats(b) == {
        "baskets": 5,
        "multi_item_baskets": 3,
        "mean_size": 9 / 5,
        "items": 4,
    }
    by_user = baskets.basket_items(events, by="user")
    assert set(by_user.loc[by_user["basket"] == "u1", "item"]) == {"a", "b", "c"}


def test_itemset_supports_by_hand(events):
    sets = baskets.frequent_itemsets(baskets.basket_items(events), min_support=0.2, min_count=1)
    support = dict(zip(sets["itemset"], sets["support"], strict=True))
    assert support[("a",)] == pytest.approx(0.6) and support[("c",)] == pytest.approx(0.4)
    assert support[("a", "b")] == pytest.approx(0.4) and support[("b", "c")] == pytest.approx(0.2)
    assert support[("a", "b", "c")] == pytest.approx(0.2) and support[("d",)] == pytest.approx(0.2)
    assert dict(zip(sets["itemset"], sets["count"], strict=True))[("a", "c")] == 2


def test_rules_by_hand(events):
    rules = baskets.association_rules(
        baskets.basket_items(events), min_support=0.4, min_confidence=0.5, min_count=1
    )
    got = {(r.antecedents, r.consequents): r for r in rules.itertuples()}
    # frequent at 0.4: a, b, c, {a,b}, {a,c}; rules with confidence >= 0.5:
    assert set(got) == {(("a",), ("b",)), (("b",), ("a",)), (("a",), ("c",)), (("c",), ("a",))}
    c_a = got[(("c",), ("a",))]
    # c -> a: support {a,c} 0.4; confidence 0.4 / supp(c) 0.4 = 1; lift 1 / supp(a) 0.6 = 5/3
    assert (c_a.support, c_a.confidence, c_a.lift) == pytest.approx((0.4, 1.0, 5 / 3))
    assert c_a.count == 2 and c_a.antecedent_support == pytest.approx(0.4)
    a_b = got[(("a",), ("b",))]
    # a -> b: confidence 0.4 / 0.6 = 2/3; lift (2/3) / 0.6 = 10/9
    assert (a_b.confidence, a_b.lift) == pytest.approx((2 / 3, 10 / 9))
    assert rules["lift"].is_monotonic_decreasing
    assert rules.iloc[0][["antecedents", "consequents"]].tolist() == [
        ("c",),
        ("a",),
    ]  # lift tie: confidence


def test_min_count_raises_the_support_floor(events):
    rules = baskets.association_rules(
        baskets.basket_items(events), min_support=0.01, min_confidence=0.5
    )
    assert rules.attrs["min_support"] == pytest.approx(2 / 5)  # min_count 2 of 5 baskets
    assert len(rules) == 4


def test_keeping_the_most_frequent_items_keeps_supports_over_all_baskets(events):
    b = baskets.basket_items(events)
    onehot = baskets.one_hot(b, max_items=2)
    assert onehot.shape == (5, 2) and set(onehot.columns) == {"a", "b"}  # in 3 baskets each
    sets = baskets.frequent_itemsets(b, min_support=0.2, min_count=1, max_items=2)
    assert set(sets["itemset"]) == {("a",), ("b",), ("a", "b")}
    assert sets.set_index("itemset").loc[[("a", "b")], "support"].iloc[0] == pytest.approx(0.4)


def test_category_level(events, items):
    b = baskets.basket_items(events, items, level="category")
    # s1 {x.y}, s2 {x.y, x.z}, s3 {x.y, x.z}, s4 {x.y}; s5's d has no category and drops out
    assert baskets.basket_stats(b) == {
        "baskets": 4,
        "multi_item_baskets": 2,
        "mean_size": 1.5,
        "items": 2,
    }
    rules = baskets.association_rules(b, min_support=0.1, min_confidence=0.1, min_count=1)
    z_y = rules[rules["antecedents"] == ("x.z",)].iloc[0]
    # x.z -> x.y: support 2/4, confidence 1, lift 1 / (4/4) = 1
    assert (z_y.support, z_y.confidence, z_y.lift) == pytest.approx((0.5, 1.0, 1.0))
    top = baskets.basket_items(events, items, level="category", category_level=1)
    assert set(top["item"]) == {"x"}


def test_missing_data_says_why(events, items):
    single = make_events([("u1", "s1", "a"), ("u1", "s2", "b")])
    rules = baskets.purchase_rules(single)
    assert (
        rules.empty
        and "no basket has two or more distinct items (2 baskets" in rules.attrs["reason"]
    )
    views = make_events([], [("u1", "s1", "view", "a")])
    assert baskets.purchase_rules(views).attrs["reason"] == "the log has no purchase events"
    no_cats = baskets.basket_items(events, items.assign(category=None), level="category")
    assert no_cats.attrs["reason"] == "the items table has no categories"
    assert baskets.association_rules(no_cats).attrs["reason"] == "the items table has no categories"
    with pytest.raises(ValueError, match="by must be one of session, user"):
        baskets.basket_items(events, by="order")


def test_smoke_shop(smoke_shop):
    ev = smoke_shop.events
    b = baskets.basket_items(ev, by="user")
    buyers = ev.loc[ev["event_type"] == "purchase", "user_id"].nunique()
    assert baskets.basket_stats(b)["baskets"] == buyers
    rules = baskets.purchase_rules(ev, smoke_shop.items, by="user", level="category")
    assert len(rules) > 0 and (rules["support"] >= rules.attrs["min_support"] - 1e-12).all()
    assert (
        (rules["confidence"] - rules["support"] / rules["antecedent_support"]).abs() < 1e-9
    ).all()
    assert ((rules["lift"] - rules["confidence"] / rules["consequent_support"]).abs() < 1e-9).all()
