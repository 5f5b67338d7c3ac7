"""Fine-tune MiniLM as a dual (bi-)encoder for product search, with in-batch negatives.

One shared BERT backbone embeds queries and item texts (mean pooling over real tokens, L2
normalised, exactly as at inference). For a batch of B (query, relevant item) pairs the
similarity matrix ``S = q @ d.T / temperature`` (B x B) is a softmax classification: query i
must pick item i among the batch's items (and, with ``symmetric``, item i its query i).
Off-diagonal cells that are in fact positives (the same query or the same item twice in one
batch) are masked out, so a duplicate is never pushed away from itself.

Parameter-efficient: only the top ``trainable_layers`` transformer blocks are trained (and the
embeddings' LayerNorm when ``train_embeddings_norm``); token, position and segment embeddings
and the lower blocks stay frozen (for MiniLM by default: blocks 4 and 5 of 0-5 train, about
3.5M of 22.7M weights), and their output for each query and item text is computed once before
training (``backbone_parts.FrozenBottom``). The backbone is copied first, so the pretrained
encoder passed in is left untouched. The best epoch is chosen by the in-batch loss on
*validation* pairs, counting the untrained model as epoch 0 (if no epoch beats it, the
pretrained weights are kept).

Sized by profile: the default trains 2 epochs over a seeded sample of <= 3,000 pairs, batch 64,
items cut at 32 word pieces and queries at 16 (92 steps). Measured on 2 idle CPU cores
(synthetic shop): 40-41 s, 68 s before the frozen bottom was cached; XLA no longer pays for its
compile at this size (44 s). TensorFlow and keras-hub are imported inside functions.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, artefact_dir, get_profile, rng
from shopintent.features.text.encoders import KerasHubBertEncoder, register_saved_encoder
from shopintent.io import atomic_path, read_json, write_json, write_text
from shopintent.models.text.backbone_parts import (
    FrozenBottom,
    copy_backbone,
    freeze_below,
    pack_texts,
)
from shopintent.models.training import BestEpoch

NAME = "minilm_finetuned"
MODEL_FILE, VOCAB_FILE, META_FILE = f"{NAME}.keras", "vocab.txt", f"{NAME}.json"


@dataclass(frozen=True)
class DualEncoderConfig:
    """Training settings; ``max_pairs`` caps the training pairs (a seeded sample)."""

    max_length: int = 32  # item texts (titles: median ~16 word pieces)
    query_length: int = 16  # queries are short: half the width halves their cost
    trainable_layers: int = 2
    train_embeddings_norm: bool = False
    batch_size: int = 64
    epochs: int = 2
    max_pairs: int = 3_000
    max_validation_pairs: int = 512
    learning_rate: float = 1e-4
    warmup_frac: float = 0.1
    weight_decay: float = 0.01
    temperature: float = 0.05
    symmetric: bool = True
    jit_compile: bool = False  # XLA: 44 s vs 40 s eager for the default's 92 steps (2 idle cores)


PROFILES = {
    "smoke": DualEncoderConfig(epochs=1, max_pairs=256, max_validation_pairs=64, batch_size=32),
    "default": DualEncoderConfig(),
    "full": DualEncoderConfig(
        epochs=3, max_pairs=50_000, max_validation_pairs=4_096, trainable_layers=3
    ),
}


def dual_encoder_config(profile: str = "default", **overrides) -> DualEncoderConfig:
    get_profile(profile)
    return replace(PROFILES[profile], **overrides)


@dataclass
class DualEncoderResult:
    """The fine-tuned encoder (name ``minilm_finetuned``), its per-epoch losses (epoch 0 = before
    training), the chosen epoch, what was trained, and how long it took."""

    encoder: KerasHubBertEncoder
    config: DualEncoderConfig
    history: pd.DataFrame
    best_epoch: int
    trainable: list[str]
    n_pairs: int
    n_validation_pairs: int | None  # None once loaded: the count is not saved
    train_seconds: float

    def save(self, folder: str | Path) -> Path:
        """Write ``minilm_finetuned.keras`` (the backbone), ``vocab.txt`` and
        ``minilm_finetuned.json`` (config, history, tokenizer settings) into ``folder``, each
        through a temp file; the encoder's ``encoder_id`` becomes the saved file's id, the one
        ``load`` gives."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        enc = self.encoder
        # keras insists on the suffix
        with atomic_path(folder / MODEL_FILE, suffix=".keras") as tmp:
            enc.backbone.save(tmp)
        enc.name_by_file(folder / MODEL_FILE)
        write_text(folder / VOCAB_FILE, "".join(f"{t}\n" for t in enc.tokenizer.get_vocabulary()))
        meta = {
            "config": asdict(self.config),
            "history": self.history.to_dict("list"),
            "best_epoch": self.best_epoch,
            "trainable": self.trainable,
            "n_pairs": self.n_pairs,
            "train_seconds": self.train_seconds,
            "max_length": enc.max_length,
            "lowercase": bool(getattr(enc.tokenizer, "lowercase", True)),
        }
        write_json(folder / META_FILE, meta, default=str)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> DualEncoderResult:
        """The saved fine-tune; its encoder is "minilm_finetuned", ``encoder_id`` from the file."""
        import keras
        import keras_hub

        folder = Path(folder)
        if not (folder / MODEL_FILE).is_file():
            raise FileNotFoundError(
                f"no fine-tuned MiniLM in {folder} ({MODEL_FILE} missing): "
                "train one with dual_encoder.finetune_dual_encoder and save it"
            )
        meta = read_json(folder / META_FILE)
        backbone = keras.saving.load_model(folder / MODEL_FILE)
        tokenizer = keras_hub.models.BertTokenizer(
            vocabulary=str(folder / VOCAB_FILE), lowercase=meta["lowercase"]
        )
        encoder = KerasHubBertEncoder.trained(
            NAME, backbone, tokenizer, max_length=int(meta["max_length"]), path=folder / MODEL_FILE
        )
        return cls(
            encoder,
            DualEncoderConfig(**meta["config"]),
            pd.DataFrame(meta["history"]),
            meta["best_epoch"],
            meta["trainable"],
            meta["n_pairs"],
            None,
            meta["train_seconds"],
        )


