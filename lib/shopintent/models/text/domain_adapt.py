"""Domain-adaptive pretraining (DAPT) of MiniLM: continued masked-LM on the shop's own text.

Gururangan et al. (2020, "Don't Stop Pretraining") continue a pretrained encoder's masked-LM
on the target domain's unlabelled text before the task fine-tune. Here a copy of the offline
all-MiniLM-L6-v2 backbone keeps learning to fill masked word pieces of the shop's titles,
descriptions, past queries and reviews (the training corpus of notebook 02: never a validation
or test query), with MiniLM's own WordPiece vocabulary, so the adapted backbone drops into the
same dual-encoder fine-tune (``dual_encoder.finetune_dual_encoder``) as the plain one.

all-MiniLM-L6-v2 ships without a masked-LM head: keras-hub's ``BertMaskedLM`` adds one (a
dense + LayerNorm transform, the output tied to the token embeddings, a bias). Its transform
is new, so the backbone is first held still while the head learns (``head_steps``); its bias
starts at the shop's unigram log-prior (``shop_bert.unigram_log_prior``: from zero, Adam needs
thousands of steps to reach the word frequencies). Then the top ``trainable_layers`` blocks
train with the head at a small learning rate: a sentence encoder's geometry is what the
fine-tune starts from, and a large step of masked-LM would trade it for word filling. The
masked-LM batches and the held-out scoring are the shop BERT's (``shop_bert``).

The blocks adapted are the ones the dual-encoder fine-tune then trains (``trainable_layers``
matches ``dual_encoder.PROFILES`` per profile): blocks adapted below those stay frozen through
the fine-tune with their masked-LM drift. Measured with ``benchmarks/bench_domain_adaptation.py``
(notebook 02's protocol, default profile, seed 42), adapted-then-fine-tuned minus fine-tuned,
Recall@10: all six blocks adapted, Home Depot -0.020 [-0.034, -0.006] and the synthetic shop
-0.003 [-0.014, +0.007]; the top two, -0.008 [-0.016, -0.000] and -0.001 [-0.006, +0.004].
Neither gains: see notebook 02.
TensorFlow and keras-hub are imported inside the functions.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, get_profile, seed_everything
from shopintent.features.text.encoders import KerasHubBertEncoder
from shopintent.models.text.backbone_parts import copy_backbone, freeze_below

NAME = "minilm_adapted"


@dataclass(frozen=True)
class AdaptConfig:
    """The adaptation's budget. ``steps`` optimiser steps of ``batch_tokens`` token slots, of
    which the first ``head_steps`` train the new masked-LM head alone; ``trainable_layers``:
    transformer blocks trained (from the top; token embeddings stay, they are also the
    head's output layer). ``sequence_length`` counts [CLS] and [SEP]."""

    steps: int = 120
    head_steps: int = 40
    trainable_layers: int = 2  # the dual encoder's: see the module docstring
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    batch_tokens: int = 512
    sequence_length: int = 32
    mask_rate: float = 0.15
    warmup_steps: int = 15


PROFILES = {
    # seconds: one length bucket (16 word pieces), a handful of steps, to run the code path
    "smoke": AdaptConfig(
        steps=4, head_steps=2, batch_tokens=256, sequence_length=16, warmup_steps=1
    ),
    "default": AdaptConfig(),
    "full": AdaptConfig(
        steps=2_000, head_steps=200, batch_tokens=4_096, warmup_steps=100, trainable_layers=3
    ),
}


def adapt_config(profile: str = "default", **overrides) -> AdaptConfig:
    get_profile(profile)
    return replace(PROFILES[profile], **overrides)


@dataclass
class AdaptResult:
    """The adapted encoder (``minilm_adapted``), held-out masked-LM metrics of MiniLM before
    (with the head trained alone: what MiniLM's own weights know) and after adaptation, next
    to the unigram baseline, and the budget (steps, passes over the corpus, seconds)."""

    encoder: KerasHubBertEncoder
    config: AdaptConfig
    metrics: dict
    history: pd.DataFrame


def _texts(corpus) -> list[str]:
    if isinstance(corpus, pd.DataFrame):
        corpus = corpus["text"]
    return [str(t) for t in corpus]


def _fit(masked_lm, data, steps: int, learning_rate: float, warmup: int, label: str, log):
    import keras

    if steps <= 0:
        return
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=max(1, steps - min(warmup, steps)),
        alpha=0.1,
        warmup_target=learning_rate,
        warmup_steps=min(warmup, steps),
    )
    from shopintent.models.text.shop_bert import compile_masked_lm

    compile_masked_lm(masked_lm, schedule)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
        fit = masked_lm.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    log.append(
        {
            "stage": label,
            "steps": steps,
            "loss": float(fit.history["loss"][-1]),
            "masked_accuracy": float(fit.history["masked_accuracy"][-1]),
            "seconds": time.perf_counter() - start,
        }
    )


