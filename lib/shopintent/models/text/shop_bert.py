"""The shop BERT: a small BERT pretrained with masked-LM on the shop's own text.

A WordPiece vocabulary is computed from the training corpus (lower-cased), a keras-hub
``BertBackbone`` sized by profile is trained with ``BertMaskedLM`` on
``BertMaskedLMPreprocessor`` batches (15% of tokens selected; 80% of those become [MASK],
10% a random token, 10% stay), and the result is an encoder behind the common text-encoder
interface (``get_encoder("shopbert", folder=...)``). Held-out texts are masked once, with a
seeded numpy generator under the same 80/10/10 scheme, and scored by masked-token accuracy and
perplexity (exp of the mean masked-token cross-entropy) next to the unigram baseline (always
predict the most frequent training token), on exactly the same masked positions.

Training batches are packed in length buckets (16/32/64 tokens): most texts are short queries,
so this is several times faster than padding everything to the longest description.
TensorFlow and keras-hub are imported inside the functions that need them.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, artefact_dir, get_profile, rng, seed_everything
from shopintent.features.text.encoders import KerasHubBertEncoder, register_saved_encoder
from shopintent.io import atomic_path, read_json, write_json, write_text

SPECIAL_TOKENS = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
MODEL_FILE = "shopbert.keras"
VOCAB_FILE = "vocab.txt"
META_FILE = "shopbert.json"
BUCKETS = (8, 16, 32, 64, 128)


@dataclass(frozen=True)
class ShopBertConfig:
    """Model size and training budget. ``sequence_length`` counts [CLS] and [SEP]; longer texts
    are truncated. A batch holds ``batch_tokens`` token slots (128 queries of 8, or 16
    descriptions of 64), so every step costs about the same; ``steps`` optimiser steps are
    reported in ``chunks`` chunks."""

    vocabulary_size: int
    num_layers: int
    num_heads: int
    hidden_dim: int
    intermediate_dim: int
    sequence_length: int = 64
    batch_tokens: int = 1024
    steps: int = 300
    chunks: int = 10
    learning_rate: float = 1e-3
    warmup_steps: int = 30
    dropout: float = 0.1
    mask_rate: float = 0.15
    unigram_bias: bool = True


CONFIGS: dict[str, ShopBertConfig] = {
    # seconds on 2 cores; 200 steps (was 300) pay for the contrastive stage in the smoke run
    "smoke": ShopBertConfig(2_000, 2, 2, 64, 128, batch_tokens=512, steps=200, learning_rate=2e-3),
    # ~0.3 s a step on 2 idle cores: half a pass over the default shop's corpus in ~1.5 minutes, to
    # keep `make run` under 30 minutes (held-out masked accuracy: 600 steps 0.357 in 167 s,
    # 400 0.262)
    "default": ShopBertConfig(8_000, 4, 4, 256, 512, steps=300, chunks=6, warmup_steps=30),
    "full": ShopBertConfig(
        16_000,
        6,
        8,
        384,
        1536,
        sequence_length=128,
        batch_tokens=4096,
        steps=20_000,
        chunks=40,
        learning_rate=3e-4,
        warmup_steps=1_000,
    ),
}


def shop_bert_config(profile: str = "default", **overrides) -> ShopBertConfig:
    """The profile's configuration, with any field replaced (e.g. ``steps=5`` in tests)."""
    get_profile(profile)
    return replace(CONFIGS[profile], **overrides)


