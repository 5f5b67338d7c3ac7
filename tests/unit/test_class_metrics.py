"""Vectorised macro-F1 and ROC-AUC equal scikit-learn's, per replicate; the intervals behave."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from shopintent.evaluation import class_metrics as cm


def test_macro_f1_matches_scikit_learn_row_by_row():
    r = np.random.default_rng(0)
    y, pred = r.integers(0, 4, (20, 50)), r.integers(0, 4, (20, 50))
    pred[3] = 0  # a row that never predicts classes 1-3
    got = cm.macro_f1_codes(y, pred, 4)
    want = [f1_score(a, b, labels=[0, 1, 2, 3], average="macro", zero_division=0) for a, b in zip(y, pred, strict=True)]
    np.testing.assert_allclose(got, want)


def test_roc_auc_matches_scikit_learn_with_ties():
    r = np.random.default_rng(1)
    y = r.random((10, 40)) < 0.3
    s = np.round(r.random((10, 40)), 1)  # many ties
    np.testing.assert_allclose(cm.roc_auc(y, s), [roc_auc_score(a, b) for a, b in zip(y, s, strict=True)])
    assert np.isnan(cm.roc_auc(np.zeros(5, bool), np.arange(5.0)))


def test_intervals_and_the_paired_difference():
    labels = ["a", "b", "c"]
    r = np.random.default_rng(2)
    y = r.choice(labels, 300)
    good = np.where(r.random(300) < 0.9, y, r.choice(labels, 300))
    bad = np.where(r.random(300) < 0.5, y, r.choice(labels, 300))
    ci = cm.macro_f1_ci(y, good, labels, n_boot=300)
    assert ci.point == pytest.approx(f1_score(y, good, average="macro")) and ci.low < ci.point < ci.high
    d = cm.paired_difference(y, good, bad, labels, n_boot=300)
    assert d.point == pytest.approx(f1_score(y, good, average="macro") - f1_score(y, bad, average="macro"))
    assert d.low > 0  # clearly better
    assert cm.paired_difference(y, good, good, labels, n_boot=50) == (0.0, 0.0, 0.0)
    assert cm.encode(labels, ["b", "z"]).tolist() == [1, -1]
    auc = cm.roc_auc_ci(y == "a", (good == "a") + r.random(300) * 0.1, n_boot=200)
    assert 0.5 < auc.low <= auc.point <= auc.high <= 1
