"""Fine-tune MiniLM with task heads: sentence classifiers and a token tagger on one backbone.

A ``FineTunedNetwork`` is a copy of a keras-hub BERT backbone (MiniLM by default) with one or
more heads on its token outputs: a ``sequence`` head (mean over real tokens, dropout, a dense
softmax layer: intent, category, sentiment) or a ``token`` head (dropout, a dense layer per
word piece: BIO entity tags, read on each word's first piece, see ``alignment``). Several heads
train jointly on one backbone (as JointBERT, Chen et al. 2019, for intent and slots), so one
forward pass serves them all: on 2 CPU cores that is what makes three query models affordable.

Parameter-efficient, as ``dual_encoder``: only the top ``trainable_layers`` transformer blocks
and the heads train; the rest of the backbone is frozen, and its output for each text is
computed once before training (``backbone_parts.FrozenBottom``, without dropout) instead of at
every step. The pretrained backbone passed in is copied first. Batches are cut into length
buckets (8, 16, 32, ... word pieces), so short queries do not pay for the longest one.

The recipe, one for every fine-tune: sequence heads read the L2-normalised mean of the token
vectors (the frozen encoder's sentence vector) and start as a logistic regression on those
frozen vectors (a linear probe: given, e.g. the frozen MiniLM + LR, or fitted on the training
sample); the epoch kept is the one with the best *validation* macro-F1, epoch 0 (the probe)
included when every head has one. A random head trained with the encoder at 5e-4 collapsed on
small, skewed real data (All_Beauty reviews, see ``benchmarks/bench_finetune_recipe.py``); from
the probe, fine-tuning replaces the logistic regression only where validation says it helps.
Saved as one ``.keras`` file (the backbone and heads) plus the vocabulary and a JSON of the
classes: no pickle.

Sized by profile: the default trains blocks 4-5 of MiniLM on <= 3,000 texts for 3 epochs,
batch 32, learning rate 5e-4 with warm-up and cosine decay, without XLA (its compilation per
batch shape costs more than it saves at this size). Measured on 2 idle CPU cores: the three-head
query network (3,000 synthetic queries, 3 epochs) in 21 s with the cached bottom, 32 s without.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, get_profile, rng
from shopintent.features.text.encoders import bucket_widths
from shopintent.io import atomic_path, read_json, write_json, write_text
from shopintent.models.understanding.alignment import WordPieces

MODEL_FILE, VOCAB_FILE, META_FILE = "network.keras", "vocab.txt", "network.json"
POOLING = "mean_pooling"
HEAD_KINDS = ("sequence", "token")


@dataclass(frozen=True)
class FinetuneConfig:
    """Training settings; ``max_train`` caps the training texts (a seeded sample)."""

    max_length: int = 32
    trainable_layers: int = 2
    epochs: int = 4
    batch_size: int = 32
    max_train: int = 3_000
    max_validation: int = 400
    learning_rate: float = 5e-4
    warmup_frac: float = 0.1
    weight_decay: float = 0.01
    dropout: float = 0.1
    jit_compile: bool = (
        False  # XLA compiles once per batch shape: ~1 min each on 2 cores, more than it saves here
    )
    #: sequence heads start as a logistic regression on the frozen network's sentence vectors
    #: (C chosen on validation macro-F1), not at random: see ``FineTunedNetwork.fit``
    probe_first: bool = True
    #: what picks the epoch kept (epoch 0, the probe, included): ``macro_f1`` (mean over heads
    #: of the validation macro-F1, as the logistic regressions choose C) or ``loss``
    select_on: str = "macro_f1"
    #: sequence heads read the L2-normalised mean of the token vectors (the frozen encoder's
    #: sentence vector, so a probe fitted on those vectors fits the network); False: the raw mean
    normalize: bool = True


PROFILES = {
    "smoke": FinetuneConfig(epochs=2, max_train=400, max_validation=150),
    "default": FinetuneConfig(
        epochs=3
    ),  # the query network: 4 epochs took 145 s of make run's 30 minutes
    "full": FinetuneConfig(epochs=4, max_train=30_000, max_validation=3_000, trainable_layers=3),
}


def finetune_config(profile: str = "default", **overrides) -> FinetuneConfig:
    get_profile(profile)
    return replace(PROFILES[profile], **overrides)


@dataclass(frozen=True)
class Head:
    """One output: ``kind`` is ``sequence`` (a label per text) or ``token`` (a tag per word);
    ``classes`` are the label names in output order."""

    name: str
    kind: str
    classes: tuple[str, ...]

    def __post_init__(self):
        if self.kind not in HEAD_KINDS:
            raise ValueError(
                f"head {self.name!r}: kind must be one of {HEAD_KINDS}, got {self.kind!r}"
            )
        if len(self.classes) < 2:
            raise ValueError(
                f"head {self.name!r} needs at least 2 classes, got {list(self.classes)}"
            )


def _register_pooling():
    import keras

    @keras.saving.register_keras_serializable(package="shopintent")
    class MaskedMeanPooling(keras.layers.Layer):
        """Masked mean of the token vectors: (batch, length, dim) -> (batch, dim).

        Only the tokens where ``padding_mask`` is true count; ``normalize`` divides by the L2
        norm, as the frozen encoder's vectors (``BertTextEmbedder``), so a logistic regression
        fitted on those vectors is a head of this network as it stands.
        """

        def __init__(self, normalize: bool = False, **kwargs):
            super().__init__(**kwargs)
            self.normalize = bool(normalize)

        def call(self, sequence, padding_mask):
            from keras import ops

            m = ops.cast(ops.expand_dims(padding_mask, -1), sequence.dtype)
            mean = ops.sum(sequence * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1e-9)
            if self.normalize:
                mean = mean / ops.maximum(ops.norm(mean, axis=-1, keepdims=True), 1e-12)
            return mean

        def get_config(self):
            return {**super().get_config(), "normalize": self.normalize}

    return MaskedMeanPooling


_POOLING = None


def masked_mean_pooling(**kwargs):
    global _POOLING
    if _POOLING is None:
        _POOLING = _register_pooling()
    return _POOLING(**kwargs)


def build_network(backbone, heads: Sequence[Head], dropout: float = 0.1, normalize: bool = True):
    """A functional model: (token_ids, segment_ids, padding_mask) -> {head name: logits}."""
    import keras

    inputs = {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input((None,), dtype="bool", name="padding_mask"),
    }
    seq = backbone(inputs)["sequence_output"]
    layers = {POOLING: masked_mean_pooling(normalize=normalize, name=POOLING)}
    for head in heads:
        layers[f"{head.name}_dropout"] = keras.layers.Dropout(dropout, name=f"{head.name}_dropout")
        layers[f"{head.name}_logits"] = keras.layers.Dense(
            len(head.classes), name=f"{head.name}_logits"
        )
    outputs = _apply_heads(layers, heads, seq, inputs["padding_mask"])
    return keras.Model(inputs, outputs, name="finetuned_network")


def _apply_heads(layers, heads: Sequence[Head], seq, padding_mask, training=None) -> dict:
    """Each head's logits from the backbone's token outputs ``seq``; ``layers`` maps layer names
    (``POOLING``, ``<head>_dropout``, ``<head>_logits``) to the layers to use."""
    outputs, pooled = {}, None
    for head in heads:
        if head.kind == "sequence":
            pooled = pooled if pooled is not None else layers[POOLING](seq, padding_mask)
            x = pooled
        else:
            x = seq
        x = layers[f"{head.name}_dropout"](x, training=training)
        outputs[head.name] = layers[f"{head.name}_logits"](x)
    return outputs


def _training_model(network, bottom, heads: Sequence[Head], class_weights: dict[str, np.ndarray]):
    """Trains ``network``'s top blocks and heads on cached ``hidden`` states (``bottom``: the
    frozen part, see ``backbone_parts``); the loss is the sum over heads, read from
    ``y_<head>`` in the inputs (token heads ignore labels < 0: pieces after a word's first,
    [CLS], [SEP], padding)."""
    import keras
    from keras import ops

    weights = {h: ops.convert_to_tensor(w, dtype="float32") for h, w in class_weights.items()}
    names = [POOLING] + [f"{h.name}_{part}" for h in heads for part in ("dropout", "logits")]
    layers = {name: network.get_layer(name) for name in names}  # the network's own: they train

    class MultiHeadTrainer(keras.Model):
        def call(self, inputs, training=False):
            seq = bottom.top(inputs["hidden"], inputs["padding_mask"], training=training)
            return _apply_heads(layers, heads, seq, inputs["padding_mask"], training=training)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            total = 0.0
            for head in heads:
                labels = x[f"y_{head.name}"]
                logits = y_pred[head.name]
                valid = ops.cast(ops.greater_equal(labels, 0), "float32")
                safe = ops.maximum(labels, 0)
                loss = keras.losses.sparse_categorical_crossentropy(safe, logits, from_logits=True)
                w = valid * (ops.take(weights[head.name], safe) if head.name in weights else 1.0)
                total = total + ops.sum(loss * w) / ops.maximum(ops.sum(w), 1.0)
            return total

    model = MultiHeadTrainer()
    model.network = network  # tracked: its trainable weights (top blocks, heads) are the model's
    return model


def _batches(
    lengths: np.ndarray, max_length: int, batch: int, r: np.random.Generator | None
) -> list[tuple[int, np.ndarray]]:
    """(width, row indices) per batch: rows grouped by length bucket, shuffled if ``r`` is given."""
    widths = bucket_widths(lengths, max_length)
    out = []
    for width in np.unique(widths):
        rows = np.flatnonzero(widths == width)
        if r is not None:
            rows = r.permutation(rows)
        out += [(int(width), rows[i : i + batch]) for i in range(0, len(rows), batch)]
    if r is not None:
        out = [out[i] for i in r.permutation(len(out))]
    return out


def _dataset(
    arrays: dict[str, np.ndarray],
    lengths: np.ndarray,
    max_length: int,
    batch: int,
    seed: int | None,
):
    """A tf.data pipeline of length-bucketed batches, reshuffled (seeded) at every pass."""
    import tensorflow as tf

    r = rng(seed, "finetune-batches") if seed is not None else None

    def batches():
        for width, rows in _batches(lengths, max_length, batch, r):
            yield {
                k: _pad_rows(v[rows, :width] if v.ndim >= 2 else v[rows], batch, k)
                for k, v in arrays.items()
            }

    signature = {
        k: tf.TensorSpec((None,) * v.ndim, tf.as_dtype(v.dtype)) for k, v in arrays.items()
    }
    n_batches = len(_batches(lengths, max_length, batch, None))
    ds = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2), n_batches


def _pad_rows(a: np.ndarray, batch: int, key: str) -> np.ndarray:
    """Fill a bucket's last batch up to ``batch`` rows, so every batch of a bucket has one shape
    (one trace, one XLA compilation). Filler rows are an empty text ([CLS] [SEP]) whose labels
    (-1) the loss ignores."""
    if len(a) == batch:
        return a
    fill = np.full((batch - len(a), *a.shape[1:]), -1 if key.startswith("y_") else 0, dtype=a.dtype)
    if key == "padding_mask":
        fill[:, :2] = True
    elif key == "hidden":
        fill[:, :2] = a[
            0, :2
        ]  # [CLS] and the first piece/[SEP]: any two real tokens' states will do
    return np.concatenate([a, fill])


def _sample(n: int, cap: int, seed: int, stream: str) -> np.ndarray:
    if n <= cap:
        return np.arange(n)
    return np.sort(rng(seed, stream).choice(n, cap, replace=False))


class FineTunedNetwork:
    """A fine-tuned backbone with named heads; ``predict(texts)`` gives each head's softmax."""

    def __init__(
        self, network, tokenizer, heads: Sequence[Head], max_length: int, info: dict | None = None
    ):
        self.network, self.tokenizer = network, tokenizer
        self.heads = {h.name: h for h in heads}
        self.max_length = int(max_length)
        self.pieces = WordPieces(tokenizer)
        self.info = info or {}
        self.history = pd.DataFrame()
        self.network.jit_compile = False
        self._last = None  # (key of the texts, outputs) of the latest predict

    # ---- inputs ----------------------------------------------------------------------------------

    def pack(self, texts: Sequence[str], word_tags: Sequence[Sequence[int]] | None = None) -> dict:
        return self.pieces.pack([str(t) for t in texts], self.max_length, word_tags)

    # ---- training --------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        backbone,
        tokenizer,
        heads: Sequence[Head],
        texts: Sequence[str],
        targets: Mapping[str, Sequence],
        val_texts: Sequence[str] | None = None,
        val_targets: Mapping[str, Sequence] | None = None,
        config: FinetuneConfig | None = None,
        seed: int = DEFAULT_SEED,
        class_weights: Mapping | None = None,
        verbose: int = 0,
        head_init: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> FineTunedNetwork:
        """Fine-tune a copy of ``backbone`` on ``texts``.

        ``targets[head]`` holds class indices: one per text for a sequence head, one list of
        word tag indices per text for a token head. ``class_weights[head]`` (one weight per
        class) re-weights a head's loss, e.g. balanced weights for rare sentiment classes.

        The recipe, one for every task: each sequence head starts as a linear probe, i.e. the
        (kernel (dim, classes), bias) given in ``head_init[head]`` (e.g. a frozen-encoder
        logistic regression fitted on more texts) or, with ``config.probe_first``, a logistic
        regression fitted here on the frozen network's sentence vectors of the training sample;
        then the top blocks and heads train together, and the epoch kept is the one the
        validation texts prefer (``config.select_on``) with epoch 0, the probe itself, a
        candidate. A random head trained with the encoder at a high learning rate is what
        collapsed on small real data (All_Beauty reviews: macro-F1 0.515 against the probe's
        0.736); started from the probe, fine-tuning can only be kept where validation says it
        helps.
        """
        import keras

        from shopintent.models.text.backbone_parts import FrozenBottom, copy_backbone, freeze_below
        from shopintent.models.training import BestEpoch

        cfg = config or FinetuneConfig()
        heads = list(heads)
        if head_init and not cfg.normalize:
            raise ValueError(
                "head_init holds heads fitted on normalised sentence vectors: it needs "
                "config.normalize=True"
            )
        keras.utils.set_random_seed(seed)
        start = time.perf_counter()
        train_rows = _sample(len(texts), cfg.max_train, seed, "finetune-train")
        copy = copy_backbone(backbone)
        trainable = freeze_below(copy, cfg.trainable_layers)
        bottom = FrozenBottom(copy)
        width = min(cfg.max_length, int(copy.max_sequence_length))
        model = cls(build_network(copy, heads, cfg.dropout, cfg.normalize), tokenizer, heads, width)
        train = model._features(
            bottom,
            [texts[i] for i in train_rows],
            {h: [targets[h][i] for i in train_rows] for h in targets},
        )
        train_lengths = train.pop("_lengths")
        train_ds, n_batches = _dataset(train, train_lengths, width, cfg.batch_size, seed)
        val_ds = val = None
        if val_texts is not None and len(val_texts):
            val_rows = _sample(len(val_texts), cfg.max_validation, seed, "finetune-validation")
            val = model._features(
                bottom,
                [val_texts[i] for i in val_rows],
                {h: [val_targets[h][i] for i in val_rows] for h in val_targets},
            )
            val_lengths = val.pop("_lengths")
            val_ds, _ = _dataset(val, val_lengths, width, cfg.batch_size, None)
        weights = {h: np.asarray(w, dtype=np.float32) for h, w in (class_weights or {}).items()}
        probes = model._init_heads(
            bottom,
            train,
            train_lengths,
            None if val is None else (val, val_lengths),
            dict(head_init or {}),
            weights,
            cfg.probe_first,
            seed,
        )
        trainer = _training_model(model.network, bottom, heads, weights)
        steps = cfg.epochs * n_batches
        warmup = int(cfg.warmup_frac * steps)
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else cfg.learning_rate,
            max(steps - warmup, 1),
            warmup_target=cfg.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
        optimizer = keras.optimizers.AdamW(
            schedule, weight_decay=cfg.weight_decay, global_clipnorm=1.0
        )
        trainer.compile(optimizer=optimizer, jit_compile=cfg.jit_compile)

        if cfg.select_on not in ("macro_f1", "loss"):
            raise ValueError(f"select_on must be 'macro_f1' or 'loss', got {cfg.select_on!r}")
        # one pass over the validation texts per epoch gives both the loss and the macro-F1
        validate = _validation_step(trainer)
        scores = [] if val_ds is None else [_validation_scores(validate, val_ds, heads)]
        initial, f1_0 = scores[0] if scores else (np.nan, np.nan)
        # epoch 0 (the heads as initialised) is a candidate only when every head starts from a
        # probe: a random head's epoch 0 scores no better than the worst possible score (its
        # weights come back only when no epoch scores at all); without validation data the last
        # epoch is kept
        all_probed = all(h.name in probes for h in heads)
        by_f1 = cfg.select_on == "macro_f1"
        worst = -1.0 if by_f1 else np.inf
        keeper = (
            None
            if val_ds is None
            else BestEpoch(
                trainer,
                higher_is_better=by_f1,
                initial=(f1_0 if by_f1 else initial) if all_probed else worst,
                trainable_only=True,
            )
        )

        def score(logs):
            scores.append(_validation_scores(validate, val_ds, heads))
            return scores[-1][1] if by_f1 else scores[-1][0]

        fit = trainer.fit(
            train_ds,
            epochs=cfg.epochs,
            verbose=verbose,
            shuffle=False,
            callbacks=[] if keeper is None else [keeper.keras_callback(score)],
        )
        best_epoch = len(fit.history["loss"]) if keeper is None else keeper.best_epoch
        seconds = time.perf_counter() - start
        scores += [(np.nan, np.nan)] * (cfg.epochs + 1 - len(scores))
        rows = [{"epoch": 0, "loss": np.nan, "val_loss": initial, "val_macro_f1": f1_0}]
        rows += [
            {
                "epoch": e + 1,
                "loss": loss,
                "val_loss": scores[e + 1][0],
                "val_macro_f1": scores[e + 1][1],
            }
            for e, loss in enumerate(fit.history["loss"])
        ]
        for layer in copy.layers:  # inference: nothing left frozen by accident
            layer.trainable = True
        model.history = pd.DataFrame(rows)
        model.info = {
            "config": asdict(cfg),
            "trainable": trainable,
            "best_epoch": best_epoch,
            "probes": probes,
            "n_train": len(train_rows),
            "n_validation": 0 if val_ds is None else len(val_rows),
            "train_seconds": round(seconds, 1),
            "seed": seed,
            "train_examples_per_s": round(cfg.epochs * len(train_rows) / max(seconds, 1e-9), 1),
        }
        return model

    def _sentence_vectors(self, bottom, arrays: dict, lengths: np.ndarray) -> np.ndarray:
        """What the sequence heads read before any training: the pooled (normalised) output of
        the frozen network for cached rows, in inference mode. Compiled: the same layers run
        eagerly took as long as the epoch of training that follows (notebook 17, py-spy)."""
        import tensorflow as tf

        pool = self.network.get_layer(POOLING)

        @tf.function(reduce_retracing=True)
        def pooled(hidden, mask):
            return pool(bottom.top(hidden, mask, training=False), mask)

        out = np.zeros((len(lengths), bottom.hidden_dim), dtype=np.float32)
        for width, rows in _batches(lengths, self.max_length, 128, None):
            mask = arrays["padding_mask"][rows, :width]
            out[rows] = np.asarray(pooled(arrays["hidden"][rows, :width], mask), dtype=np.float32)
        return out

    def _init_heads(
        self, bottom, train, lengths, val, given: dict, weights: dict, probe: bool, seed: int
    ) -> dict[str, dict]:
        """Set each sequence head's weights from ``given`` or (``probe``) a logistic regression
        on the frozen sentence vectors; returns {head: how it was set, C, validation macro-F1}."""
        out = {}
        sequence = [h for h in self.heads.values() if h.kind == "sequence"]
        todo = [h for h in sequence if h.name not in given] if probe else []
        if todo:
            x = self._sentence_vectors(bottom, train, lengths)
            xv = None if val is None else self._sentence_vectors(bottom, val[0], val[1])
        for head in sequence:
            layer = self.network.get_layer(f"{head.name}_logits")
            if head.name in given:
                kernel, bias = (np.asarray(a, dtype=np.float32) for a in given[head.name])
                expected = tuple(w.shape for w in layer.get_weights())
                if (kernel.shape, bias.shape) != expected:
                    raise ValueError(
                        f"head_init[{head.name!r}]: kernel and bias of shapes {expected} "
                        f"expected, got {kernel.shape} and {bias.shape}"
                    )
                out[head.name] = {"init": "given"}
            elif head in todo:
                kernel, bias, c, f1 = linear_probe(
                    x,
                    train[f"y_{head.name}"],
                    None if xv is None else xv,
                    None if val is None else val[0][f"y_{head.name}"],
                    len(head.classes),
                    weights.get(head.name),
                    seed,
                )
                out[head.name] = {"init": "probe", "c": c, "val_macro_f1": f1}
            else:
                continue
            layer.set_weights([kernel, bias])
        return out

    def _arrays(self, texts: list[str], targets: Mapping[str, Sequence]) -> dict[str, np.ndarray]:
        token_heads = [h for h in targets if self.heads[h].kind == "token"]
        if len(token_heads) > 1:
            raise ValueError(f"at most one token head per network, got {token_heads}")
        packed = self.pack(texts, targets[token_heads[0]] if token_heads else None)
        arrays = {
            "token_ids": packed["token_ids"],
            "segment_ids": np.zeros_like(packed["token_ids"]),
            "padding_mask": packed["padding_mask"],
        }
        for name, values in targets.items():
            if self.heads[name].kind == "token":
                arrays[f"y_{name}"] = packed["token_labels"]
            else:
                arrays[f"y_{name}"] = np.asarray(values, dtype=np.int32)
        arrays["_lengths"] = packed["padding_mask"].sum(axis=1)
        return arrays

    def _features(
        self, bottom, texts: list[str], targets: Mapping[str, Sequence]
    ) -> dict[str, np.ndarray]:
        """``_arrays`` with the token ids replaced by the frozen bottom's ``hidden`` states."""
        arrays = self._arrays(texts, targets)
        arrays["hidden"] = bottom.features(arrays.pop("token_ids"), arrays["padding_mask"])
        del arrays["segment_ids"]
        return arrays

    # ---- inference -------------------------------------------------------------------------------

    def predict(self, texts: Sequence[str], batch_tokens: int = 2048) -> dict[str, np.ndarray]:
        """Softmax outputs per head: (n, classes) for sequence heads, (n, width, tags) for a token
        head (plus ``first_piece`` and ``words`` to read it back per word)."""
        texts = [str(t) for t in texts]
        key = hashlib.blake2b("\x00".join(texts).encode("utf-8"), digest_size=16).digest()
        if self._last is not None and self._last[0] == (key, len(texts)):
            return self._last[1]  # the views of one network (intent, category, tags) ask in turn
        packed = self.pack(texts)
        n = len(texts)
        lengths = packed["padding_mask"].sum(axis=1)
        out = {
            name: np.zeros(
                (n, len(h.classes))
                if h.kind == "sequence"
                else (n, self.max_length, len(h.classes)),
                dtype=np.float32,
            )
            for name, h in self.heads.items()
        }
        widths = bucket_widths(lengths, self.max_length) if n else np.zeros(0, dtype=np.int64)
        for width in np.unique(widths):
            rows_all = np.flatnonzero(widths == width)
            # fixed batch shapes (few traces); small inputs get a small power-of-two batch
            per_batch = min(
                max(8, batch_tokens // int(width)),
                max(8, 1 << int(np.ceil(np.log2(len(rows_all))))),
            )
            for i in range(0, len(rows_all), per_batch):
                rows = rows_all[i : i + per_batch]
                ids = np.full(
                    (per_batch, width), self.pieces.pad, dtype=np.int32
                )  # fixed shapes: one trace
                ids[: len(rows)] = packed["token_ids"][rows, :width]
                mask = ids != self.pieces.pad
                logits = self.network.predict_on_batch(
                    {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
                )
                for name, h in self.heads.items():
                    p = _softmax(np.asarray(logits[name], dtype=np.float32)[: len(rows)])
                    if h.kind == "sequence":
                        out[name][rows] = p
                    else:
                        out[name][rows, :width] = p
        out["first_piece"], out["words"] = packed["first_piece"], packed["words"]
        self._last = ((key, len(texts)), out)
        return out

    # ---- files -----------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write ``network.keras``, ``vocab.txt`` and ``network.json`` in ``folder``.

        Each is written via a temp file.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(
            folder / MODEL_FILE, suffix=".keras"
        ) as tmp:  # keras insists on the suffix
            self.network.save(tmp)
        write_text(folder / VOCAB_FILE, "".join(f"{t}\n" for t in self.tokenizer.get_vocabulary()))
        meta = {
            "heads": [asdict(h) for h in self.heads.values()],
            "max_length": self.max_length,
            "lowercase": bool(getattr(self.tokenizer, "lowercase", True)),
            "info": self.info,
            "history": self.history.to_dict("list"),
        }
        write_json(folder / META_FILE, meta, default=_plain)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> FineTunedNetwork:
        import keras
        import keras_hub  # noqa: F401 - registers the backbone's classes for deserialisation

        folder = Path(folder)
        if not (folder / MODEL_FILE).is_file():
            raise FileNotFoundError(f"no fine-tuned network in {folder} ({MODEL_FILE} missing)")
        meta = read_json(folder / META_FILE)
        masked_mean_pooling()  # registers the pooling layer
        network = keras.saving.load_model(folder / MODEL_FILE, compile=False)
        tokenizer = keras_hub.models.BertTokenizer(
            vocabulary=str(folder / VOCAB_FILE), lowercase=meta["lowercase"]
        )
        heads = [Head(h["name"], h["kind"], tuple(h["classes"])) for h in meta["heads"]]
        model = cls(network, tokenizer, heads, meta["max_length"], meta.get("info", {}))
        model.history = pd.DataFrame(meta.get("history", {}))
        return model


#: the probe's regularisation grid: the text classifiers' (``classifiers.C_GRID``)
PROBE_C_GRID = (1.0, 3.0, 10.0, 30.0)


def linear_probe(
    x: np.ndarray,
    y: np.ndarray,
    xv: np.ndarray | None,
    yv: np.ndarray | None,
    n_classes: int,
    class_weight: np.ndarray | None = None,
    seed: int = DEFAULT_SEED,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A multinomial logistic regression (scikit-learn) as a dense head: (kernel (dim, classes),
    bias, C, validation macro-F1). C is chosen on the validation macro-F1 (labels < 0 are
    ignored); a class absent from training gets a zero kernel and a bias of -10."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from threadpoolctl import threadpool_limits

    y = np.asarray(y)
    present = np.unique(y[y >= 0])
    kernel = np.zeros((x.shape[1], n_classes), dtype=np.float32)
    bias = np.full(n_classes, -10.0, dtype=np.float32)
    if len(present) < 2:
        if len(present):
            bias[present] = 0.0
        return kernel, bias, float("nan"), float("nan")
    keep = y >= 0
    sw = None if class_weight is None else np.asarray(class_weight)[y[keep]]
    has_val = xv is not None and yv is not None and (np.asarray(yv) >= 0).any()
    grid = PROBE_C_GRID if has_val else (1.0,)
    best = None
    for c in grid:
        with threadpool_limits(1):  # one BLAS thread: two spin-wait on 2 shared cores
            lr = LogisticRegression(C=c, max_iter=1000, random_state=seed)
            lr.fit(x[keep], y[keep], sample_weight=sw)
        f1 = float("nan")
        if has_val:
            vk = np.asarray(yv) >= 0
            f1 = float(
                f1_score(np.asarray(yv)[vk], lr.predict(xv[vk]), average="macro", zero_division=0)
            )
        if best is None or f1 > best[1]:
            best = (c, f1, lr)
    c, f1, lr = best
    coef, intercept = lr.coef_, lr.intercept_
    if len(present) == 2:  # one row for the second class; as two softmax rows the same model
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0], intercept[0]]) / 2
    kernel[:, present] = coef.T
    bias[present] = intercept
    return kernel, bias, float(c), f1


