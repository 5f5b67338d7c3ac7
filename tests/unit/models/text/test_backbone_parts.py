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
    from shopintent.models.text.backbone_parts import FrozenBottom, copy_backbone, freeze_below

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
