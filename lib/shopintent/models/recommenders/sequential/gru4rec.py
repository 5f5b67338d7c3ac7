"""GRU4Rec with its own losses, session-parallel mini-batches and shared negative samples (Keras 3).

Hidasi, Karatzoglou, Baltrunas & Tikk 2016, "Session-based recommendations with recurrent
neural networks" (ICLR): a GRU reads a session click by click and scores every item as the
next one; training runs *session-parallel mini-batches* (each of ``batch_size`` lanes holds one
session and steps through it, one click per step; when a lane's session ends the next session
takes the lane and the lane's hidden state is reset to zero), and the other lanes' target
items are each lane's negatives. Hidasi & Karatzoglou 2018, "Recurrent neural networks with
top-k gains for session-based recommendations" (CIKM): ``n_sample`` extra negatives shared by
the whole mini-batch, drawn with probability ∝ support^``sample_alpha`` (support = training
clicks of the item), and the losses over a softmax of the negatives' scores s_j:

- TOP1-max: sum_j s_j (sigmoid(r_j - r_i) + sigmoid(r_j^2));
- BPR-max: -log(sum_j s_j sigmoid(r_i - r_j)) + ``bpreg`` sum_j s_j r_j^2 (score regularisation);
- cross-entropy (the reference's third choice): -log softmax(r)_i over the target and negatives

(r_i the target's score, r_j a negative's, after the final activation: ``final_act`` "linear",
"elu-<a>", "leaky-<a>", "relu" or "tanh"; cross-entropy reads the raw scores, as the
reference's softmax output). Each is the mean over the step's active lanes times (active /
``batch_size``), as the reference weights its last, shrinking batches.

What follows the reference implementation (github.com/hidasib/GRU4Rec, ``gru4rec.py``):
sessions ordered by their first click (``time_sort``; ``fit(..., times=)`` gives session
start times, else row order), lane assignment, one update per step with the hidden state
carried from the previous step without back-propagation through it, the in-batch candidates
followed by the shared samples (an in-batch duplicate of the target counts as a negative, as
there), ``constrained_embedding`` (the input embedding is the output item matrix), GRU cells
with the reset gate applied before the recurrent product (Keras ``reset_after=False``),
Adagrad with momentum updating only the item rows in the step's batch (sparse updates), and
dropout on the input embedding (``dropout_p_embed``) and on each layer's output
(``dropout_p_hidden``). Differences: the hidden state carried to the next step is the one
before dropout (the reference carries the dropped-out state); without a constrained
embedding the input is an ``embedding``-sized table (``layers[0]`` when 0) rather than a
one-hot input; a lane left without sessions idles (masked) rather than leaving the batch; the
epoch is chosen on validation (``models.training.BestEpoch``, NDCG@10 as every sequence model
of this package; ``patience``), where the reference trains a fixed ``n_epochs``.

Defaults: the reference's published best setting for DIGINETICA (``paramfiles/
diginetica_bprmax_shared_best.py``: BPR-max, constrained embedding, elu-1, one layer of 512,
batch 128, dropout 0.5 / 0.3, learning rate 0.05, momentum 0.15, 2048 samples, alpha 0.3,
bpreg 0.9, 10 epochs); its yoochoose setting (``yoochoose_xe_shared_best.py``: cross-entropy,
480 units, batch 48, dropout 0 / 0.2, learning rate 0.07, momentum 0, alpha 0.2) is in the
search space. Items never clicked in training have no output row: they score below every
trained item, and an input click on one is skipped (the hidden state carries over it).
Scoring runs the GRU over each (left-padded, masked) prefix in batches. Saved as a folder:
``weights.npz`` + ``meta.json`` (no pickle).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from shopintent.models.recommenders.sequential.base import (
    SequenceRecommender,
    load_state,
    save_state,
    validation_ndcg,
)
from shopintent.models.recommenders.sequential.data import NextItems, Sequences, ragged_offsets

LOSSES = ("bpr-max", "top1-max", "cross-entropy")


# ---- losses -----------------------------------------------------------------------------------
def softmax_neg(scores, col_mask=None):
    """Row-wise softmax over the negatives: every column but the row's own target (the diagonal,
    as the reference's ``softmax_neg``) and, with ``col_mask`` (B + S,), the masked-out ones."""
    scores = ops.convert_to_tensor(scores)
    keep = ops.logical_not(_diagonal(scores))
    if col_mask is not None:
        keep = ops.logical_and(keep, ops.cast(col_mask, "bool")[None, :])
    masked = ops.where(keep, scores, ops.full_like(scores, -1e30))
    e = ops.exp(masked - ops.max(masked, axis=1, keepdims=True)) * ops.cast(keep, scores.dtype)
    return e / ops.maximum(ops.sum(e, axis=1, keepdims=True), 1e-30)