@dataclass
class ShopBertResult:
    """A pretrained shop BERT: the encoder, the training curve (one row per chunk of steps:
    ``step, loss, masked_accuracy, seconds``) and held-out metrics next to the unigram baseline."""

    encoder: KerasHubBertEncoder
    history: pd.DataFrame
    metrics: dict
    vocabulary: list[str]
    config: ShopBertConfig
    masked_lm: object = None

    def save(self, folder: str | Path) -> Path:
        """Write ``shopbert.keras`` (the backbone), ``vocab.txt`` and ``shopbert.json`` (config and
        metrics) into ``folder``, each through a temp file; sets the encoder's ``encoder_id``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # keras insists on the suffix
        with atomic_path(folder / MODEL_FILE, suffix=".keras") as tmp:
            self.encoder.backbone.save(tmp)
        write_text(folder / VOCAB_FILE, "".join(f"{t}\n" for t in self.vocabulary))
        meta = {
            "config": asdict(self.config),
            "metrics": self.metrics,
            "history": self.history.to_dict("list"),
            "max_length": self.encoder.max_length,
        }
        write_json(folder / META_FILE, meta, default=str)
        self.encoder.name_by_file(folder / MODEL_FILE)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> ShopBertResult:
        """The saved shop BERT (no masked-LM head: it is not saved). Its ``encoder.encoder_id`` is
        "shopbert@" + the first 12 hex of the .keras file's SHA-256 + "+len<max_length>"."""
        import keras
        import keras_hub  # noqa: F401 - registers BertBackbone for deserialisation

        folder = Path(folder)
        model_path = folder / MODEL_FILE
        if not model_path.is_file() or not (folder / META_FILE).is_file():
            raise FileNotFoundError(
                f"no shop BERT in {folder} ({MODEL_FILE} or {META_FILE} "
                "missing): pretrain one with shop_bert.pretrain_shop_bert "
                "and save it"
            )
        backbone = keras.saving.load_model(model_path)
        tokenizer = make_tokenizer(str(folder / VOCAB_FILE))
        meta = read_json(folder / META_FILE)
        encoder = KerasHubBertEncoder.trained(
            "shopbert", backbone, tokenizer, max_length=int(meta["max_length"]), path=model_path
        )
        vocabulary = (folder / VOCAB_FILE).read_text(encoding="utf-8").split("\n")[:-1]
        return cls(
            encoder,
            pd.DataFrame(meta["history"]),
            meta["metrics"],
            vocabulary,
            ShopBertConfig(**meta["config"]),
        )


def _texts(corpus) -> list[str]:
    if isinstance(corpus, pd.DataFrame):
        corpus = corpus["text"]
    return [str(t) for t in corpus]


def train_vocabulary(texts: Sequence[str], size: int) -> list[str]:
    """A lower-cased WordPiece vocabulary of at most ``size`` tokens, BERT's special tokens first.

    ``size`` is a cap: the learner (tensorflow-text's, through keras-hub) keeps only pieces seen
    at least 10 times, so a small shop gets fewer (511 on the smoke shop, 1,226 on default).
    """
    import keras_hub
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices(list(texts)).batch(1_000)
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        data, vocabulary_size=size, lowercase=True, reserved_tokens=SPECIAL_TOKENS
    )


def make_tokenizer(vocabulary):
    """BERT's WordPiece tokenizer over our vocabulary (a list or a vocab.txt path), lower-casing."""
    import keras_hub

    return keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)


def token_ids(tokenizer, texts: Sequence[str]) -> list[np.ndarray]:
    """Token ids per text, without special tokens (the tokenizer gives lists or a ragged tensor)."""
    out = tokenizer(list(texts))
    rows = out.to_list() if hasattr(out, "to_list") else out
    return [np.asarray(r, dtype=np.int64) for r in rows]


def _bucket_width(length: int, max_length: int) -> int:
    return min(next((b for b in BUCKETS if b >= length), max_length), max_length)


def _selection_length(width: int, rate: float) -> int:
    """Room for masked positions in a row (the masker truncates beyond it; rare at 1.5x)."""
    return max(2, math.ceil(rate * width * 1.5))


