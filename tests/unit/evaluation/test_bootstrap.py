"""Bootstrap intervals: contain the point, repeat with the seed, narrow with data, keep groups
whole; the paired difference of two models draws as each of its five former copies did."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from shopintent.config import rng
from shopintent.evaluation import bootstrap_ci, bootstrap_mean_ci, paired_bootstrap_diff
from shopintent.evaluation.bootstrap import resample_counts, resample_indices
from shopintent.evaluation.classification import encode, macro_f1_codes, roc_auc


def _normal(n, seed=0):
    return np.random.default_rng(seed).normal(0.3, 1.0, n)


def test_mean_interval_contains_the_point_and_has_the_textbook_width():
    v = _normal(400)
    point, low, high = bootstrap_mean_ci(v, n_boot=2000, seed=1)
    assert point == pytest.approx(v.mean())
    assert low < point < high
    # 95% half-width of a mean: 1.96 x sd / sqrt(n) = 1.96 x 1 / 20 ~ 0.098
    assert (high - low) / 2 == pytest.approx(1.96 * v.std() / 20, rel=0.1)


def test_seeded():
    v = _normal(300)
    assert bootstrap_mean_ci(v, seed=5) == bootstrap_mean_ci(v, seed=5)
    assert bootstrap_mean_ci(v, seed=5) != bootstrap_mean_ci(v, seed=6)
    fn = lambda a: float(np.median(a))  # noqa: E731
    assert bootstrap_ci(fn, v, n_boot=200, seed=5) == bootstrap_ci(fn, v, n_boot=200, seed=5)


def test_narrows_with_more_data():
    small = bootstrap_mean_ci(_normal(100), n_boot=500, seed=0)
    large = bootstrap_mean_ci(_normal(10_000), n_boot=500, seed=0)
    assert (large.high - large.low) < (small.high - small.low) / 5  # ~ sqrt(100) narrower


def test_nan_values_are_left_out():
    v = np.r_[_normal(200), [np.nan] * 50]
    point, low, high = bootstrap_mean_ci(v, seed=0)
    assert point == pytest.approx(np.nanmean(v)) and low < point < high


def test_vectorised_metric_equals_the_mean_helper():
    v = _normal(500)
    vec = bootstrap_ci(lambda a: a.mean(axis=-1), v, vectorized=True, seed=3)
    assert vec == pytest.approx(tuple(bootstrap_mean_ci(v, seed=3)))


def test_singleton_groups_equal_row_resampling():
    v = _normal(300)
    assert bootstrap_mean_ci(v, groups=np.arange(300), seed=2) == pytest.approx(
        tuple(bootstrap_mean_ci(v, seed=2))
    )


def test_group_resampling_keeps_groups_whole():
    sizes = np.array([1, 2, 3, 4, 5, 6])
    groups = np.repeat(np.arange(6), sizes)
    row_id = np.arange(len(groups))
    seen = []

    def check(g, rows):
        # each group drawn c times brings every one of its rows exactly c times
        for label in range(6):
            copies = np.bincount(rows[g == label], minlength=len(groups))[groups == label]
            assert (copies == copies[0]).all()
        seen.append(len(np.unique(g)))
        return float(len(rows))

    point, low, high = bootstrap_ci(check, groups, row_id, groups=groups, n_boot=100, seed=0)
    assert point == 21 and low < high  # sample sizes vary with which groups were drawn
    assert min(seen) < 6  # some groups were left out of some resamples

    # a mean over groups of very different sizes and means: the ratio estimator
    values = np.where(groups >= 4, 1.0, 0.0)
    m = bootstrap_mean_ci(values, groups=groups, n_boot=500, seed=0)
    assert m.point == pytest.approx(11 / 21) and 0 <= m.low < m.point < m.high <= 1


def test_auc_interval_with_undefined_resamples_warns():
    r = np.random.default_rng(0)
    y = r.integers(0, 2, 300)
    p = 0.4 * y + 0.6 * r.random(300)
    point, low, high = bootstrap_ci(roc_auc_score, y, p, n_boot=200, seed=0)
    assert point == pytest.approx(roc_auc_score(y, p)) and low < point < high

    def auc_or_nan(y, p):
        return roc_auc_score(y, p) if len(np.unique(y)) == 2 else float("nan")

    with pytest.warns(RuntimeWarning, match="undefined on"):
        bootstrap_ci(auc_or_nan, np.array([0, 1, 1]), np.array([0.1, 0.8, 0.7]), n_boot=200, seed=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        bootstrap_ci(np.mean, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_mean_ci(np.ones(3), alpha=1.5)


def test_resamples_do_not_depend_on_the_block_size():
    """Intervals recorded before the blocks were shared stay the same (numpy draws one by one)."""
    whole = np.concatenate([i for _, i in resample_indices(rng(1, "bootstrap"), 7, 50, 7 * 50)])
    for cells in (7, 7 * 3, 7 * 49):
        blocks = list(resample_indices(rng(1, "bootstrap"), 7, 50, cells))
        assert [lo for lo, _ in blocks] == list(range(0, 50, max(1, cells // 7)))
        np.testing.assert_array_equal(np.concatenate([i for _, i in blocks]), whole)
    counts = np.concatenate([w for _, w in resample_counts(rng(1, "bootstrap"), 7, 50, 21)])
    np.testing.assert_array_equal(counts, [np.bincount(row, minlength=7) for row in whole])


def test_paired_mean_difference_by_hand_and_as_before():
    a, b = np.array([3.0, 1.0, np.nan, 2.0]), np.array([1.0, 1.0, 5.0, 1.0])
    # one replicate drawing every unit once: mean of (2, 0, 1), the NaN difference dropped
    point, low, high = paired_bootstrap_diff(a, b, n_boot=400, seed=0)
    assert point == pytest.approx(1.0) and 0 <= low < 1 < high <= 2
    r = np.random.default_rng(42)
    va, vb = r.random(150), r.random(150)
    # the search, KG and two-tower differences were bootstrap_mean_ci(a - b): same numbers
    same = bootstrap_mean_ci(va - vb, n_boot=200, seed=3)
    assert paired_bootstrap_diff(va, vb, n_boot=200, seed=3) == same
    assert tuple(paired_bootstrap_diff(va, vb, n_boot=200, seed=3)) == pytest.approx(
        (-0.0031125749062505263, -0.0712831288851503, 0.06018583488710817), rel=1e-12
    )
    groups = np.repeat(np.arange(50), 3)
    assert paired_bootstrap_diff(va, vb, groups=groups, n_boot=200, seed=3) == bootstrap_mean_ci(
        va - vb, groups=groups, n_boot=200, seed=3
    )


def test_paired_metric_difference_rows_and_counts_draw_the_same_resamples():
    """A metric on resampled rows and the same metric on resampling counts see the same replicates,
    and each equals scoring both models on the resample by hand."""
    r = np.random.default_rng(7)
    y = (r.random(120) < 0.4).astype(float)
    pa, pb = np.round(0.5 * y + 0.5 * r.random(120), 2), np.round(r.random(120), 2)
    rows = paired_bootstrap_diff(pa, pb, roc_auc, truth=y, n_boot=300, seed=5)
    counts = paired_bootstrap_diff(pa, pb, roc_auc, truth=y, weighted=True, n_boot=300, seed=5)
    assert rows == pytest.approx(tuple(counts), rel=1e-12)
    assert rows.point == pytest.approx(roc_auc_score(y, pa) - roc_auc_score(y, pb))
    idx = rng(5, "bootstrap").integers(0, 120, (300, 120))
    by_hand = [roc_auc_score(y[i], pa[i]) - roc_auc_score(y[i], pb[i]) for i in idx]
    assert (rows.low, rows.high) == pytest.approx(tuple(np.quantile(by_hand, [0.025, 0.975])))
    assert paired_bootstrap_diff(pa, pa, roc_auc, truth=y, n_boot=50) == (0.0, 0.0, 0.0)


def test_paired_metric_difference_matches_the_former_copies():
    """Numbers of evaluation.class_metrics.paired_difference (macro-F1, rows resampled) and of
    evaluation.purchase.paired_difference (ROC-AUC, counts from its own stream) before the merge."""
    r = np.random.default_rng(42)
    labels = ["a", "b", "c"]
    y = r.choice(labels, 200)
    good = np.where(r.random(200) < 0.8, y, r.choice(labels, 200))
    bad = np.where(r.random(200) < 0.5, y, r.choice(labels, 200))
    f1 = paired_bootstrap_diff(
        encode(labels, good),
        encode(labels, bad),
        lambda t, p: macro_f1_codes(t, p, 3),
        truth=encode(labels, y),
        n_boot=200,
        seed=3,
    )
    before = (0.1668466984672099, 0.09479860355468339, 0.25285180823024955)
    assert tuple(f1) == pytest.approx(before, rel=1e-12)
    yb = (r.random(300) < 0.3).astype(float)
    pa = np.round(np.clip(0.4 * yb + 0.6 * r.random(300), 0, 1), 2)
    pb = np.round(r.random(300), 2)
    auc = paired_bootstrap_diff(
        pa,
        pb,
        roc_auc,
        truth=yb,
        weighted=True,
        n_boot=200,
        seed=rng(3, "purchase_paired_bootstrap"),
    )
    before = (0.4786805313697199, 0.41189603469655706, 0.5491415969648317)
    assert tuple(auc) == pytest.approx(before, rel=1e-12)


def test_paired_difference_bad_arguments():
    with pytest.raises(ValueError, match="truth and weighted go with a metric"):
        paired_bootstrap_diff(np.ones(3), np.ones(3), truth=np.ones(3))
    with pytest.raises(ValueError, match="needs the truth"):
        paired_bootstrap_diff(np.ones(3), np.ones(3), roc_auc)
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap_diff(np.ones(3), np.ones(4), roc_auc, truth=np.ones(3))
    with pytest.raises(ValueError, match="groups resample per-unit values"):
        paired_bootstrap_diff(np.ones(3), np.ones(3), roc_auc, truth=np.ones(3), groups=[0, 0, 1])
