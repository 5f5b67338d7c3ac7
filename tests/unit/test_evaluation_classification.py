"""Classification metrics: the report agrees with scikit-learn, calibration error separates a
calibrated predictor from a miscalibrated one, entity spans count exact matches only."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

from shopintent.evaluation import (
    binary_report,
    entity_prf,
    expected_calibration_error,
    multiclass_report,
    reliability_table,
)


def test_binary_report_matches_scikit_learn():
    r = np.random.default_rng(0)
    y = r.integers(0, 2, 500)
    p = np.clip(0.3 * y + 0.7 * r.random(500), 0, 1)
    rep = binary_report(y, p, threshold=0.6)
    assert rep["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert rep["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert rep["log_loss"] == pytest.approx(log_loss(y, p))
    pred = p >= 0.6
    tp = int((pred & (y == 1)).sum())
    assert rep["precision"] == pytest.approx(tp / pred.sum())
    assert rep["recall"] == pytest.approx(tp / (y == 1).sum())
    assert rep["f1"] == pytest.approx(2 * tp / (pred.sum() + (y == 1).sum()))
    assert rep["accuracy"] == pytest.approx((pred == (y == 1)).mean())
    assert (rep["n"], rep["threshold"]) == (500, 0.6)


def test_binary_report_on_one_class_and_bad_input():
    rep = binary_report([1, 1, 1], [0.2, 0.9, 0.7])
    assert np.isnan(rep["roc_auc"]) and np.isnan(rep["pr_auc"])
    assert rep["recall"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="0/1 labels"):
        binary_report([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="probabilities"):
        binary_report([0, 1], [0.1, 1.2])


def test_ece_by_hand():
    # bin [0.1, 0.2): p 0.15, 0.15 with outcomes 0, 1 -> |0.5 - 0.15| = 0.35, half the samples
    # bin [0.8, 0.9): p 0.85, 0.85 with outcomes 1, 1 -> |1 - 0.85| = 0.15, half the samples
    y = [0, 1, 1, 1]
    p = [0.15, 0.15, 0.85, 0.85]
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.35 + 0.5 * 0.15)
    table = reliability_table(y, p)
    assert len(table) == 10 and table["count"].sum() == 4
    row = table.loc[1]
    assert (row["count"], row["mean_predicted"], row["fraction_positive"]) == (2, 0.15, 0.5)
    assert np.isnan(table.loc[5, "gap"])  # an empty bin
    # p = 1.0 falls in the last (closed) bin
    assert reliability_table([1], [1.0])["count"].iloc[-1] == 1


def test_ece_small_when_calibrated_large_when_not():
    r = np.random.default_rng(1)
    p = r.random(50_000)
    calibrated = (r.random(50_000) < p).astype(int)
    assert expected_calibration_error(calibrated, p) < 0.01
    # the truth is p^2, so predicting p overshoots by p - p^2: about 1/6 on average
    overconfident = (r.random(50_000) < p ** 2).astype(int)
    assert expected_calibration_error(overconfident, p) == pytest.approx(1 / 6, abs=0.01)


def test_ece_top_label_for_class_probabilities():
    # 3 classes; top-class confidence 0.95 and right 3 of 4 times: |0.75 - 0.95| = 0.2
    probs = np.array([[0.95, 0.03, 0.02]] * 4)
    y = [0, 0, 0, 2]
    assert expected_calibration_error(y, probs) == pytest.approx(0.2)


def test_multiclass_report_by_hand():
    y = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "a"]
    # a: tp 1, predicted 2, true 2 -> F1 1/2;  b: tp 1, predicted 2, true 1 -> P 1/2, R 1, F1 2/3
    # c: never predicted -> 0;  macro = (1/2 + 2/3 + 0) / 3
    rep = multiclass_report(y, pred)
    assert rep["accuracy"] == pytest.approx(0.5)
    assert rep["per_class_f1"] == pytest.approx({"a": 0.5, "b": 2 / 3, "c": 0.0})
    assert rep["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 3)
    assert rep["weighted_f1"] == pytest.approx((2 * 0.5 + 2 / 3) / 4)
    assert multiclass_report(y, pred, labels=["a", "b", "c", "d"])["per_class_f1"]["d"] == 0.0


def test_entity_prf_by_hand():
    true = [[(0, 4, "brand"), (5, 8, "model")],
            [],
            [{"start": 2, "end": 6, "label": "attribute"}]]
    pred = [[(0, 4, "brand"), (5, 9, "model")],  # the model span ends one late: wrong
            [{"start": 0, "end": 3, "label": "category"}],
            [(2, 6, "brand")]]  # right span, wrong label: wrong
    res = entity_prf(true, pred)
    # 1 correct of 4 predicted and 3 true: P 1/4, R 1/3, F1 = 2PR / (P + R) = 2/7
    assert (res["n_correct"], res["n_pred"], res["n_true"]) == (1, 4, 3)
    assert res["precision"] == pytest.approx(0.25)
    assert res["recall"] == pytest.approx(1 / 3)
    assert res["f1"] == pytest.approx(2 / 7)
    assert res["per_label"]["brand"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "n_correct": 1, "n_true": 1, "n_pred": 2})
    assert res["per_label"]["attribute"]["recall"] == 0.0
    assert res["per_label"]["category"]["precision"] == 0.0  # no true spans: ratios are 0
    only_brand = entity_prf(true, pred, labels=["brand"])
    assert (only_brand["precision"], only_brand["recall"]) == (0.5, 1.0)
    assert set(only_brand["per_label"]) == {"brand"}


def test_entity_prf_perfect_duplicates_and_mismatch():
    spans = [[(0, 3, "brand"), (0, 3, "brand")], [(4, 9, "model")], None]
    res = entity_prf(spans, spans)
    assert (res["f1"], res["n_true"]) == (1.0, 2)  # a repeated span counts once
    with pytest.raises(ValueError, match="one list of spans per example"):
        entity_prf(spans, spans[:2])
