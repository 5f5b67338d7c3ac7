"""Percentile bootstrap intervals for headline numbers (DESIGN.md: "a 95% bootstrap interval").

``bootstrap_ci`` resamples rows, or whole groups (users, sessions) when rows of one group are
not independent, recomputes any metric on each resample and reports the 2.5% and 97.5%
percentiles. ``bootstrap_mean_ci`` does the common case, the mean of per-user values such as
``ranking_per_user(...)["ndcg@10"]``, with one index matrix instead of a loop.
``paired_bootstrap_diff`` compares two models on the same units (users, queries, sessions):
every replicate resamples the units once and scores both models on that one resample.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, rng

_MAX_INDICES = 1 << 23  # resample indices held at once (~64 MB); replicates are drawn in blocks
_MAX_COUNTS = 1_000_000  # resample counts held at once: a weighted metric copies them several times


class Interval(NamedTuple):
    """A point estimate and its bootstrap interval; unpacks as ``point, low, high``."""

    point: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.point:.4f} [{self.low:.4f}, {self.high:.4f}]"


def _generator(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else rng(int(seed), "bootstrap")


def _take(a, idx: np.ndarray):
    return a.iloc[idx] if isinstance(a, pd.DataFrame | pd.Series) else np.asarray(a)[idx]


def _interval(point: float, stats: np.ndarray, alpha: float) -> Interval:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    bad = ~np.isfinite(stats)
    if bad.all():
        return Interval(float(point), float("nan"), float("nan"))
    if bad.any():
        warnings.warn(
            f"bootstrap: the metric is undefined on {bad.sum()} of {len(stats)} resamples "
            "(e.g. one class only); the interval uses the others",
            RuntimeWarning,
            stacklevel=3,
        )
    low, high = np.quantile(stats[~bad], [alpha / 2, 1 - alpha / 2])
    return Interval(float(point), float(low), float(high))


def resample_indices(r: np.random.Generator, n: int, n_boot: int, max_cells: int = _MAX_INDICES):
    """Yield ``(first, idx)`` per block of replicates: ``idx`` of shape (replicates, n) holds the
    rows each replicate draws with replacement, ``first`` the index of its first replicate.

    Blocks hold at most ``max_cells`` indices (at least one replicate). numpy draws the integers
    one after another, so the replicates do not depend on the block size.
    """
    block = max(1, max_cells // max(n, 1))
    for lo in range(0, n_boot, block):
        yield lo, r.integers(0, n, (min(block, n_boot - lo), n))


def resample_counts(r: np.random.Generator, n: int, n_boot: int, max_cells: int = _MAX_COUNTS):
    """Yield ``(first, counts)``: ``resample_indices``' draws as how many times each row is
    drawn, of shape (replicates, n), for weighted metrics that share one sort of the data."""
    for lo, idx in resample_indices(r, n, n_boot, max_cells):
        m = len(idx)
        flat = (idx + (np.arange(m) * n)[:, None]).ravel()
        yield lo, np.bincount(flat, minlength=m * n).reshape(m, n)


def _group_index(groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by group, each group's start in that order, and its size."""
    codes = pd.factorize(np.asarray(groups))[0]
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    return order, starts, sizes


def _expand(
    order: np.ndarray, starts: np.ndarray, sizes: np.ndarray, chosen: np.ndarray
) -> np.ndarray:
    """Row indices of the chosen groups, each group whole (with repeats when drawn twice)."""
    lengths = sizes[chosen]
    ends = np.cumsum(lengths)
    offsets = np.repeat(starts[chosen] - (ends - lengths), lengths)
    return order[np.arange(ends[-1] if len(ends) else 0) + offsets]


def bootstrap_ci(
    metric_fn: Callable[..., float],
    *arrays,
    groups=None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | np.random.Generator = DEFAULT_SEED,
    vectorized: bool = False,
) -> Interval:
    """``metric_fn(*arrays)`` and its percentile ``1 - alpha`` interval from ``n_boot`` resamples.

    Every array (numpy, or pandas, taken by position) has one row per observation; each
    resample draws rows with replacement, or with ``groups`` (one label per row) draws whole
    groups with replacement so that e.g. all of a user's sessions travel together. Seeded:
    the same seed gives the same interval. Resamples where the metric is NaN (e.g. ROC-AUC
    on one class) are left out, with a warning.

    ``vectorized=True`` (row resampling only) calls ``metric_fn`` on blocks of replicates: each
    array arrives as ``(n_replicates, n, ...)`` and the function returns ``(n_replicates,)``
    (the point estimate is still one call on the arrays as given, so reduce over axis -1).
    """
    if not arrays:
        raise ValueError("bootstrap_ci needs at least one array to resample")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"all arrays must have the same length, got {[len(a) for a in arrays]}")
    if n == 0:
        raise ValueError("bootstrap_ci: nothing to resample (the arrays are empty)")
    r = _generator(seed)
    point = float(metric_fn(*arrays))
    stats = np.empty(n_boot)
    if groups is not None:
        if vectorized:
            raise ValueError("vectorized=True resamples rows; with groups the sample sizes differ")
        if len(groups) != n:
            raise ValueError(f"groups has {len(groups)} labels for {n} rows")
        order, starts, sizes = _group_index(groups)
        for b in range(n_boot):
            rows = _expand(order, starts, sizes, r.integers(0, len(sizes), len(sizes)))
            stats[b] = metric_fn(*(_take(a, rows) for a in arrays))
    elif vectorized:
        data = [np.asarray(a) for a in arrays]
        for lo, idx in resample_indices(r, n, n_boot):
            stats[lo : lo + len(idx)] = np.asarray(
                metric_fn(*(a[idx] for a in data)), dtype=np.float64
            )
    else:
        for b in range(n_boot):
            rows = r.integers(0, n, n)
            stats[b] = metric_fn(*(_take(a, rows) for a in arrays))
    return _interval(point, stats, alpha)


