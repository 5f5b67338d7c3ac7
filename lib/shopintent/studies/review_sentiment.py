"""Notebook 04's steps beyond ``models.understanding.sentiment``: its settings by profile, the
model chosen on validation, and the recorded ``sentiment/...`` metrics.

Predicting with every model, labels and the paired macro-F1 difference are the same calls as
notebook 03's (``studies.query_understanding``), re-exported here so the notebook reads one study.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

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


def metrics_dict(
    comparison: pd.DataFrame, difference, best: str, split, models: dict
) -> dict[str, float]:
    """``sentiment/<model>/<column>`` of the comparison, the best model's paired difference to
    TF-IDF, and the data's sizes."""
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
        }
    )
    return metrics


__all__ = [
    "RECORDED",
    "Settings",
    "best_on_validation",
    "labels_of",
    "metrics_dict",
    "paired_difference",
    "predict_all",
]
