"""The next-item oracle: a distribution over the new items per prefix, exact where the state
decides (the target's own view is the last one left), calibrated, and far above the baselines."""

from dataclasses import replace

import numpy as np
import pytest

from shopintent.models.recommenders.sequential.base import (
    SequencePopularity,
    SessionItemKNN,
    evaluate_sequences,
)
from shopintent.models.recommenders.sequential.data import Sequences, sequence_split
from shopintent.models.recommenders.sequential.oracle import SequenceOracle


@pytest.fixture(scope="module")
def split_and_oracle(smoke_shop):
    split = sequence_split(smoke_shop.events, smoke_shop.items, by="user")
    oracle = SequenceOracle(smoke_shop, by="user").fit(split.train, split.val)
    return split, oracle, oracle.score_sequences(split.test.inputs)


def test_rows_are_next_new_item_distributions(split_and_oracle):
    split, _, p = split_and_oracle
    assert p.shape == (len(split.test), split.test.inputs.n_items)
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert split.test.inputs.seen().multiply(p).sum() == 0  # never an item of the prefix
    # calibrated: the mean chance given to the true next item is the mean chance a draw from the
    # rows would hit itself (sum of p squared), within a few points
    hit = p[np.arange(len(p)), split.test.targets].mean()
    assert hit == pytest.approx((p**2).sum(axis=1).mean(), abs=0.05)


def test_the_targets_own_view_left_last_makes_it_certain(split_and_oracle):
    split, oracle, p = split_and_oracle
    row, done, target_seen = oracle._state(split.test.inputs)
    sess = oracle.sessions_
    left = sess.n_views[row] - done
    target = sess.target[row]
    new = np.asarray(split.test.inputs.seen()[np.arange(len(row)), target]).ravel() == 0
    sure = (~target_seen) & new & (left == 1)  # one view left, and it must show the target
    assert sure.sum() >= 3
    np.testing.assert_allclose(p[np.flatnonzero(sure), target[sure]], 1.0)


def test_oracle_far_above_the_baselines(smoke_shop, split_and_oracle):
    split, oracle, _ = split_and_oracle
    models = {
        "popularity": SequencePopularity().fit(split.train),
        "item_knn": SessionItemKNN(decay=0.5).fit(split.train),
        "oracle": oracle,
    }
    rows = {r["model"]: r for r in evaluate_sequences(models, split, n_boot=100)[0]}
    for name in ("popularity", "item_knn"):
        assert rows["oracle"]["ndcg@10_low"] > rows[name]["ndcg@10_high"] + 0.1, name


def test_no_sequence_oracle_without_truth(smoke_shop):
    with pytest.raises(ValueError, match="session_truth"):
        SequenceOracle(replace(smoke_shop, extras={}))
    with pytest.raises(ValueError, match="by must be"):
        SequenceOracle(smoke_shop, by="basket")


def test_a_prefix_without_a_session_reads_the_users_next_sessions(smoke_shop, split_and_oracle):
    split, oracle, _ = split_and_oracle
    user = smoke_shop.extras["user_truth"]["user_id"].iloc[5]
    seqs = Sequences.from_lists([[], [0, 1]], split.train.item_ids, groups=[user, user])
    p = oracle.score_sequences(seqs)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    later = oracle._later()[5]
    assert np.argmax(p[0]) == np.argmax(later)  # the user's likeliest item of a session