def _diagonal(scores):
    """Boolean ``(B, B + S)``: True at (i, i), each row's target."""
    b, n = ops.shape(scores)[0], ops.shape(scores)[1]
    return ops.equal(ops.arange(b)[:, None], ops.arange(n)[None, :])


def _target_scores(scores):
    b = ops.shape(scores)[0]
    return ops.take_along_axis(scores, ops.arange(b)[:, None], axis=1)  # (B, 1) diagonal


def bpr_max(scores, bpreg: float = 1.0, col_mask=None):
    """Per-row BPR-max (Hidasi & Karatzoglou 2018, eq. 10 with score regularisation):
    -log(sum_j s_j sigmoid(r_i - r_j)) + bpreg sum_j s_j r_j^2, s = ``softmax_neg``; the target
    of row i is column i."""
    scores = ops.convert_to_tensor(scores)
    s = softmax_neg(scores, col_mask)
    r_i = _target_scores(scores)
    ranking = -ops.log(ops.sum(ops.sigmoid(r_i - scores) * s, axis=1) + 1e-24)
    return ranking + bpreg * ops.sum(s * ops.square(scores), axis=1)


def top1_max(scores, col_mask=None):
    """Per-row TOP1-max (Hidasi & Karatzoglou 2018, eq. 7):
    sum_j s_j (sigmoid(r_j - r_i) + sigmoid(r_j^2))."""
    scores = ops.convert_to_tensor(scores)
    s = softmax_neg(scores, col_mask)
    r_i = _target_scores(scores)
    return ops.sum(s * (ops.sigmoid(scores - r_i) + ops.sigmoid(ops.square(scores))), axis=1)


def cross_entropy(scores, col_mask=None):
    """Per-row -log softmax(scores)_i over the target and the (unmasked) negatives."""
    scores = ops.convert_to_tensor(scores)
    if col_mask is not None:
        keep = ops.logical_or(_diagonal(scores), ops.cast(col_mask, "bool")[None, :])
        scores = ops.where(keep, scores, ops.full_like(scores, -1e30))
    return ops.logsumexp(scores, axis=1) - _target_scores(scores)[:, 0]


def gru4rec_loss(name: str, scores, bpreg: float = 1.0, col_mask=None):
    """Per-row loss ``name`` (``LOSSES``) of a ``(B, B + S)`` score matrix whose row i targets
    column i."""
    if name == "bpr-max":
        return bpr_max(scores, bpreg, col_mask)
    if name == "top1-max":
        return top1_max(scores, col_mask)
    if name == "cross-entropy":
        return cross_entropy(scores, col_mask)
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {name!r}")


def final_activation(name: str):
    """The reference's final activations: linear, relu, tanh, elu-<a>, leaky-<a>."""
    if name == "linear":
        return lambda x: x
    if name == "relu":
        return ops.relu
    if name == "tanh":
        return ops.tanh
    kind, _, param = name.partition("-")
    if kind == "elu" and param:
        a = float(param)
        return lambda x: ops.where(x >= 0, x, a * (ops.exp(ops.minimum(x, 0.0)) - 1.0))
    if kind == "leaky" and param:
        a = float(param)
        return lambda x: ops.where(x >= 0, x, a * x)
    raise ValueError(f"final_act must be linear, relu, tanh, elu-<a> or leaky-<a>, got {name!r}")


