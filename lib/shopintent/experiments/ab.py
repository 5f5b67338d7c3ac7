"""A/B test statistics: did arm B change conversion or revenue per user, by how much, how sure?

Conversion (0/1 per user) is compared with the two-proportion z-test (pooled standard error
under H0, as in most textbooks; scipy has no such function, but its z² is scipy's
``chi2_contingency(..., correction=False)`` statistic, which the tests check); revenue per
user with Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) and a bootstrap
interval (``scipy.stats.bootstrap``), since revenue is skewed. The relative lift B / A − 1
gets a delta-method interval. The ``*_pvalues`` functions run many tests at once — one per
row — for A/A and power simulations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from shopintent.config import rng

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """One metric, B vs. A: group means, difference and relative lift with intervals, p-value."""

    metric: str
    method: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float
    diff_low: float
    diff_high: float
    lift: float
    lift_low: float
    lift_high: float
    p_value: float


def two_proportion_ztest(x_a, n_a, x_b, n_b) -> tuple[np.ndarray, np.ndarray]:
    """z statistic (B − A) and two-sided p-value with the pooled proportion; works on arrays."""
    x_a, n_a, x_b, n_b = (np.asarray(v, dtype=float) for v in (x_a, n_a, x_b, n_b))
    pooled = (x_a + x_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x_b / n_b - x_a / n_a) / se, 0.0)
    return z, 2 * stats.norm.sf(np.abs(z))


def relative_lift(
    mean_a: float, var_mean_a: float, mean_b: float, var_mean_b: float, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """B / A − 1 and its delta-method interval (independent groups; variances of the two means)."""
    lift = mean_b / mean_a - 1
    se = np.sqrt(var_mean_b / mean_a**2 + mean_b**2 * var_mean_a / mean_a**4)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(lift), float(lift - z * se), float(lift + z * se)


def _split(y, treated) -> tuple[np.ndarray, np.ndarray]:
    y, treated = np.asarray(y, dtype=float), np.asarray(treated, dtype=bool)
    if y.shape != treated.shape:
        raise ValueError(f"outcomes {y.shape} and assignment {treated.shape} differ in shape")
    if treated.all() or not treated.any():
        raise ValueError("both groups need users: the assignment puts everyone in one arm")
    return y[~treated], y[treated]


def compare_conversion(converted, treated, alpha: float = ALPHA) -> Comparison:
    """Two-proportion z-test; Wald (unpooled) interval for the difference of the rates."""
    a, b = _split(converted, treated)
    pa, pb = a.mean(), b.mean()
    _, p = two_proportion_ztest(a.sum(), len(a), b.sum(), len(b))
    va, vb = pa * (1 - pa) / len(a), pb * (1 - pb) / len(b)
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(va + vb)
    lift = relative_lift(pa, va, pb, vb, alpha)
    return Comparison(
        "conversion",
        "two-proportion z-test",
        len(a),
        len(b),
        pa,
        pb,
        pb - pa,
        pb - pa - half,
        pb - pa + half,
        *lift,
        float(p),
    )


def compare_means(y, treated, metric: str = "revenue", alpha: float = ALPHA) -> Comparison:
    """Welch's t-test and its interval for the difference of means (unequal variances)."""
    a, b = _split(y, treated)
    res = stats.ttest_ind(b, a, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    lift = relative_lift(a.mean(), a.var(ddof=1) / len(a), b.mean(), b.var(ddof=1) / len(b), alpha)
    return Comparison(
        metric,
        "Welch t-test",
        len(a),
        len(b),
        a.mean(),
        b.mean(),
        b.mean() - a.mean(),
        float(ci.low),
        float(ci.high),
        *lift,
        float(res.pvalue),
    )


def bootstrap_diff(
    y, treated, n_boot: int = 2000, seed: int = 0, alpha: float = ALPHA, method: str = "BCa"
) -> tuple[float, float]:
    """Bootstrap interval of mean(B) − mean(A), each group resampled on its own.

    Uses scipy.stats.bootstrap.
    """
    a, b = _split(y, treated)
    res = stats.bootstrap(
        (b, a),
        lambda x, z, axis: x.mean(axis=axis) - z.mean(axis=axis),
        n_resamples=n_boot,
        confidence_level=1 - alpha,
        method=method,
        vectorized=True,
        random_state=rng(seed, "experiments", "bootstrap"),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def ab_table(
    converted, revenue, treated, n_boot: int = 2000, seed: int = 0, alpha: float = ALPHA
) -> pd.DataFrame:
    """One row per metric and test, with the bootstrap interval next to Welch's for revenue."""
    rows = [
        asdict(compare_conversion(converted, treated, alpha)),
        asdict(compare_means(revenue, treated, "revenue", alpha)),
    ]
    low, high = bootstrap_diff(revenue, treated, n_boot, seed, alpha)
    rows.append(
        {
            **rows[1],
            "method": "bootstrap (BCa)",
            "diff_low": low,
            "diff_high": high,
            "p_value": np.nan,
            "lift_low": np.nan,
            "lift_high": np.nan,
        }
    )
    return pd.DataFrame(rows)


def ztest_pvalues(converted: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """One two-proportion z-test per row of (reps, n_users) 0/1 outcomes and assignments."""
    t = treated.astype(bool)
    n_b = t.sum(axis=1)
    x_b = (converted * t).sum(axis=1)
    return two_proportion_ztest(converted.sum(axis=1) - x_b, t.shape[1] - n_b, x_b, n_b)[1]


def welch_pvalues(y: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """A Welch t-test per row (``scipy.stats.ttest_ind_from_stats`` on the rows' group moments)."""
    t = treated.astype(bool)
    moments = []
    for mask in (t, ~t):
        n = mask.sum(axis=1)
        mean = (y * mask).sum(axis=1) / n
        var = (((y - mean[:, None]) ** 2) * mask).sum(axis=1) / (n - 1)
        moments.append((mean, np.sqrt(var), n))
    (mb, sb, nb), (ma, sa, na) = moments
    return stats.ttest_ind_from_stats(mb, sb, nb, ma, sa, na, equal_var=False).pvalue


def rejection_rate(pvalues, alpha: float = ALPHA) -> tuple[float, float, float]:
    """Share of tests with p < alpha and its exact (Clopper–Pearson) 95% interval."""
    p = np.asarray(pvalues)
    k = int((p < alpha).sum())
    ci = stats.binomtest(k, len(p)).proportion_ci(0.95)
    return k / len(p), float(ci.low), float(ci.high)
