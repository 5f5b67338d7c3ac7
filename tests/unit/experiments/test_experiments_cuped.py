"""CUPED: θ = cov/var by hand, variance falls by ρ² with a correlated covariate, no bias."""

import numpy as np
import pytest

from shopintent.experiments import cuped


def _users(n, rho, effect, seed):
    """Pre-period x and in-experiment y with corr(x, y) = rho; half the users treated (+effect)."""
    gen = np.random.default_rng(seed)
    x = gen.normal(10, 2, n)
    y = 5 + rho * (x - 10) / 2 * 3 + np.sqrt(1 - rho**2) * 3 * gen.normal(size=n)
    treated = np.argsort(gen.random(n)) < n // 2
    return x, y + effect * treated, treated


def test_theta_is_cov_over_var_by_hand():
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 5.0, 9.0])
    # cov = sum((x - 2.5)(y - 5)) / 3 = (4.5 + 0.5 + 0 + 6) / 3 = 11/3; var(x) = 5/3
    assert cuped.theta(y, x) == pytest.approx([11 / 5])
    res = cuped.adjust(y, x)
    assert res.adjusted == pytest.approx(y - 2.2 * (x - 2.5))
    assert res.adjusted.mean() == pytest.approx(y.mean())  # the adjustment keeps the mean


def test_variance_reduction_is_the_squared_correlation():
    x, y, _ = _users(20_000, 0.7, 0.0, seed=0)
    res = cuped.adjust(y, x)
    assert res.variance_reduction == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2, rel=1e-6)
    assert res.variance_reduction == pytest.approx(0.49, abs=0.02)
    unrelated = cuped.adjust(y, np.random.default_rng(1).normal(size=len(y)))
    assert abs(unrelated.variance_reduction) < 0.002


def test_several_covariates_are_least_squares():
    gen = np.random.default_rng(2)
    X = gen.normal(size=(500, 2))
    y = 1.5 * X[:, 0] - 0.5 * X[:, 1] + gen.normal(size=500)
    res = cuped.adjust(y, X)
    ref = np.linalg.lstsq(np.c_[np.ones(500), X], y, rcond=None)[0][1:]
    assert res.theta == pytest.approx(ref)
    assert res.variance_reduction > cuped.adjust(y, X[:, 0]).variance_reduction


def test_cuped_is_unbiased_and_narrower_over_many_experiments():
    gen = np.random.default_rng(3)
    n, reps, effect = 2000, 400, 0.3
    x = gen.normal(10, 2, n)
    base = 5 + 0.7 * 1.5 * (x - 10) + np.sqrt(1 - 0.49) * 3 * gen.normal(size=(reps, n))
    treated = np.argsort(gen.random((reps, n)), axis=1) < n // 2
    plain, adjusted = cuped.replicated_effects(base + effect * treated, x, treated)
    se = adjusted.std(ddof=1) / np.sqrt(reps)
    assert abs(adjusted.mean() - effect) < 3 * se
    assert abs(plain.mean() - effect) < 3 * plain.std(ddof=1) / np.sqrt(reps)
    assert adjusted.var() == pytest.approx(
        0.51 * plain.var(), rel=0.2
    )  # 1 − ρ² of the variance is left


def test_replicated_effects_match_one_experiment_at_a_time():
    x, y, treated = _users(600, 0.5, 0.2, seed=4)
    plain, adjusted = cuped.replicated_effects(y[None, :], x, treated[None, :])
    res = cuped.adjust(y, x)
    assert plain[0] == pytest.approx(y[treated].mean() - y[~treated].mean())
    assert adjusted[0] == pytest.approx(
        res.adjusted[treated].mean() - res.adjusted[~treated].mean()
    )
    comparison, _ = cuped.compare(y, x, treated)
    assert comparison.diff == pytest.approx(adjusted[0])
    assert comparison.lift == pytest.approx(adjusted[0] / y[~treated].mean())
