"""Vectorised macro-F1 and ROC-AUC for bootstrap intervals of notebooks 03 and 04.

``bootstrap_ci(..., vectorized=True)`` hands a metric all replicates at once, as (replicates, n)
arrays; scikit-learn's scorers take one sample at a time, which made 1,000 replicates per model
cost seconds. These give the same numbers as ``sklearn.metrics.f1_score(average="macro")`` over
fixed labels and ``roc_auc_score`` (ties get average ranks), along the last axis.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from shopintent.config import DEFAULT_SEED
from shopintent.evaluation import Interval, bootstrap_ci


def encode(labels, values) -> np.ndarray:
    """Codes of ``values`` in ``labels`` (-1 for a value outside them)."""
    index = {str(c): i for i, c in enumerate(labels)}
    return np.array([index.get(str(v), -1) for v in np.asarray(values).ravel()], dtype=np.int64)


def macro_f1_codes(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """Macro-F1 over classes 0..k-1 along the last axis (a class absent from both counts 0, as
    scikit-learn with ``zero_division=0``)."""
    f1 = []
    for c in range(k):
        t, p = y == c, pred == c
        tp = (t & p).sum(axis=-1)
        denom = t.sum(axis=-1) + p.sum(axis=-1)
        f1.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return np.mean(f1, axis=0)


def roc_auc(y01: np.ndarray, score: np.ndarray) -> np.ndarray:
    """ROC-AUC along the last axis (Mann-Whitney with average ranks); NaN where one class is absent."""
    y01 = np.asarray(y01, dtype=bool)
    ranks = rankdata(score, axis=-1)
    n_pos = y01.sum(axis=-1)
    n_neg = y01.shape[-1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y01).sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def macro_f1_ci(y, pred, labels, n_boot: int = 1000, seed: int = DEFAULT_SEED) -> Interval:
    """Macro-F1 over ``labels`` with its percentile bootstrap interval (rows resampled)."""
    k = len(labels)
    return bootstrap_ci(lambda a, b: macro_f1_codes(a, b, k), encode(labels, y), encode(labels, pred),
                        n_boot=n_boot, seed=seed, vectorized=True)


def roc_auc_ci(y01, score, n_boot: int = 1000, seed: int = DEFAULT_SEED) -> Interval:
    return bootstrap_ci(roc_auc, np.asarray(y01, dtype=bool), np.asarray(score, dtype=np.float64), n_boot=n_boot,
                        seed=seed, vectorized=True)


def paired_difference(y, pred_a, pred_b, labels, n_boot: int = 1000, seed: int = DEFAULT_SEED) -> Interval:
    """Macro-F1 of ``pred_a`` minus that of ``pred_b`` on the same rows, with a paired bootstrap
    interval (both scored on each resample): an interval above 0 means a beats b."""
    k = len(labels)
    return bootstrap_ci(lambda t, a, b: macro_f1_codes(t, a, k) - macro_f1_codes(t, b, k), encode(labels, y),
                        encode(labels, pred_a), encode(labels, pred_b), n_boot=n_boot, seed=seed, vectorized=True)


__all__ = ["encode", "macro_f1_ci", "macro_f1_codes", "paired_difference", "roc_auc", "roc_auc_ci"]
