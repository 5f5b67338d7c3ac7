"""The shop GPT: vocabulary, a tiny model that learns the frequent completions, its whole-query
log-probability, save/load and XLA training."""

import numpy as np
import pytest

from shopintent.models.text.autocomplete import autocomplete_eval
from shopintent.models.text.shop_gpt import (
    ShopGpt,
    shop_gpt_config,
    title_as_query,
    train_shop_gpt,
    word_vocabulary,
)

PAST = ["red shoes", "red shoes", "Red  Shoes", "red dress", "red dress", "Red Hat", "blue shoes"]


def test_word_vocabulary_and_titles():
    vocab = word_vocabulary(PAST, size=7, min_count=2)
    assert vocab == ["[PAD]", "[BOS]", "[EOS]", "[UNK]", "red", "shoes", "dress"]
    assert (
        title_as_query("Zentro S12 Lite Tablet, green, 128GB")
        == "zentro s12 lite tablet green 128gb"
    )


@pytest.fixture(scope="module")
def tiny_gpt():
    queries = (
        ["red shoes"] * 60
        + ["red dress"] * 25
        + ["red hat"] * 10
        + ["blue shoes"] * 30
        + ["blue hat"] * 5
    )
    config = shop_gpt_config(
        "smoke",
        num_layers=1,
        num_heads=2,
        hidden_dim=32,
        intermediate_dim=64,
        max_words=4,
        batch_size=16,
        epochs=12,
        learning_rate=1e-2,
        dropout=0.0,
        num_beams=6,
    )
    return train_shop_gpt(
        queries,
        titles=["Red Shoes, leather"],
        config=config,
        seed=3,
        val_queries=["red shoes", "blue hat"],
    )


def test_tiny_gpt_learns_the_frequent_completions(tiny_gpt):
    gpt = tiny_gpt.model
    completions = gpt.complete("red", k=5)
    assert 1 <= len(completions) <= 5
    assert len(set(completions)) == len(completions)
    assert all(c.startswith("red") for c in completions)
    assert completions[0] == "red shoes"
    assert gpt.complete("blu", k=2)[0] == "blue shoes"  # the frequent one first (the 2nd is close)
    assert all(c.startswith("red ") for c in gpt.complete("red ", k=5))  # a whole word, then more
    assert gpt.complete("zzz") == []  # no word starts so: nothing to propose
    assert tiny_gpt.history["loss"].iloc[-1] < tiny_gpt.history["loss"].iloc[0]
    assert 1 <= tiny_gpt.metrics["best_epoch"] <= 12
    out = autocomplete_eval(gpt, ["red shoes", "blue shoes"], k=5)
    assert 0.0 <= out["mrr@5"] <= 1.0 and out["n"] == 2


def test_log_prob_is_the_whole_querys_log_likelihood(tiny_gpt):
    from scipy.special import log_softmax

    gpt = tiny_gpt.model
    texts = ["red shoes", "red hat", "blue shoes", "shoes red blue"]
    ids = gpt.sequences(texts)
    logits = gpt.model.predict_on_batch(
        {"token_ids": ids[:, :-1], "padding_mask": ids[:, :-1] != 0}
    )
    per_token = np.take_along_axis(log_softmax(logits, axis=-1), ids[:, 1:, None], axis=-1)[..., 0]
    expected = (per_token * (ids[:, 1:] != 0)).sum(axis=1)  # by hand from the logits
    got = gpt.log_prob(texts, batch_size=3)  # two batches
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert got[0] > got[1] and got[0] > got[3]  # searched 60 times vs 10 vs a scramble
    assert (got < 0).all()


def test_tiny_gpt_save_load_round_trip(tiny_gpt, tmp_path):
    tiny_gpt.model.save(tmp_path / "shopgpt")
    loaded = ShopGpt.load(tmp_path / "shopgpt")
    assert loaded.vocabulary == tiny_gpt.model.vocabulary
    x = tiny_gpt.model.sequences(["red shoes", "blue"])[:, :-1]
    inputs = {"token_ids": x, "padding_mask": x != 0}
    np.testing.assert_allclose(
        loaded.model.predict_on_batch(inputs),
        tiny_gpt.model.model.predict_on_batch(inputs),
        atol=1e-6,
    )
    assert loaded.complete_many(["red", "blu"]) == tiny_gpt.model.complete_many(["red", "blu"])


def test_xla_training_matches_eager_training():
    """The default profile trains XLA-compiled (one batch shape): same model, same losses."""
    queries = ["red shoes"] * 40 + ["blue hat"] * 24
    losses = []
    for jit in (False, True):
        config = shop_gpt_config(
            "smoke",
            num_layers=1,
            num_heads=2,
            hidden_dim=16,
            intermediate_dim=32,
            max_words=4,
            batch_size=16,
            epochs=2,
            dropout=0.0,
            jit_compile=jit,
        )
        losses.append(train_shop_gpt(queries, config=config, seed=5).history["loss"].to_numpy())
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-3)
