"""Domain-adaptive masked-LM on a tiny random BERT: fixed-shape masked batches, the base left
alone, the head-only stage leaves the backbone exactly as it was, frozen blocks stay put."""

import numpy as np
import pytest
from support import tiny_bert

# trains masked-LM steps (a Keras trace per stage and bucket): 73 s CPU for the three tests
# together, with TensorFlow's import, on the loaded 2 cores
pytestmark = pytest.mark.slow


#: the corpus's words: 16 whole words of the tiny BERT's vocabulary
WORDS = tiny_bert.WORDS[:16]
VOCAB = tiny_bert.VOCAB


@pytest.fixture(scope="module")
def tiny_encoder():
    return tiny_bert.tiny_encoder(max_length=16, num_layers=2)


@pytest.fixture(scope="module")
def corpus():
    r = np.random.default_rng(0)
    return [" ".join(r.choice(WORDS, int(r.integers(2, 12)))) for _ in range(120)]


TINY = dict(batch_tokens=64, sequence_length=16, warmup_steps=1, head_learning_rate=1e-2)


def test_fixed_masks_give_one_shape_per_bucket_and_the_true_targets(tiny_encoder, corpus):
    from shopintent.models.text import domain_adapt, shop_bert

    cfg = domain_adapt.adapt_config("smoke", **TINY)
    data = shop_bert.masked_lm_dataset(corpus, tiny_encoder.tokenizer, cfg, 0, fixed_masks=True)
    mask_id = VOCAB.index("[MASK]")
    shapes = set()
    for x, target, weight in data.take(20):
        ids, pos = x["token_ids"].numpy(), x["mask_positions"].numpy()
        width, slots = ids.shape[1], pos.shape[1]
        assert slots == shop_bert._selection_length(width, cfg.mask_rate)  # noqa: SLF001
        shapes.add(ids.shape + pos.shape)
        real = weight.numpy() > 0
        picked = np.take_along_axis(ids, pos, axis=1)[real]
        # a real slot is [MASK] (80%), a random piece (10%) or the original (10%)
        assert np.mean(picked == mask_id) > 0.5
        assert (target.numpy()[real] >= 5).all()  # targets are words, never special tokens
    assert len(shapes) <= 2  # buckets 8 and 16: one batch shape each, whatever was masked


def test_head_stage_alone_leaves_the_backbone_as_it_was(tiny_encoder, corpus):
    from shopintent.models.text import domain_adapt

    texts = ["red drill", "oak table lamp"]
    res = domain_adapt.adapt_minilm(
        tiny_encoder, corpus, corpus[:20], "smoke", seed=0, steps=3, head_steps=3, **TINY
    )
    np.testing.assert_allclose(res.encoder.encode(texts), tiny_encoder.encode(texts), atol=1e-6)
    assert res.metrics["steps"] == 3 and len(res.history) == 1  # the backbone stage never ran
    assert res.encoder.encoder_id.startswith("minilm_adapted@w")


def test_only_the_top_block_adapts_and_the_base_is_untouched(tiny_encoder, corpus):
    from shopintent.models.text import domain_adapt

    before = [w.copy() for w in tiny_encoder.backbone.get_weights()]
    res = domain_adapt.adapt_minilm(
        tiny_encoder,
        corpus,
        corpus[:20],
        "smoke",
        seed=0,
        steps=5,
        head_steps=1,
        trainable_layers=1,
        learning_rate=1e-2,
        **TINY,
    )
    for a, b in zip(before, tiny_encoder.backbone.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the base encoder is left as it is
    base, adapted = tiny_encoder.backbone, res.encoder.backbone
    for layer in base.layers:
        old, new = layer.get_weights(), adapted.get_layer(layer.name).get_weights()
        same = all(np.array_equal(a, b) for a, b in zip(old, new, strict=True))
        assert same == (layer.name != "transformer_layer_1"), layer.name
    assert res.metrics["trainable"] == ["transformer_layer_1"]
    m = res.metrics
    assert 0 <= m["heldout_masked_accuracy"] <= 1 and m["unigram_perplexity"] > 1
    assert m["corpus_passes"] == pytest.approx(5 * 64 / m["train_corpus_tokens"])
