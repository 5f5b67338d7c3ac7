"""Notebook 13's study helpers: dropping cold items from sequences, the verdict sentence, the
behaviour vectors of a catalogue without titles."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.recommenders.sequential.data import Sequences
from shopintent.studies import generative_recommendation as study


def test_drop_items_keeps_order_and_empty_rows():
    seqs = Sequences.from_lists([[0, 1, 2], [], [2, 2, 3], [1]], pd.Index(list("abcd")))
    out = study.drop_items(seqs, np.array([False, True, False, False]))
    assert [out.sequence(r).tolist() for r in range(4)] == [[0, 2], [], [2, 2, 3], []]
    assert out.groups.tolist() == seqs.groups.tolist()


def test_cold_split_removes_cold_items_from_training_and_validation(smoke_shop):
    from shopintent.models.recommenders.sequential.data import sequence_split

    split = sequence_split(smoke_shop.events, smoke_shop.items, by="user")
    train, val, cold = study.cold_split(split, smoke_shop.items, 0.1, seed=1)
    trained = np.unique(split.train.items)
    assert cold.sum() == round(0.1 * len(trained))  # notebook 07's rule: 10% of trained items
    assert not cold[train.items].any() and not cold[val.inputs.items].any()
    assert not cold[val.targets].any()
    assert len(train.items) == (~cold[split.train.items]).sum()


def test_verdict_names_the_interval():
    table = pd.DataFrame(
        {"recall@20": [0.30, 0.33], "recall@20_low": [0.28, 0.31], "recall@20_high": [0.32, 0.35]},
        index=["generative", "self_attention"],
    )
    assert "below its 95% interval [0.3100, 0.3500] by 0.0100" in study.verdict(table)
    table.loc["generative", "recall@20"] = 0.32
    assert "inside its 95% interval" in study.verdict(table)
    table.loc["generative", "recall@20"] = 0.34
    assert "at or above it" in study.verdict(table)


def test_behaviour_vectors_group_items_by_sessions_and_category():
    items = pd.DataFrame({"item_id": list("abcd"), "category": ["x.y", "x.y", "z", None]})
    seqs = Sequences.from_lists([[0, 1], [0, 1], [2, 3], [2, 3]], items["item_id"])
    v = study.behaviour_vectors(seqs, items, dim=3, seed=0)
    assert v.shape == (4, 3)
    cos = (v / np.linalg.norm(v, axis=1, keepdims=True)) @ (
        v / np.linalg.norm(v, axis=1)[:, None]
    ).T
    assert cos[0, 1] == pytest.approx(1.0, abs=1e-6) and cos[0, 2] < 0.5


def test_sample_test_cuts_every_part_of_the_test_alike(smoke_shop):
    from shopintent.models.recommenders.sequential.data import sequence_split

    split = sequence_split(smoke_shop.events, smoke_shop.items, by="user")
    assert study.sample_test(split, None) is split and study.sample_test(split, 10**9) is split
    n = len(split.test) // 2
    cut = study.sample_test(split, n, seed=3)
    assert len(cut.test) == len(cut.task.users) == cut.task.truth.shape[0] == n
    assert cut.task.seen.shape[0] == n and cut.counts["test_sequences_scored"] == n
    position = {u: i for i, u in enumerate(split.task.users)}
    rows = np.array([position[u] for u in cut.task.users])
    assert (np.diff(rows) > 0).all()  # the split's order kept
    np.testing.assert_array_equal(cut.test.targets, split.test.targets[rows])
    assert (cut.task.truth != split.task.truth[rows]).nnz == 0  # each row's own target
    assert [cut.test.inputs.sequence(i).tolist() for i in range(3)] == [
        split.test.inputs.sequence(r).tolist() for r in rows[:3]
    ]
    again = study.sample_test(split, n, seed=3)
    np.testing.assert_array_equal(again.task.users, cut.task.users)  # seeded


def test_joined_vectors_give_a_cold_item_its_content_neighbours_behaviour():
    # items 0-1 and 2-3 are bought together; item 4 never trained, its text like item 2's
    item_ids = pd.Index(list("abcde"))
    seqs = Sequences.from_lists([[0, 1], [0, 1], [2, 3], [2, 3], [0, 1, 2]], item_ids)
    content = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.9, 0.1], [0.05, 1, 0]])
    v = study.joined_vectors(content, seqs, weight=1.0, neighbours=1, seed=0)
    assert v.shape[0] == 5 and v.shape[1] > 3
    np.testing.assert_allclose(np.linalg.norm(v[:, :3], axis=1), 1.0)
    np.testing.assert_allclose(v[4, 3:], v[2, 3:], atol=1e-9)  # behaviour borrowed from item 2
    cos = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
    assert cos(v[0, 3:], v[1, 3:]) > 0.99 and cos(v[0, 3:], v[3, 3:]) < cos(v[0, 3:], v[1, 3:])
