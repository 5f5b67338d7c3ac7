"""Notebook 04's study: the model chosen on validation and the recorded sentiment keys."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from shopintent.evaluation.bootstrap import Interval
from shopintent.studies import review_sentiment as study


class Fixed:
    """A classifier that always gives the same probabilities (negative, neutral, positive)."""

    classes_ = np.array(["negative", "neutral", "positive"])

    def __init__(self, p):
        self.p = np.asarray(p, dtype=float)

    def predict_proba(self, texts):
        return np.tile(self.p, (len(list(texts)), 1))


def test_best_on_validation_leaves_the_majority_out():
    val = pd.DataFrame(
        {"text": ["a", "b", "c", "d"], "label": ["positive", "positive", "positive", "negative"]}
    )
    models = {
        "majority": Fixed([0.05, 0.05, 0.9]),
        "always_negative": Fixed([0.8, 0.1, 0.1]),
        "always_neutral": Fixed([0.1, 0.8, 0.1]),
    }
    best, validation = study.best_on_validation(models, val)
    assert validation["majority"] > validation["always_negative"] > validation["always_neutral"]
    assert best == "always_negative"  # the majority class never counts as the best model


def test_metrics_dict_keys_and_values():
    comparison = pd.DataFrame(
        {"macro_f1": [0.5, 0.7], "accuracy": [0.6, 0.8], "extra": [1, 2]},
        index=["tfidf_lr", "minilm_finetuned"],
    )
    test = pd.DataFrame({"label": ["negative", "positive", "negative"]})
    split = SimpleNamespace(test=test, train=pd.DataFrame({"label": ["x"] * 5}))
    models = {
        "minilm_finetuned": SimpleNamespace(network=SimpleNamespace(info={"train_seconds": 9.5}))
    }
    m = study.metrics_dict(comparison, Interval(0.2, 0.1, 0.3), "minilm_finetuned", split, models)
    assert (
        m["sentiment/minilm_finetuned/macro_f1"] == 0.7 and m["sentiment/tfidf_lr/accuracy"] == 0.6
    )
    assert "sentiment/tfidf_lr/extra" not in m  # only the recorded columns
    assert (
        m["sentiment/best/minus_tfidf_lr"],
        m["sentiment/best/minus_tfidf_lr_low"],
        m["sentiment/best/minus_tfidf_lr_high"],
    ) == pytest.approx((0.2, 0.1, 0.3))
    assert m["sentiment/best/is_finetuned"] == 1 and m["sentiment/data/test_negative"] == 2
    assert (m["sentiment/data/test_reviews"], m["sentiment/data/train_reviews"]) == (3, 5)
    assert m["sentiment/minilm_finetuned/train_seconds"] == 9.5
