"""Full-catalogue top-k ranking metrics, vectorised over all users at once.

Representation (all functions): ``recs`` is an integer array ``(n_users, k)`` of item indices
in rank order, ``-1`` for padding; ``truth`` is a scipy.sparse CSR matrix ``(n_users, n_items)``
of relevance (1 for binary, or a graded gain > 0). Row ``u`` of both is the same user.
``ranking_inputs`` builds both from DataFrames; the ``*_df`` wrappers take Microsoft
Recommenders' signature (``rating_true, rating_pred, col_user=..., k=...``).

Conventions: users without any relevant item are excluded from the averages (their recall,
NDCG, ... are undefined), and ``evaluate_ranking`` reports how many were evaluated. Per-user
values (``per_user=True``) are returned for every row, NaN where a user is excluded.
Precision divides by k even when a list is shorter; recall by the user's number of relevant
items; MAP@k is the mean over users of AP@k = sum of precision@i at each hit i <= k, divided
by min(k, n_relevant) (as Microsoft Recommenders >= 1.2 and RecBole); NDCG uses linear gain
(the relevance itself, as scikit-learn's ``ndcg_score``) and log2(rank + 1) discounts, ideal
DCG from the user's own true relevances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

_CHUNK_ELEMENTS = 1 << 24  # scores per chunk in topk_from_scores (~128 MB as float64)


def _check_recs(recs, n_items: int | None = None) -> np.ndarray:
    recs = np.asarray(recs)
    if recs.ndim != 2 or (recs.size and not np.issubdtype(recs.dtype, np.integer)):
        raise ValueError(
            f"recs must be a 2-D integer array (n_users, k) of item indices, -1 = padding; "
            f"got shape {recs.shape}, dtype {recs.dtype}"
        )
    if recs.size:
        lo, hi = int(recs.min()), int(recs.max())
        if lo < -1 or (n_items is not None and hi >= n_items):
            raise ValueError(f"recs hold item indices outside [-1, {n_items}) (min {lo}, max {hi})")
    return recs


@dataclass(frozen=True)
class _Hits:
    """The relevant items found in the lists: one entry per hit, sorted by (user, rank)."""

    user: np.ndarray  # row index
    rank: np.ndarray  # 1-based position in the list
    gain: np.ndarray  # true relevance of the hit
    n_relevant: np.ndarray  # (n_users,) relevant items per user
    truth: sp.csr_matrix
    k_max: int


def _hits(recs, truth) -> _Hits:
    """Find every relevant item in every list without a per-user loop.

    The lists become a sparse matrix holding each item's 1-based rank; looking it up at the
    truth's coordinates gives the rank of every relevant item (0 = not recommended): O(n_users
    x k) to build, O(nnz(truth) x k) at worst to look up. A list naming an item twice raises.
    """
    recs = _check_recs(recs)
    truth = sp.csr_matrix(truth, dtype=np.float64, copy=True)
    if truth.shape[0] != recs.shape[0]:
        raise ValueError(
            f"truth has {truth.shape[0]} rows but recs has {recs.shape[0]}: "
            "one row per user in both"
        )
    truth.sum_duplicates()
    truth.eliminate_zeros()
    if truth.nnz and truth.data.min() < 0:
        raise ValueError("truth holds negative relevance; use 0 (absent) for not relevant")
    _check_recs(recs, truth.shape[1])
    n_users, k = recs.shape
    s = np.sort(recs, axis=1)
    dup = ((s[:, 1:] == s[:, :-1]) & (s[:, 1:] >= 0)).any(axis=1)
    if dup.any():
        rows = np.flatnonzero(dup)
        raise ValueError(
            f"recs recommend the same item twice to {len(rows)} users "
            f"(rows {', '.join(map(str, rows[:5]))}{', ...' if len(rows) > 5 else ''})"
        )
    valid = recs >= 0
    ranks = np.broadcast_to(np.arange(1, k + 1, dtype=np.float64), recs.shape)[valid]
    indptr = np.r_[0, np.cumsum(valid.sum(axis=1), dtype=np.int64)]
    positions = sp.csr_matrix((ranks, recs[valid], indptr), shape=truth.shape)
    t_user = np.repeat(np.arange(n_users), np.diff(truth.indptr))
    found = np.asarray(positions[t_user, truth.indices]).ravel() if truth.nnz else np.zeros(0)
    hit = found > 0
    user, rank, gain = t_user[hit], found[hit].astype(np.int64), truth.data[hit]
    order = np.lexsort((rank, user))
    return _Hits(user[order], rank[order], gain[order], np.diff(truth.indptr), truth, k)


def _check_k(k: int, h: _Hits) -> int:
    if not 1 <= int(k) <= h.k_max:
        raise ValueError(
            f"k={k} but the lists hold {h.k_max} items; k must be in [1, {h.k_max}] "
            "(pad the lists with -1 to evaluate a larger k)"
        )
    return int(k)


def _per_user(values: np.ndarray, h: _Hits) -> np.ndarray:
    return np.where(h.n_relevant > 0, values, np.nan)


def _mean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _hit_count(h: _Hits, k: int) -> np.ndarray:
    return np.bincount(h.user[h.rank <= k], minlength=len(h.n_relevant)).astype(np.float64)


def _mrr(h: _Hits, k: int) -> np.ndarray:
    at = h.rank <= k
    u, r = h.user[at], h.rank[at]
    first = np.r_[True, u[1:] != u[:-1]][: len(u)]  # hits are sorted by (user, rank)
    rr = np.zeros(len(h.n_relevant))
    rr[u[first]] = 1.0 / r[first]
    return _per_user(rr, h)


def _map(h: _Hits, k: int) -> np.ndarray:
    at = h.rank <= k
    u, r = h.user[at], h.rank[at]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]][: len(u)])
    nth = np.arange(len(u)) - np.repeat(starts, np.diff(np.r_[starts, len(u)])) + 1  # i-th hit
    ap = np.bincount(u, weights=nth / r, minlength=len(h.n_relevant))
    return _per_user(ap / np.maximum(np.minimum(k, h.n_relevant), 1), h)


def _ndcg(h: _Hits, k: int, relevance: str = "graded") -> np.ndarray:
    if relevance not in ("graded", "binary"):
        raise ValueError(f"relevance must be 'graded' or 'binary', got {relevance!r}")
    n = len(h.n_relevant)
    disc = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    at = h.rank <= k
    gain = h.gain[at] if relevance == "graded" else np.ones(at.sum())
    dcg = np.bincount(h.user[at], weights=gain * disc[h.rank[at] - 1], minlength=n)
    if relevance == "binary":
        idcg = np.r_[0.0, np.cumsum(disc)][np.minimum(k, h.n_relevant)]
    else:  # each user's true gains in decreasing order, the first k of them discounted
        t = h.truth
        rows = np.repeat(np.arange(n), np.diff(t.indptr))
        best_first = t.data[np.lexsort((-t.data, rows))]
        nth = np.arange(t.nnz) - t.indptr[rows]
        keep = nth < k
        idcg = np.bincount(rows[keep], weights=best_first[keep] * disc[nth[keep]], minlength=n)
    return _per_user(dcg / np.where(idcg > 0, idcg, 1.0), h)


_ACCURACY = {
    "precision": lambda h, k, rel: _per_user(_hit_count(h, k) / k, h),
    "recall": lambda h, k, rel: _per_user(_hit_count(h, k) / np.maximum(h.n_relevant, 1), h),
    "ndcg": _ndcg,
    "hit_rate": lambda h, k, rel: _per_user((_hit_count(h, k) > 0).astype(np.float64), h),
    "mrr": lambda h, k, rel: _mrr(h, k),
    "map": lambda h, k, rel: _map(h, k),
}


def _metric(name: str, recs, truth, k: int, per_user: bool, relevance: str = "graded"):
    h = _hits(recs, truth)
    values = _ACCURACY[name](h, _check_k(k, h), relevance)
    return values if per_user else _mean(values)


def precision_at_k(recs, truth, k: int = 10, *, per_user: bool = False):
    """Mean over users of (relevant items in the top k) / k."""
    return _metric("precision", recs, truth, k, per_user)


def recall_at_k(recs, truth, k: int = 10, *, per_user: bool = False):
    """Mean over users of (relevant items in the top k) / (the user's relevant items)."""
    return _metric("recall", recs, truth, k, per_user)


def hit_rate_at_k(recs, truth, k: int = 10, *, per_user: bool = False):
    """Share of users with at least one relevant item in the top k."""
    return _metric("hit_rate", recs, truth, k, per_user)


def mrr_at_k(recs, truth, k: int = 10, *, per_user: bool = False):
    """Mean reciprocal rank of the first relevant item within the top k (0 when none)."""
    return _metric("mrr", recs, truth, k, per_user)


def map_at_k(recs, truth, k: int = 10, *, per_user: bool = False):
    """MAP@k, each user's AP@k normalised by min(k, n_relevant) (see the module docstring)."""
    return _metric("map", recs, truth, k, per_user)


def ndcg_at_k(recs, truth, k: int = 10, *, relevance: str = "graded", per_user: bool = False):
    """NDCG@k with linear gain; ``relevance="binary"`` treats every positive relevance as 1."""
    return _metric("ndcg", recs, truth, k, per_user, relevance)


def catalog_coverage(recs, n_items: int, k: int | None = None) -> float:
    """Share of the catalogue's ``n_items`` that appear in at least one top-k list."""
    top = _check_recs(recs, n_items)[:, :k]
    return (
        float((np.bincount(top[top >= 0], minlength=n_items) > 0).sum() / n_items)
        if n_items
        else float("nan")
    )


def item_popularity(interactions, n_items: int | None = None) -> np.ndarray:
    """Distinct users per item of an interaction matrix (CSR, users x items): the popularity
    that ``novelty`` and ``long_tail_share`` expect, computed on the training data."""
    m = sp.csr_matrix(interactions, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    return np.bincount(m.indices, minlength=n_items or m.shape[1]).astype(np.int64)


def long_tail_mask(popularity, head_frac: float = 0.2) -> np.ndarray:
    """True for long-tail items: all but the ``head_frac`` most popular items of the catalogue.

    The head is every item at least as popular as the item ranked ``ceil(head_frac x n)``
    (ties at the cut go to the head); items never interacted with are always in the tail.
    """
    pop = np.asarray(popularity, dtype=np.float64)
    if not 0 <= head_frac <= 1:
        raise ValueError(f"head_frac must be in [0, 1], got {head_frac}")
    n_head = int(np.ceil(head_frac * len(pop)))
    if n_head == 0:
        return np.ones(len(pop), dtype=bool)
    cut = np.sort(pop)[::-1][n_head - 1]
    return ~((pop >= cut) & (pop > 0))


def _slot_mean(recs, k: int | None, item_values: np.ndarray, per_user: bool):
    """Mean of a per-item value over all recommended slots (padding aside), or over each list
    (NaN for an empty one)."""
    top = _check_recs(recs, len(item_values))[:, :k]
    valid = top >= 0
    v = np.where(valid, item_values[np.where(valid, top, 0)], 0.0)
    if per_user:
        return v.sum(axis=1) / np.where(valid.any(axis=1), valid.sum(axis=1), np.nan)
    return float(v.sum() / valid.sum()) if valid.any() else float("nan")


def long_tail_share(
    recs, popularity, k: int | None = None, *, head_frac: float = 0.2, per_user: bool = False
):
    """Share of recommended slots (padding aside) holding a long-tail item, the tail being
    ``long_tail_mask(popularity, head_frac)``; per user: the share of each list."""
    return _slot_mean(recs, k, long_tail_mask(popularity, head_frac).astype(np.float64), per_user)


def novelty(
    recs, popularity, k: int | None = None, *, n_users: int | None = None, per_user: bool = False
):
    """Mean self-information -log2 p(i) of the recommended items, in bits.

    p(i) = popularity(i) / n_users when ``n_users`` (the training users) is given, as in
    Microsoft Recommenders (Zhou et al. 2010); otherwise popularity(i) / total popularity.
    Items never seen in training count as seen once, so one cold item keeps the mean finite.
    Averaged over all recommended slots (or over each user's list with ``per_user``).
    """
    pop = np.asarray(popularity, dtype=np.float64)
    info = -np.log2(np.maximum(pop, 1.0) / (n_users or pop.sum()))
    return _slot_mean(recs, k, info, per_user)


def _restrict(recs, truth, users, relevant_items):
    recs, truth = _check_recs(recs), sp.csr_matrix(truth)
    if users is not None:
        recs, truth = recs[np.asarray(users)], truth[np.asarray(users)]
    if relevant_items is not None:
        mask = np.asarray(relevant_items, dtype=bool)
        if mask.shape != (truth.shape[1],):
            raise ValueError(
                f"relevant_items must be a boolean mask over the {truth.shape[1]} items"
            )
        truth = sp.csr_matrix(truth @ sp.diags(mask.astype(np.float64)))
    return recs, truth


def ranking_per_user(
    recs,
    truth,
    ks=(10, 20),
    *,
    relevance: str = "graded",
    popularity=None,
    head_frac: float = 0.2,
    n_users: int | None = None,
) -> pd.DataFrame:
    """One row per user (row of ``recs``): ``precision@k recall@k ndcg@k hit_rate@k mrr@k
    map@k`` (NaN for users without relevant items), with ``popularity`` also ``novelty@k
    long_tail_share@k``, and ``n_relevant``. A column into ``bootstrap_mean_ci`` gives the
    interval of the matching ``evaluate_ranking`` number."""
    h = _hits(recs, truth)
    out = {}
    for k in sorted({_check_k(k, h) for k in ks}):
        out.update({f"{name}@{k}": fn(h, k, relevance) for name, fn in _ACCURACY.items()})
        if popularity is not None:
            out[f"novelty@{k}"] = novelty(recs, popularity, k, n_users=n_users, per_user=True)
            out[f"long_tail_share@{k}"] = long_tail_share(
                recs, popularity, k, head_frac=head_frac, per_user=True
            )
    out["n_relevant"] = h.n_relevant
    return pd.DataFrame(out)


def evaluate_ranking(
    recs,
    truth,
    ks=(10, 20),
    *,
    relevance: str = "graded",
    n_items: int | None = None,
    popularity=None,
    head_frac: float = 0.2,
    n_users: int | None = None,
    users=None,
    relevant_items=None,
    protocol: str | None = None,
) -> dict:
    """All ranking metrics at each k, as one flat dict.

    Keys: ``precision@k recall@k ndcg@k hit_rate@k mrr@k map@k coverage@k`` for each k, and
    with ``popularity`` (per-item training popularity, see ``item_popularity``) also
    ``novelty@k long_tail_share@k``; plus ``n_users`` (evaluated: with at least one relevant
    item), ``n_users_without_relevant`` and, when given, ``protocol`` (e.g. the split's name).

    ``users`` (boolean mask or row indices) evaluates a slice, e.g. cold-start users;
    ``relevant_items`` (boolean mask over items) counts only those items as relevant, e.g. the
    long tail. Coverage, novelty and long-tail share describe all lists of the (sliced) rows,
    whether or not their user has relevant items; coverage is over ``n_items`` (default: the
    truth's columns, i.e. the whole catalogue).
    """
    recs, truth = _restrict(recs, truth, users, relevant_items)
    n_items = truth.shape[1] if n_items is None else n_items
    h = _hits(recs, truth)
    out: dict = {}
    for k in sorted({_check_k(k, h) for k in ks}):
        out.update({f"{name}@{k}": _mean(fn(h, k, relevance)) for name, fn in _ACCURACY.items()})
        out[f"coverage@{k}"] = catalog_coverage(recs, n_items, k)
        if popularity is not None:
            out[f"novelty@{k}"] = novelty(recs, popularity, k, n_users=n_users)
            out[f"long_tail_share@{k}"] = long_tail_share(recs, popularity, k, head_frac=head_frac)
    out["n_users"] = int((h.n_relevant > 0).sum())
    out["n_users_without_relevant"] = int((h.n_relevant == 0).sum())
    if protocol is not None:
        out["protocol"] = protocol
    return out


def _lowest_index_ties(neg: np.ndarray, part: np.ndarray) -> np.ndarray:
    """``part`` (an argpartition's first kk columns of ``neg``, smallest first) with the items
    tied at the kk-th value swapped for the lowest-indexed ones: argpartition picks any of
    them. Only rows with a tie across the cut are redone; rows whose kk-th value is not finite
    (padding, NaN) are left as they are."""
    kk = part.shape[1]
    vals = np.take_along_axis(neg, part, axis=1)
    kth = vals.max(axis=1)
    fix = np.flatnonzero(np.isfinite(kth))
    if len(fix):
        t = kth[fix, None]
        across = (neg[fix] == t).sum(axis=1) > (vals[fix] == t).sum(axis=1)
        fix = fix[across]
    if not len(fix):
        return part
    block, t = neg[fix], kth[fix, None]
    tied = block == t
    need = kk - (block < t).sum(axis=1, keepdims=True)
    take = (block < t) | (tied & (np.cumsum(tied, axis=1) <= need))
    part = part.copy()
    part[fix] = np.nonzero(take)[1].reshape(-1, kk)
    return part


def topk_from_scores(scores, k: int, exclude=None, *, chunk_size: int | None = None) -> np.ndarray:
    """The k best items per user from a dense ``(n_users, n_items)`` score matrix.

    ``exclude`` (CSR, same shape; any stored entry counts) removes items, e.g. those already
    bought, by scoring them -inf. Returns ``(n_users, k)`` int64 item indices, best first,
    ties broken by lower item index (also at the k-th place: of items tied there, the lowest
    indices get in, as ``ORDER BY score DESC, index`` in a database, e.g. the Spark
    recommenders, whose lists equal these); -1 pads lists when fewer than k items
    have a score above -inf (NaN and -inf are never recommended). Works on ``chunk_size`` users
    at a time (default: about 16M scores) so memory stays bounded; ``scores`` is not changed.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or int(k) < 1:
        raise ValueError(
            f"scores must be 2-D (n_users, n_items) and k >= 1; got shape {scores.shape}, k={k}"
        )
    n_users, n_items = scores.shape
    if exclude is not None:
        exclude = sp.csr_matrix(exclude)
        if exclude.shape != scores.shape:
            raise ValueError(
                f"exclude has shape {exclude.shape}, scores {scores.shape}: they must match"
            )
    kk = min(int(k), n_items)
    out = np.full((n_users, int(k)), -1, dtype=np.int64)
    step = chunk_size or max(1, _CHUNK_ELEMENTS // max(n_items, 1))
    for lo in range(0, n_users, step):
        hi = min(lo + step, n_users)
        neg = -scores[lo:hi].astype(
            np.result_type(scores.dtype, np.float32)
        )  # best = smallest; NaN last
        if exclude is not None:
            block = exclude[lo:hi]
            neg[np.repeat(np.arange(hi - lo), np.diff(block.indptr)), block.indices] = np.inf
        if kk < n_items:
            part = _lowest_index_ties(neg, np.argpartition(neg, kk - 1, axis=1)[:, :kk])
        else:
            part = np.broadcast_to(np.arange(n_items), neg.shape).copy()
        vals = np.take_along_axis(neg, part, axis=1)
        order = np.lexsort((part, vals), axis=1)
        part, vals = (
            np.take_along_axis(part, order, axis=1),
            np.take_along_axis(vals, order, axis=1),
        )
        out[lo:hi, :kk] = np.where(vals < np.inf, part, -1)  # NaN compares False: padding too
    return out