def _arrays(
    encoder, bottom: FrozenBottom, pairs: pd.DataFrame, width: int, query_width: int
) -> dict[str, np.ndarray]:
    """Queries' and items' hidden states at the frozen bottom's cut, masks and duplicate keys."""
    q_ids, q_mask = pack_texts(encoder, pairs["query"].astype(str).tolist(), query_width)
    d_ids, d_mask = pack_texts(encoder, pairs["item_text"].astype(str).tolist(), width)
    item_key = pairs["item_id"] if "item_id" in pairs.columns else pairs["item_text"]
    return {
        "q_hidden": bottom.features(q_ids, q_mask),
        "q_mask": q_mask,
        "d_hidden": bottom.features(d_ids, d_mask),
        "d_mask": d_mask,
        "q_key": pd.factorize(pairs["query"].astype(str).str.lower().str.split().str.join(" "))[
            0
        ].astype(np.int32),
        "d_key": pd.factorize(item_key.astype(str))[0].astype(np.int32),
    }


def _sample(pairs: pd.DataFrame, n: int, seed: int, stream: str) -> pd.DataFrame:
    missing = {"query", "item_text"} - set(pairs.columns)
    if missing:
        raise KeyError(
            f"pairs need columns query and item_text (missing: {', '.join(sorted(missing))})"
        )
    if len(pairs) <= n:
        return pairs.reset_index(drop=True)
    keep = np.sort(rng(seed, stream).choice(len(pairs), n, replace=False))
    return pairs.iloc[keep].reset_index(drop=True)


def _contrastive_model(backbone, bottom: FrozenBottom, temperature: float, symmetric: bool):
    """Trains ``backbone``'s top blocks on the cached hidden states of its frozen ``bottom``."""
    import keras
    from keras import ops

    def embed(hidden, mask, training):
        seq = bottom.top(hidden, mask, training=training)
        m = ops.cast(ops.expand_dims(mask, -1), seq.dtype)
        pooled = ops.sum(seq * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1e-9)
        return ops.normalize(pooled, axis=-1, order=2)

    class ContrastiveDualEncoder(keras.Model):
        """Scores a batch of pairs against each other; the loss is computed from the logits."""

        def call(self, inputs, training=False):
            q = embed(inputs["q_hidden"], inputs["q_mask"], training)
            d = embed(inputs["d_hidden"], inputs["d_mask"], training)
            return ops.matmul(q, ops.transpose(d)) / temperature

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            n = ops.shape(y_pred)[0]
            eye = ops.eye(n, dtype="bool")
            same = ops.logical_or(
                ops.equal(ops.expand_dims(x["q_key"], 1), ops.expand_dims(x["q_key"], 0)),
                ops.equal(ops.expand_dims(x["d_key"], 1), ops.expand_dims(x["d_key"], 0)),
            )
            logits = ops.where(ops.logical_and(same, ops.logical_not(eye)), -1e9, y_pred)
            labels = ops.arange(n)
            loss = ops.mean(
                keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            )
            if symmetric:
                back = keras.losses.sparse_categorical_crossentropy(
                    labels, ops.transpose(logits), from_logits=True
                )
                loss = 0.5 * (loss + ops.mean(back))
            return loss

    model = ContrastiveDualEncoder()
    model.backbone = backbone  # tracked: its trainable weights are the model's
    return model


