"""ALS and BPR (implicit 0.7): a two-taste shop's missing item is found, results are seeded and
thread-independent where promised, factors survive save/load, the popularity term is log-Q."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.recommenders.factorization import ALS, BPR
from shopintent.models.recommenders.persist import load_recommender

T0 = pd.Timestamp("2024-03-01", tz="UTC")
ITEMS = pd.DataFrame({"item_id": [f"i{j}" for j in range(12)]})


@pytest.fixture(scope="module")
def two_tastes():
    """Users 0-11 watch items 0-4, users 12-23 items 5-9 (each all five), items 10-11 nobody.
    Two more users have four of their block's five: the fifth is what they must get first."""
    pairs = [(f"u{u}", f"i{j}") for u in range(12) for j in range(5)]
    pairs += [(f"u{u}", f"i{j}") for u in range(12, 24) for j in range(5, 10)]
    pairs += [("x", f"i{j}") for j in (0, 1, 2, 3)] + [("y", f"i{j}") for j in (5, 6, 7, 9)]
    return pd.DataFrame(
        {
            "user_id": [u for u, _ in pairs],
            "item_id": [i for _, i in pairs],
            "event_type": "view",
            "ts": T0,
        }
    )


MODELS = [
    lambda: ALS(factors=4, regularization=0.1, alpha=5.0, iterations=10),
    lambda: BPR(factors=8, learning_rate=0.05, regularization=0.01, iterations=200),
]


@pytest.mark.parametrize("make", MODELS, ids=["als", "bpr"])
def test_the_missing_item_of_each_taste_comes_first(make, two_tastes):
    model = make().fit(two_tastes, ITEMS)
    assert model.recommend(["x", "y"], 1).item_ids.tolist() == [["i4"], ["i8"]]
    assert model.user_factors_.shape[0] == 26 and model.item_factors_.shape[0] == 12


@pytest.mark.parametrize("make", MODELS, ids=["als", "bpr"])
def test_k_distinct_unseen_items_and_save_load(make, two_tastes, tmp_path):
    model = make().fit(two_tastes, ITEMS)
    users = ["x", "y", "u0", "u20", "cold"]
    recs = model.recommend(users, 5)
    seen = model.data_.seen(users).toarray().astype(bool)
    assert (recs.index >= 0).all() and all(len(set(r)) == 5 for r in recs.index)
    assert not seen[np.arange(len(users))[:, None], recs.index].any()
    again = load_recommender(model.save(tmp_path / "m.npz"))
    assert type(again) is type(model) and again.params() == model.params()
    other = again.recommend(users, 5)
    assert (other.index == recs.index).all() and np.allclose(other.scores, recs.scores)


def test_als_is_seeded_and_thread_independent(two_tastes):
    one = ALS(factors=4, iterations=5, seed=3, threads=1).fit(two_tastes, ITEMS)
    two = ALS(factors=4, iterations=5, seed=3, threads=2).fit(two_tastes, ITEMS)
    assert np.allclose(one.user_factors_, two.user_factors_, atol=1e-5)
    other_seed = ALS(factors=4, iterations=5, seed=4, threads=1).fit(two_tastes, ITEMS)
    assert not np.allclose(one.user_factors_, other_seed.user_factors_)


def test_bpr_is_reproducible_on_one_thread_and_adds_log_popularity(two_tastes):
    a = BPR(factors=4, iterations=20, seed=5).fit(two_tastes, ITEMS)
    b = BPR(factors=4, iterations=20, seed=5).fit(two_tastes, ITEMS)
    assert np.array_equal(a.item_factors_, b.item_factors_)
    users = ["x", "u3"]
    plain = a.score(users)
    a.pop_weight = 1.5
    popularity = np.array([13, 13, 13, 13, 12, 13, 13, 13, 12, 13, 0, 0])  # distinct users per item
    assert np.allclose(a.score(users) - plain, 1.5 * np.log1p(popularity), atol=1e-5)
