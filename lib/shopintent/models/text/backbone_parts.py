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

The bottom's hidden states are memoised per text (its real word-piece ids) for the life of the
process, keyed by a fingerprint of the bottom's weights: two copies of one pretrained backbone
cut at the same place share them, so a fine-tune, the frozen encoder and the fine-tuned encoder
pay for a text's bottom once (notebook 17 encodes every response with all three). A fine-tuned
backbone's own vectors come from ``FrozenBottom(backbone, top_layers=k).sentence_vectors``: its
unchanged bottom from the memo, then its tuned top.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

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

    def __init__(self, backbone, top_layers: int | None = None):
        """Cut below the lowest trainable layer, or (``top_layers``) below the top
        ``top_layers`` transformer blocks whatever is trainable (inference on a tuned copy)."""
        import keras

        n = int(backbone.num_layers)
        chain = list(EMBEDDING_CHAIN) + [f"transformer_layer_{i}" for i in range(n)]
        if top_layers is not None:
            if not 0 <= top_layers <= n:
                raise ValueError(f"top_layers must be in [0, {n}], got {top_layers}")
            first = len(chain) - top_layers
        else:
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
        digest = hashlib.blake2b(self.cut.encode(), digest_size=16)
        for w in self.bottom.get_weights():
            digest.update(np.ascontiguousarray(w).tobytes())
        self.fingerprint = digest.hexdigest()
        self._pooled = None

    def features(
        self, token_ids: np.ndarray, padding_mask: np.ndarray, batch_tokens: int = 4096
    ) -> np.ndarray:
        """Hidden states at the cut for packed rows (real tokens first, then padding). Rows run
        in length buckets with fixed batch shapes; positions past a row's bucket stay zero (the
        top's attention and every pooling ignore padded positions)."""
        token_ids, padding_mask = np.asarray(token_ids), np.asarray(padding_mask, dtype=bool)
        n, width = token_ids.shape
        lengths = padding_mask.sum(axis=1)
        keys = [token_ids[r, : lengths[r]].tobytes() for r in range(n)]
        memo = _MEMO.setdefault(self.fingerprint, OrderedDict())
        todo = {}  # first row of each text not yet memoised
        for r, key in enumerate(keys):
            if key not in memo and key not in todo:
                todo[key] = r
        rows_todo = np.fromiter(todo.values(), dtype=np.int64, count=len(todo))
        for w, members, per_batch in bucket_batches(
            bucket_widths(lengths[rows_todo], width), batch_tokens
        ):
            rows = rows_todo[members]
            ids = np.zeros((per_batch, w), dtype=np.int32)
            mask = np.zeros((per_batch, w), dtype=bool)
            ids[: len(rows)], mask[: len(rows)] = token_ids[rows, :w], padding_mask[rows, :w]
            mask[len(rows) :, 0] = (
                True  # filler rows: one real token keeps the attention well defined
            )
            hidden = np.asarray(
                self.bottom.predict_on_batch(
                    {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
                ),
                dtype=np.float32,
            )
            for j, r in enumerate(rows):
                _remember(memo, keys[r], hidden[j, : lengths[r]].copy())
        out = np.zeros((n, width, self.hidden_dim), dtype=np.float32)
        for r, key in enumerate(keys):
            states = memo.get(key)
            if states is None:  # evicted within this call (a call larger than the memo)
                states = self._recompute(token_ids[r : r + 1], padding_mask[r : r + 1])
            out[r, : len(states)] = states
        return out

    def _recompute(self, token_ids, padding_mask) -> np.ndarray:
        n = int(padding_mask.sum())
        hidden = self.bottom.predict_on_batch(
            {
                "token_ids": token_ids[:, :n],
                "segment_ids": np.zeros_like(token_ids[:, :n]),
                "padding_mask": padding_mask[:, :n],
            }
        )
        return np.asarray(hidden, dtype=np.float32)[0]

    def sentence_vectors(
        self, token_ids: np.ndarray, padding_mask: np.ndarray, batch_tokens: int = 4096
    ) -> np.ndarray:
        """The L2-normalised mean of the top's output over real tokens (keras-hub
        ``BertTextEmbedder``'s vector), in inference mode; the bottom from the memo."""
        import tensorflow as tf
        from keras import ops

        if self._pooled is None:

            @tf.function(reduce_retracing=True)
            def pooled(hidden, mask):
                seq = self.top(hidden, mask, training=False)
                m = ops.cast(ops.expand_dims(mask, -1), seq.dtype)
                mean = ops.sum(seq * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1e-9)
                return ops.normalize(mean, axis=-1, order=2)

            self._pooled = pooled
        padding_mask = np.asarray(padding_mask, dtype=bool)
        hidden = self.features(token_ids, padding_mask, batch_tokens)
        out = np.zeros((len(hidden), self.hidden_dim), dtype=np.float32)
        widths = bucket_widths(padding_mask.sum(axis=1), hidden.shape[1])
        for w, rows, _ in bucket_batches(widths, batch_tokens):
            out[rows] = np.asarray(self._pooled(hidden[rows, :w], padding_mask[rows, :w]))
        return out

    def top(self, hidden, padding_mask, training=False):
        x = hidden
        for layer in self.top_layers:
            if layer.name.startswith("transformer_layer_"):
                x = layer(x, padding_mask=padding_mask, training=training)
            else:
                x = layer(x, training=training)
        return x


#: fingerprint of a bottom -> (real word-piece ids -> hidden states), oldest first
_MEMO: dict[str, OrderedDict[bytes, np.ndarray]] = {}
#: the memo's size cap over all bottoms (MiniLM at 32 pieces: up to 48 KB a text, >10,000 texts)
MEMO_BYTES = 1 << 29
_memo_bytes = 0


def _remember(memo: OrderedDict, key: bytes, states: np.ndarray) -> None:
    global _memo_bytes
    memo[key] = states
    _memo_bytes += states.nbytes
    while _memo_bytes > MEMO_BYTES:
        largest = max(_MEMO.values(), key=len)
        if not largest:
            break
        _memo_bytes -= largest.popitem(last=False)[1].nbytes


def clear_memo() -> None:
    """Forget every memoised hidden state."""
    global _memo_bytes
    _MEMO.clear()
    _memo_bytes = 0


def pack_texts(encoder, texts: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """``[CLS] pieces [SEP] [PAD]...`` rows of ``width`` (pieces cut to fit) with ``encoder``'s
    tokenizer, and their padding mask."""
    cls, sep, pad = encoder.special_ids
    ids = np.full((len(texts), width), pad, dtype=np.int32)
    for row, tokens in enumerate(encoder.tokenize(texts)):
        body = list(tokens[: width - 2])
        ids[row, : len(body) + 2] = [cls, *body, sep]
    return ids, ids != pad


__all__ = ["FrozenBottom", "clear_memo", "copy_backbone", "freeze_below", "pack_texts"]
