"""Neural next-item models (Keras 3): an LSTM and a small causal self-attention (SASRec-style).

Both read left-padded item sequences (``sequential_data``) and predict, at every step, the next
item over the whole catalogue; training uses every step of every training sequence at once
(padded batches grouped by length, the GRU4Rec/SASRec way). Per item: a learned id embedding,
optionally concatenated with a frozen text vector (MiniLM of the title, passed as a constant
embedding matrix and projected), so that rare items borrow from similar titles.

- ``lstm``: embedding → LSTM (masked padding) → state per step.
- ``self_attention``: embedding + learned position embedding → ``keras_hub.layers.
  TransformerEncoder`` blocks under a causal mask (step t attends to steps ≤ t, never to
  padding; SASRec, Kang & McAuley 2018). Positions count back from the most recent item, as
  in SASRec's left-padded layout: the step a recommendation is read from always has the same
  position, trained by every sequence. Counting from the first item instead (a language
  model's layout) left the last positions of long prefixes untrained on DIGINETICA's short
  sessions: validation NDCG@10 0.0098, test 0.0026 (test prefixes are one item longer).

Items never read as a training input (DIGINETICA: most of the catalogue) would keep a random
input embedding; they get the trained items' mean, so a prefix ending in one leans on its
earlier items (and, with text vectors, on its title).

The output layer scores the state against an item matrix (+ bias): a full softmax over the
catalogue when it fits (``full_softmax_max`` items), else a sampled softmax (``n_negatives``
items per sequence drawn ∝ popularity^0.75, logits corrected by log Q, accidental hits
masked). Training stops on validation NDCG@10 (``patience`` epochs without a better one) and
keeps the best epoch. Scoring runs the network once per batch of prefixes and multiplies the
last states by the item matrix (numpy). Saved as a folder: ``model.keras`` + ``meta.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from keras import ops

from shopintent.io import staging_dir, write_json
from shopintent.models.recommenders.sequential.base import (
    SequenceRecommender,
    training_popularity,
    validation_ndcg,
)
from shopintent.models.recommenders.sequential.data import (
    NextItems,
    Sequences,
    bucket_width,
    ragged_offsets,
    training_windows,
    window_arrays,
)

KINDS = ("lstm", "self_attention")


@keras.saving.register_keras_serializable(package="shopintent")
class StepPositions(keras.layers.Layer):
    """``(B, T)`` left-padded ids → ``(B, T)`` position indices in ``[0, max_len)``.

    ``from_end`` (SASRec's layout): the most recent item is always ``max_len - 1``, so the step
    every recommendation is read from has one position, trained by every sequence. Otherwise
    positions count from each sequence's first item (a language model's layout; 0 at padding).
    """

    def __init__(self, max_len: int, from_end: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.max_len, self.from_end = int(max_len), bool(from_end)

    def call(self, ids):
        t = ops.shape(ids)[1]
        steps = ops.arange(t, dtype="int32")[None, :]
        if self.from_end:
            return ops.broadcast_to(ops.maximum(steps + (self.max_len - t), 0), ops.shape(ids))
        n_pad = t - ops.sum(ops.cast(ops.not_equal(ids, 0), "int32"), axis=1, keepdims=True)
        return ops.minimum(ops.maximum(steps - n_pad, 0), self.max_len - 1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_len": self.max_len, "from_end": self.from_end}


@keras.saving.register_keras_serializable(package="shopintent")
class CausalMask(keras.layers.Layer):
    """``(B, T)`` ids (0 = padding) → ``(B, T, T)`` mask: step t sees non-padding steps ≤ t."""

    def call(self, ids):
        t = ops.shape(ids)[1]
        causal = ops.greater_equal(ops.arange(t)[:, None], ops.arange(t)[None, :])
        return ops.logical_and(causal[None, :, :], ops.not_equal(ids, 0)[:, None, :])

    def compute_output_shape(self, input_shape):
        return (*input_shape, input_shape[-1])


@keras.saving.register_keras_serializable(package="shopintent")
class ItemOutput(keras.layers.Layer):
    """Scores states against every item (``h @ kernel + bias``), or with ``targets`` and
    ``negatives`` the sampled-softmax logits ``[target, negatives…]`` (log Q corrected)."""

    def __init__(self, n_items: int, **kwargs):
        super().__init__(**kwargs)
        self.n_items = int(n_items)
        self.supports_masking = (
            True  # takes the LSTM's padding mask and drops it: the loss weights handle padding
        )

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.n_items), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.n_items,), initializer="zeros")
        self.log_q = self.add_weight(
            name="log_q", shape=(self.n_items,), initializer="zeros", trainable=False
        )

    def call(self, h, targets=None, negatives=None):
        if targets is None:
            return ops.matmul(h, self.kernel) + self.bias
        items = ops.transpose(self.kernel)
        offset = self.bias - self.log_q
        pos = ops.sum(h * ops.take(items, targets, axis=0), axis=-1) + ops.take(offset, targets)
        neg = (
            ops.einsum("btd,bnd->btn", h, ops.take(items, negatives, axis=0))
            + ops.take(offset, negatives)[:, None, :]
        )
        neg = ops.where(
            ops.equal(targets[..., None], negatives[:, None, :]), -1e9, neg
        )  # accidental hits
        return ops.concatenate([pos[..., None], neg], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.n_items)

    def get_config(self):
        return {**super().get_config(), "n_items": self.n_items}


def build_network(
    kind: str,
    n_items: int,
    dim: int = 64,
    max_len: int = 50,
    dropout: float = 0.2,
    heads: int = 2,
    blocks: int = 1,
    text_dim: int = 0,
    positions_from_end: bool = True,
) -> keras.Model:
    """ids ``(B, T)`` (item + 1, 0 = padding) → per-step logits ``(B, T, n_items)``; the layer
    ``state`` holds the per-step states and ``item_output`` the item matrix."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    ids = keras.Input((None,), dtype="int32", name="items")
    x = keras.layers.Embedding(n_items + 1, dim, name="item_embedding")(ids)
    if (
        text_dim
    ):  # frozen text vectors (set after building), projected together with the id embedding
        text = keras.layers.Embedding(n_items + 1, text_dim, trainable=False, name="item_text")(ids)
        x = keras.layers.Dense(dim, name="item_fusion")(
            keras.layers.Concatenate(name="item_and_text")([x, text])
        )
    x = keras.layers.Dropout(dropout, name="input_dropout")(x)
    if kind == "lstm":
        h = keras.layers.LSTM(dim, return_sequences=True, name="lstm")(
            x, mask=ops.not_equal(ids, 0)
        )
        h = keras.layers.Dropout(dropout, name="state_dropout")(h)
    else:
        import keras_hub

        positions = StepPositions(max_len, positions_from_end, name="step_positions")(ids)
        x = x + keras_hub.layers.PositionEmbedding(max_len, name="position_embedding")(
            x, positions=positions
        )
        mask = CausalMask(name="causal_mask")(ids)
        for b in range(blocks):
            x = keras_hub.layers.TransformerEncoder(
                2 * dim, heads, dropout=dropout, normalize_first=True, name=f"transformer_{b}"
            )(x, attention_mask=mask)
        h = keras.layers.LayerNormalization(name="final_norm")(x)
    h = keras.layers.Identity(name="state")(h)
    return keras.Model(ids, ItemOutput(n_items, name="item_output")(h), name=f"next_item_{kind}")


