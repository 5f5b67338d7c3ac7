"""The synthetic shop: deterministic, consistent with its own ground truth, shaped like a shop,
and neither trivial nor hopeless to learn from."""

import filecmp

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from shopintent.data.synthetic import generate
from shopintent.data.synthetic.vocabulary import ATTRIBUTE_VALUES, BRANDS, CATEGORY_TREE, INTENTS


def test_same_seed_gives_byte_identical_files_and_another_seed_other_data(tmp_path, smoke_shop):
    a = smoke_shop.save(tmp_path / "a")
    b = generate("smoke", seed=42).save(tmp_path / "b")
    files = sorted(p.name for p in a.iterdir())
    assert "events.parquet" in files and "session_truth.parquet" in files
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == [] and errors == [] and len(match) == len(files)
    other = generate("smoke", seed=43)
    assert not other.events["item_id"].equals(smoke_shop.events["item_id"])


def test_profile_sizes(smoke_shop):
    assert smoke_shop.events["user_id"].nunique() <= 300
    assert smoke_shop.events["user_id"].nunique() > 250  # nearly every user is active
    assert len(smoke_shop.items) == 500
    assert 17_000 <= len(smoke_shop.events) <= 23_000


def test_catalogue_has_a_category_tree_brands_models_and_attributes(smoke_shop):
    assert len(CATEGORY_TREE) >= 8 and all(len(leaves) >= 3 for leaves in CATEGORY_TREE.values())
    cats = smoke_shop.items["category"].str.split(".", expand=True)
    assert cats[0].nunique() >= 8 and cats[1].nunique() >= 20
    items = smoke_shop.items
    for row in items.head(50).itertuples():
        assert row.title.startswith(f"{row.brand} {row.model}")
        top, leaf = row.category.split(".")
        assert set(row.attributes) == set(CATEGORY_TREE[top][leaf][1])
        assert all(v in ATTRIBUTE_VALUES[k] for k, v in row.attributes.items())
        assert row.brand in BRANDS[top]
    # Budget/premium tiers make prices spread within a category.
    spread = items.groupby("category")["price"].agg(lambda p: p.max() / p.min())
    assert spread.median() > 2


def test_entity_spans_slice_to_catalogue_strings(smoke_shop):
    q, items = smoke_shop.queries, smoke_shop.items
    known = {
        "brand": {b.lower() for b in items["brand"]},
        "model": {m.lower() for m in items["model"]},
        "category": {
            n.lower()
            for leaves in CATEGORY_TREE.values()
            for nouns, _, _ in leaves.values()
            for n in nouns
        },
        "attribute": {v.lower() for vals in ATTRIBUTE_VALUES.values() for v in vals},
    }
    checked = {label: 0 for label in known}
    for text, ents, typo in zip(q["text"], q["entities"], q["has_typo"], strict=True):
        for e in ents:
            span = text[e["start"] : e["end"]].lower()
            if typo:  # one edit: same or one-off length, and mostly the same letters
                assert any(abs(len(span) - len(k)) <= 1 for k in known[e["label"]])
            else:
                assert span in known[e["label"]], (text, e)
                checked[e["label"]] += 1
    assert min(checked.values()) > 20
    assert 0.05 < q["has_typo"].mean() < 0.2


def test_sessions_agree_with_their_purchase_truth(smoke_shop):
    ev, truth = smoke_shop.events, smoke_shop.extras["session_truth"]
    bought = ev[ev["event_type"] == "purchase"]
    assert set(bought["session_id"]) == set(truth.loc[truth["purchased"], "session_id"])
    # Every purchased item was put in the cart earlier in the same session (causal funnel).
    carts = ev[ev["event_type"] == "cart"][["session_id", "item_id", "ts"]]
    m = bought.merge(carts, on=["session_id", "item_id"], suffixes=("", "_cart"))
    assert set(m["session_id"]) == set(bought["session_id"])
    assert (
        m.groupby("session_id").apply(
            lambda g: (g["ts_cart"] < g["ts"]).any(), include_groups=False
        )
    ).all()
    # The first purchase is the session's target;
    # a second one is its recorded complement (cross-sell).
    truth = truth.set_index("session_id")
    first = bought.groupby("session_id")["item_id"].first()
    assert (first == truth.loc[first.index, "target_item_id"]).all()
    second = bought.groupby("session_id")["item_id"].nth(1)
    second.index = bought.loc[second.index, "session_id"]
    assert (second == truth.loc[second.index, "complement_item_id"]).all()
    assert set(second.index) == set(truth.index[truth["complement_item_id"].notna()])
    assert 0.1 < len(second) / len(first) < 0.5
    # The cross-sell is offered after checkout: nothing about it comes before the first purchase.
    first_buy = bought.groupby("session_id")["ts"].min()
    comp = truth["complement_item_id"].dropna()
    ev_comp = ev[ev["session_id"].isin(comp.index)]
    ev_comp = ev_comp[ev_comp["item_id"].to_numpy() == comp.loc[ev_comp["session_id"]].to_numpy()]
    assert (ev_comp["ts"].to_numpy() >= first_buy.loc[ev_comp["session_id"]].to_numpy()).all()


def test_event_log_is_ordered_and_sessions_of_a_user_do_not_overlap(smoke_shop):
    ev = smoke_shop.events
    assert ev["ts"].is_monotonic_increasing
    span = ev.groupby("session_id").agg(
        user=("user_id", "first"), start=("ts", "min"), end=("ts", "max")
    )
    span = span.sort_values(["user", "start"])
    same_user = span["user"].eq(span["user"].shift())
    assert (span["start"][same_user] > span["end"].shift()[same_user]).all()
    assert ev.groupby("session_id")["user_id"].nunique().max() == 1