def _validation_step(trainer):
    """``trainer``'s outputs and loss for one batch in inference mode, compiled once per fit (run
    eagerly, the validation passes cost a third of a small fine-tune's time)."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(batch):
        out = trainer(batch, training=False)
        return out, trainer.compute_loss(x=batch, y_pred=out, training=False)

    return step


def _validation_scores(step, val_ds, heads: Sequence[Head]) -> tuple[float, float]:
    """(the training loss averaged over the validation batches, the mean over heads of the
    macro-F1 on them; labels < 0 ignored: filler rows, pieces after a word's first).
    ``step``: ``_validation_step(trainer)``."""
    from sklearn.metrics import f1_score

    truth, pred = {h.name: [] for h in heads}, {h.name: [] for h in heads}
    losses = []
    for batch in val_ds:
        out, loss = step(batch)
        losses.append(float(loss))
        for h in heads:
            y = np.asarray(batch[f"y_{h.name}"]).ravel()
            p = np.asarray(out[h.name]).argmax(axis=-1).ravel()
            truth[h.name].append(y[y >= 0])
            pred[h.name].append(p[y >= 0])
    scores = [
        f1_score(
            np.concatenate(truth[h]), np.concatenate(pred[h]), average="macro", zero_division=0
        )
        for h in truth
        if sum(map(len, truth[h]))
    ]
    return float(np.mean(losses)), float(np.mean(scores)) if scores else float("nan")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


__all__ = [
    "FineTunedNetwork",
    "FinetuneConfig",
    "Head",
    "build_network",
    "finetune_config",
    "linear_probe",
    "masked_mean_pooling",
]
