"""The oracle recommender: the generator's own probabilities, checked against the generator's own
event log, scored under notebook 06's protocol, and absent (with the reason) without truth."""

from dataclasses import replace

import numpy as np
import pytest

from shopintent.config import rng
from shopintent.data.splits import temporal_split
from shopintent.data.synthetic.behaviour import sessions_of
from shopintent.data.synthetic.events import lay_out
from shopintent.data.synthetic.world import latent_catalogue, latent_users
from shopintent.models.recommenders.baselines import Popularity
from shopintent.models.recommenders.evaluate import evaluate_recs, make_task
from shopintent.models.recommenders.oracle import (
    UserOracle,
    session_probabilities,
    share_of_oracle,
    stratified_tops,
    unavailable_reason,
)


@pytest.fixture(scope="module")
def task_and_oracle(smoke_shop):
    events = smoke_shop.events[smoke_shop.events["item_id"].notna()]
    split = temporal_split(events, test_frac=0.2)
    task = make_task(split.train, split.test, smoke_shop.items, split.protocol)
    return split, task, UserOracle(smoke_shop).fit(split.train, smoke_shop.items)


def test_probabilities_match_the_generators_own_event_log(smoke_shop):
    """For three users, the share of 3,000 sessions laid out by the generator (``lay_out``) that
    touch each item agrees with the oracle's probability (both sample session latents; the
    oracle is exact given them)."""
    users, cat = latent_users(smoke_shop), latent_catalogue(smoke_shop)
    who, n = np.array([3, 40, 120]), 3000
    sess = sessions_of(np.repeat(who, n), users, cat, rng(7, "test"))
    log = lay_out(sess, users, cat, 56, rng(8, "test"))
    seen = log["item"] >= 0
    pairs = np.unique(np.c_[log["session"][seen], log["item"][seen]], axis=0)
    observed = np.zeros((len(who), len(cat.popularity)))
    np.add.at(observed, (pairs[:, 0] // n, pairs[:, 1]), 1.0 / n)
    p = session_probabilities(users, cat, who, sessions_per_user=3000, seed=1)
    assert np.abs(p - observed).max() < 0.04  # two Monte Carlo estimates of p ≤ 0.5 with n = 3,000
    np.testing.assert_allclose(p.sum(axis=1), observed.sum(axis=1), rtol=0.03)
    top = np.argsort(-p, axis=1)[:, :5]
    assert all(set(top[r]) & set(np.argsort(-observed[r])[:5]) for r in range(len(who)))


def test_scores_are_per_session_probabilities_summing_to_items_per_session(
    smoke_shop, task_and_oracle
):
    _, task, oracle = task_and_oracle
    p = oracle.score(task.users)
    assert p.shape == (len(task.users), len(smoke_shop.items))
    assert (p >= 0).all() and (p <= 1).all()
    # a row sums to the expected distinct items of one session of that user: compare with the
    # shop's sessions (weighted by each user's number of sessions)
    ev = smoke_shop.events[smoke_shop.events["item_id"].notna()]
    per_session = ev.groupby("session_id").agg(user=("user_id", "first"), n=("item_id", "nunique"))
    mean = per_session.groupby("user")["n"].agg(["mean", "size"]).reindex(task.users)
    expected = np.average(mean["mean"], weights=mean["size"])
    assert np.average(p.sum(axis=1), weights=mean["size"]) == pytest.approx(expected, rel=0.05)
    np.testing.assert_array_equal(oracle.score(task.users[:5]), p[:5])  # same seed, same rows


def test_oracle_beats_popularity_and_reads_as_a_share(smoke_shop, task_and_oracle):
    split, task, oracle = task_and_oracle
    rows = {
        name: evaluate_recs(name, m.recommend(task.users, 20).index, task, n_boot=100)
        for name, m in {
            "popularity": Popularity().fit(split.train, smoke_shop.items),
            "oracle": oracle,
        }.items()
    }
    assert rows["oracle"]["ndcg@10_low"] > rows["popularity"]["ndcg@10_high"]
    assert rows["oracle"]["recall@20"] > 1.3 * rows["popularity"]["recall@20"]
    share = share_of_oracle(rows["popularity"]["ndcg@10"], rows["oracle"]["ndcg@10"])
    assert 0.2 < share < 0.8
    assert np.isnan(share_of_oracle(0.1, 0.0))


def test_no_oracle_without_the_truth_tables_or_for_another_seed(smoke_shop):
    assert unavailable_reason(smoke_shop) is None
    bare = replace(smoke_shop, extras={}, meta={**smoke_shop.meta, "dataset": "myshop"})
    why = unavailable_reason(bare)
    assert why.startswith("myshop: the oracle") and "session_truth" in why
    with pytest.raises(ValueError, match="user_truth"):
        UserOracle(bare)
    other = replace(smoke_shop, meta={**smoke_shop.meta, "seed": 43})
    assert "does not match the generator" in unavailable_reason(other)


def test_stratified_tops_cover_every_category_with_weights_of_the_taste():
    pref = np.array([[0.7, 0.3, 0.0], [0.001, 0.5, 0.499]])
    owner, top, weight = stratified_tops(pref, 100)
    assert np.bincount(owner).tolist() == [101, 101]  # 70 + 30 + 1; 1 + 50 + 50 (rounded)
    assert np.bincount(top[owner == 0], minlength=3).tolist() == [70, 30, 1]
    np.testing.assert_allclose(np.bincount(owner, weights=weight), 1.0)
    per_top = np.zeros((2, 3))
    np.add.at(per_top, (owner, top), weight)
    np.testing.assert_allclose(per_top, pref)
