"""A decoder-only shop model that writes the next item's semantic ID (TIGER-style, over a
keras-hub GPT-2).

Each training sequence (a user's or session's items, oldest first; ``sequential.data``) is
written as ``[BOS]`` + its items' code tuples (``trie``'s token layout) and cut into windows of
at most ``max_len + 1`` items, as the sequence models of notebook 08 are. The model is
keras-hub's ``GPT2CausalLM`` over a small ``GPT2Backbone`` built from scratch, as the shop GPT
(``models.text.shop_gpt``): next-token cross-entropy on every token, so at every item boundary
it learns to write the next item's tuple. The epoch with the lowest validation loss on the
validation targets' tuples (the item before each test target) is kept.

Recommending: keras-hub's ``BeamSampler`` (``return_all_beams``) writes one tuple per beam;
its ``next`` function adds a mask to the logits at every step (the sampler has no mask of its
own for the vocabulary: its ``mask`` argument only marks prompt positions), so a beam can only
write codes that lead, through the catalogue's prefix trie, to an item the sequence has not
seen (notebook 08 removes a sequence's own items from its list). ``beams`` >= k beams give
k distinct unseen items ranked by the model's probability of their whole tuple.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from shopintent.models.recommenders.base import Recommendations
from shopintent.models.recommenders.generative.semantic_ids import SemanticIds
from shopintent.models.recommenders.generative.trie import BOS, PAD, CodeTrie
from shopintent.models.recommenders.sequential.base import SequenceRecommender
from shopintent.models.recommenders.sequential.data import NextItems, Sequences, training_windows

NEG = -1e9


class GenerativeRecommender(SequenceRecommender):
    """Next item as a generated semantic-ID tuple. ``ids``: the catalogue's tuples (rows in the
    training sequences' ``item_ids`` order). Sizes: ``hidden_dim``, ``num_layers``,
    ``num_heads``, ``intermediate_dim``; ``max_len`` most recent items read; ``epochs`` limit
    (``patience`` epochs without a lower validation loss stop it); ``beams`` >= k;
    ``recent_only`` trains on each sequence's last window only (its ``max_len + 1`` most recent
    items: a budget knob)."""

    name = "generative"

    def __init__(
        self,
        ids: SemanticIds,
        hidden_dim: int = 64,
        num_layers: int = 2,
        num_heads: int = 2,
        intermediate_dim: int = 128,
        max_len: int = 20,
        epochs: int = 8,
        patience: int = 2,
        batch_size: int = 64,
        learning_rate: float = 2e-3,
        dropout: float = 0.1,
        beams: int = 20,
        predict_batch: int = 128,
        jit_compile: bool = True,
        recent_only: bool = False,
        seed: int = 42,
        name: str | None = None,
    ):
        self.ids, self.trie = ids, CodeTrie.build(ids.codes)
        self.hidden_dim, self.num_layers, self.num_heads = hidden_dim, num_layers, num_heads
        self.intermediate_dim, self.max_len, self.epochs = intermediate_dim, max_len, epochs
        self.patience, self.batch_size, self.learning_rate = patience, batch_size, learning_rate
        self.dropout, self.beams, self.predict_batch = dropout, beams, predict_batch
        self.jit_compile, self.seed, self.recent_only = jit_compile, seed, recent_only
        self.name = name or self.name
        self.info: dict = {}
        self.history: dict = {}

    # -- sequences as tokens -------------------------------------------------------------------
    @property
    def width(self) -> int:
        """Tokens of a window: [BOS] + (max_len + 1) tuples."""
        return 1 + self.trie.depth * (self.max_len + 1)

    def item_tokens(self, items: np.ndarray) -> np.ndarray:
        """``(n, depth)`` tokens of catalogue positions."""
        return self.trie.tokens(self.ids.codes[np.asarray(items, dtype=np.int64)])

    def _rows(self, items: np.ndarray, starts, ends) -> np.ndarray:
        """``[BOS]`` + the tuples of ``items[start:end]`` per row, right-padded to ``width``."""
        out = np.full((len(starts), self.width), PAD, dtype=np.int32)
        out[:, 0] = BOS
        toks = self.item_tokens(items) if len(items) else np.zeros((0, self.trie.depth), int)
        d = self.trie.depth
        for r, (s, e) in enumerate(zip(starts, ends, strict=True)):
            out[r, 1 : 1 + d * (e - s)] = toks[s:e].ravel()
        return out

    def _lm_arrays(self, rows: np.ndarray, weight_from: np.ndarray | None = None):
        """Inputs, next tokens and weights (1 on real next tokens; with ``weight_from``, only
        on tokens at or after that column of the targets: a validation row's last tuple)."""
        x = {"token_ids": rows[:, :-1], "padding_mask": rows[:, :-1] != PAD}
        y = rows[:, 1:]
        w = (y != PAD).astype(np.float32)
        if weight_from is not None:
            w[np.arange(w.shape[1])[None, :] < weight_from[:, None]] = 0.0
        return x, y, w

    def training_rows(self, train: Sequences) -> np.ndarray:
        items, starts, ends, _ = training_windows(train, self.max_len)
        if self.recent_only:  # the window that ends each sequence: its most recent items
            last = np.isin(ends, train.indptr[1:])
            starts, ends = starts[last], ends[last]
        return self._rows(items, starts, ends)

    def validation_arrays(self, val: NextItems):
        """Each validation prefix's last ``max_len`` items and its target, weighted on the
        target's tuple only: the validation loss is the next item's negative log-likelihood
        per code."""
        inp = val.inputs
        keep = np.minimum(inp.lengths, self.max_len)
        seqs = [
            np.r_[inp.sequence(r)[-k:] if k else [], val.targets[r]] for r, k in enumerate(keep)
        ]
        flat = np.concatenate(seqs).astype(np.int64)
        ends = np.cumsum([len(s) for s in seqs])
        rows = self._rows(flat, ends - np.array([len(s) for s in seqs]), ends)
        return self._lm_arrays(rows, weight_from=self.trie.depth * keep)

    # -- training ------------------------------------------------------------------------------
    def _fit(
        self, train: Sequences, val: NextItems | None, log=print, verbose: int = 0, **kwargs
    ) -> None:
        import keras
        import keras_hub

        from shopintent.config import seed_everything
        from shopintent.models.training import BestEpoch

        if len(self.ids.item_ids) != train.n_items or not np.array_equal(
            np.asarray(self.ids.item_ids, dtype=str), np.asarray(train.item_ids, dtype=str)
        ):
            raise ValueError(
                f"semantic IDs cover {len(self.ids.item_ids)} items, the sequences a catalogue "
                f"of {train.n_items}: build both over the same items table, in its order"
            )
        seed_everything(self.seed)
        keras.utils.set_random_seed(self.seed)
        backbone = keras_hub.models.GPT2Backbone(
            vocabulary_size=self.trie.vocabulary_size,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            hidden_dim=self.hidden_dim,
            intermediate_dim=self.intermediate_dim,
            dropout=self.dropout,
            max_sequence_length=self.width,
        )
        self.model_ = keras_hub.models.GPT2CausalLM(backbone, preprocessor=None)
        x, y, w = self._lm_arrays(self.training_rows(train))
        steps = -(-len(y) // self.batch_size) * self.epochs
        schedule = keras.optimizers.schedules.CosineDecay(
            self.learning_rate, decay_steps=max(steps, 1), alpha=0.05
        )
        self.model_.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, global_clipnorm=1.0),
            loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"
            ),
            jit_compile=self.jit_compile,
        )
        callbacks, validation, keeper = [], None, None
        if val is not None and len(val):
            validation = self.validation_arrays(val)
            keeper = BestEpoch(self.model_, higher_is_better=False, patience=self.patience)
            callbacks.append(keeper.keras_callback("val_loss"))
        start = time.perf_counter()
        fit = self.model_.fit(
            x,
            y,
            sample_weight=w,
            batch_size=self.batch_size,
            epochs=self.epochs,
            shuffle=True,
            validation_data=validation,
            callbacks=callbacks,
            verbose=verbose,
        )
        seconds = time.perf_counter() - start
        self.history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
        self.info = {
            "epochs": len(self.history.get("loss", [])),
            "train_seconds": round(seconds, 2),
            "parameters": int(backbone.count_params()),
            "training_windows": int(len(y)),
            "training_tokens": int(w.sum()),
            "vocabulary_size": self.trie.vocabulary_size,
            "tuple_length": self.trie.depth,
        }
        if keeper is not None and keeper.best_epoch:
            self.info["best_epoch"] = keeper.best_epoch
            self.info["best_val_loss"] = float(keeper.best_score)
        if log:
            log(
                f"{self.name}: {self.info['epochs']} epochs in {seconds:.1f} s, "
                f"validation loss by epoch {np.round(self.history.get('val_loss', []), 4)}"
            )

    # -- generation ----------------------------------------------------------------------------
    def score_sequences(self, sequences: Sequences) -> np.ndarray:
        raise NotImplementedError(
            "a generative model ranks by writing items, not by scoring the catalogue: "
            "use recommend_sequences"
        )

    def recommend_sequences(self, sequences: Sequences, k: int = 10, exclude=True):
        """Top-k items per sequence by constrained beam search (``beams`` >= k); ``exclude``:
        True removes (never writes) each sequence's own items, a CSR ``(n, n_items)`` its
        entries, False/None nothing. Rows with fewer than k reachable items end in -1."""
        self._check_fitted(sequences)
        if self.beams < k:
            raise ValueError(f"beams ({self.beams}) must be at least k ({k})")
        if exclude is True:
            exclude = sequences.seen()
        elif exclude is False:
            exclude = None
        n = len(sequences)
        index = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), np.nan)
        lengths = np.minimum(sequences.lengths, self.max_len)
        for length in np.unique(lengths):
            members = np.flatnonzero(lengths == length)
            for s in range(0, len(members), self.predict_batch):
                rows = members[s : s + self.predict_batch]
                seen = None if exclude is None else sp.csr_matrix(exclude)[rows]
                idx, sc = self._beam_search(sequences.take(rows), int(length), seen, k)
                index[rows], scores[rows] = idx, sc
        ids = np.full(index.shape, None, dtype=object)
        ids[index >= 0] = np.asarray(self.item_ids_, dtype=object)[index[index >= 0]]
        return Recommendations(index, ids, scores)

    def _generator(self):
        """The constrained beam search as one ``tf.function`` (traced once per model: batch and
        prompt length are dynamic), so each batch runs as a graph rather than op by op."""
        if getattr(self, "_generate", None) is not None:
            return self._generate
        import keras_hub
        import tensorflow as tf
        from keras import ops

        from shopintent.models.text.shop_gpt import _empty_cache

        trie, depth, beams, model = self.trie, self.trie.depth, self.beams, self.model_
        child = tf.constant(trie.child)
        flat_child = tf.reshape(child, [-1])
        level_map = tf.constant(trie.level_map())
        offsets = [int(o) for o in trie.offsets]
        width = trie.child.shape[1]

        def generate(prompt, context, alive_flat, base):
            def mask_bias(tokens, index):
                # the node each beam's tuple so far reaches, walked from the root
                node = ops.zeros_like(base)
                for j in range(depth - 1):
                    code = ops.cast(ops.take(tokens, context + j, axis=1), "int64") - offsets[j]
                    nxt = ops.take(flat_child, node * width + ops.clip(code, 0, width - 1))
                    node = ops.where(index > context + j, ops.maximum(nxt, 0), node)
                children = ops.take(child, node, axis=0)  # (rows, width)
                ok = ops.logical_and(
                    children >= 0, ops.take(alive_flat, base[:, None] + ops.maximum(children, 0))
                )
                code_bias = ops.where(ok, 0.0, NEG)
                code_bias = ops.concatenate(
                    [code_bias, ops.full_like(code_bias[:, :1], NEG)], axis=1
                )
                return ops.take(code_bias, ops.take(level_map, index - context, axis=0), axis=1)

            def next_token(tokens, cache, index):
                batch = ops.shape(tokens)[0]
                last = ops.slice(tokens, [0, index - 1], [batch, 1])
                logits, hidden, cache = model.call_with_cache(last, cache, index - 1)
                logits = ops.squeeze(logits, axis=1) + mask_bias(tokens, index)
                return logits, ops.squeeze(hidden, axis=1), cache

            cache = _empty_cache(model, prompt)
            _, _, cache = model.call_with_cache(prompt, cache, 0)
            sampler = keras_hub.samplers.BeamSampler(num_beams=beams, return_all_beams=True)
            return sampler(next_token, prompt, cache=cache, index=context)

        self._generate = tf.function(
            generate,
            input_signature=[
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([None], tf.bool),
                tf.TensorSpec([None], tf.int64),
            ],
            reduce_retracing=True,
        )
        return self._generate

    def _beam_search(self, seqs: Sequences, length: int, seen, k: int):
        from keras import ops

        trie, depth, beams = self.trie, self.trie.depth, self.beams
        context = 1 + depth * length
        starts = seqs.indptr[1:] - length
        prompt = self._rows(seqs.items, starts, seqs.indptr[1:])[:, : context + depth]
        prompt[:, context:] = PAD
        alive = trie.alive(seen, len(seqs))
        base = (np.arange(len(seqs) * beams) // beams) * alive.shape[1]
        out, log_probs = self._generator()(
            ops.convert_to_tensor(prompt, "int32"),
            ops.convert_to_tensor(context, "int32"),
            ops.convert_to_tensor(alive.ravel()),
            ops.convert_to_tensor(base, "int64"),
        )
        out, log_probs = ops.convert_to_numpy(out), ops.convert_to_numpy(log_probs)
        written = out[:, :, context : context + depth].reshape(-1, depth)
        items = trie.item_of[np.maximum(trie.walk(written), 0)].reshape(len(seqs), beams)
        items[(trie.walk(written) < 0).reshape(len(seqs), beams)] = -1
        items[~(log_probs > NEG / 2)] = -1
        if seen is not None:  # belt and braces: the mask already kept seen items out
            hit = np.asarray(
                sp.csr_matrix(seen)[np.arange(len(seqs))[:, None], np.maximum(items, 0)].todense()
            )
            items[(hit > 0) & (items >= 0)] = -1
        index = np.full((len(seqs), k), -1, dtype=np.int64)
        scores = np.full((len(seqs), k), np.nan)
        for r in range(len(seqs)):
            _, first = np.unique(items[r], return_index=True)
            order = [i for i in np.sort(first) if items[r, i] >= 0][:k]
            index[r, : len(order)] = items[r, order]
            scores[r, : len(order)] = log_probs[r, order]
        return index, scores

    def _settings(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "hidden_dim",
                "num_layers",
                "num_heads",
                "intermediate_dim",
                "max_len",
                "epochs",
                "batch_size",
                "learning_rate",
                "beams",
            )
        }