def masked_lm_dataset(
    texts: list[str], tokenizer, config: ShopBertConfig, seed: int, fixed_masks: bool = False
):
    """An endless tf.data stream of ``(inputs, mask_ids, mask_weights)`` masked-LM batches.

    What ``BertMaskedLMPreprocessor`` does (tokenise, pack with [CLS]/[SEP], mask with
    keras-hub's ``MaskedLMMaskGenerator``), but texts are tokenised and packed once into length
    buckets, and one masking function serves all buckets: a preprocessor per bucket would
    re-tokenise every pass and cost a graph trace per bucket. Batches are drawn from the buckets
    in proportion to their number of batches; the masking is drawn afresh each time a text
    comes round (dynamic masking). ``fixed_masks``: each bucket's masked positions are padded
    (or cut) to ``_selection_length`` slots, so a batch's shape depends on its bucket alone and
    Keras traces the training step once per bucket instead of once per masked count (for a
    MiniLM-sized model each trace costs seconds).
    """
    import keras_hub
    import tensorflow as tf

    vocab = tokenizer.get_vocabulary()
    cls, sep, pad, mask = (vocab.index(t) for t in ("[CLS]", "[SEP]", "[PAD]", "[MASK]"))
    ids = token_ids(tokenizer, texts)
    widths = np.array([_bucket_width(len(t) + 2, config.sequence_length) for t in ids])
    masker = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=len(vocab),
        mask_selection_rate=config.mask_rate,
        mask_token_id=mask,
        unselectable_token_ids=[cls, sep, pad],
    )

    def to_example(batch, slots=None):
        # ragged positions: dense per batch, as long as the row with most masks (or ``slots``)
        out = masker(batch)
        shape = None if slots is None else [None, slots]
        x = {
            "token_ids": out["token_ids"],
            "padding_mask": batch != pad,
            "segment_ids": tf.zeros_like(batch),
            "mask_positions": out["mask_positions"].to_tensor(shape=shape),
        }
        return x, out["mask_ids"].to_tensor(shape=shape), out["mask_weights"].to_tensor(shape=shape)

    streams, weights = [], []
    for width in np.unique(widths):
        members = np.flatnonzero(widths == width)
        packed = _pack([ids[i] for i in members], int(width), cls, sep, pad)
        rows = max(1, min(config.batch_tokens // int(width), len(members)))
        stream = (
            tf.data.Dataset.from_tensor_slices(packed)
            .shuffle(len(packed), seed=seed)
            .repeat()
            .batch(rows, drop_remainder=True)
        )
        if fixed_masks:
            slots = _selection_length(int(width), config.mask_rate)
            stream = stream.map(lambda b, s=slots: to_example(b, s))
        streams.append(stream)
        weights.append(len(members) / rows)  # batches per pass: each text comes round equally often
    mixed = tf.data.Dataset.sample_from_datasets(
        streams, weights=list(np.array(weights) / sum(weights)), seed=seed
    )
    if fixed_masks:
        return mixed.prefetch(tf.data.AUTOTUNE)
    return mixed.map(to_example, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def compile_masked_lm(masked_lm, schedule) -> None:
    """AdamW on ``schedule`` with the loss averaged over the masked tokens only (so the curve is
    the masked-token cross-entropy) and masked accuracy; no XLA (~30 s of compiling per bucket
    shape on CPU, more than it saves here). Shared by the shop BERT and MiniLM's adaptation."""
    import keras

    masked_lm.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, global_clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="masked_accuracy")],
        jit_compile=False,
    )


def _pack(token_lists: list[np.ndarray], width: int, cls: int, sep: int, pad: int) -> np.ndarray:
    out = np.full((len(token_lists), width), pad, dtype=np.int32)
    for j, ids in enumerate(token_lists):
        body = ids[: width - 2]
        out[j, : len(body) + 2] = [cls, *body, sep]
    return out