def _score(masked_lm, tokenizer, texts, cfg, counts, seed) -> dict:
    """Held-out masked-LM metrics (``shop_bert.evaluate_masked_lm``) in small batches: MiniLM's
    30,522-piece output makes a batch's logits rows x masks x 30,522 floats."""
    from shopintent.models.text import shop_bert

    return shop_bert.evaluate_masked_lm(
        masked_lm, tokenizer, texts, cfg, counts, seed=seed, batch_tokens=512
    )


def adapt_minilm(
    base: KerasHubBertEncoder,
    corpus_train,
    corpus_heldout,
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    **overrides,
) -> AdaptResult:
    """Continue masked-LM of a copy of ``base``'s backbone on ``corpus_train`` (a DataFrame with
    ``text`` or a list of texts) and score it on ``corpus_heldout``; ``base`` is left as it is.
    ``overrides`` change ``adapt_config(profile)`` fields."""
    import keras
    import keras_hub

    from shopintent.models.text import shop_bert

    cfg = adapt_config(profile, **overrides)
    train_texts, heldout_texts = _texts(corpus_train), _texts(corpus_heldout)
    if not train_texts:
        raise ValueError("the training corpus is empty: nothing to adapt MiniLM to")
    seed_everything(seed)
    keras.utils.set_random_seed(seed)
    tokenizer = base.tokenizer
    vocabulary = tokenizer.get_vocabulary()
    backbone = copy_backbone(base.backbone)
    masked_lm = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    ids = shop_bert.token_ids(tokenizer, train_texts)
    counts = np.bincount(np.concatenate([*ids, np.zeros(0, np.int64)]), minlength=len(vocabulary))
    masked_lm.masked_lm_head._bias.assign(shop_bert.unigram_log_prior(counts, vocabulary))
    data = shop_bert.masked_lm_dataset(train_texts, tokenizer, cfg, seed, fixed_masks=True)
    log: list[dict] = []
    start = time.perf_counter()

    backbone.trainable = False  # stage 1: the new head learns to read MiniLM as it is
    _fit(masked_lm, data, cfg.head_steps, cfg.head_learning_rate, cfg.warmup_steps, "head", log)
    t0 = time.perf_counter()
    before = _score(masked_lm, tokenizer, heldout_texts, cfg, counts, seed)
    eval_seconds = time.perf_counter() - t0
    trainable = freeze_below(backbone, min(cfg.trainable_layers, int(backbone.num_layers)))
    _fit(
        masked_lm,
        data,
        cfg.steps - cfg.head_steps,
        cfg.learning_rate,
        cfg.warmup_steps,
        "backbone",
        log,
    )
    seconds = time.perf_counter() - start
    t0 = time.perf_counter()
    after = _score(masked_lm, tokenizer, heldout_texts, cfg, counts, seed)
    eval_seconds += time.perf_counter() - t0
    for layer in backbone.layers:  # an inference copy: every layer as loaded
        layer.trainable = True
    backbone.trainable = True
    n_tokens = int(counts.sum())
    metrics = {
        "heldout_masked_accuracy": after["heldout_masked_accuracy"],
        "heldout_perplexity": after["heldout_perplexity"],
        "before_masked_accuracy": before["heldout_masked_accuracy"],
        "before_perplexity": before["heldout_perplexity"],
        "unigram_masked_accuracy": after["unigram_masked_accuracy"],
        "unigram_perplexity": after["unigram_perplexity"],
        "n_masked_tokens": after["n_masked_tokens"],
        "steps": cfg.steps,
        "trainable": trainable,
        "train_corpus_tokens": n_tokens,
        "corpus_passes": cfg.steps * cfg.batch_tokens / max(1, n_tokens),
        "train_seconds": seconds - eval_seconds,
        "eval_seconds": eval_seconds,
    }
    encoder = KerasHubBertEncoder(NAME, backbone, tokenizer, max_length=base.max_length)
    digest = hashlib.sha256(
        b"".join(np.ascontiguousarray(w).tobytes() for w in backbone.get_weights())
    )
    encoder.encoder_id = f"{NAME}@w{digest.hexdigest()[:11]}+len{encoder.max_length}"
    return AdaptResult(encoder, cfg, metrics, pd.DataFrame(log))


__all__ = ["AdaptConfig", "AdaptResult", "adapt_config", "adapt_minilm"]