# ---- session-parallel mini-batches ------------------------------------------------------------
@dataclass(frozen=True)
class SessionParallel:
    """The steps of one epoch: ``inputs[t, lane]`` is the flat click index read by ``lane`` at
    step t (its target is the next click, ``inputs + 1``), -1 where the lane idles; ``starts``
    marks a session's first step in its lane (the lane's hidden state is reset there);
    ``session`` is the row of the session each (step, lane) serves (-1 idle)."""

    inputs: np.ndarray
    starts: np.ndarray
    session: np.ndarray

    @property
    def active(self) -> np.ndarray:
        return self.inputs >= 0


def session_parallel(indptr: np.ndarray, batch_size: int, order=None) -> SessionParallel:
    """Session-parallel mini-batches (Hidasi et al. 2016, Fig. 2) over sessions in CSR layout
    (row r's clicks are ``indptr[r]:indptr[r + 1]``), taken in ``order`` (default row order).
    A session of L clicks fills L - 1 consecutive steps of one lane; the next session goes to
    the lane that frees first (ties: the lower lane), as the reference's loop; sessions of one
    click are skipped. Every click but each session's last is read exactly once."""
    indptr = np.asarray(indptr, dtype=np.int64)
    lengths = np.diff(indptr)
    order = np.arange(len(lengths)) if order is None else np.asarray(order, dtype=np.int64)
    order = order[lengths[order] >= 2]
    steps = lengths[order] - 1
    lanes = min(int(batch_size), max(len(order), 1))
    free = [(0, lane) for lane in range(lanes)]  # (first free step, lane)
    lane_of = np.zeros(len(order), dtype=np.int64)
    first = np.zeros(len(order), dtype=np.int64)
    for s, n in enumerate(steps.tolist()):  # list scheduling: O(sessions x log lanes)
        t0, lane = heapq.heappop(free)
        lane_of[s], first[s] = lane, t0
        heapq.heappush(free, (t0 + n, lane))
    n_steps = int((first + steps).max(initial=0))
    inputs = np.full((n_steps, int(batch_size)), -1, dtype=np.int64)
    session = np.full((n_steps, int(batch_size)), -1, dtype=np.int64)
    starts = np.zeros((n_steps, int(batch_size)), dtype=bool)
    off = ragged_offsets(steps)
    t = np.repeat(first, steps) + off
    lane = np.repeat(lane_of, steps)
    inputs[t, lane] = np.repeat(indptr[order], steps) + off
    session[t, lane] = np.repeat(order, steps)
    starts[t, lane] = off == 0
    return SessionParallel(inputs, starts, session)


# ---- the network ------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="shopintent")
class GRU4RecNet(keras.layers.Layer):
    """The item matrix ``Wy`` (n_items, d) and bias ``By``, an input embedding (``Wy`` itself when
    ``constrained``) and a stack of GRU cells."""

    def __init__(self, n_items, layers=(100,), constrained=True, embedding=0, **kwargs):
        super().__init__(**kwargs)
        self.n_items, self.layer_sizes = int(n_items), tuple(int(n) for n in layers)
        self.constrained, self.embedding = bool(constrained), int(embedding)
        self.cells = [
            keras.layers.GRUCell(n, reset_after=False, name=f"gru_{i}")
            for i, n in enumerate(self.layer_sizes)
        ]

    def build(self, input_shape=None):
        d = self.layer_sizes[-1]
        self.wy = self.add_weight(
            name="item_matrix", shape=(self.n_items, d), initializer="glorot_uniform"
        )
        self.by = self.add_weight(name="item_bias", shape=(self.n_items,), initializer="zeros")
        if self.constrained:
            self.table, width = None, d
        else:
            width = self.embedding or self.layer_sizes[0]
            self.table = self.add_weight(
                name="input_embedding", shape=(self.n_items, width), initializer="glorot_uniform"
            )
        for cell in self.cells:
            cell.build((None, width))
            width = cell.units
        self.built = True

    def embed(self, items):
        table = self.wy if self.table is None else self.table
        return tf.gather(table.value, items)

    def step(self, x, states, dropout_hidden=0.0, seed=None):
        """One click per lane: inputs ``x`` (B, width) and the layers' states -> new states and
        the last layer's output (dropped out when training: a stateless ``seed`` given)."""
        new = []
        for i, (cell, h) in enumerate(zip(self.cells, states, strict=True)):
            out, _ = cell(x, [h], training=False)
            new.append(out)
            x = out
            if seed is not None and dropout_hidden > 0:
                x = tf.nn.experimental.stateless_dropout(x, dropout_hidden, seed + i + 1)
        return new, x

    def get_config(self):
        return {
            **super().get_config(),
            "n_items": self.n_items,
            "layers": list(self.layer_sizes),
            "constrained": self.constrained,
            "embedding": self.embedding,
        }


