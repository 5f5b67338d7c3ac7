"""CUPED (Deng, Xu, Kohavi & Walker, WSDM 2013): less variance from pre-experiment data.

The metric Y is replaced by Y − θ·(X − mean X), where X is the same user's pre-period
behaviour and θ = cov(X, Y) / var(X) (several covariates: the least-squares coefficients,
the paper's extension), estimated on both groups pooled. X was fixed before the assignment,
so its mean is the same in both groups in expectation: the difference of the adjusted means
estimates the same effect, and its variance shrinks by the factor 1 − R²(X, Y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopintent.experiments.ab import ALPHA, Comparison, compare_means


@dataclass(frozen=True)
class Cuped:
    theta: np.ndarray  # one coefficient per covariate
    variance_reduction: float  # 1 − var(adjusted) / var(original), pooled over both groups
    adjusted: np.ndarray


def _centred(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    return x - x.mean(axis=0)


def theta(y, x) -> np.ndarray:
    """cov(X, Y) / var(X) for one covariate; least squares of centred Y on centred X for several."""
    xc, y = _centred(x), np.asarray(y, dtype=float)
    return np.linalg.lstsq(xc, y - y.mean(), rcond=None)[0]


def adjust(y, x) -> Cuped:
    """The CUPED-adjusted metric with θ estimated on all users; ``x`` is (n,) or (n, p)."""
    y = np.asarray(y, dtype=float)
    t = theta(y, x)
    adjusted = y - _centred(x) @ t
    var = y.var(ddof=1)
    return Cuped(t, float(1 - adjusted.var(ddof=1) / var) if var > 0 else 0.0, adjusted)


def compare(
    y, x, treated, metric: str = "revenue", alpha: float = ALPHA
) -> tuple[Comparison, Cuped]:
    """Welch's test on the CUPED-adjusted metric. Means are of the adjusted metric; the lift is the
    difference as a share of group A's *unadjusted* mean."""
    res = adjust(y, x)
    c = compare_means(res.adjusted, treated, f"{metric}_cuped", alpha)
    base = np.asarray(y, dtype=float)[~np.asarray(treated, dtype=bool)].mean()
    c = Comparison(
        c.metric,
        "CUPED + Welch t-test",
        c.n_a,
        c.n_b,
        c.mean_a,
        c.mean_b,
        c.diff,
        c.diff_low,
        c.diff_high,
        c.diff / base,
        c.diff_low / base,
        c.diff_high / base,
        c.p_value,
    )
    return c, res


def replicated_effects(y: np.ndarray, x, treated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate row of (reps, n) outcomes: the plain and the CUPED difference of means
    (B − A), θ refitted on every row as it would be in each experiment."""
    t = treated.astype(bool)
    xc = _centred(x)
    th = np.linalg.lstsq(xc, (y - y.mean(axis=1, keepdims=True)).T, rcond=None)[0]  # (p, reps)
    adjusted = y - (xc @ th).T

    def diff(v):
        return (v * t).sum(axis=1) / t.sum(axis=1) - (v * ~t).sum(axis=1) / (~t).sum(axis=1)

    return diff(y), diff(adjusted)
