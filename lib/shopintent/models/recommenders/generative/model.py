"""A decoder-only shop model that writes the next item's semantic ID (TIGER-style, over a
keras-hub GPT-2).

Each training sequence (a user's or session's items, oldest first; ``sequential.data``) is
written as ``[BOS]`` + its items' code tuples (``trie``'s token layout) and cut into windows of
at most ``max_len + 1`` items, as the sequence models of notebook 08 are. The model is
keras-hub's ``GPT2CausalLM`` over a small ``GPT2Backbone`` built from scratch, as the shop GPT
(``models.text.shop_gpt``): next-token cross-entropy on every token, so at every item boundary
it learns to write the next item's tuple. The epoch with the lowest validation loss on the
validation targets' tuples (the item before each test target) is kept.

Recommending: constrained beam search writes one tuple per beam (``_beam_search``): at each
step only codes that lead, through the catalogue's prefix trie, to an item the sequence has not
seen are allowed (notebook 08 removes a sequence's own items from its list), renormalised over
the allowed codes as a masked softmax. ``beams`` >= k beams give k distinct unseen items ranked
by the model's probability of their whole tuple.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from shopintent.models.recommenders.base import Recommendations
from shopintent.models.recommenders.generative.semantic_ids import SemanticIds
from shopintent.models.recommenders.generative.trie import BOS, PAD, CodeTrie
from shopintent.models.recommenders.sequential.base import SequenceRecommender
from shopintent.models.recommenders.sequential.data import NextItems, Sequences, training_windows


class GenerativeRecommender(SequenceRecommender):
    """Next item as a generated semantic-ID tuple. ``ids``: the catalogue's tuples (rows in the
    training sequences' ``item_ids`` order). Sizes: ``hidden_dim``, ``num_layers``,
    ``num_heads``, ``intermediate_dim``; ``max_len`` most recent items read; ``epochs`` limit
    (``patience`` epochs without a lower validation loss stop it); ``warmup``: the share of
    training steps over which the learning rate rises linearly to ``learning_rate`` before its
    cosine decay; ``beams`` >= k;
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
        warmup: float = 0.0,
        seed: int = 42,
        name: str | None = None,
    ):
        self.ids, self.trie = ids, CodeTrie.build(ids.codes)
        self.hidden_dim, self.num_layers, self.num_heads = hidden_dim, num_layers, num_heads
        self.intermediate_dim, self.max_len, self.epochs = intermediate_dim, max_len, epochs
        self.patience, self.batch_size, self.learning_rate = patience, batch_size, learning_rate
        self.dropout, self.beams, self.predict_batch = dropout, beams, predict_batch
        self.jit_compile, self.seed, self.recent_only = jit_compile, seed, recent_only
        self.warmup = warmup
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
        warmup = int(self.warmup * steps)  # a linear warm-up, then cosine decay to 5%
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else self.learning_rate,
            decay_steps=max(steps - warmup, 1),
            alpha=0.05,
            warmup_target=self.learning_rate if warmup else None,
            warmup_steps=warmup,
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

    def _step_fn(self):
        """One decoding step as a ``tf.function``: the prompt's key/value cache (one row per
        sequence) repeated for each beam, the beams' tokens so far fed after the prompt's last
        token, the next token's log-probabilities returned (traced once: dynamic shapes)."""
        if getattr(self, "_step", None) is not None:
            return self._step
        import tensorflow as tf
        from keras import ops

        model = self.model_

        def prompt_cache(prompt):
            from shopintent.models.text.shop_gpt import _empty_cache

            _, _, cache = model.call_with_cache(prompt, _empty_cache(model, prompt), 0)
            return cache

        def step(cache, tokens, start):
            beams = ops.shape(tokens)[0] // ops.shape(cache)[0]
            logits, _, _ = model.call_with_cache(tokens, ops.repeat(cache, beams, axis=0), start)
            return ops.log_softmax(logits[:, -1, :], axis=-1)

        bb = model.backbone
        cache_spec = tf.TensorSpec(
            [None, bb.num_layers, 2, None, bb.num_heads, bb.hidden_dim // bb.num_heads],
            model.compute_dtype,
        )
        # dynamic shapes and a tensor start: one trace each, whatever the batch or length
        self._prompt_cache = tf.function(
            prompt_cache, input_signature=[tf.TensorSpec([None, None], tf.int32)]
        )
        self._step = tf.function(
            step,
            input_signature=[
                cache_spec,
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([], tf.int32),
            ],
        )
        return self._step

    def _beam_search(self, seqs: Sequences, length: int, seen, k: int):
        """Constrained beam search over one batch of sequences of the same (cut) length.

        Written here rather than with keras-hub's ``BeamSampler``: the sampler reorders its
        key/value cache after every step with ``keras.ops.take_along_axis``, which on
        TensorFlow broadcasts the beam index to the cache's full shape and gathers element by
        element (725 ms per sequence at 20 beams, measured on the loaded 2 cores; 96 ms
        XLA-compiled after a 40 s compile). A tuple is only ``depth`` tokens long, so each step
        instead repeats the prompt's cache per beam and feeds the beam's few tokens again;
        the trie mask, log-probability sums and top-``beams`` choice run in numpy."""
        from keras import ops

        trie, depth, beams = self.trie, self.trie.depth, self.beams
        context = 1 + depth * length
        starts = seqs.indptr[1:] - length
        # the cache holds the prompt and room for the tuple (its padding is overwritten)
        prompt = self._rows(seqs.items, starts, seqs.indptr[1:])[:, : context + depth]
        prompt[:, context:] = PAD
        step = self._step_fn()
        cache = self._prompt_cache(ops.convert_to_tensor(prompt, "int32"))
        alive = trie.alive(seen, len(seqs))  # (rows, nodes)
        n = len(seqs)
        rows = np.arange(n)
        node = np.zeros((n, 1), dtype=np.int64)  # each beam's trie node
        score = np.zeros((n, 1))
        written = np.zeros((n, 1, 0), dtype=np.int64)  # tokens so far
        width = trie.child.shape[1]
        for d in range(depth):
            nb = node.shape[1]
            # the prompt's last token, then the beam's codes so far: the next code's logits
            tokens = np.c_[np.repeat(prompt[:, context - 1], nb), written.reshape(n * nb, d)]
            logp = ops.convert_to_numpy(
                step(
                    cache,
                    ops.convert_to_tensor(tokens, "int32"),
                    ops.convert_to_tensor(context - 1, "int32"),
                )
            ).reshape(n, nb, -1)
            codes = logp[:, :, trie.offsets[d] : trie.offsets[d] + width]
            codes = np.pad(
                codes, ((0, 0), (0, 0), (0, width - codes.shape[2])), constant_values=-np.inf
            )
            children = trie.child[node]  # (n, nb, width)
            ok = (children >= 0) & alive[rows[:, None, None], np.maximum(children, 0)]
            # log-probabilities renormalised over the allowed codes (as a masked softmax)
            masked = np.where(ok, codes, -np.inf)
            with np.errstate(invalid="ignore"):
                masked = masked - logsumexp(masked, axis=2, keepdims=True)
            total = np.where(ok, score[:, :, None] + masked, -np.inf).reshape(n, nb * width)
            keep = min(beams, nb * width)
            top = np.argsort(-total, axis=1, kind="stable")[:, :keep]
            beam, code = top // width, top % width
            score = np.take_along_axis(total, top, axis=1)
            node = np.where(np.isfinite(score), children[rows[:, None], beam, code], 0)
            written = np.concatenate(
                [written[rows[:, None], beam], (trie.offsets[d] + code)[:, :, None]], axis=2
            )
        items = np.where(np.isfinite(score), trie.item_of[node], -1)
        index = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), np.nan)
        take = min(k, items.shape[1])
        index[:, :take], scores[:, :take] = items[:, :take], score[:, :take]
        scores[index < 0] = np.nan
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
