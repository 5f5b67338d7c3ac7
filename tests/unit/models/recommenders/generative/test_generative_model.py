"""The generative recommender: a tiny GPT learns a deterministic toy order and its constrained
beams name distinct, unseen catalogue items."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.recommenders.generative.semantic_ids import SemanticIds, disambiguate
from shopintent.models.recommenders.sequential.data import NextItems, Sequences

N_ITEMS = 12


def _toy(epochs: int, learning_rate: float):
    """Every sequence walks the catalogue in a cycle: item i is always followed by i + 1."""
    from shopintent.models.recommenders.generative.model import GenerativeRecommender

    item_ids = pd.Index([f"i{i}" for i in range(N_ITEMS)])
    lists = [[(s + t) % N_ITEMS for t in range(6)] for s in range(N_ITEMS) for _ in range(8)]
    train = Sequences.from_lists(lists, item_ids)
    val = NextItems(Sequences.from_lists([[0, 1], [5, 6]], item_ids), np.array([2, 7]))
    codes = disambiguate(np.c_[np.arange(N_ITEMS) % 3, np.arange(N_ITEMS) // 3 % 2])
    ids = SemanticIds(item_ids, codes)
    model = GenerativeRecommender(
        ids,
        hidden_dim=32,
        num_layers=1,
        num_heads=2,
        intermediate_dim=64,
        max_len=4,
        epochs=epochs,
        patience=epochs,
        batch_size=16,
        learning_rate=learning_rate,
        dropout=0.0,
        beams=6,
        jit_compile=False,
        seed=0,
    )
    return model.fit(train, val, log=None), item_ids


@pytest.fixture(scope="module")
def toy():
    """One epoch: enough for the beams' validity, which the trie guarantees whatever the model."""
    return _toy(1, 5e-3)


@pytest.mark.slow  # about a minute of training on 2 cores
def test_tiny_model_learns_the_toy_order():
    model, item_ids = _toy(150, 3e-3)
    prefixes = Sequences.from_lists([[3, 4], [9, 10, 11], [7]], item_ids)
    recs = model.recommend_sequences(prefixes, k=5)
    # the first codes follow from the last item: the top tuple starts right; the last code (i // 6
    # here, copied from the previous item's) is learnt last, so the target is in the top two
    for row, target in enumerate((5, 0, 8)):
        assert model.ids.codes[recs.index[row, 0], 0] == model.ids.codes[target, 0]
        assert target in recs.index[row, :2]
    assert model.info["best_val_loss"] < 0.5  # nats per code of the next item (chance: ~1.2)


def test_beams_are_distinct_valid_unseen_items(toy):
    model, item_ids = toy
    prefixes = Sequences.from_lists([[0, 1, 2, 3], [6]], item_ids)
    recs = model.recommend_sequences(prefixes, k=6)
    for row, prefix in enumerate(([0, 1, 2, 3], [6])):
        got = recs.index[row]
        assert (got >= 0).all() and len(set(got)) == 6  # six real, distinct items
        assert not set(got) & set(prefix)  # never one the sequence has seen
        assert np.all(np.diff(recs.scores[row]) <= 1e-6)  # best tuple first
    # without exclusion the seen items may come back; with fewer items left than k, -1 pads
    short = Sequences.from_lists([list(range(N_ITEMS - 2))], item_ids)
    left = model.recommend_sequences(short, k=6).index[0]
    assert sorted(left[left >= 0].tolist()) == [10, 11] and (left[2:] == -1).all()


def test_beams_must_cover_k(toy):
    model, item_ids = toy
    with pytest.raises(ValueError, match="beams"):
        model.recommend_sequences(Sequences.from_lists([[1]], item_ids), k=10)


def test_exhaustive_beams_rank_items_by_their_tuples_probability(toy):
    """With at least as many beams as items, beam search keeps every branch: its list must be
    every unseen item, ordered by the log-probability of its whole tuple, each code's
    probability renormalised over the codes the trie allows (computed here by teacher forcing)."""
    from scipy.special import logsumexp

    from shopintent.models.recommenders.generative.trie import PAD

    model, item_ids = toy
    model.beams = N_ITEMS  # exhaustive
    try:
        prefix = [4, 5, 6]
        recs = model.recommend_sequences(Sequences.from_lists([prefix], item_ids), k=N_ITEMS)
    finally:
        model.beams = 6
    trie = model.trie
    prompt = model._rows(np.array(prefix), np.array([0]), np.array([len(prefix)]))[0]
    prompt = prompt[: 1 + trie.depth * len(prefix)]
    expected = {}
    for item in sorted(set(range(N_ITEMS)) - set(prefix)):
        tokens = trie.tokens(model.ids.codes[item])
        total = 0.0
        for d in range(trie.depth):
            x = np.r_[prompt, tokens[:d]][None, :].astype("int32")
            logits = np.asarray(model.model_({"token_ids": x, "padding_mask": x != PAD}))[0, -1]
            allowed = trie.allowed_tokens(tokens[:d], seen=np.array(prefix))
            total += logits[tokens[d]] - logsumexp(logits[allowed])
        expected[item] = total
    got = recs.index[0]
    assert sorted(got[got >= 0].tolist()) == sorted(expected)  # every unseen item, once
    want = sorted(expected, key=lambda i: -expected[i])
    np.testing.assert_allclose(recs.scores[0][: len(want)], [expected[i] for i in want], atol=1e-4)
    assert got[: len(want)].tolist() == want
