"""The frozen bottom's cached states and the trainable top give the whole backbone's outputs."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def backbone():
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    return keras_hub.models.BertBackbone(
        vocabulary_size=30,
        num_layers=3,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=32,
        dropout=0.1,
    )


def _packed(lengths, width):
    r = np.random.default_rng(0)
    ids = np.zeros((len(lengths), width), dtype=np.int32)
    for row, n in enumerate(lengths):
        ids[row, :n] = r.integers(5, 30, n)
    return ids, ids != 0


@pytest.mark.parametrize(
    "trainable, norm, cut",
    [
        (1, False, "transformer_layer_1"),
        (3, False, "embeddings_dropout"),
        (0, False, "transformer_layer_2"),
        (1, True, "embeddings_add"),
    ],
)
def test_bottom_then_top_equals_the_backbone(backbone, trainable, norm, cut):
    from shopintent.models.text.backbone_parts import (
        FrozenBottom,
        clear_memo,
        copy_backbone,
        freeze_below,
    )

    clear_memo()
    copy = copy_backbone(backbone)
    freeze_below(copy, trainable, norm)
    parts = FrozenBottom(copy)
    assert parts.cut == cut
    # three length buckets (8, 16, 24); 8 rows a batch: bucket 8 fills one batch and starts a second
    lengths = [3, 9, 20, 2, 12, 5, 7, 1, 4, 6, 8, 3, 2]
    ids, mask = _packed(lengths, 24)
    hidden = parts.features(ids, mask, batch_tokens=32)
    assert hidden.shape == (len(lengths), 24, 16) and hidden.dtype == np.float32
    whole = np.asarray(
        copy(
            {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask},
            training=False,
        )["sequence_output"]
    )
    split = np.asarray(parts.top(hidden, mask, training=False))
    np.testing.assert_allclose(
        split[mask], whole[mask], atol=1e-4
    )  # real tokens: the padding width does not matter


def test_the_top_trains_the_backbones_own_layers(backbone):
    from shopintent.models.text.backbone_parts import FrozenBottom, copy_backbone, freeze_below

    copy = copy_backbone(backbone)
    assert freeze_below(copy, 1) == ["transformer_layer_2"]
    parts = FrozenBottom(copy)
    assert [layer.name for layer in parts.top_layers] == ["transformer_layer_2"]
    assert parts.top_layers[0] is copy.get_layer("transformer_layer_2")


def _counting(parts):
    calls = []
    real = parts.bottom.predict_on_batch

    def predict(x):
        calls.append(int((np.asarray(x["token_ids"])[:, 0] != 0).sum()))  # filler rows: id 0
        return real(x)

    parts.bottom.predict_on_batch = predict
    return calls


def test_copies_of_one_backbone_share_the_bottoms_states(backbone, monkeypatch):
    from shopintent.models.text import backbone_parts as bp

    bp.clear_memo()
    ids, mask = _packed([3, 9, 20, 2, 12, 3], 24)
    ids[5] = ids[0]  # the same text twice in one call: computed once
    first = bp.FrozenBottom(backbone, top_layers=1)
    calls = _counting(first)
    a = first.features(ids, mask, batch_tokens=32)
    assert sum(calls) == 5 and first.cut == "transformer_layer_1"
    # a copy cut at the same place: every state from the memo, none computed, same values
    again = bp.FrozenBottom(bp.copy_backbone(backbone), top_layers=1)
    assert again.fingerprint == first.fingerprint
    calls_again = _counting(again)
    b = again.features(ids[:, :20], mask[:, :20])  # another width: the texts are the same
    assert calls_again == []
    np.testing.assert_array_equal(b, a[:, :20])
    assert not b[mask[:, :20] == 0].any()  # padding stays zero
    # other weights below the cut: not shared
    other = bp.copy_backbone(backbone)
    w = other.get_layer("transformer_layer_0").get_weights()
    other.get_layer("transformer_layer_0").set_weights([x + 0.01 for x in w])
    assert bp.FrozenBottom(other, top_layers=1).fingerprint != first.fingerprint
    # a memo smaller than one call still returns every row's states
    bp.clear_memo()
    monkeypatch.setattr(bp, "MEMO_BYTES", 2_000)
    small = bp.FrozenBottom(backbone, top_layers=1).features(ids, mask, batch_tokens=32)
    np.testing.assert_allclose(small, a, atol=1e-5)
    bp.clear_memo()


def test_sentence_vectors_are_the_text_embedders(backbone):
    import keras_hub

    from shopintent.models.text import backbone_parts as bp

    bp.clear_memo()
    ids, mask = _packed([3, 9, 20, 2, 12], 24)
    embedder = keras_hub.models.BertTextEmbedder(backbone=backbone, preprocessor=None)
    want = np.asarray(
        embedder.predict_on_batch(
            {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
        )
    )
    got = bp.FrozenBottom(backbone, top_layers=2).sentence_vectors(ids, mask)
    np.testing.assert_allclose(got, want, atol=1e-5)
    bp.clear_memo()