def _dataset(arrays: dict[str, np.ndarray], batch: int, shuffle_seed: int | None):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle_seed is not None:
        ds = ds.shuffle(len(arrays["q_mask"]), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch, drop_remainder=True).prefetch(2)


def finetune_dual_encoder(
    base: KerasHubBertEncoder,
    train_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame | None = None,
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    verbose: int = 0,
    **overrides,
) -> DualEncoderResult:
    """Fine-tune a copy of ``base``'s backbone on (``query``, ``item_text``) pairs (``item_id``,
    when present, identifies duplicate items in a batch) and return it as an encoder.

    ``validation_pairs`` (from validation queries, never test) choose the epoch; without them
    the last epoch is kept. ``overrides`` change ``dual_encoder_config(profile)`` fields.
    """
    import keras

    cfg = dual_encoder_config(profile, **overrides)
    keras.utils.set_random_seed(seed)
    train = _sample(train_pairs, cfg.max_pairs, seed, "dual-encoder-train")
    val = (
        None
        if validation_pairs is None or len(validation_pairs) == 0
        else _sample(validation_pairs, cfg.max_validation_pairs, seed, "dual-encoder-validation")
    )
    batch = min(cfg.batch_size, len(train))
    if batch < 2:
        raise ValueError(f"need at least 2 training pairs for in-batch negatives, got {len(train)}")
    backbone = copy_backbone(base.backbone)
    trainable = freeze_below(backbone, cfg.trainable_layers, cfg.train_embeddings_norm)
    bottom = FrozenBottom(backbone)
    model = _contrastive_model(backbone, bottom, cfg.temperature, cfg.symmetric)
    width = min(cfg.max_length, int(base.backbone.max_sequence_length))
    query_width = min(cfg.query_length, width)
    start = time.perf_counter()
    train_ds = _dataset(_arrays(base, bottom, train, width, query_width), batch, seed)
    val_batch = min(batch, len(val)) if val is not None else 0
    val_ds = (
        _dataset(_arrays(base, bottom, val, width, query_width), val_batch, None)
        if val_batch >= 2
        else None
    )
    steps = cfg.epochs * (len(train) // batch)
    warmup = int(cfg.warmup_frac * steps)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else cfg.learning_rate,
        max(steps - warmup, 1),
        warmup_target=cfg.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            schedule, weight_decay=cfg.weight_decay, global_clipnorm=1.0
        ),
        jit_compile=cfg.jit_compile,
    )

    initial = model.evaluate(val_ds, verbose=0) if val_ds is not None else np.nan
    # the untrained model is epoch 0; without validation data the last epoch is kept
    keeper = (
        None
        if val_ds is None
        else BestEpoch(model, higher_is_better=False, initial=initial, trainable_only=True)
    )
    fit = model.fit(
        train_ds,
        epochs=cfg.epochs,
        verbose=verbose,
        validation_data=val_ds,
        shuffle=False,
        callbacks=[] if keeper is None else [keeper.keras_callback("val_loss")],
    )
    best_epoch = len(fit.history["loss"]) if keeper is None else keeper.best_epoch
    rows = [{"epoch": 0, "loss": np.nan, "val_loss": initial}]
    rows += [
        {
            "epoch": e + 1,
            "loss": loss,
            "val_loss": fit.history.get("val_loss", [np.nan] * cfg.epochs)[e],
        }
        for e, loss in enumerate(fit.history["loss"])
    ]
    seconds = time.perf_counter() - start

    for layer in backbone.layers:  # inference copy: nothing trainable left switched on by accident
        layer.trainable = True
    # inference keeps the base encoder's length: longer titles were rare in training, not unseen
    # by the backbone
    encoder = KerasHubBertEncoder.trained(
        NAME, backbone, base.tokenizer, max_length=base.max_length
    )
    return DualEncoderResult(
        encoder,
        cfg,
        pd.DataFrame(rows),
        best_epoch,
        trainable,
        len(train),
        0 if val is None else len(val),
        seconds,
    )


def finetuned_dir(dataset: str, profile: str) -> Path:
    """A dataset's fine-tuned MiniLM folder: ``models/<dataset>-<profile>/minilm_finetuned/``."""
    return artefact_dir(dataset, profile, NAME)


register_saved_encoder(NAME, lambda folder: DualEncoderResult.load(folder).encoder)

__all__ = [
    "DualEncoderConfig",
    "DualEncoderResult",
    "dual_encoder_config",
    "finetune_dual_encoder",
    "finetuned_dir",
]
