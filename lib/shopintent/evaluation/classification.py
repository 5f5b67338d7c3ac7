"""Classification metrics: scikit-learn computes what it can; calibration and entity spans here.

``binary_report`` (purchase intent and other yes/no targets), ``multiclass_report`` (query or
session intent, sentiment), ``entity_prf`` (entity spans in queries, exact match), and the
calibration pieces scikit-learn lacks: the expected calibration error over equal-width bins
and the reliability table behind a reliability diagram. scikit-learn is imported inside the
functions that use it, so importing ``shopintent.evaluation`` stays fast.

Bootstrap intervals need a metric on 1,000 resamples, and scikit-learn scores one sample per call
(seconds per model). The vectorised metrics below score all replicates at once and equal
scikit-learn's numbers: ``macro_f1_codes`` and unweighted ``roc_auc`` along the last axis of
(replicates, n) resampled rows; ``roc_auc`` with ``weights`` and the ``weighted_*`` metrics
over (replicates, n) resampling counts and one shared sort of the scores, so 1,000 replicates
of 15,000 sessions take about a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED
from shopintent.evaluation.bootstrap import Interval, bootstrap_ci, paired_bootstrap_diff


def _binary(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).ravel()
    p = np.asarray(y_prob, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} values, y_prob {p.size}: they must match")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"y_true must hold 0/1 labels, found {sorted(set(np.unique(y).tolist()) - {0, 1})[:5]}"
        )
    if p.size and (np.isnan(p).any() or p.min() < 0 or p.max() > 1):
        raise ValueError("y_prob must hold probabilities in [0, 1] (no NaN)")
    return y.astype(np.int64), p


def _calibration_inputs(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    """(outcome, confidence): 0/1 label and P(1) for binary; for an (n, classes) probability
    matrix, whether the top class is right and its probability (top-label calibration)."""
    prob = np.asarray(y_prob, dtype=np.float64)
    if prob.ndim == 2:
        y = np.asarray(y_true).ravel()
        if len(y) != len(prob):
            raise ValueError(f"y_true has {len(y)} rows, y_prob {len(prob)}: they must match")
        return (prob.argmax(axis=1) == y).astype(np.int64), prob.max(axis=1)
    return _binary(y_true, prob)


def reliability_table(y_true, y_prob, n_bins: int = 10) -> pd.DataFrame:
    """One row per equal-width probability bin [lower, upper) (the last one closed at 1):
    ``count``, ``mean_predicted``, ``fraction_positive`` (observed frequency) and ``gap``
    (observed - predicted; NaN for empty bins). Plot ``fraction_positive`` against
    ``mean_predicted`` for a reliability diagram; points on the diagonal are calibrated.

    ``y_prob`` is P(1) with 0/1 ``y_true``, or an (n, classes) matrix with class-index
    ``y_true``, then binned by the top class's probability with "the top class is right" as
    the outcome (Guo et al. 2017).
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    outcome, conf = _calibration_inputs(y_true, y_prob)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    b = np.searchsorted(edges[1:-1], conf, side="right")
    count = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.bincount(b, weights=conf, minlength=n_bins) / count
        frac_pos = np.bincount(b, weights=outcome, minlength=n_bins) / count
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins),
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": count,
            "mean_predicted": mean_pred,
            "fraction_positive": frac_pos,
            "gap": frac_pos - mean_pred,
        }
    )


def expected_calibration_error(y_true, y_prob, n_bins: int = 10) -> float:
    """ECE = sum over equal-width bins of (bin share of samples) x |observed - mean predicted|.

    Ten equal-width bins on [0, 1] by default, empty bins contribute nothing; 0 is perfect.
    Accepts what ``reliability_table`` accepts. Equal-width ECE is biased upwards on small
    samples (each bin's frequency is noisy), so compare models on the same test set.
    """
    t = reliability_table(y_true, y_prob, n_bins)
    n = t["count"].sum()
    if n == 0:
        return float("nan")
    filled = t["count"] > 0
    return float((t.loc[filled, "count"] / n * t.loc[filled, "gap"].abs()).sum())


