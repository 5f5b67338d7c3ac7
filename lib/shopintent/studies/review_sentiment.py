"""Notebook 04's steps beyond ``models.understanding.sentiment``: its settings by profile, the
leak check of the split, the model chosen on validation, the same models on a plain random split
(to show how repeated texts inflate it) and the recorded ``sentiment/...`` metrics.

The headline split is ``text-grouped-stratified`` (every normalised text in one part), and
``check_split`` (``evaluation.leakage.check_text_split``) is what guarantees it: it raises
``TextSplitLeak`` when a validation or test review's text is in an earlier part. The plain
random split's numbers are recorded under ``sentiment/random_split/...``, for comparison only.

Predicting with every model, labels and the paired macro-F1 difference are the same calls as
notebook 03's (``studies.query_understanding``), re-exported here so the notebook reads one study.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from shopintent.config import DEFAULT_SEED
from shopintent.evaluation.leakage import check_text_split, duplicate_texts, text_leaks
from shopintent.models.understanding import sentiment
from shopintent.studies.query_understanding import labels_of, paired_difference, predict_all
from shopintent.studies.settings import StudySettings

#: the comparison table's columns recorded per model
RECORDED = (
    "macro_f1",
    "macro_f1_low",
    "macro_f1_high",
    "roc_auc_negative",
    "roc_auc_negative_low",
    "roc_auc_negative_high",
    "accuracy",
    "ece",
    "f1_negative",
    "f1_neutral",
    "f1_positive",
)


@dataclass(frozen=True)
class Settings(StudySettings):
    """``review_length``: word pieces a review is cut to (the frozen MiniLM's and the
    fine-tune's); ``review_sizes``: at most (train, validation, test) reviews."""

    review_length: int
    review_sizes: tuple[int, int, int]

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        p: {"review_length": sentiment.REVIEW_LENGTH[p], "review_sizes": sentiment.REVIEW_SIZES[p]}
        for p in ("smoke", "default", "full")
    }


def best_on_validation(models: dict, val: pd.DataFrame) -> tuple[str, dict[str, float]]:
    """(the model with the best validation macro-F1, majority aside; every model's score)."""
    validation = {
        name: sentiment.sentiment_report(val["label"], *p)["macro_f1"]
        for name, p in predict_all(models, val["text"]).items()
    }
    return max((m for m in validation if m != "majority"), key=validation.get), validation


def check_split(split) -> str:
    """Raise ``TextSplitLeak`` if a validation or test review's normalised text is in an earlier
    part of ``split``; else the line saying so."""
    parts = {name: part["text"] for name, part in split.parts().items()}
    check_text_split(**parts)
    return (
        f"{split.protocol}: no validation or test review has its text in an earlier part "
        f"({', '.join(f'{k} {len(v):,}' for k, v in parts.items())} reviews)"
    )


def leaked_share(split) -> float:
    """Share of the test reviews whose normalised text is in train or validation."""
    earlier = pd.concat([split.train["text"], split.val["text"]], ignore_index=True)
    leaks = text_leaks(earlier=earlier, test=split.test["text"])
    return leaks[0].n_rows / len(split.test) if leaks and len(split.test) else 0.0


def random_split_comparison(
    table: pd.DataFrame,
    comparison: pd.DataFrame,
    encoder,
    settings: Settings,
    profile: str,
    seed: int = DEFAULT_SEED,
    n_boot: int = 1000,
    log=print,
    **finetune,
) -> tuple[pd.DataFrame, float]:
    """The models fitted and scored on a plain ``random-stratified`` split of the same size
    (texts not grouped): (macro-F1 per model on the grouped and the random split, and the share
    of the random split's test reviews whose text it trained or validated on).

    The fine-tuned MiniLM is left out: a second fine-tune would double the notebook's time, and
    what repeated texts add to a score already shows in the three models that learn from the
    text (TF-IDF most of all, as it memorises exact wordings)."""
    leaky = sentiment.split_reviews(
        table, profile, protocol="random-stratified", seed=seed, sizes=settings.review_sizes
    )
    models = sentiment.fit_sentiment_models(
        leaky, encoder, profile, seed, log=log, finetuned=False, **finetune
    )
    random = sentiment.comparison_table(
        leaky.test["label"], predict_all(models, leaky.test["text"]), n_boot=n_boot, seed=seed
    )
    both = pd.DataFrame(
        {
            "grouped_macro_f1": comparison["macro_f1"].reindex(random.index),
            "random_macro_f1": random["macro_f1"],
            "random_macro_f1_low": random["macro_f1_low"],
            "random_macro_f1_high": random["macro_f1_high"],
        }
    )
    both["inflation"] = both["random_macro_f1"] - both["grouped_macro_f1"]
    return both, leaked_share(leaky)


def metrics_dict(
    comparison: pd.DataFrame,
    difference,
    best: str,
    split,
    models: dict,
    duplicates: dict | None = None,
    random_split: pd.DataFrame | None = None,
    random_leaked: float | None = None,
) -> dict[str, float]:
    """``sentiment/<model>/<column>`` of the comparison (the headline, grouped split), the best
    model's paired difference to TF-IDF, the data's sizes; with ``duplicates``
    (``duplicate_texts`` of all reviews) ``sentiment/data/distinct_texts``,
    ``.../repeated_text_reviews`` and ``.../test_text_in_train`` (the headline split's leaked
    share: 0 when ``check_split`` passed); with ``random_split`` (``random_split_comparison``)
    ``sentiment/random_split/<model>/macro_f1`` (+ ``_low``/``_high``) and
    ``sentiment/random_split/test_text_in_train`` (the leaked share)."""
    test = split.test
    metrics = {
        f"sentiment/{model}/{col}": float(row[col])
        for model, row in comparison.iterrows()
        for col in RECORDED
        if col in row
    }
    metrics.update(
        {
            "sentiment/best/minus_tfidf_lr": difference.point,
            "sentiment/best/minus_tfidf_lr_low": difference.low,
            "sentiment/best/minus_tfidf_lr_high": difference.high,
            "sentiment/best/is_finetuned": int(best == "minilm_finetuned"),
            "sentiment/data/test_reviews": len(test),
            "sentiment/data/train_reviews": len(split.train),
            "sentiment/data/test_negative": int((test["label"] == "negative").sum()),
            "sentiment/minilm_finetuned/train_seconds": models["minilm_finetuned"].network.info[
                "train_seconds"
            ],
            # 0: validation kept the head as it started, the frozen MiniLM + LR
            "sentiment/minilm_finetuned/best_epoch": models["minilm_finetuned"].network.info[
                "best_epoch"
            ],
        }
    )
    if duplicates is not None:
        metrics.update(
            {
                "sentiment/data/reviews": duplicates["rows"],
                "sentiment/data/distinct_texts": duplicates["distinct"],
                "sentiment/data/repeated_text_reviews": duplicates["repeated_rows"],
                "sentiment/data/test_text_in_train": leaked_share(split),
            }
        )
    if random_split is not None:
        for model, row in random_split.iterrows():
            for col in ("macro_f1", "macro_f1_low", "macro_f1_high"):
                metrics[f"sentiment/random_split/{model}/{col}"] = float(row[f"random_{col}"])
    if random_leaked is not None:
        metrics["sentiment/random_split/test_text_in_train"] = float(random_leaked)
    return metrics


__all__ = [
    "RECORDED",
    "Settings",
    "best_on_validation",
    "check_split",
    "duplicate_texts",
    "leaked_share",
    "random_split_comparison",
    "labels_of",
    "metrics_dict",
    "paired_difference",
    "predict_all",
]
