"""Intent routing: which workflow (intent) a shopper's message goes to, and how many labelled
examples per intent a shop needs before a model is worth having.

The models are ``text_classifier``'s, fitted as review sentiment fits them (C and the
fine-tuning epoch chosen on validation, never on test): ``majority``, ``tfidf_lr`` (word and
character n-grams into logistic regression), ``minilm_lr`` (frozen MiniLM vectors into the same
regression) and ``minilm_finetuned`` (MiniLM with a classification head, ``text.finetune``).
``per_intent_sample`` draws the learning curve's seeded subsamples: a new shop has a handful of
examples per intent, not hundreds.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED

MODELS = ("majority", "tfidf_lr", "minilm_lr", "minilm_finetuned")


def per_intent_sample(
    table: pd.DataFrame, n: int | None, seed: int = DEFAULT_SEED, col: str = "intent"
) -> pd.DataFrame:
    """At most ``n`` rows per label, drawn at random (seeded; ``None``: every row). Nested: the
    rows drawn for a smaller ``n`` are among those for a larger one (one shuffle per label), so
    a learning curve adds examples rather than swapping them."""
    if n is None:
        return table
    if n < 1:
        raise ValueError(f"per_intent_sample: n must be at least 1, got {n}")
    r = np.random.default_rng(seed)
    order = pd.Series(r.permutation(len(table)), index=table.index)
    rank = order.groupby(table[col]).rank(method="first")
    return table[rank.le(n).to_numpy()]


def fit_routers(
    train: pd.DataFrame,
    val: pd.DataFrame,
    encoder,
    finetune_config=None,
    seed: int = DEFAULT_SEED,
    models: tuple[str, ...] = MODELS,
    log=print,
) -> dict:
    """The ``models`` fitted on ``train`` (``text``, ``intent``), C and epochs chosen on ``val``.
    ``encoder`` is the frozen MiniLM (its backbone is copied before fine-tuning)."""
    from shopintent.models.text.classifiers import (
        EncoderLogisticRegression,
        FineTunedClassifier,
        MajorityClassifier,
        TfidfLogisticRegression,
    )

    unknown = set(models) - set(MODELS)
    if unknown:
        raise ValueError(f"unknown routing model(s) {sorted(unknown)}; known: {', '.join(MODELS)}")
    makers = {
        "majority": MajorityClassifier,
        "tfidf_lr": lambda: TfidfLogisticRegression(seed=seed),
        "minilm_lr": lambda: EncoderLogisticRegression(encoder=encoder, seed=seed),
    }
    out = {}
    for name in models:
        start = time.perf_counter()
        if name == "minilm_finetuned":
            out[name] = FineTunedClassifier.fit(
                encoder.backbone,
                encoder.tokenizer,
                train["text"].tolist(),
                train["intent"],
                val["text"].tolist(),
                val["intent"],
                config=finetune_config,
                seed=seed,
                head="intent",
            )
        else:
            out[name] = makers[name]().fit(
                train["text"], train["intent"], val["text"], val["intent"]
            )
        log(f"{name}: {time.perf_counter() - start:.1f} s on {len(train):,} messages")
    return out


def routing_scores(
    y, predictions: dict[str, np.ndarray], labels, n_boot: int = 1000, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """One row per model: accuracy and macro-F1 over ``labels``, each with its 95% bootstrap
    interval over the test messages. ``predictions``: model -> predicted labels."""
    from shopintent.evaluation.bootstrap import bootstrap_mean_ci
    from shopintent.evaluation.classification import macro_f1_ci

    y = np.asarray(y).astype(str)
    rows = []
    for name, pred in predictions.items():
        pred = np.asarray(pred).astype(str)
        acc = bootstrap_mean_ci((pred == y).astype(float), n_boot=n_boot, seed=seed)
        f1 = macro_f1_ci(y, pred, list(labels), n_boot=n_boot, seed=seed)
        rows.append(
            {
                "model": name,
                "accuracy": acc.point,
                "accuracy_low": acc.low,
                "accuracy_high": acc.high,
                "macro_f1": f1.point,
                "macro_f1_low": f1.low,
                "macro_f1_high": f1.high,
            }
        )
    return pd.DataFrame(rows).set_index("model")


__all__ = ["MODELS", "fit_routers", "per_intent_sample", "routing_scores"]