class NextItemModel(SequenceRecommender):
    """An LSTM (``kind="lstm"``) or causal self-attention (``"self_attention"``) next-item model.

    ``tokens_per_batch`` sets the batch size per length bucket (rows = tokens / width), so a
    batch of short sessions holds as many predicted steps as one of long histories; None gives
    about 50 batches an epoch, 256–4096 steps each (small data needs more, smaller steps).
    ``jit_compile`` (XLA) is off by default: each new batch shape costs a compilation, which
    buckets and last batches multiply, more than XLA saves on a few epochs on CPU.
    """

    def __init__(
        self,
        kind: str = "lstm",
        name: str | None = None,
        dim: int = 64,
        max_len: int = 50,
        epochs: int = 10,
        learning_rate: float = 1e-3,
        dropout: float = 0.2,
        patience: int = 2,
        heads: int = 2,
        blocks: int = 1,
        tokens_per_batch: int | None = None,
        softmax: str = "auto",
        full_softmax_max: int = 20_000,
        n_negatives: int = 256,
        jit_compile: bool = False,
        positions_from_end: bool = True,
        seed: int = 42,
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if softmax not in ("auto", "full", "sampled"):
            raise ValueError(f"softmax must be auto, full or sampled, got {softmax!r}")
        self.kind, self.name = kind, name or kind
        self.config = {
            "dim": dim,
            "max_len": max_len,
            "dropout": dropout,
            "heads": heads,
            "blocks": blocks,
            "positions_from_end": positions_from_end,
        }
        self.epochs, self.learning_rate, self.patience = epochs, learning_rate, patience
        self.tokens_per_batch, self.softmax, self.full_softmax_max = (
            tokens_per_batch,
            softmax,
            full_softmax_max,
        )
        self.n_negatives, self.jit_compile, self.seed = n_negatives, jit_compile, seed
        self.history: dict[str, list[float]] = {}
        self.info: dict = {}

    @property
    def max_len(self) -> int:
        return int(self.config["max_len"])

    # ---- training -----------------------------------------------------------------------------
    def _fit(
        self,
        train: Sequences,
        val: NextItems | None = None,
        item_vectors: np.ndarray | None = None,
        log=None,
        **kwargs,
    ):
        keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        n_items = train.n_items
        text_dim = 0 if item_vectors is None else int(item_vectors.shape[1])
        if item_vectors is not None and len(item_vectors) != n_items:
            raise ValueError(
                f"item_vectors has {len(item_vectors)} rows; "
                f"expected one per catalogue item ({n_items})"
            )
        self.network = build_network(self.kind, n_items, text_dim=text_dim, **self.config)
        if text_dim:
            self.network.get_layer("item_text").set_weights(
                [np.vstack([np.zeros((1, text_dim)), item_vectors]).astype(np.float32)]
            )
        sampled = self.softmax == "sampled" or (
            self.softmax == "auto" and n_items > self.full_softmax_max
        )
        output = self.network.get_layer("item_output")
        # start from popularity (bias = log count): epochs go to what the sequence adds, not to
        # re-learning it
        log_pop = np.log1p(training_popularity(train))
        output.bias.assign((log_pop - log_pop.mean()).astype(np.float32))
        if sampled:
            q = np.power(training_popularity(train) + 1.0, 0.75)
            q /= q.sum()
            output.log_q.assign(np.log(self.n_negatives * q).astype(np.float32))
            targets = keras.Input((None,), dtype="int32", name="targets")
            negatives = keras.Input((self.n_negatives,), dtype="int32", name="negatives")
            state = self.network.get_layer("state").output
            trainer = keras.Model(
                [self.network.input, targets, negatives],
                output(state, targets=targets, negatives=negatives),
            )
        else:
            trainer = self.network
        trainer.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=self.jit_compile,
        )
        items, starts, ends, lengths = training_windows(train, self.max_len)
        if not len(starts):
            raise ValueError(
                "no training sequence has two items: nothing to learn a next item from"
            )
        batch_tokens = self.tokens_per_batch or int(np.clip(lengths.sum() // 50, 256, 4096))
        widths = bucket_width(lengths, self.max_len)
        # items never read as an input in training keep their random embedding: give them the
        # trained items' mean instead, so a prefix ending in one leans on its other items
        # (and title)
        seen_input = np.zeros(n_items, dtype=bool)
        seen_input[items[np.repeat(starts, lengths) + ragged_offsets(lengths)]] = True
        self._encoder = None
        from shopintent.models.training import BestEpoch

        keeper = BestEpoch(self.network, higher_is_better=True, patience=self.patience)
        epoch_seconds = []
        self.history = {"loss": [], "val_ndcg@10": []}
        for epoch in range(self.epochs):
            start = time.perf_counter()
            total, tokens = 0.0, 0
            for rows, width in _plan(widths, batch_tokens, rng):
                x, y = window_arrays(items, starts[rows], ends[rows], width)
                weight = (y > 0).astype(np.float32)
                n_tok = float(weight.sum())
                weight *= weight.size / n_tok  # a mean over predicted steps, whatever the padding
                labels = np.maximum(y - 1, 0)
                if sampled:
                    neg = rng.choice(n_items, size=(len(rows), self.n_negatives), p=q).astype(
                        np.int32
                    )
                    loss = trainer.train_on_batch(
                        [x, labels, neg], np.zeros_like(labels), sample_weight=weight
                    )
                else:
                    loss = trainer.train_on_batch(x, labels, sample_weight=weight)
                total, tokens = total + float(np.ravel(loss)[0]) * n_tok, tokens + n_tok
            epoch_seconds.append(time.perf_counter() - start)
            _neutral_unseen(self.network.get_layer("item_embedding"), seen_input)
            self.history["loss"].append(total / max(tokens, 1))
            score = validation_ndcg(self, val) if val is not None and len(val) else None
            if log:
                log(
                    f"{self.name} epoch {epoch + 1}: loss {self.history['loss'][-1]:.4f}"
                    + (f", validation NDCG@10 {score:.4f}" if score is not None else "")
                )
            if score is not None:
                self.history["val_ndcg@10"].append(score)
                if keeper.update(score):
                    break
        keeper.restore()
        steady = epoch_seconds[1:] or epoch_seconds
        self.info = {
            "epochs": len(epoch_seconds),
            "best_epoch": keeper.best_epoch if keeper.kept else None,
            "val_ndcg@10": keeper.best_score if keeper.kept else None,
            "softmax": "sampled" if sampled else "full",
            "text_dim": text_dim,
            "train_steps": int(lengths.sum()),
            "tokens_per_batch": batch_tokens,
            "train_seconds": round(float(np.sum(epoch_seconds)), 2),
            "steps_per_s": round(float(lengths.sum() / np.mean(steady)), 1),
        }

    # ---- scoring ------------------------------------------------------------------------------
    @property
    def encoder(self) -> keras.Model:
        """ids → per-step states (the network without its output layer)."""
        if getattr(self, "_encoder", None) is None:
            self._encoder = keras.Model(self.network.input, self.network.get_layer("state").output)
        return self._encoder

    def hidden(self, padded: np.ndarray) -> np.ndarray:
        """Per-step states ``(B, T, dim)`` of left-padded ids (item + 1, 0 = padding)."""
        return np.asarray(self.encoder.predict_on_batch(np.asarray(padded, dtype=np.int32)))

    def score_sequences(self, sequences: Sequences, batch_size: int = 1024) -> np.ndarray:
        """``(n, n_items)`` logits of the next item after each sequence (its last state × items)."""
        self._check_fitted(sequences)
        kept = np.minimum(sequences.lengths, self.max_len)
        order = np.argsort(kept, kind="stable")
        states = None
        for lo in range(0, len(order), batch_size):
            rows = order[lo : lo + batch_size]
            width = int(bucket_width(kept[rows].max(initial=1), self.max_len))
            h = self.hidden(sequences.take(rows).padded(self.max_len, width))[:, -1]
            if states is None:
                states = np.zeros((len(sequences), h.shape[1]), dtype=np.float32)
            states[rows] = h
        output = self.network.get_layer("item_output")
        kernel, bias = (np.asarray(w) for w in (output.kernel.numpy(), output.bias.numpy()))
        if states is None:
            return np.zeros((0, len(bias)))
        return states @ kernel + bias

    # ---- saving -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``model.keras`` and ``meta.json`` to the folder ``path`` (replaced atomically)."""
        path = Path(path)
        with staging_dir(path) as tmp:
            self.network.save(tmp / "model.keras")
            meta = {
                "kind": self.kind,
                "name": self.name,
                "seed": self.seed,
                "config": self.config,
                "item_ids": [str(i) for i in self.item_ids_],
                "history": self.history,
                "info": self.info,
            }
            write_json(tmp / "meta.json", meta, indent=1, default=float)
        return path

    @classmethod
    def load(cls, path: str | Path) -> NextItemModel:
        """A model written by ``save`` (the ``.keras`` format: no pickles)."""
        path = Path(path)
        meta_path = path / "meta.json"
        if not meta_path.exists():
            raise FileNotFoundError(
                f"{meta_path}: no meta.json; expected a folder written by NextItemModel.save"
            )
        meta = json.loads(meta_path.read_text())
        if meta.get("kind") == "self_attention":
            import keras_hub  # noqa: F401 - registers the TransformerEncoder and PositionEmbedding layers
        model = cls(meta["kind"], meta["name"], seed=meta["seed"], **meta["config"])
        model.network = keras.models.load_model(path / "model.keras")
        model.item_ids_ = pd.Index(meta["item_ids"])
        model.history, model.info = meta.get("history", {}), meta.get("info", {})
        return model


def _neutral_unseen(embedding: keras.layers.Embedding, seen: np.ndarray) -> None:
    """Set the rows of items never seen as a training input (row 0 is padding) to the mean of
    the seen ones; their rows get no gradient, so this holds across epochs."""
    if seen.all() or not seen.any():
        return
    table = np.asarray(embedding.embeddings.numpy())
    table[1:][~seen] = table[1:][seen].mean(axis=0)
    embedding.embeddings.assign(table)


def _plan(
    widths: np.ndarray, tokens_per_batch: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, int]]:
    """Shuffled batches of window rows, one width each, about ``tokens_per_batch`` steps each."""
    batches = []
    for w in np.unique(widths):
        rows = rng.permutation(np.flatnonzero(widths == w))
        size = max(1, int(tokens_per_batch) // int(w))
        batches += [(rows[i : i + size], int(w)) for i in range(0, len(rows), size)]
    return [batches[i] for i in rng.permutation(len(batches))]
