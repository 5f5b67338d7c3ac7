"""Bootstrap intervals: contain the point, repeat with the seed, narrow with data, keep groups whole."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from shopintent.evaluation import bootstrap_ci, bootstrap_mean_ci


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
    assert bootstrap_mean_ci(v, groups=np.arange(300), seed=2) == pytest.approx(tuple(bootstrap_mean_ci(v, seed=2)))


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