class _AdagradMomentum:
    """The reference's optimiser: g / sqrt(sum g^2 + eps), then momentum (v = m v - lr g';
    w += v), or plain SGD on that step without momentum; gradients given as ``IndexedSlices``
    (the item rows of a step) update only those rows and their accumulators."""

    def __init__(self, variables, learning_rate: float, momentum: float, eps: float = 1e-6):
        self.vars = [v.value if hasattr(v, "value") else v for v in variables]
        self.lr, self.m, self.eps = float(learning_rate), float(momentum), eps
        self.acc = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
        self.vel = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]

    def apply(self, grads) -> None:
        for var, acc, vel, g in zip(self.vars, self.acc, self.vel, grads, strict=True):
            if isinstance(g, tf.IndexedSlices):
                rows, pos = tf.unique(g.indices)
                values = tf.math.unsorted_segment_sum(g.values, pos, tf.shape(rows)[0])
                a = tf.gather(acc, rows) + tf.square(values)
                acc.scatter_update(tf.IndexedSlices(a, rows))
                step = values / tf.sqrt(a + self.eps)
                if self.m > 0:
                    v = self.m * tf.gather(vel, rows) - self.lr * step
                    vel.scatter_update(tf.IndexedSlices(v, rows))
                    var.scatter_add(tf.IndexedSlices(v, rows))
                else:
                    var.scatter_sub(tf.IndexedSlices(self.lr * step, rows))
            else:
                acc.assign_add(tf.square(g))
                step = g / tf.sqrt(acc + self.eps)
                if self.m > 0:
                    vel.assign(self.m * vel - self.lr * step)
                    var.assign_add(vel)
                else:
                    var.assign_sub(self.lr * step)


