"""The explainable re-ranker: pair features computed by hand, a re-ranker that learns them."""

import numpy as np
import pandas as pd
import pytest

from shopintent.explain import ranking, tabular


def _items():
    return pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3", "i4"],
            "category": ["a.x", "a.x", "b.y", "b.z"],
            "brand": ["B1", "B2", "B1", "B3"],
            "price": [10.0, 20.0, 40.0, 80.0],
            "title": ["one", "two", "three", "four"],
        }
    )


def _history():
    ts = pd.to_datetime(
        [
            "2024-01-01 10:00",
            "2024-01-01 10:01",
            "2024-01-01 10:02",
            "2024-01-02 00:00",
            "2024-01-02 00:05",
        ],
        utc=True,
    )
    return pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2"],
            "item_id": ["i1", "i1", "i2", "i3", "i3"],
            "event_type": ["view", "view", "cart", "view", "purchase"],
            "ts": ts,
        }
    )


def test_pair_features_by_hand():
    cand = np.array([[2, 3], [0, -1]])
    f = ranking.pair_features(
        _history(), _items(), ["u1", "u2"], cand, np.array([[0.9, 0.4], [0.7, 0.0]])
    )
    assert list(f.columns) == list(ranking.PAIR_FEATURES) and len(f) == 4
    u1_i3, u1_i4, u2_i1, pad = (f.iloc[i] for i in range(4))
    assert u1_i3["user_brand_share"] == pytest.approx(
        2 / 3
    )  # two of u1's three events were on brand B1
    assert u1_i3["user_leaf_share"] == 0 and u1_i3["user_top_category_share"] == 0
    assert u1_i4["user_brand_share"] == 0
    assert u1_i3["price_gap"] == pytest.approx(np.log(40) - (2 * np.log(10) + np.log(20)) / 3)
    assert u1_i3["item_conversion"] == pytest.approx(1.1 / 3)  # (1 purchase + 0.1) / (1 view + 2)
    assert u1_i3["item_popularity"] == pytest.approx(np.log1p(1))
    assert u1_i3["user_events"] == pytest.approx(np.log1p(3)) and u1_i4[
        "base_rank_log"
    ] == pytest.approx(np.log1p(1))
    assert u2_i1["user_brand_share"] == pytest.approx(1.0) and u2_i1[
        "item_conversion"
    ] == pytest.approx(0.1 / 4)
    assert u2_i1["price_gap"] == pytest.approx(np.log(10) - np.log(40))
    assert pad.isna().all()


def test_reranker_learns_what_the_labels_follow():
    r = np.random.default_rng(0)
    n_users, c = 300, 10
    feats = pd.DataFrame(
        r.random((n_users * c, len(ranking.PAIR_FEATURES))), columns=list(ranking.PAIR_FEATURES)
    )
    labels = (feats["user_brand_share"] > 0.7).to_numpy().astype(np.int64)  # the brand decides
    stage = ranking.RankingStage(
        np.arange(n_users).astype(object), np.tile(np.arange(c), (n_users, 1)), feats, labels
    )
    fit, stop = stage.split_users(0.25, seed=1)
    assert len(fit.users) + len(stop.users) == n_users and not set(fit.users) & set(stop.users)
    model = ranking.Reranker.fit(fit, stop, seed=1)
    top = model.rerank(stop, 1)[:, 0]
    brand = stop.features["user_brand_share"].to_numpy().reshape(-1, c)
    has = brand.max(axis=1) > 0.7  # users with a candidate the labels favour get one on top
    assert (brand[np.arange(len(top)), top] > 0.7)[has].mean() > 0.9
    att = tabular.tree_shap(model.booster, stop.features.iloc[:200], model.best_iteration)
    assert att.importance().index[0] == "user_brand_share"


def test_the_registered_reranker_reorders_as_notebook_10(smoke_shop):
    """``LightGBMReranker`` (the ``Recommender`` behind the registry) fitted on the same periods
    gives ``fit_and_evaluate``'s re-ranked lists, position for position."""
    keep = np.sort(smoke_shop.events["user_id"].unique())[:150]
    events = smoke_shop.events[smoke_shop.events["user_id"].isin(keep)]
    history, labels, train, test = ranking.split_for_ranking(events)
    items = smoke_shop.items
    result = ranking.fit_and_evaluate(
        history, labels, train, test, items, seed=3, n_candidates=20, n_shap=20, n_boot=20
    )
    model = ranking.LightGBMReranker(n_candidates=20, seed=3).fit(history, items, labels=labels)
    assert model.reranker_.best_iteration == result.reranker.best_iteration
    expected = result.reranker.rerank(result.stage, 10)
    got = model.recommend(result.stage.users, 10).index
    valid = expected >= 0
    assert valid.mean() > 0.9
    np.testing.assert_array_equal(got[valid], expected[valid])


def test_anonymous_events_are_left_out_of_the_ranking_periods(smoke_shop):
    """Issue 18, diginetica: anonymous sessions have no user id; ``fit_and_evaluate`` sorted
    those None among the ids and failed."""
    keep = np.sort(smoke_shop.events["user_id"].unique())[:150]
    events = smoke_shop.events[smoke_shop.events["user_id"].isin(keep)].copy()
    anonymous = events["user_id"].isin(keep[::3])
    events["user_id"] = events["user_id"].astype(object).where(~anonymous, None)
    parts = ranking.split_for_ranking(events)
    result = ranking.fit_and_evaluate(
        *parts, smoke_shop.items, seed=3, n_candidates=20, n_shap=20, n_boot=20
    )
    assert len(result.stage.users) > 0
    assert all(p["user_id"].notna().all() for p in parts)
    assert sum(len(p) for p in (parts[0], parts[1], parts[3])) == int(
        (events["item_id"].notna() & ~anonymous).sum()
    )


def test_the_registered_reranker_without_labels_leaves_anonymous_events_out(smoke_shop):
    """``LightGBMReranker.fit`` without ``labels`` splits ``train`` itself: anonymous events
    (no user id) must not reach the user sort (None among the ids failed there)."""
    keep = np.sort(smoke_shop.events["user_id"].unique())[:120]
    events = smoke_shop.events[smoke_shop.events["user_id"].isin(keep)].copy()
    anonymous = events["user_id"].isin(keep[::4])
    events["user_id"] = events["user_id"].astype(object).where(~anonymous, None)
    model = ranking.LightGBMReranker(n_candidates=10, seed=3, rounds=20).fit(
        events, smoke_shop.items
    )
    assert model.history_["user_id"].notna().all()
    users = np.setdiff1d(keep, keep[::4])[:5]
    assert (model.recommend(users, 5).index >= 0).all()


def test_ranking_skip_reason_names_periods_without_returning_users():
    from shopintent.explain.ranking import ranking_skip_reason, split_for_ranking

    ts = pd.date_range("2024-01-01", periods=20, freq="D", tz="UTC")
    one_basket_each = pd.DataFrame(
        {
            "user_id": [f"t{i}" for i in range(20)],
            "session_id": [f"t{i}" for i in range(20)],
            "ts": ts,
            "event_type": "purchase",
            "item_id": list("abcd") * 5,
        }
    )
    why = ranking_skip_reason(*split_for_ranking(one_basket_each))
    assert why is not None and "no user has events both before and in" in why
    returning = one_basket_each.assign(user_id=[f"u{i % 3}" for i in range(20)])
    assert ranking_skip_reason(*split_for_ranking(returning)) is None
