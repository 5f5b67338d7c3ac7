"""Shop BERT: vocabulary, masking and its metrics by hand, the unigram prior it starts from, a
few pretraining steps, the contrastive stage after them, save/load."""

import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from shopintent.config import rng
from shopintent.features.text.corpus import shop_corpus, split_corpus
from shopintent.features.text.encoders import get_encoder
from shopintent.models.text import shop_bert
from shopintent.models.text import shop_bert_contrastive as sbc

TINY = dict(
    num_layers=1,
    num_heads=2,
    hidden_dim=32,
    intermediate_dim=64,
    sequence_length=16,
    batch_tokens=256,
    steps=6,
    chunks=2,
    warmup_steps=2,
)


@pytest.fixture(scope="module")
def corpora(smoke_shop):
    train, held = split_corpus(shop_corpus(smoke_shop), holdout=0.1, seed=42)
    return train, held


@pytest.fixture(scope="module")
def pretrained(corpora):
    train, held = corpora
    config = shop_bert.shop_bert_config("smoke", **TINY)
    return shop_bert.pretrain_shop_bert(train, held.head(150), "smoke", seed=42, config=config)


def test_heldout_split_is_deterministic(corpora, smoke_shop):
    train, held = corpora
    again_train, again_held = split_corpus(shop_corpus(smoke_shop), holdout=0.1, seed=42)
    assert again_held["text"].tolist() == held["text"].tolist()
    assert again_train["text"].tolist() == train["text"].tolist()


def test_vocabulary_holds_the_frequent_shop_words(pretrained, corpora):
    vocab = set(pretrained.vocabulary)
    words = Counter(w for t in corpora[0]["text"] for w in re.findall(r"[a-z]+", t.lower()))
    frequent = [w for w, _ in words.most_common(30)]
    assert set(frequent) <= vocab
    assert pretrained.vocabulary[:5] == ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
    assert len(pretrained.vocabulary) <= 2_000


def test_pretraining_reports_a_curve_and_heldout_metrics(pretrained):
    m = pretrained.metrics
    assert 0.0 <= m["heldout_masked_accuracy"] <= 1.0
    assert 0.0 <= m["unigram_masked_accuracy"] <= 1.0
    assert 1.0 < m["heldout_perplexity"] < len(pretrained.vocabulary) * 3
    assert m["heldout_perplexity"] == pytest.approx(np.exp(m["heldout_cross_entropy"]))
    assert m["n_masked_tokens"] > 0 and m["steps"] == 6
    assert pretrained.history["step"].tolist() == [3, 6]
    assert np.isfinite(pretrained.history["loss"]).all()


def test_encoder_vectors_are_normalised(pretrained):
    vectors = pretrained.encoder.encode(["zentro tablet", "best microwave under 100", ""])
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert pretrained.encoder.encoder_id.startswith("shopbert@")


def test_save_then_load_gives_identical_vectors(pretrained, tmp_path):
    texts = ["zentro tablet", "best microwave under 100", "The screen is fine."]
    folder = pretrained.save(tmp_path / "shopbert")
    loaded = get_encoder("shopbert", folder=folder)
    again = shop_bert.ShopBertResult.load(folder)
    assert again.config == pretrained.config and again.vocabulary == pretrained.vocabulary
    assert again.history["loss"].tolist() == pretrained.history["loss"].tolist()
    np.testing.assert_allclose(again.encoder.encode(texts), loaded.encode(texts), atol=1e-6)
    np.testing.assert_allclose(loaded.encode(texts), pretrained.encoder.encode(texts), atol=1e-6)
    assert loaded.encoder_id == pretrained.encoder.encoder_id
    assert re.fullmatch(r"shopbert@[0-9a-f]{12}\+len16", loaded.encoder_id)