def test_time_patterns_are_diurnal_and_weekly(smoke_shop):
    ts = smoke_shop.extras["session_truth"]["start"]
    by_hour = ts.dt.hour.value_counts()
    assert by_hour.get(20, 0) > 3 * by_hour.get(4, 0)
    per_day = (
        ts.dt.day_of_week.value_counts() / ts.dt.normalize().groupby(ts.dt.day_of_week).nunique()
    )
    assert per_day.loc[[5, 6]].mean() > per_day.loc[[0, 1, 2, 3]].mean()


def test_marginals_look_like_a_shop(smoke_shop):
    truth, ev = smoke_shop.extras["session_truth"], smoke_shop.events
    assert 0.01 <= truth["purchased"].mean() <= 0.10
    views = ev.loc[ev["event_type"] == "view", "item_id"].value_counts()
    top = int(np.ceil(0.2 * len(smoke_shop.items)))
    assert 0.5 <= views.iloc[:top].sum() / views.sum() <= 0.9
    assert set(truth["intent"]) == set(INTENTS)
    # Cart abandonment: most carting sessions do not buy.
    carting = ev.loc[ev["event_type"] == "cart", "session_id"].unique()
    assert truth.set_index("session_id").loc[carting, "purchased"].mean() < 0.5


def test_reviews_follow_purchases_and_ratings(smoke_shop):
    rev, ev = smoke_shop.reviews, smoke_shop.events
    expected = np.select(
        [rev["rating"] <= 2, rev["rating"] == 3], ["negative", "neutral"], "positive"
    )
    assert (rev["sentiment"] == expected).all()
    bought = ev[ev["event_type"] == "purchase"].groupby(["user_id", "item_id"])["ts"].min()
    when = bought.reindex(pd.MultiIndex.from_frame(rev[["user_id", "item_id"]])).to_numpy()
    assert (rev["ts"].to_numpy() > when).all()
    assert 0.2 < len(rev) / len(ev[ev["event_type"] == "purchase"]) < 0.5
    pos = (
        rev.loc[rev["sentiment"] == "positive", "text"]
        .str.contains("Love it|Highly recommend|Excellent")
        .mean()
    )
    neg = (
        rev.loc[rev["sentiment"] == "negative", "text"]
        .str.contains("Love it|Highly recommend|Excellent")
        .mean()
    )
    assert pos > 0.15 and neg == 0


def _prefix_counts(ev: pd.DataFrame, sessions: pd.Series) -> pd.DataFrame:
    """Observable counts per session from the events before its last cart (no purchase step)."""
    ev = ev[ev["event_type"] != "purchase"].copy()
    ev["pos"] = ev.groupby("session_id").cumcount()
    last_cart = ev[ev["event_type"] == "cart"].groupby("session_id")["pos"].max()
    cut = ev["session_id"].map(last_cart)
    pre = ev[cut.isna() | (ev["pos"] < cut)]
    counts = pd.crosstab(pre["session_id"], pre["event_type"]).reindex(sessions, fill_value=0)
    counts["carting"] = sessions.map(last_cart).notna().astype(int).to_numpy()
    return counts


def test_purchase_truth_is_learnable_but_not_trivial():
    """The oracle is high but below perfect; a simple model on observable counts, trained on the
    earlier half of sessions and scored on the later half, is clearly above chance and clearly
    below the oracle, also among sessions with a cart (where the funnel's gate says nothing)."""
    shop = generate("smoke", seed=5)
    truth = shop.extras["session_truth"]
    y = truth["purchased"].to_numpy()
    assert 0.9 < roc_auc_score(y, truth["purchase_prob"]) < 0.99
    X = np.log1p(_prefix_counts(shop.events, truth["session_id"]).to_numpy(dtype=float))
    carting = X[:, -1] > 0
    assert (
        truth["purchase_prob"][~carting] == 0
    ).all()  # no cart, no purchase: the funnel is causal
    half = np.arange(len(y)) < len(y) // 2
    train, test = half & carting, ~half & carting
    model = LogisticRegression(max_iter=1000).fit(X[train], y[train])
    simple = roc_auc_score(y[test], model.predict_proba(X[test])[:, 1])
    oracle = roc_auc_score(y[test], truth["purchase_prob"][test])
    assert 0.75 < oracle < 0.95
    assert 0.55 < simple < oracle - 0.08


def test_query_intents_overlap_and_none_dominates(smoke_shop):
    q = smoke_shop.queries
    assert q["intent"].value_counts(normalize=True).max() < 0.5
    assert (q.groupby("text")["intent"].nunique() > 1).sum() >= 10


@pytest.mark.parametrize("profile", ["bogus"])
def test_unknown_profile_is_refused(profile):
    with pytest.raises(ValueError, match="valid profiles"):
        generate(profile)


def test_baskets_carry_the_cross_sell_structure(smoke_shop):
    """Category pairs bought together are the generator's complements, far above chance."""
    from shopintent.data.synthetic.vocabulary import COMPLEMENTS
    from shopintent.eda import purchase_rules

    rules = purchase_rules(
        smoke_shop.events,
        smoke_shop.items,
        by="session",
        level="category",
        min_support=0.005,
        min_confidence=0.2,
    )
    assert len(rules) >= 4
    leaf = lambda side: side[0].split(".")[1]  # noqa: E731
    for a, c, lift in zip(rules["antecedents"], rules["consequents"], rules["lift"], strict=True):
        assert lift > 3
        assert leaf(c) in COMPLEMENTS.get(leaf(a), ()) or leaf(a) in COMPLEMENTS.get(leaf(c), ())
