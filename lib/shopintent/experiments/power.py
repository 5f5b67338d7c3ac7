"""How many users an A/B test needs: closed-form sample size and power, checked by simulation.

Two proportions use the normal approximation with the pooled variance under H0 and the
unpooled one under H1 (Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*,
optionally with their continuity correction); means use the two-sample z approximation.
``simulated_power`` runs the same z-test on Bernoulli samples with ``scipy.stats.power``, so the
formula is checked against an independent computation rather than against itself.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from shopintent.config import rng
from shopintent.experiments.ab import ALPHA, two_proportion_ztest


def _z(alpha: float, power: float) -> tuple[float, float]:
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError(f"alpha and power must lie in (0, 1), got {alpha}, {power}")
    return stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)


def sample_size_two_proportions(
    p_a: float,
    p_b: float,
    alpha: float = ALPHA,
    power: float = 0.8,
    ratio: float = 1.0,
    continuity: bool = False,
) -> int:
    """Users in group A (group B gets ``ratio`` × as many) for a two-sided test to detect p_a → p_b;
    ``continuity`` applies Fleiss' continuity correction (as in Zar's *Biostatistical Analysis*)."""
    if p_a == p_b:
        raise ValueError("p_a equals p_b: no difference to detect")
    za, zb = _z(alpha, power)
    pbar = (p_a + ratio * p_b) / (1 + ratio)
    root = za * np.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio)) + zb * np.sqrt(
        p_a * (1 - p_a) + p_b * (1 - p_b) / ratio
    )
    delta = abs(p_a - p_b)
    n = root**2 / delta**2
    if continuity:
        n = n / 4 * (1 + np.sqrt(1 + 2 * (ratio + 1) / (n * ratio * delta))) ** 2
    return int(np.ceil(n - 1e-9))


def power_two_proportions(
    p_a: float, p_b: float, n_a: int, n_b: int | None = None, alpha: float = ALPHA
) -> float:
    """Power of the two-sided two-proportion z-test with n_a and n_b users (both tails counted)."""
    n_b = n_a if n_b is None else n_b
    za = stats.norm.ppf(1 - alpha / 2)
    pbar = (n_a * p_a + n_b * p_b) / (n_a + n_b)
    se0 = np.sqrt(pbar * (1 - pbar) * (1 / n_a + 1 / n_b))
    se1 = np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    d = abs(p_b - p_a)
    return float(stats.norm.cdf((d - za * se0) / se1) + stats.norm.cdf((-d - za * se0) / se1))


def minimum_detectable_lift(
    p_a: float, n_per_group: int, alpha: float = ALPHA, power: float = 0.8
) -> float:
    """Smallest relative lift (p_b / p_a − 1 > 0) detected with the given power at this size."""

    def gap(lift: float) -> float:
        return power_two_proportions(p_a, p_a * (1 + lift), n_per_group, alpha=alpha) - power

    top = (1 - p_a) / p_a - 1e-9
    if gap(top) < 0:
        return float("nan")
    return float(optimize.brentq(gap, 1e-9, top))


def sample_size_means(delta: float, sd: float, alpha: float = ALPHA, power: float = 0.8) -> int:
    """Users per group to detect a difference ``delta`` of means.

    Both groups have the common standard deviation ``sd``.
    """
    za, zb = _z(alpha, power)
    return int(np.ceil(2 * ((za + zb) * sd / delta) ** 2))


def _ztest_on_samples(a, b, axis=-1):
    return two_proportion_ztest(a.sum(axis=axis), a.shape[axis], b.sum(axis=axis), b.shape[axis])[1]


def simulated_power(
    p_a: float,
    p_b: float,
    n_a: int,
    n_b: int | None = None,
    alpha: float = ALPHA,
    n_sims: int = 4000,
    seed: int = 0,
) -> float:
    """Share of z-tests rejecting H0 on ``n_sims`` simulated Bernoulli experiments.

    Uses scipy.stats.power.
    """
    gen = rng(seed, "experiments", "power")
    n_b = n_a if n_b is None else n_b
    res = stats.power(
        _ztest_on_samples,
        (lambda size: gen.random(size) < p_a, lambda size: gen.random(size) < p_b),
        (n_a, n_b),
        significance=alpha,
        n_resamples=n_sims,
        vectorized=True,
        batch=max(1, int(4_000_000 // (n_a + n_b))),
    )  # ~32 MB of draws at a time
    return float(res.power)


def power_curve(p_a: float, p_b: float, sizes, alpha: float = ALPHA) -> np.ndarray:
    """Closed-form power at each size per group (for a figure)."""
    return np.array([power_two_proportions(p_a, p_b, int(n), alpha=alpha) for n in sizes])