def test_mask_tokens_selects_only_real_tokens():
    special = (1, 2, 0)  # cls, sep, pad
    ids = np.array([[1, 5, 6, 7, 2, 0], [1, 8, 2, 0, 0, 0]])
    out = shop_bert.mask_tokens(
        ids,
        rng(0, "t"),
        rate=1.0,
        vocabulary_size=9,
        special_ids=special,
        mask_id=4,
        max_selected=4,
    )
    np.testing.assert_array_equal(out["mask_positions"], [[1, 2, 3, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(out["mask_weights"], [[1, 1, 1, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(out["mask_ids"][out["mask_weights"] > 0], [5, 6, 7, 8])
    np.testing.assert_array_equal(out["padding_mask"], ids != 0)
    # 80% [MASK], 10% random, 10% kept, on a large batch at rate 0.15
    big = np.full((2_000, 34), 7)
    big[:, 0], big[:, -1] = 1, 2
    out = shop_bert.mask_tokens(big, rng(1, "t"), 0.15, 9, special, 4, 34)
    chosen = out["token_ids"][np.arange(2_000)[:, None], out["mask_positions"]][
        out["mask_weights"] > 0
    ]
    assert out["mask_weights"].sum() / (2_000 * 32) == pytest.approx(0.15, abs=0.01)
    assert (chosen == 4).mean() == pytest.approx(0.8, abs=0.02)


class Uniform:
    """A masked LM that knows nothing: equal logits everywhere."""

    def __init__(self, vocabulary_size):
        self.v = vocabulary_size

    def predict_on_batch(self, inputs):
        return np.zeros((*inputs["mask_positions"].shape, self.v), dtype=np.float32)


def test_heldout_metrics_by_hand():
    vocab = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]", "a", "b"]
    tokenizer = shop_bert.make_tokenizer(vocab)
    config = shop_bert.shop_bert_config("smoke", sequence_length=16)
    counts = np.array([0, 0, 0, 0, 0, 9, 0])  # training saw only "a"
    m = shop_bert.evaluate_masked_lm(
        Uniform(7), tokenizer, ["a a a a a"] * 40, config, counts, seed=1
    )
    assert m["heldout_perplexity"] == pytest.approx(7.0)  # uniform over the vocabulary
    assert m["heldout_masked_accuracy"] == 0.0  # argmax is [PAD], never a target
    assert m["unigram_token"] == "a" and m["unigram_masked_accuracy"] == 1.0
    assert m["unigram_perplexity"] == pytest.approx(
        12 / 10
    )  # add-one over [UNK], a, b: p(a) = 10/12
    assert m == shop_bert.evaluate_masked_lm(
        Uniform(7), tokenizer, ["a a a a a"] * 40, config, counts, seed=1
    )


def test_unigram_log_prior_is_the_baselines_distribution():
    vocab = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]", "a", "b"]
    bias = shop_bert.unigram_log_prior(np.array([0, 5, 5, 1, 0, 9, 0]), vocab)
    p = np.exp(bias - bias.max())
    p /= p.sum()
    # add-one over the possible targets [UNK], a, b (counts 1, 9, 0): 2/13, 10/13, 1/13
    np.testing.assert_allclose(p[3:], [2 / 13, 0.0, 10 / 13, 1 / 13], atol=1e-6)
    assert p[:3].max() < 1e-6


def test_the_masked_lm_starts_at_the_unigram_baseline(pretrained, corpora):
    """With the prior as output bias, an untrained model's held-out perplexity is already the
    unigram baseline's (its context logits are near 0 at initialisation)."""
    import keras_hub

    train, held = corpora
    vocab, config = pretrained.vocabulary, pretrained.config
    tokenizer = shop_bert.make_tokenizer(vocab)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab),
        num_layers=1,
        num_heads=2,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=config.sequence_length,
    )
    untrained = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    counts = np.bincount(
        np.concatenate(shop_bert.token_ids(tokenizer, train["text"].tolist())),
        minlength=len(vocab),
    )
    untrained.masked_lm_head._bias.assign(shop_bert.unigram_log_prior(counts, vocab))
    texts = held["text"].head(100).tolist()
    m = shop_bert.evaluate_masked_lm(untrained, tokenizer, texts, config, counts, seed=1)
    assert m["heldout_perplexity"] == pytest.approx(m["unigram_perplexity"], rel=0.1)


@pytest.mark.slow  # trains a model: ~200 s on the loaded 2 cores
def test_contrastive_stage_pulls_pairs_together(pretrained, smoke_shop, tmp_path):
    """Item pairs (description -> title) of the smoke shop: after the stage, a description is
    much closer to its own title than to the other titles; under masked-LM alone all its
    cosines are alike."""
    texts = pd.Series(smoke_shop.items["title"].to_numpy(), index=smoke_shop.items["item_id"])
    pairs = sbc.item_pairs(smoke_shop.items, texts).head(256)

    def gap(encoder):  # mean cosine to the own title minus mean cosine to the others
        sim = (
            encoder.encode(pairs["query"].tolist()) @ encoder.encode(pairs["item_text"].tolist()).T
        )
        own = np.diag(sim)
        return float(own.mean() - (sim.sum(1) - own).mean() / (len(sim) - 1))

    result = sbc.train_contrastive(
        pretrained.encoder,
        pairs,
        profile="smoke",
        seed=42,
        epochs=3,
        batch_size=32,
        learning_rate=3e-3,
    )
    assert result.encoder.name == "shopbert_contrastive" and result.n_pairs == 256
    assert result.pair_sources == {"item": 256}
    assert gap(result.encoder) > gap(pretrained.encoder) + 0.1
    folder = result.save(tmp_path / "c")
    loaded = get_encoder("shopbert_contrastive", folder=folder)
    np.testing.assert_allclose(
        loaded.encode(["zentro tablet"]), result.encoder.encode(["zentro tablet"]), atol=1e-6
    )
    assert re.fullmatch(r"shopbert_contrastive@[0-9a-f]{12}\+len16", loaded.encoder_id)
