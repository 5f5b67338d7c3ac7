"""A/B statistics: the z-test by hand and against scipy's chi-square, Welch and bootstrap intervals,
the vectorised tests equal one-at-a-time ones, and A/A tests reject about 5% of the time."""

import math

import numpy as np
import pytest
from scipy import stats

from shopintent.experiments import ab


def test_two_proportion_ztest_matches_a_hand_computation():
    # 100/1000 vs 130/1000: pooled p = 0.115, se = sqrt(0.115 * 0.885 * 2 / 1000) = 0.0142671
    z, p = ab.two_proportion_ztest(100, 1000, 130, 1000)
    se = math.sqrt(0.115 * 0.885 * 0.002)
    assert se == pytest.approx(0.0142671, rel=1e-5)
    assert float(z) == pytest.approx(0.03 / se, rel=1e-9)
    assert float(z) == pytest.approx(2.10272, rel=1e-5)
    assert float(p) == pytest.approx(
        math.erfc(0.03 / se / math.sqrt(2)), rel=1e-9
    )  # two-sided normal tail
    assert float(p) == pytest.approx(0.035485, abs=1e-5)
    # z² is the uncorrected Pearson chi-square of the 2x2 table
    chi = stats.chi2_contingency([[100, 900], [130, 870]], correction=False)
    assert float(z) ** 2 == pytest.approx(chi.statistic, rel=1e-9)
    assert float(p) == pytest.approx(chi.pvalue, rel=1e-9)


def test_ztest_is_signed_and_vectorised():
    z, p = ab.two_proportion_ztest([130, 100], [1000, 1000], [100, 130], [1000, 1000])
    assert z[0] == pytest.approx(-z[1]) and p[0] == pytest.approx(p[1])
    z0, p0 = ab.two_proportion_ztest(
        0, 10, 0, 10
    )  # no conversions at all: no evidence, not a crash
    assert float(z0) == 0 and float(p0) == 1


def test_conversion_comparison_interval_and_lift_by_hand():
    treated = np.r_[np.zeros(1000, bool), np.ones(1000, bool)]
    converted = np.r_[np.arange(1000) < 100, np.arange(1000) < 130].astype(float)
    c = ab.compare_conversion(converted, treated)
    half = 1.959964 * math.sqrt(0.1 * 0.9 / 1000 + 0.13 * 0.87 / 1000)  # Wald, unpooled
    assert (c.mean_a, c.mean_b, c.diff) == pytest.approx((0.10, 0.13, 0.03))
    assert (c.diff_low, c.diff_high) == pytest.approx((0.03 - half, 0.03 + half), rel=1e-5)
    assert c.lift == pytest.approx(0.3)
    # delta method: var(pb/pa) = var(pb)/pa² + pb² var(pa)/pa⁴
    se = math.sqrt(0.13 * 0.87 / 1000 / 0.01 + 0.13**2 * 0.1 * 0.9 / 1000 / 0.1**4)
    assert (c.lift_low, c.lift_high) == pytest.approx(
        (0.3 - 1.959964 * se, 0.3 + 1.959964 * se), rel=1e-5
    )
    assert c.p_value == pytest.approx(0.035485, abs=1e-5)


def test_welch_matches_scipy_and_a_hand_computed_statistic():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0, 10.0])
    treated = np.r_[np.zeros(4, bool), np.ones(5, bool)]
    c = ab.compare_means(np.r_[a, b], treated)
    # t = (6 - 2.5) / sqrt(1.6667/4 + 10/5) = 3.5 / 1.5546; Welch–Satterthwaite df = 5.28
    t = 3.5 / math.sqrt(5 / 3 / 4 + 10 / 5)
    df = (5 / 12 + 2) ** 2 / ((5 / 12) ** 2 / 3 + 2**2 / 4)
    assert c.p_value == pytest.approx(2 * stats.t.sf(t, df), rel=1e-9)
    assert c.p_value == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue)
    half = stats.t.ppf(0.975, df) * math.sqrt(5 / 12 + 2)
    assert (c.diff_low, c.diff_high) == pytest.approx((3.5 - half, 3.5 + half), rel=1e-9)


def test_bootstrap_interval_agrees_with_welch_on_large_samples():
    gen = np.random.default_rng(0)
    y = np.r_[gen.exponential(10.0, 1500), gen.exponential(11.0, 1500)]
    treated = np.r_[np.zeros(1500, bool), np.ones(1500, bool)]
    low, high = ab.bootstrap_diff(y, treated, n_boot=2000, seed=1)
    w = ab.compare_means(y, treated)
    assert low < w.diff < high
    assert (high - low) == pytest.approx(w.diff_high - w.diff_low, rel=0.1)
    assert ab.bootstrap_diff(y, treated, n_boot=500, seed=1) == ab.bootstrap_diff(
        y, treated, n_boot=500, seed=1
    )


def test_ab_table_rows_and_errors():
    gen = np.random.default_rng(1)
    treated = gen.random(400) < 0.5
    table = ab.ab_table(
        (gen.random(400) < 0.3).astype(float), gen.exponential(5, 400), treated, n_boot=300
    )
    assert table["method"].tolist() == ["two-proportion z-test", "Welch t-test", "bootstrap (BCa)"]
    with pytest.raises(ValueError, match="one arm"):
        ab.compare_conversion(np.ones(10), np.ones(10, bool))
    with pytest.raises(ValueError, match="shape"):
        ab.compare_means(np.ones(10), np.ones(9, bool))


def test_vectorised_tests_equal_one_test_per_row():
    gen = np.random.default_rng(2)
    y = gen.exponential(3.0, (5, 300))
    conv = (gen.random((5, 300)) < 0.2).astype(float)
    treated = gen.random((5, 300)) < 0.5
    for i in range(5):
        a, b = y[i][~treated[i]], y[i][treated[i]]
        assert ab.welch_pvalues(y, treated)[i] == pytest.approx(
            stats.ttest_ind(b, a, equal_var=False).pvalue
        )
        assert ab.ztest_pvalues(conv, treated)[i] == pytest.approx(
            ab.compare_conversion(conv[i], treated[i]).p_value
        )


def test_aa_false_positive_rate_is_near_five_percent_on_bernoulli_data():
    """300 seeded A/A tests on i.i.d. users: each test's size should be alpha."""
    gen = np.random.default_rng(3)
    conv = (gen.random((300, 2000)) < 0.12).astype(float)
    revenue = conv * gen.lognormal(3, 1, (300, 2000))
    treated = np.argsort(gen.random((300, 2000)), axis=1) < 1000
    for p in (ab.ztest_pvalues(conv, treated), ab.welch_pvalues(revenue, treated)):
        rate, low, high = ab.rejection_rate(p)
        assert 0.02 <= rate <= 0.09
        assert low < rate < high


def test_rejection_rate_interval_is_clopper_pearson():
    rate, low, high = ab.rejection_rate(np.r_[np.full(10, 0.01), np.full(190, 0.5)])
    assert rate == 0.05
    assert (low, high) == pytest.approx(
        (0.02423, 0.08995), abs=1e-4
    )  # exact binomial 95% for 10/200
