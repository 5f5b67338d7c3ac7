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
        "minilm_finetuned": SimpleNamespace(
            network=SimpleNamespace(info={"train_seconds": 9.5, "best_epoch": 1})
        )
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
    assert m["sentiment/minilm_finetuned/best_epoch"] == 1


def _split(train, val, test):
    parts = {
        name: pd.DataFrame({"text": texts, "label": "positive"})
        for name, texts in (("train", train), ("val", val), ("test", test))
    }
    return SimpleNamespace(protocol="text-grouped-stratified", parts=lambda: parts, **parts)


def test_check_split_is_what_guarantees_no_test_text_in_train_or_validation():
    from shopintent.evaluation.leakage import TextSplitLeak

    line = study.check_split(_split(["a", "b"], ["c"], ["d", "e"]))
    assert line.startswith("text-grouped-stratified: no validation or test review")
    with pytest.raises(TextSplitLeak, match="1 of 2 test rows have their text in val"):
        study.check_split(_split(["a", "b"], ["c"], ["d", " C"]))
    assert study.leaked_share(_split(["a", "b"], ["c"], ["A", "c", "d", "e"])) == 0.5


def test_metrics_dict_records_duplicates_and_the_random_split_apart():
    comparison = pd.DataFrame({"macro_f1": [0.5]}, index=["tfidf_lr"])
    split = _split(["a"], ["b"], ["c", "a"])
    models = {
        "minilm_finetuned": SimpleNamespace(
            network=SimpleNamespace(info={"train_seconds": 1, "best_epoch": 0})
        )
    }
    random = pd.DataFrame(
        {"random_macro_f1": [0.9], "random_macro_f1_low": [0.8], "random_macro_f1_high": [0.95]},
        index=["tfidf_lr"],
    )
    m = study.metrics_dict(
        comparison,
        Interval(0.0, 0.0, 0.0),
        "tfidf_lr",
        split,
        models,
        {"rows": 10, "distinct": 4, "repeated_rows": 8},
        random,
        0.75,
    )
    assert m["sentiment/tfidf_lr/macro_f1"] == 0.5  # the headline: the grouped split
    assert m["sentiment/random_split/tfidf_lr/macro_f1"] == 0.9
    assert m["sentiment/random_split/tfidf_lr/macro_f1_low"] == 0.8
    assert m["sentiment/random_split/test_text_in_train"] == 0.75
    assert (m["sentiment/data/distinct_texts"], m["sentiment/data/repeated_text_reviews"]) == (4, 8)
    assert m["sentiment/data/test_text_in_train"] == 0.5


def test_the_grouped_split_of_the_real_amazon_sample_keeps_each_text_on_one_side(shared_data):
    """Notebook 04's split on the real sample (one reviewer's text repeated across sibling
    products): no test or validation text is in training, as the notebook's leak check demands;
    the notebook itself runs on this sample in the slow tier."""
    from shopintent.data.sources import amazon_reviews
    from shopintent.models.understanding import sentiment

    shop = amazon_reviews.load(shared_data / "amazon-reviews-2018-all-beauty-5core")
    table = sentiment.review_table(shop)
    duplicates = study.duplicate_texts(table["text"])
    assert (len(table), duplicates["distinct"]) == (4219, 1363)
    settings = study.Settings.for_profile("smoke")
    split = sentiment.split_reviews(
        table, "smoke", protocol="text-grouped-stratified", seed=42, sizes=settings.review_sizes
    )
    assert len(split.test) == 300
    assert study.check_split(split).startswith("text-grouped-stratified: no validation or test")
    assert study.leaked_share(split) == 0.0