def mask_tokens(
    token_ids: np.ndarray,
    generator: np.random.Generator,
    rate: float,
    vocabulary_size: int,
    special_ids: Sequence[int],
    mask_id: int,
    max_selected: int,
) -> dict[str, np.ndarray]:
    """BERT masking in numpy, reproducible from ``generator``: each non-special token is
    selected with probability ``rate`` (at most ``max_selected`` a row); a selected token
    becomes [MASK] (80%), a random token (10%) or stays (10%). Returns model inputs plus
    ``mask_ids`` (the original tokens) and ``mask_weights`` (1 where a position is real)."""
    n, width = token_ids.shape
    selectable = ~np.isin(token_ids, list(special_ids))
    selected = selectable & (generator.random((n, width)) < rate)
    positions = np.zeros((n, max_selected), dtype=np.int32)
    weights = np.zeros((n, max_selected), dtype=np.float32)
    masked = token_ids.copy()
    for row in range(n):
        cols = np.flatnonzero(selected[row])[:max_selected]
        positions[row, : len(cols)] = cols
        weights[row, : len(cols)] = 1.0
        draw = generator.random(len(cols))
        randoms = generator.integers(0, vocabulary_size, len(cols))
        masked[row, cols] = np.where(
            draw < 0.8, mask_id, np.where(draw < 0.9, randoms, token_ids[row, cols])
        )
    mask_ids = np.take_along_axis(token_ids, positions, axis=1)
    return {
        "token_ids": masked,
        "padding_mask": token_ids != special_ids[2],
        "segment_ids": np.zeros_like(token_ids),
        "mask_positions": positions,
        "mask_ids": mask_ids,
        "mask_weights": weights,
    }


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def evaluate_masked_lm(
    masked_lm,
    tokenizer,
    texts: list[str],
    config: ShopBertConfig,
    unigram_counts: np.ndarray,
    seed: int = DEFAULT_SEED,
    batch_tokens: int = 8192,
) -> dict:
    """Held-out masked-token accuracy and perplexity of the model and of the unigram baseline
    (always the most frequent training token; its perplexity is that of the add-one smoothed
    training unigram distribution), on one seeded masking of ``texts``. ``unigram_counts``:
    training count per vocabulary id. ``masked_lm``: anything with ``predict_on_batch(inputs)
    -> (batch, masks, vocabulary) logits``."""
    vocab = tokenizer.get_vocabulary()
    cls, sep, pad, unk, mask = (
        vocab.index(t) for t in ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")
    )
    ids = token_ids(tokenizer, texts)
    widths = np.array([_bucket_width(len(t) + 2, config.sequence_length) for t in ids])
    generator = rng(seed, "shopbert-heldout-mask")
    # [PAD]/[CLS]/[SEP]/[MASK] are never a target: no mass for them; add-one for all others.
    possible = np.ones(len(vocab), dtype=bool)
    possible[[cls, sep, pad, mask]] = False
    counts = np.where(possible, np.asarray(unigram_counts, dtype=np.float64) + 1.0, 0.0)
    unigram = counts / counts.sum()
    top_token = int(np.argmax(counts))
    hits = nll = base_hits = base_nll = total = 0.0
    for width in np.unique(widths):
        members = np.flatnonzero(widths == width)
        batch_rows = max(8, batch_tokens // int(width))
        for start in range(0, len(members), batch_rows):
            rows = members[start : start + batch_rows]
            # Filler rows (empty texts, nothing masked) keep one shape per bucket: no retracing.
            filler = [np.zeros(0, dtype=np.int64)] * (batch_rows - len(rows))
            packed = _pack([ids[r] for r in rows] + filler, int(width), cls, sep, pad)
            batch = mask_tokens(
                packed,
                generator,
                config.mask_rate,
                len(vocab),
                (cls, sep, pad),
                mask,
                _selection_length(int(width), config.mask_rate),
            )
            inputs = {
                k: batch[k] for k in ("token_ids", "padding_mask", "segment_ids", "mask_positions")
            }
            logp = _log_softmax(np.asarray(masked_lm.predict_on_batch(inputs), dtype=np.float64))
            target, weight = batch["mask_ids"], batch["mask_weights"]
            hits += float(((logp.argmax(-1) == target) * weight).sum())
            nll -= float((np.take_along_axis(logp, target[..., None], -1)[..., 0] * weight).sum())
            base_hits += float(((target == top_token) * weight).sum())
            real = weight > 0  # padded mask slots point at [PAD], which has no unigram mass
            base_nll -= float(np.log(unigram[target[real]]).sum())
            total += float(weight.sum())
    if total == 0:
        raise ValueError("no held-out token was masked: the held-out corpus is empty or too small")
    return {
        "heldout_masked_accuracy": hits / total,
        "heldout_cross_entropy": nll / total,
        "heldout_perplexity": math.exp(nll / total),
        "unigram_masked_accuracy": base_hits / total,
        "unigram_perplexity": math.exp(base_nll / total),
        "unigram_token": vocab[top_token],
        "n_masked_tokens": int(total),
        "n_heldout_texts": len(texts),
    }


def unigram_log_prior(counts: np.ndarray, vocabulary: Sequence[str]) -> np.ndarray:
    """Log of the add-one smoothed training unigram distribution over the word pieces that can
    be a target (special tokens get log 1e-9), centred: the masked-LM head's output bias.

    Started from zero, the bias moves about one learning rate a step under Adam, so a few
    hundred steps at 1e-3 cannot even reach the unigram distribution (log-frequencies span ~10
    nats): the model spends its budget learning word frequencies and stays at the unigram
    plateau (Home Depot: accuracy = unigram's, perplexity worse). Starting at the prior, it
    begins where the unigram baseline is and training only has to learn the context.
    """
    counts = np.asarray(counts, dtype=np.float64) + 1.0
    never = [t for t in SPECIAL_TOKENS if t != "[UNK]"]  # [UNK] can be a target
    special = np.isin(np.asarray(vocabulary, dtype=object), never)
    logp = np.log(counts / counts[~special].sum())
    logp[special] = np.log(1e-9)
    return (logp - logp[~special].mean()).astype(np.float32)


def _chunk_logger(history: list[dict], steps_per_chunk: int, start: float):
    import keras

    class ChunkLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            history.append(
                {
                    "step": (epoch + 1) * steps_per_chunk,
                    "loss": float(logs.get("loss", np.nan)),
                    "masked_accuracy": float(logs.get("masked_accuracy", np.nan)),
                    "seconds": time.perf_counter() - start,
                }
            )

    return ChunkLog()


def pretrain_shop_bert(
    corpus_train,
    corpus_heldout,
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    config: ShopBertConfig | None = None,
    verbose: int = 0,
) -> ShopBertResult:
    """Compute the vocabulary, pretrain a shop BERT with masked-LM on ``corpus_train`` (a
    DataFrame with ``text`` or a list of texts) and score it on ``corpus_heldout``."""
    import keras
    import keras_hub

    config = config or shop_bert_config(profile)
    train_texts, heldout_texts = _texts(corpus_train), _texts(corpus_heldout)
    if not train_texts:
        raise ValueError("the training corpus is empty: nothing to pretrain the shop BERT on")
    seed_everything(seed)
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    vocabulary = train_vocabulary(train_texts, config.vocabulary_size)
    tokenizer = make_tokenizer(vocabulary)
    vocab_seconds = time.perf_counter() - start

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        max_sequence_length=config.sequence_length,
    )
    masked_lm = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    train_ids = np.concatenate([*token_ids(tokenizer, train_texts), np.zeros(0, dtype=np.int64)])
    counts = np.bincount(train_ids, minlength=len(vocabulary))
    if config.unigram_bias:
        masked_lm.masked_lm_head._bias.assign(unigram_log_prior(counts, vocabulary))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=max(1, config.steps - config.warmup_steps),
        alpha=0.05,
        warmup_target=config.learning_rate,
        warmup_steps=min(config.warmup_steps, config.steps),
    )
    compile_masked_lm(masked_lm, schedule)

    chunks = max(1, min(config.chunks, config.steps))
    steps_per_chunk = max(1, config.steps // chunks)
    history: list[dict] = []
    fit_start = time.perf_counter()
    with warnings.catch_warnings():
        # The pooler (the [CLS] dense layer) gets no gradient from masked-LM: expected.
        warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
        masked_lm.fit(
            masked_lm_dataset(train_texts, tokenizer, config, seed),
            epochs=chunks,
            steps_per_epoch=steps_per_chunk,
            verbose=verbose,
            callbacks=[_chunk_logger(history, steps_per_chunk, fit_start)],
        )
    train_seconds = time.perf_counter() - fit_start
    steps_done = chunks * steps_per_chunk

    metrics = evaluate_masked_lm(masked_lm, tokenizer, heldout_texts, config, counts, seed=seed)
    metrics.update(
        {
            "vocabulary_size": len(vocabulary),
            "n_train_texts": len(train_texts),
            "steps": steps_done,
            "batch_tokens": config.batch_tokens,
            "train_corpus_tokens": int(len(train_ids)),
            # token slots the optimiser saw / word pieces in the corpus: passes over the corpus
            "corpus_passes": steps_done * config.batch_tokens / max(1, len(train_ids)),
            "vocabulary_seconds": vocab_seconds,
            "train_seconds": train_seconds,
            "parameters": int(backbone.count_params()),
        }
    )
    encoder = KerasHubBertEncoder.trained(
        "shopbert", backbone, tokenizer, max_length=config.sequence_length
    )
    return ShopBertResult(
        encoder,
        pd.DataFrame(history, columns=["step", "loss", "masked_accuracy", "seconds"]),
        metrics,
        vocabulary,
        config,
        masked_lm,
    )


def shop_bert_dir(dataset: str, profile: str) -> Path:
    """Where a dataset's shop BERT is kept: ``models/<dataset>-<profile>/shopbert/``."""
    return artefact_dir(dataset, profile, "shopbert")


register_saved_encoder("shopbert", lambda folder: ShopBertResult.load(folder).encoder)
