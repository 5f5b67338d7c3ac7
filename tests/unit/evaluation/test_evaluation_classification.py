"""Classification metrics: the report agrees with scikit-learn, calibration error separates a
calibrated predictor from a miscalibrated one, entity spans count exact matches only; the metrics
vectorised over bootstrap replicates equal scikit-learn's per replicate."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, log_loss, roc_auc_score

from shopintent.evaluation import (
    binary_report,
    entity_prf,
    expected_calibration_error,
    multiclass_report,
    reliability_table,
    roc_auc,
)
from shopintent.evaluation import classification as cl


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
    overconfident = (r.random(50_000) < p**2).astype(int)
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
    true = [[(0, 4, "brand"), (5, 8, "model")], [], [{"start": 2, "end": 6, "label": "attribute"}]]
    pred = [
        [(0, 4, "brand"), (5, 9, "model")],  # the model span ends one late: wrong
        [{"start": 0, "end": 3, "label": "category"}],
        [(2, 6, "brand")],
    ]  # right span, wrong label: wrong
    res = entity_prf(true, pred)
    # 1 correct of 4 predicted and 3 true: P 1/4, R 1/3, F1 = 2PR / (P + R) = 2/7
    assert (res["n_correct"], res["n_pred"], res["n_true"]) == (1, 4, 3)
    assert res["precision"] == pytest.approx(0.25)
    assert res["recall"] == pytest.approx(1 / 3)
    assert res["f1"] == pytest.approx(2 / 7)
    assert res["per_label"]["brand"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "n_correct": 1, "n_true": 1, "n_pred": 2}
    )
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


def test_roc_auc_by_hand_with_ties_and_weights():
    # pairs (positive, negative): 0.5 > 0.2, 0.5 = 0.5 (one half), 0.9 > both: 3.5 / 4
    y, s = np.array([0, 1, 0, 1]), np.array([0.2, 0.5, 0.5, 0.9])
    assert roc_auc(y, s) == 0.875
    assert roc_auc(y, s, np.ones(4)) == pytest.approx([0.875])
    # weight 2 on the tied positive: (2 x 1 + 2 x 0.5 + 1 + 1) / (3 x 2)
    w = np.array([1.0, 2.0, 1.0, 1.0])
    assert roc_auc(y, s, w) == pytest.approx([5 / 6])
    rows = np.array([0, 1, 1, 2, 3])  # the same weights as a resample that drew row 1 twice
    assert roc_auc(y[rows], s[rows]) == pytest.approx(5 / 6)
    assert np.isnan(roc_auc(np.zeros(5, bool), np.arange(5.0)))
    assert np.isnan(roc_auc(np.zeros(5), np.arange(5.0), np.ones(5))).all()


def test_roc_auc_matches_scikit_learn_per_replicate_with_ties():
    r = np.random.default_rng(1)
    y = r.random((10, 40)) < 0.3
    s = np.round(r.random((10, 40)), 1)  # many ties
    want = [roc_auc_score(a, b) for a, b in zip(y, s, strict=True)]
    np.testing.assert_allclose(roc_auc(y, s), want)
    # resampling counts over one shared sort: the same as scoring each resample's rows
    y1 = (r.random(60) < 0.3).astype(float)
    s1 = np.round(r.random(60), 1)
    idx = r.integers(0, 60, (8, 60))
    counts = np.array([np.bincount(i, minlength=60) for i in idx])
    want = [roc_auc_score(y1, s1, sample_weight=c) for c in counts]
    np.testing.assert_allclose(roc_auc(y1, s1, counts), want)
    np.testing.assert_allclose(roc_auc(y1[idx], s1[idx]), want)
    p32 = s1.astype(np.float32)  # scores of a Keras model: only their order counts
    assert roc_auc(y1, p32, np.ones(60))[0] == pytest.approx(roc_auc_score(y1, s1))


def test_macro_f1_matches_scikit_learn_row_by_row():
    r = np.random.default_rng(0)
    y, pred = r.integers(0, 4, (20, 50)), r.integers(0, 4, (20, 50))
    pred[3] = 0  # a row that never predicts classes 1-3
    got = cl.macro_f1_codes(y, pred, 4)
    want = [
        f1_score(a, b, labels=[0, 1, 2, 3], average="macro", zero_division=0)
        for a, b in zip(y, pred, strict=True)
    ]
    np.testing.assert_allclose(got, want)


def test_intervals_and_the_paired_difference():
    labels = ["a", "b", "c"]
    r = np.random.default_rng(2)
    y = r.choice(labels, 300)
    good = np.where(r.random(300) < 0.9, y, r.choice(labels, 300))
    bad = np.where(r.random(300) < 0.5, y, r.choice(labels, 300))
    ci = cl.macro_f1_ci(y, good, labels, n_boot=300)
    f1_good, f1_bad = f1_score(y, good, average="macro"), f1_score(y, bad, average="macro")
    assert ci.point == pytest.approx(f1_good) and ci.low < ci.point < ci.high
    d = cl.macro_f1_difference(y, good, bad, labels, n_boot=300)
    assert d.point == pytest.approx(f1_good - f1_bad)
    # the numbers of class_metrics.paired_difference before the paired bootstrap was shared
    before = (0.25631933076009306, 0.19884471442448337, 0.3247865337885341)
    assert tuple(d) == pytest.approx(before, rel=1e-12)
    assert d.low > 0  # clearly better
    assert cl.macro_f1_difference(y, good, good, labels, n_boot=50) == (0.0, 0.0, 0.0)
    assert cl.encode(labels, ["b", "z"]).tolist() == [1, -1]
    auc = cl.roc_auc_ci(y == "a", (good == "a") + r.random(300) * 0.1, n_boot=200)
    before = (0.9215038215244784, 0.8762506568849691, 0.9606954192661914)
    assert tuple(auc) == pytest.approx(before, rel=1e-12)
