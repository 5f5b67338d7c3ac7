"""Partial fine-tuning of a keras-hub BERT backbone: freeze the bottom, train the top, and run
the frozen bottom once per text instead of once per training step.

``freeze_below`` leaves only the top ``trainable_layers`` transformer blocks trainable. Their
input, the hidden states coming out of the frozen blocks, is then a fixed function of the text:
``FrozenBottom.features`` computes it once (in inference mode, so without dropout, as any
fixed feature extractor), and ``FrozenBottom.top`` runs the trainable blocks on it at every
step. For MiniLM (6 blocks, the top 2 trained) a training step costs ~60% of a step through
the whole backbone on 2 idle CPU cores (batch 64 x 32 word pieces: 185 vs 310 ms), and the
features cost one forward pass of the 4 frozen blocks per text (101 ms per such batch): see
``benchmarks/bench_frozen_bottom.py``. The top layers are the backbone's own
layer objects, so what trains them trains the backbone: save and predict with the backbone.
"""

from __future__ import annotations

import numpy as np

from shopintent.features.text.encoders import bucket_batches, bucket_widths

#: the backbone's layers in forward order up to the transformer blocks (keras-hub BertBackbone)
EMBEDDING_CHAIN = ("embeddings_add", "embeddings_layer_norm", "embeddings_dropout")


def copy_backbone(backbone):
    """A new backbone of the same architecture holding a copy of the weights."""
    clone = type(backbone).from_config(backbone.get_config())
    clone.set_weights(backbone.get_weights())
    return clone


def freeze_below(backbone, trainable_layers: int, train_embeddings_norm: bool = False) -> list[str]:
    """Make only the top ``trainable_layers`` transformer blocks (and optionally the embeddings'
    LayerNorm) trainable; returns the names of the trainable layers."""
    n = int(backbone.num_layers)
    if not 0 <= trainable_layers <= n:
        raise ValueError(f"trainable_layers must be in [0, {n}], got {trainable_layers}")
    names = {f"transformer_layer_{i}" for i in range(n - trainable_layers, n)}
    if train_embeddings_norm:
        names.add("embeddings_layer_norm")
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = layer.name in names
    return sorted(names)


class FrozenBottom:
    """A backbone cut below its lowest trainable layer (set by ``freeze_below`` first).

    ``features(token_ids, padding_mask)`` -> (n, width, hidden) float32: the hidden states at
    the cut; ``top(hidden, padding_mask, training)`` -> the backbone's ``sequence_output``.
    """

    def __init__(self, backbone):
        import keras

        chain = list(EMBEDDING_CHAIN) + [
            f"transformer_layer_{i}" for i in range(int(backbone.num_layers))
        ]
        trainable = [i for i, name in enumerate(chain) if backbone.get_layer(name).trainable]
        first = trainable[0] if trainable else len(chain)
        if first == 0:
            raise ValueError("the embeddings' sum is trainable: nothing below it to freeze")
        self.cut = chain[first - 1]
        self.top_layers = [backbone.get_layer(name) for name in chain[first:]]
        self.hidden_dim = int(backbone.hidden_dim)
        self.bottom = keras.Model(
            backbone.inputs, backbone.get_layer(self.cut).output, name="frozen_bottom"
        )

    def features(
        self, token_ids: np.ndarray, padding_mask: np.ndarray, batch_tokens: int = 4096
    ) -> np.ndarray:
        """Hidden states at the cut for packed rows (real tokens first, then padding). Rows run
        in length buckets with fixed batch shapes; positions past a row's bucket stay zero (the
        top's attention and every pooling ignore padded positions)."""
        token_ids, padding_mask = np.asarray(token_ids), np.asarray(padding_mask, dtype=bool)
        n, width = token_ids.shape
        out = np.zeros((n, width, self.hidden_dim), dtype=np.float32)
        for w, rows, per_batch in bucket_batches(
            bucket_widths(padding_mask.sum(axis=1), width), batch_tokens
        ):
            ids = np.zeros((per_batch, w), dtype=np.int32)
            mask = np.zeros((per_batch, w), dtype=bool)
            ids[: len(rows)], mask[: len(rows)] = token_ids[rows, :w], padding_mask[rows, :w]
            mask[len(rows) :, 0] = (
                True  # filler rows: one real token keeps the attention well defined
            )
            hidden = self.bottom.predict_on_batch(
                {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
            )
            out[rows, :w] = np.asarray(hidden, dtype=np.float32)[: len(rows)]
        return out

    def top(self, hidden, padding_mask, training=False):
        x = hidden
        for layer in self.top_layers:
            if layer.name.startswith("transformer_layer_"):
                x = layer(x, padding_mask=padding_mask, training=training)
            else:
                x = layer(x, training=training)
        return x


__all__ = ["FrozenBottom", "copy_backbone", "freeze_below"]
