"""Uplift metrics: how well a ranking of users puts those a campaign moves first.

Users are ranked by a score (highest first). On randomised data the incremental outcomes of
targeting the top ``k`` are estimated as Radcliffe's Qini: ``Y_T(k) - Y_C(k) * N_T(k) / N_C(k)``
(treated outcomes minus control outcomes scaled to the treated count, both among the top ``k``).
Where the true uplift of each user is known (the synthetic shop), the same curve is the exact
``sum of true uplift over the top k`` (``gain_curve``), with no sampling noise.

- ``qini_curve`` / ``gain_curve``: the curve at every k (k = 0..n), as arrays.
- ``qini_coefficient``: area between the curve and the random-targeting line (the straight line
  to the same end point), divided by n², so it does not grow with the population's size.
- ``uplift_at_k``: treated minus control outcome rate among the top share ``frac``.
- ``incremental_share``: the share of all incremental outcomes captured by the top ``frac``
  (random targeting captures ``frac``; above 1 when the rest holds sleeping dogs).
- ``uplift_report``: the three with percentile bootstrap intervals, and the curve with a band.

Ties in the score are broken by the users' order (stable sort), so equal scores in sorted data
do not flatter a model; give scores with few ties.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "gain_curve",
    "incremental_share",
    "qini_coefficient",
    "qini_curve",
    "uplift_at_k",
    "uplift_report",
]


def _order(score) -> np.ndarray:
    return np.argsort(-np.asarray(score, dtype=float), kind="stable")


def _check(y, treated, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, t, s = np.asarray(y, dtype=float), np.asarray(treated, dtype=bool), np.asarray(score)
    if not (len(y) == len(t) == len(s)):
        raise ValueError(
            f"y, treated and score must have one value per user: {len(y)}, {len(t)}, {len(s)}"
        )
    if len(y) == 0 or t.all() or not t.any():
        raise ValueError("uplift metrics need treated and control users")
    return y, t, s


def qini_curve(y, treated, score) -> np.ndarray:
    """Incremental outcomes among the top k, for k = 0..n (length n + 1; control outcomes scaled
    to the treated count; 0 while no control user is among the top k)."""
    y, t, s = _check(y, treated, score)
    o = _order(s)
    return _sorted_curve(y[o], t[o])


def _sorted_curve(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``qini_curve`` of outcomes and arms already in score order."""
    yt = np.concatenate([[0.0], np.cumsum(y * t)])
    yc = np.concatenate([[0.0], np.cumsum(y * ~t)])
    nt = np.concatenate([[0], np.cumsum(t)])
    nc = np.concatenate([[0], np.cumsum(~t)])
    return np.where(nc > 0, yt - yc * nt / np.maximum(nc, 1), yt)


def gain_curve(uplift, score) -> np.ndarray:
    """Exact incremental outcomes among the top k (k = 0..n): the cumulative true uplift."""
    u = np.asarray(uplift, dtype=float)
    return np.concatenate([[0.0], np.cumsum(u[_order(score)])])


def _area(curve: np.ndarray) -> float:
    n = len(curve) - 1
    random = curve[-1] * np.arange(n + 1) / n
    # trapezoids over k = 0..n, per user squared
    gap = curve - random
    return float(((gap[1:] + gap[:-1]) / 2).sum() / n**2)


def qini_coefficient(y, treated, score, uplift=None) -> float:
    """Area between the Qini curve and random targeting, / n². With ``uplift`` (the true uplift
    per user) the exact gain curve is used and ``y``/``treated`` are ignored."""
    if uplift is not None:
        return _area(gain_curve(uplift, score))
    return _area(qini_curve(y, treated, score))


def uplift_at_k(y, treated, score, frac: float = 0.3) -> float:
    """Outcome rate of treated minus control users among the top ``frac`` by score (NaN when the
    top holds no user of one arm)."""
    y, t, s = _check(y, treated, score)
    top = _order(s)[: max(1, int(round(frac * len(y))))]
    yt, yc = y[top][t[top]], y[top][~t[top]]
    if len(yt) == 0 or len(yc) == 0:
        return float("nan")
    return float(yt.mean() - yc.mean())


def incremental_share(y, treated, score, frac: float = 0.3, uplift=None) -> float:
    """Share of all incremental outcomes captured by targeting the top ``frac`` (NaN when the
    campaign's total effect is zero). Exact with ``uplift``, else estimated by the Qini."""
    curve = gain_curve(uplift, score) if uplift is not None else qini_curve(y, treated, score)
    k = int(round(frac * (len(curve) - 1)))
    return float(curve[k] / curve[-1]) if curve[-1] != 0 else float("nan")


def _summary(y: np.ndarray, t: np.ndarray, frac: float, grid: np.ndarray) -> np.ndarray:
    """qini coefficient, uplift@frac, incremental share@frac, then the curve at ``grid``, of
    outcomes and arms already in score order."""
    curve = _sorted_curve(y, t)
    n = len(curve) - 1
    k = max(1, int(round(frac * n)))
    yt, yc = y[:k][t[:k]], y[:k][~t[:k]]
    at_k = yt.mean() - yc.mean() if len(yt) and len(yc) else np.nan
    share = curve[k] / curve[-1] if curve[-1] != 0 else np.nan
    points = curve[np.round(grid * n).astype(int)] / n
    return np.r_[_area(curve), at_k, share, points]


def uplift_report(
    y,
    treated,
    score,
    frac: float = 0.3,
    grid: np.ndarray | None = None,
    n_boot: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """The Qini coefficient, uplift@``frac`` and incremental share@``frac`` of one ranking, each
    with a percentile bootstrap interval (users resampled with replacement, the same resamples
    for every call with the same seed, so two rankings' intervals are comparable), and the Qini
    curve per user (incremental outcomes / n) at the fractions ``grid`` with its band.

    Returns ``{"qini": (point, low, high), "uplift_at_k": ..., "incremental_share": ...,
    "grid": grid, "curve": (points, low, high)}``."""
    y, t, s = _check(y, treated, score)
    grid = np.linspace(0, 1, 21) if grid is None else np.asarray(grid, float)
    o = _order(s)
    y, t = y[o], t[o]
    point = _summary(y, t, frac, grid)
    gen = np.random.default_rng(seed)
    n = len(y)
    stats = np.empty((n_boot, len(point)))
    for b in range(n_boot):
        # a resample is the sorted users each repeated as often as drawn: no sort per replicate
        # (ties keep the users' order, as in the point estimate)
        drawn = np.bincount(gen.integers(0, n, n), minlength=n)[o]
        idx = np.repeat(np.arange(n), drawn)
        stats[b] = _summary(y[idx], t[idx], frac, grid)
    low, high = np.nanquantile(stats, [alpha / 2, 1 - alpha / 2], axis=0)
    names = ("qini", "uplift_at_k", "incremental_share")
    out = {name: (float(point[i]), float(low[i]), float(high[i])) for i, name in enumerate(names)}
    out["grid"] = grid
    out["curve"] = (point[3:], low[3:], high[3:])
    return out
