"""DataFrame front of the ranking metrics: ``user_id, item_id[, rating/prediction]`` tables in,
the array functions of ``shopintent.evaluation.ranking`` underneath.

The wrappers keep Microsoft Recommenders' argument order ``(rating_true, rating_pred, col_user=...,
col_item=..., col_rating=..., col_prediction=..., k=...)`` and carry a ``_df`` suffix, so they are
never confused with the array functions' ``(recs, truth)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.evaluation.ranking import (
    evaluate_ranking,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)


@dataclass(frozen=True)
class RankingInputs:
    """``recs`` and ``truth`` built from DataFrames, with the ids behind each row and column."""

    recs: np.ndarray  # (n_users, k) item indices, -1 = padding
    truth: sp.csr_matrix  # (n_users, n_items) relevance
    user_ids: pd.Index  # row u of recs/truth is user_ids[u]
    item_ids: pd.Index  # item index i is item_ids[i]


def _best_per_pair(u: np.ndarray, i: np.ndarray, value: np.ndarray, n_items: int) -> np.ndarray:
    """Positions keeping, for each repeated (user, item) pair, its row with the largest value."""
    key = u.astype(np.int64) * n_items + i
    order = np.lexsort((-value, key))
    return order[np.r_[True, key[order][1:] != key[order][:-1]][: len(order)]]


def interactions_matrix(
    df: pd.DataFrame,
    user_ids,
    item_ids,
    *,
    col_user: str = "user_id",
    col_item: str = "item_id",
    col_rating: str | None = None,
) -> sp.csr_matrix:
    """CSR ``(len(user_ids), len(item_ids))`` from rows ``user, item[, rating]``: 1 per pair, or
    the largest rating of a repeated pair; e.g. the truth, or the seen items to exclude. Rows
    whose user or item is not among the ids are left out."""
    user_ids, item_ids = pd.Index(user_ids), pd.Index(item_ids)
    u, i = user_ids.get_indexer(df[col_user]), item_ids.get_indexer(df[col_item])
    r = np.ones(len(df)) if col_rating is None else df[col_rating].to_numpy(dtype=np.float64)
    keep = (u >= 0) & (i >= 0)
    sel = _best_per_pair(u[keep], i[keep], r[keep], len(item_ids))
    m = sp.csr_matrix(
        (r[keep][sel], (u[keep][sel], i[keep][sel])), shape=(len(user_ids), len(item_ids))
    )
    m.eliminate_zeros()
    return m


def ranking_inputs(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    *,
    col_user: str = "user_id",
    col_item: str = "item_id",
    col_rating: str | None = None,
    col_prediction: str | None = "prediction",
    k: int | None = None,
    items=None,
) -> RankingInputs:
    """``recs`` and ``truth`` from a truth table (``user, item[, rating]``) and a prediction
    table (``user, item[, prediction]``).

    Users are those of ``rating_true`` (sorted); a user without predictions gets an empty list
    (and scores 0), predictions for users absent from the truth are dropped. Items are
    ``items`` (the catalogue, so that coverage is over it) or else every item in either table.
    Each user's list is ordered by ``col_prediction`` descending (ties: item order), or by row
    order when ``col_prediction`` is None, cut at ``k`` (default: the longest list); a repeated
    (user, item) prediction keeps its best score. Relevance is ``col_rating`` or 1.
    """
    for name, df, cols in (
        ("rating_true", rating_true, [col_user, col_item, col_rating]),
        ("rating_pred", rating_pred, [col_user, col_item, col_prediction]),
    ):
        missing = [c for c in cols if c is not None and c not in df.columns]
        if missing:
            raise KeyError(
                f"{name}: missing column(s) {', '.join(missing)} "
                f"(has: {', '.join(map(str, df.columns))})"
            )
    user_ids = pd.Index(np.sort(pd.unique(rating_true[col_user])))
    both = pd.concat([rating_true[col_item], rating_pred[col_item]])
    item_ids = pd.Index(np.sort(pd.unique(both)) if items is None else items)
    if not item_ids.is_unique:
        raise ValueError("items must be unique item ids")
    truth = interactions_matrix(
        rating_true, user_ids, item_ids, col_user=col_user, col_item=col_item, col_rating=col_rating
    )
    u, i = user_ids.get_indexer(rating_pred[col_user]), item_ids.get_indexer(rating_pred[col_item])
    keep = u >= 0
    unknown = keep & (i < 0)
    if unknown.any():
        bad = ", ".join(map(repr, rating_pred[col_item].to_numpy()[unknown][:5]))
        raise ValueError(
            f"rating_pred: {unknown.sum()} predictions for items not in items ({bad}"
            f"{', ...' if unknown.sum() > 5 else ''})"
        )
    score = (
        -np.arange(len(rating_pred), dtype=np.float64)
        if col_prediction is None
        else rating_pred[col_prediction].to_numpy(dtype=np.float64)
    )
    u, i, score = u[keep], i[keep], score[keep]
    best = _best_per_pair(u, i, score, len(item_ids))
    u, i, score = u[best], i[best], score[best]
    order = np.lexsort((i, -score, u))
    u, i = u[order], i[order]
    rank = np.arange(len(u)) - np.searchsorted(u, np.arange(len(user_ids)))[u]
    k = (int(rank.max()) + 1 if len(rank) else 1) if k is None else int(k)
    recs = np.full((len(user_ids), k), -1, dtype=np.int64)
    recs[u[rank < k], rank[rank < k]] = i[rank < k]
    return RankingInputs(recs, truth, user_ids, item_ids)


def _frame_version(fn):
    def metric(
        rating_true,
        rating_pred,
        col_user="user_id",
        col_item="item_id",
        col_rating=None,
        col_prediction="prediction",
        k=10,
        **kwargs,
    ):
        inp = ranking_inputs(
            rating_true,
            rating_pred,
            col_user=col_user,
            col_item=col_item,
            col_rating=col_rating,
            col_prediction=col_prediction,
            k=k,
        )
        return fn(inp.recs, inp.truth, k, **kwargs)

    metric.__name__ = metric.__qualname__ = f"{fn.__name__}_df"
    metric.__doc__ = (
        f"``{fn.__name__}`` on DataFrames, with Microsoft Recommenders' signature "
        "(rating_true, rating_pred, col_user, col_item, col_rating, col_prediction, k); "
        "see ``ranking_inputs`` for how the tables become lists."
    )
    return metric


precision_at_k_df = _frame_version(precision_at_k)
recall_at_k_df = _frame_version(recall_at_k)
ndcg_at_k_df = _frame_version(ndcg_at_k)
map_at_k_df = _frame_version(map_at_k)
hit_rate_at_k_df = _frame_version(hit_rate_at_k)
mrr_at_k_df = _frame_version(mrr_at_k)


def evaluate_ranking_df(
    rating_true,
    rating_pred,
    col_user="user_id",
    col_item="item_id",
    col_rating=None,
    col_prediction="prediction",
    ks=(10, 20),
    items=None,
    **kwargs,
) -> dict:
    """``evaluate_ranking`` on DataFrames; ``items`` (the catalogue's ids) sets coverage's
    denominator, and ``popularity`` in ``kwargs`` must then be aligned with ``items``."""
    inp = ranking_inputs(
        rating_true,
        rating_pred,
        col_user=col_user,
        col_item=col_item,
        col_rating=col_rating,
        col_prediction=col_prediction,
        k=max(ks),
        items=items,
    )
    return evaluate_ranking(inp.recs, inp.truth, ks, **kwargs)