def bootstrap_mean_ci(
    values,
    groups=None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | np.random.Generator = DEFAULT_SEED,
) -> Interval:
    """Mean of ``values`` (e.g. per-user NDCG) with its percentile bootstrap interval.

    NaN values (users the metric excludes, such as users without relevant items) are dropped
    first, as the averaged metric drops them. With ``groups``, whole groups are resampled and
    each replicate's mean is its total over its row count. Vectorised: one index matrix per
    block of replicates, no Python loop per replicate.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    keep = ~np.isnan(v)
    v = v[keep]
    if len(v) == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    r = _generator(seed)
    stats = np.empty(n_boot)
    if groups is None:
        sums, sizes = v, None
    else:
        g = np.asarray(groups).ravel()
        if len(g) != len(keep):
            raise ValueError(f"groups has {len(g)} labels for {len(keep)} values")
        codes = pd.factorize(g[keep])[0]
        sums, sizes = np.bincount(codes, weights=v), np.bincount(codes).astype(np.float64)
    m = len(sums)
    for lo, idx in resample_indices(r, m, n_boot):
        total = sums[idx].sum(axis=1)
        stats[lo : lo + len(idx)] = total / (m if sizes is None else sizes[idx].sum(axis=1))
    return _interval(float(v.mean()), stats, alpha)


def paired_bootstrap_diff(
    a,
    b,
    metric: Callable | None = None,
    *,
    truth=None,
    weighted: bool = False,
    groups=None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | np.random.Generator = DEFAULT_SEED,
) -> Interval:
    """Model ``a`` minus model ``b`` on the same units, with a paired percentile interval: each
    replicate resamples the units once and scores both on it, so the spread between units
    cancels and the interval is tighter than two separate ones. Two ways, named by the call:

    - per-unit values (``metric`` None): ``a`` and ``b`` hold one value per unit (a user's
      NDCG@10, a query's recall); the difference is the mean of ``a - b``, resampled as
      ``bootstrap_mean_ci`` does (NaN differences dropped; ``groups`` resamples whole groups).
    - a metric recomputed on each resample: ``a`` and ``b`` are predictions for the units of
      ``truth`` and the difference is ``metric(truth, a) - metric(truth, b)``. By default the
      metric receives the resampled rows as (replicates, n) arrays and returns (replicates,);
      with ``weighted=True`` it receives ``truth`` and the predictions as given plus the
      (replicates, n) resampling counts (``resample_counts``), as ``roc_auc(y, p, weights)``.

    Both metric ways draw the same resamples for the same generator; ``seed`` is an int (the
    ``"bootstrap"`` stream) or a caller's own ``numpy.random.Generator``.
    """
    if metric is None:
        if truth is not None or weighted:
            raise ValueError("truth and weighted go with a metric; per-unit values take neither")
        diff = np.asarray(a) - np.asarray(b)
        return bootstrap_mean_ci(diff, groups=groups, n_boot=n_boot, alpha=alpha, seed=seed)
    if groups is not None:
        raise ValueError("groups resample per-unit values (metric None); a metric resamples rows")
    if truth is None:
        raise ValueError("a metric needs the truth it scores both predictions against")
    t, a, b = np.asarray(truth), np.asarray(a), np.asarray(b)
    n = len(t)
    if len(a) != n or len(b) != n:
        raise ValueError(f"truth, a and b must have the same length, got {n}, {len(a)}, {len(b)}")
    if n == 0:
        raise ValueError("paired_bootstrap_diff: nothing to resample (the arrays are empty)")
    r = _generator(seed)
    stats = np.empty(n_boot)
    if weighted:
        ones = np.ones(n)
        point = float(metric(t, a, ones)[0] - metric(t, b, ones)[0])
        for lo, w in resample_counts(r, n, n_boot):
            stats[lo : lo + len(w)] = metric(t, a, w) - metric(t, b, w)
    else:
        point = float(metric(t, a) - metric(t, b))
        for lo, idx in resample_indices(r, n, n_boot):
            diff = metric(t[idx], a[idx]) - metric(t[idx], b[idx])
            stats[lo : lo + len(idx)] = np.asarray(diff, dtype=np.float64)
    return _interval(point, stats, alpha)