def binary_report(y_true, y_prob, threshold: float = 0.5, n_bins: int = 10) -> dict:
    """The classification protocol for a binary target, as one flat dict.

    Ranking quality: ``roc_auc``, ``pr_auc`` (average precision); probability quality:
    ``log_loss``, ``brier``, ``ece`` (``n_bins`` equal-width bins); decisions at
    ``threshold`` (predict 1 when p >= threshold): ``precision``, ``recall``, ``f1``,
    ``accuracy``; plus ``n``, ``positive_rate`` and the ``threshold``. AUCs are NaN when the
    labels hold one class only; precision/recall/F1 are 0 when undefined.
    """
    from sklearn import metrics as skm  # imported here: ~2 s, and ranking users never need it

    y, p = _binary(y_true, y_prob)
    pred = (p >= threshold).astype(np.int64)
    both = len(np.unique(y)) == 2
    return {
        "n": int(len(y)),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "roc_auc": float(skm.roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(skm.average_precision_score(y, p)) if both else float("nan"),
        "log_loss": float(skm.log_loss(y, p, labels=[0, 1])),
        "brier": float(skm.brier_score_loss(y, p, pos_label=1)),
        "ece": expected_calibration_error(y, p, n_bins),
        "threshold": float(threshold),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        "f1": float(skm.f1_score(y, pred, zero_division=0)),
        "accuracy": float(skm.accuracy_score(y, pred)),
    }


def _plain(label):
    return label.item() if isinstance(label, np.generic) else label


def multiclass_report(y_true, y_pred, labels: Sequence | None = None) -> dict:
    """``n``, ``accuracy``, ``macro_f1`` (unweighted mean over ``labels``: rare classes count as
    much as common ones), ``weighted_f1`` and ``per_class_f1`` ({label: F1}). ``labels``
    defaults to every label in either array; an absent class's F1 is 0."""
    from sklearn import metrics as skm
    from sklearn.utils.multiclass import unique_labels

    y, pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y.shape != pred.shape:
        raise ValueError(f"y_true has {y.size} values, y_pred {pred.size}: they must match")
    labels = list(unique_labels(y, pred) if labels is None else labels)
    per_class = skm.f1_score(y, pred, labels=labels, average=None, zero_division=0)
    return {
        "n": int(len(y)),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "macro_f1": float(skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(
            skm.f1_score(y, pred, labels=labels, average="weighted", zero_division=0)
        ),
        "per_class_f1": {_plain(lab): float(f) for lab, f in zip(labels, per_class, strict=True)},
    }


Span = tuple[int, int, str]


def _spans(example) -> set[Span]:
    """One example's spans as a set of (start, end, label); takes tuples or {start, end, label}."""
    if example is None:
        return set()
    out = set()
    for s in example:
        if isinstance(s, Mapping):
            out.add((int(s["start"]), int(s["end"]), str(s["label"])))
        else:
            start, end, label = s
            out.add((int(start), int(end), str(label)))
    return out


def _prf(correct: int, n_true: int, n_pred: int) -> dict:
    precision = correct / n_pred if n_pred else 0.0
    recall = correct / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "n_correct": correct,
        "n_true": n_true,
        "n_pred": n_pred,
    }


def entity_prf(
    true_spans: Sequence[Iterable],
    pred_spans: Sequence[Iterable],
    labels: Sequence[str] | None = None,
) -> dict:
    """Entity-level exact-span precision, recall and F1 (as CoNLL / seqeval).

    ``true_spans`` and ``pred_spans`` hold one list per example of (start, end, label) tuples
    or {start, end, label} dicts; a predicted span counts only if start, end and label all
    match a true span of the same example (a span repeated within an example counts once).
    Returns micro-averaged ``precision``, ``recall``, ``f1`` with the counts ``n_correct``,
    ``n_true``, ``n_pred``, and ``per_label`` ({label: the same dict}). With ``labels``, only
    spans of those labels count. A ratio with a zero denominator is 0.
    """
    if len(true_spans) != len(pred_spans):
        raise ValueError(
            f"true_spans has {len(true_spans)} examples, pred_spans {len(pred_spans)}: "
            "one list of spans per example in both"
        )
    keep = None if labels is None else {str(lab) for lab in labels}
    counts: dict[str, list[int]] = {str(lab): [0, 0, 0] for lab in labels or ()}
    for t_ex, p_ex in zip(true_spans, pred_spans, strict=True):
        t, p = _spans(t_ex), _spans(p_ex)
        if keep is not None:
            t = {s for s in t if s[2] in keep}
            p = {s for s in p if s[2] in keep}
        for spans, slot in ((t & p, 0), (t, 1), (p, 2)):
            for s in spans:
                counts.setdefault(s[2], [0, 0, 0])[slot] += 1
    total = np.array(list(counts.values()) or [[0, 0, 0]]).sum(axis=0)
    out = _prf(*map(int, total))
    out["per_label"] = {lab: _prf(*c) for lab, c in sorted(counts.items())}
    return out


# -- vectorised over bootstrap replicates -----------------------------------------------------


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


def _groups(p: np.ndarray, descending: bool) -> tuple[np.ndarray | slice, np.ndarray]:
    """Sort order and the start of each run of tied scores in it (a slice if already sorted)."""
    if len(p) and (np.diff(p) >= 0).all():
        order = slice(None, None, -1) if descending else slice(None)
    else:
        order = np.argsort(-p if descending else p, kind="mergesort")
    s = p[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return order, starts


def _tied_sums(w: np.ndarray, values: np.ndarray, order, starts: np.ndarray) -> np.ndarray:
    """Cumulative weighted sums of ``values`` in ``order`` at the end of each run of ties."""
    c = np.cumsum(w[:, order] * values[order], axis=1)
    return c[:, np.r_[starts[1:], len(values)] - 1]


def roc_auc(y, score, weights=None) -> np.ndarray:
    """ROC-AUC as ``roc_auc_score`` (tied scores count one half); NaN where a class is absent.

    Without ``weights``: along the last axis of ``y`` (0/1) and ``score``, e.g. (replicates, n)
    resampled rows, from the Mann-Whitney U of average ranks. With ``weights`` of shape (n,) or
    (replicates, n), e.g. resampling counts: ``y`` and ``score`` of shape (n,) sorted once for
    every replicate; returns (replicates,).
    """
    if weights is None:
        from scipy.stats import rankdata

        y01 = np.asarray(y, dtype=bool)
        ranks = rankdata(score, axis=-1)
        n_pos = y01.sum(axis=-1)
        n_neg = y01.shape[-1] - n_pos
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = ((ranks * y01).sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)
    y, p = np.asarray(y, dtype=np.float64), np.asarray(score, dtype=np.float64)
    w = np.atleast_2d(weights).astype(np.float64)
    order, starts = _groups(p, descending=False)
    cum_pos, cum_neg = _tied_sums(w, y, order, starts), _tied_sums(w, 1 - y, order, starts)
    pos = np.diff(cum_pos, axis=1, prepend=0.0)
    neg = np.diff(cum_neg, axis=1, prepend=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (cum_neg - 0.5 * neg)).sum(axis=1) / (cum_pos[:, -1] * cum_neg[:, -1])


def weighted_average_precision(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average precision (scikit-learn's step-wise PR-AUC) with weights, per replicate."""
    w = np.atleast_2d(w).astype(np.float64)
    order, starts = _groups(p, descending=True)
    tp, fp = _tied_sums(w, y, order, starts), _tied_sums(w, 1 - y, order, starts)
    gain = np.diff(tp, axis=1, prepend=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        return (gain * precision).sum(axis=1) / tp[:, -1]


def weighted_log_loss(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Log loss (probabilities clipped at machine epsilon) with weights, per replicate."""
    w = np.atleast_2d(w).astype(np.float64)
    q = np.clip(p, np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps)
    loss = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    return (w @ loss) / w.sum(axis=1)


def weighted_ece(y: np.ndarray, p: np.ndarray, w: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Equal-width ECE as ``expected_calibration_error``: Σ_bins |Σ y − Σ p| / n."""
    w = np.atleast_2d(w).astype(np.float64)
    b = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p, side="right")
    onehot = np.zeros((len(p), n_bins))
    onehot[np.arange(len(p)), b] = 1.0
    gap = (w * (y - p)) @ onehot
    return np.abs(gap).sum(axis=1) / w.sum(axis=1)


def macro_f1_ci(y, pred, labels, n_boot: int = 1000, seed: int = DEFAULT_SEED) -> Interval:
    """Macro-F1 over ``labels`` with its percentile bootstrap interval (rows resampled)."""
    k = len(labels)
    return bootstrap_ci(
        lambda a, b: macro_f1_codes(a, b, k),
        encode(labels, y),
        encode(labels, pred),
        n_boot=n_boot,
        seed=seed,
        vectorized=True,
    )


def roc_auc_ci(y01, score, n_boot: int = 1000, seed: int = DEFAULT_SEED) -> Interval:
    """ROC-AUC with its percentile bootstrap interval (rows resampled)."""
    return bootstrap_ci(
        roc_auc,
        np.asarray(y01, dtype=bool),
        np.asarray(score, dtype=np.float64),
        n_boot=n_boot,
        seed=seed,
        vectorized=True,
    )


def macro_f1_difference(
    y, pred_a, pred_b, labels, n_boot: int = 1000, seed: int = DEFAULT_SEED
) -> Interval:
    """Macro-F1 of ``pred_a`` minus that of ``pred_b`` on the same rows, with a paired bootstrap
    interval (both scored on each resample): an interval above 0 means a beats b."""
    k = len(labels)
    return paired_bootstrap_diff(
        encode(labels, pred_a),
        encode(labels, pred_b),
        lambda t, p: macro_f1_codes(t, p, k),
        truth=encode(labels, y),
        n_boot=n_boot,
        seed=seed,
    )