class GRU4Rec(SequenceRecommender):
    """GRU4Rec (module docstring): ``fit(train, val, times=None, log=None)`` on sequences whose
    rows are sessions (``times``: each row's start, for the time order of the lanes)."""

    name = "gru4rec"
    PARAMS = (
        "loss",
        "final_act",
        "layers",
        "batch_size",
        "dropout_p_embed",
        "dropout_p_hidden",
        "learning_rate",
        "momentum",
        "n_sample",
        "sample_alpha",
        "bpreg",
        "constrained_embedding",
        "embedding",
        "epochs",
        "patience",
        "max_len",
        "seed",
    )

    def __init__(
        self,
        loss: str = "bpr-max",
        final_act: str = "elu-1",
        layers=(512,),
        batch_size: int = 128,
        dropout_p_embed: float = 0.5,
        dropout_p_hidden: float = 0.3,
        learning_rate: float = 0.05,
        momentum: float = 0.15,
        n_sample: int = 2048,
        sample_alpha: float = 0.3,
        bpreg: float = 0.9,
        constrained_embedding: bool = True,
        embedding: int = 0,
        epochs: int = 10,
        patience: int | None = 3,
        max_len: int = 200,
        seed: int = 42,
        name: str | None = None,
    ):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        final_activation(final_act)  # checks the name
        if isinstance(layers, int):
            layers = (layers,)
        self.loss, self.final_act, self.layers = loss, final_act, tuple(int(n) for n in layers)
        self.batch_size, self.n_sample = int(batch_size), int(n_sample)
        self.dropout_p_embed, self.dropout_p_hidden = (
            float(dropout_p_embed),
            float(dropout_p_hidden),
        )
        self.learning_rate, self.momentum = float(learning_rate), float(momentum)
        self.sample_alpha, self.bpreg = float(sample_alpha), float(bpreg)
        self.constrained_embedding, self.embedding = bool(constrained_embedding), int(embedding)
        self.epochs, self.patience, self.max_len = int(epochs), patience, int(max_len)
        self.seed = int(seed)
        self.name = name or self.name
        self.history: dict[str, list[float]] = {}
        self.info: dict = {}

    def _settings(self) -> dict:
        out = {p: getattr(self, p) for p in self.PARAMS}
        out["layers"] = list(self.layers)
        return out

    # ---- training -----------------------------------------------------------------------------
    def _build(self, n_out: int) -> None:
        self.net = GRU4RecNet(
            n_out, self.layers, self.constrained_embedding, self.embedding, name="gru4rec"
        )
        self.net.build()
        self._act = final_activation(self.final_act)
        self._score_fn = None

    def _map_items(self, train: Sequences) -> None:
        support = np.bincount(train.items, minlength=train.n_items)  # clicks per item
        self.trained_items_ = np.flatnonzero(support > 0)
        self.out_index_ = np.full(train.n_items, -1, dtype=np.int64)
        self.out_index_[self.trained_items_] = np.arange(len(self.trained_items_))
        self.support_ = support[self.trained_items_].astype(np.float64)

    def _fit(self, train: Sequences, val: NextItems | None, times=None, log=None, **kwargs):
        keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self._map_items(train)
        if not len(self.trained_items_):
            raise ValueError("gru4rec: no training clicks")
        self._build(len(self.trained_items_))
        order = None if times is None else np.argsort(np.asarray(times), kind="stable")
        plan = session_parallel(train.indptr, self.batch_size, order)
        if not plan.inputs.size:
            raise ValueError("gru4rec: no training session has two clicks")
        clicks = self.out_index_[train.items]
        cdf = np.cumsum(self.support_**self.sample_alpha)
        cdf /= cdf[-1]
        opt = _AdagradMomentum(self.net.trainable_variables, self.learning_rate, self.momentum)
        train_step = self._train_step(opt)
        from shopintent.models.training import BestEpoch

        keeper = BestEpoch(self.net, higher_is_better=True, patience=self.patience)
        self.history = {"loss": [], "val_ndcg@10": []}
        seconds = []
        b = self.batch_size
        for epoch in range(self.epochs):
            start = time.perf_counter()
            states = [tf.zeros((b, n)) for n in self.layers]
            total = 0.0
            for t in range(len(plan.inputs)):
                active = plan.active[t]
                src = np.where(active, plan.inputs[t], 0)
                x = np.where(active, clicks[src], 0)
                y = np.where(active, clicks[np.where(active, src + 1, 0)], 0)
                if self.n_sample:
                    sample = np.searchsorted(cdf, rng.random(self.n_sample), side="right")
                    y = np.r_[y, np.minimum(sample, len(cdf) - 1)]
                states, loss = train_step(
                    tf.constant(x, tf.int32),
                    tf.constant(y, tf.int32),
                    tf.constant(plan.starts[t] | ~active),
                    tf.constant(active),
                    tf.constant(rng.integers(0, 2**31 - 64, 2), tf.int32),
                    states,
                )
                total += float(loss)
            seconds.append(time.perf_counter() - start)
            self.history["loss"].append(total / len(plan.inputs))
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
        self.info = {
            "epochs": len(seconds),
            "best_epoch": keeper.best_epoch if keeper.kept else len(seconds),
            "val_ndcg@10": keeper.best_score if keeper.kept else None,
            "steps_per_epoch": len(plan.inputs),
            "train_clicks": int(plan.active.sum()),
            "train_seconds": round(float(np.sum(seconds)), 2),
        }

    def _train_step(self, opt: _AdagradMomentum):
        net, act, loss_name = self.net, self._act, self.loss
        p_embed, p_hidden, bpreg, b = (
            self.dropout_p_embed,
            self.dropout_p_hidden,
            self.bpreg,
            float(self.batch_size),
        )
        n_sample = self.n_sample
        variables = opt.vars

        @tf.function(reduce_retracing=True)
        def step(x, y, reset, active, seed, states):
            states = [tf.where(reset[:, None], tf.zeros_like(h), h) for h in states]
            with tf.GradientTape() as tape:
                e = net.embed(x)
                if p_embed > 0:
                    e = tf.nn.experimental.stateless_dropout(e, p_embed, seed)
                new, out = net.step(e, states, p_hidden, seed)
                wy = tf.gather(net.wy.value, y)
                by = tf.gather(net.by.value, y)
                logits = tf.matmul(out, wy, transpose_b=True) + by
                scores = logits if loss_name == "cross-entropy" else act(logits)
                col_mask = tf.concat([active, tf.ones((n_sample,), dtype=tf.bool)], axis=0)
                per_row = gru4rec_loss(loss_name, scores, bpreg, col_mask)
                per_row = tf.where(active, per_row, tf.zeros_like(per_row))
                loss = tf.reduce_sum(per_row) / b  # = mean over active x (M / B)
            grads = tape.gradient(loss, variables)
            opt.apply(grads)
            return [tf.stop_gradient(h) for h in new], loss

        return step

    # ---- scoring ------------------------------------------------------------------------------
    def _scorer(self):
        if self._score_fn is None:
            net = self.net

            @tf.function(
                input_signature=[tf.TensorSpec((None, None), tf.int32)], reduce_retracing=True
            )
            def final_states(ids):  # ids: output rows, -1 = padding or an untrained item
                n = tf.shape(ids)[0]
                states = [tf.zeros((n, k)) for k in net.layer_sizes]
                for t in tf.range(tf.shape(ids)[1]):
                    col = ids[:, t]
                    valid = col >= 0
                    new, _ = net.step(net.embed(tf.maximum(col, 0)), states)
                    states = [
                        tf.where(valid[:, None], h1, h0) for h1, h0 in zip(new, states, strict=True)
                    ]
                return states[-1]

            self._score_fn = final_states
        return self._score_fn

    def score_sequences(self, sequences: Sequences, batch_size: int = 1024) -> np.ndarray:
        """``(n, n_items)``: the final activation of each sequence's last state times the item
        matrix (+ bias); items never clicked in training score below every trained item."""
        self._check_fitted(sequences)
        final = self._scorer()
        wy, by = (np.asarray(w) for w in (self.net.wy.numpy(), self.net.by.numpy()))
        kept = np.minimum(sequences.lengths, self.max_len)
        order = np.argsort(kept, kind="stable")
        out = np.empty((len(sequences), sequences.n_items), dtype=np.float64)
        for lo in range(0, len(order), batch_size):
            rows = order[lo : lo + batch_size]
            width = max(int(kept[rows].max(initial=1)), 1)
            padded = sequences.take(rows).padded(self.max_len, width).astype(np.int64)
            ids = np.where(padded > 0, self.out_index_[np.maximum(padded - 1, 0)], -1)
            h = np.asarray(final(tf.constant(ids, tf.int32)))
            scores = np.asarray(self._act(h @ wy.T + by), dtype=np.float64)
            block = np.empty((len(rows), sequences.n_items))
            block[:] = (scores.min(axis=1, initial=0.0) - 1.0)[:, None]
            block[:, self.trained_items_] = scores
            out[rows] = block
        return out

    # ---- saving -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """A folder: ``weights.npz`` (the network's weights in order, the output item map) and
        ``meta.json`` (settings, item ids, history)."""
        arrays = {f"w{i}": w for i, w in enumerate(self.net.get_weights())}
        arrays.update(trained_items=self.trained_items_, support=self.support_)
        meta = {"history": self.history, "info": self.info}
        return save_state(path, self, arrays, meta, state="weights.npz")

    @classmethod
    def load(cls, path: str | Path) -> GRU4Rec:
        model, z, meta = load_state(path, cls, state="weights.npz")
        weights = [z[f"w{i}"] for i in range(sum(k.startswith("w") for k in z))]
        model.trained_items_, model.support_ = z["trained_items"], z["support"]
        model.out_index_ = np.full(len(model.item_ids_), -1, dtype=np.int64)
        model.out_index_[model.trained_items_] = np.arange(len(model.trained_items_))
        model._build(len(model.trained_items_))
        model.net.set_weights(weights)
        model.history, model.info = meta.get("history", {}), meta.get("info", {})
        return model
