"""The exact part of the Spark recommenders done in blocks by scipy on Spark's Python workers.

A grouped map (``groupBy(block).applyInPandas``) hands each block's rows to one Python call:
Spark still shuffles, distributes and retries the work, but inside a block the numbers come
from the very scipy products the pandas models use, so they are equal bit for bit, and a
block costs a sparse product instead of a shuffle and a sort per sum:

- ``similarity_block``: the rows of the item-item cosine of the items in one block of the
  catalogue (``item_idx mod n_blocks``), from the full histories of the users who touched one
  of them, pruned to each item's top neighbours;
- ``knn_block`` / ``popularity_block`` / ``factors_block``: the top-k lists of one block of test
  users (``hash(user_id) mod n_blocks``) from their histories and the similarity (as a
  broadcast CSR), the popularity vector, or the ALS factors.

Every list ranks the whole catalogue, seen items removed, ties to the lower catalogue index
(``top_k_rows``, as ``evaluation.ranking.topk_from_scores``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.models.recommenders.baselines import weigh

#: users scored densely at a time in a block (x catalogue size float64 values)
CHUNK_VALUES = 1 << 22
RECS_SCHEMA = "user_id string, rank int, item_idx int, score double"
SIM_SCHEMA = "i int, j int, sim double"


def top_k_rows(scores: np.ndarray, excluded: np.ndarray, k: int):
    """``(row, rank, col)`` of each row's k best columns by score descending, then column
    ascending, skipping ``excluded`` (a boolean mask of the same shape); a row with fewer than k
    allowed columns lists them all. Equal to a stable argsort of ``-scores``, cut to k."""
    n_rows, n_cols = scores.shape
    if n_rows == 0 or n_cols == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    neg = np.where(excluded, np.inf, -scores)
    kk = min(k, n_cols)
    part = np.argpartition(neg, kk - 1, axis=1)[:, :kk] if kk < n_cols else None
    if part is None:
        threshold = np.full(n_rows, np.inf)
    else:
        threshold = np.take_along_axis(neg, part, axis=1).max(axis=1)
    below = neg < threshold[:, None]
    room = kk - below.sum(axis=1)  # places left for columns at the threshold, by index
    at = neg == threshold[:, None]
    take = below | (at & (np.cumsum(at, axis=1) <= room[:, None]))
    take &= np.isfinite(neg)
    rows, cols = np.nonzero(take)
    order = np.lexsort((cols, neg[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n_rows))
    rank = np.arange(len(rows)) - starts[rows] + 1
    return rows, rank, cols


def prune_top(m: sp.csr_matrix, neighbours: int | None) -> sp.csr_matrix:
    """Each row's ``neighbours`` largest positive entries (ties: lower column), or every
    nonzero entry when ``neighbours`` is None; ``baselines.prune_rows`` with a fixed tie rule."""
    m = sp.csr_matrix(m)
    m.eliminate_zeros()
    if neighbours is None:
        return m
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    keep = m.data > 0
    rows, cols, vals = rows[keep], m.indices[keep], m.data[keep]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(m.shape[0]))
    keep = np.arange(len(rows)) - starts[rows] < neighbours
    out = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=m.shape)
    out.sort_indices()
    return out


def _user_matrix(users: np.ndarray, items: np.ndarray, values: np.ndarray, n_items: int):
    """``(ids, csr)``: the users sorted as pandas sorts them (``build_interactions``) and their
    rows, column indices ascending (the order scipy's products add a row in)."""
    ids, rows = np.unique(users, return_inverse=True)
    m = sp.csr_matrix((values, (rows, items)), shape=(len(ids), n_items))
    m.sum_duplicates()
    return ids, m


def similarity_block(
    pdf: pd.DataFrame,
    *,
    n_blocks: int,
    norms: np.ndarray,
    shrinkage: float,
    neighbours: int | None,
    n_items: int,
) -> pd.DataFrame:
    """``i, j, sim`` for the items i of this block: ``baselines.cosine_similarity``'s rows.

    ``pdf``: ``block, uid, item_idx, weight`` (already weighted), every pair of each user who
    touched an item of the block, ``uid`` increasing in user_id order. x_i . x_j is added over
    users in pandas' user order, as ``x.T @ x`` adds it; ``norms`` are the catalogue's |x_i|
    (computed once, by Spark)."""
    if pdf.empty:
        return pd.DataFrame({"i": [], "j": [], "sim": []})
    block = int(pdf["block"].iloc[0])
    _, x = _user_matrix(
        pdf["uid"].to_numpy(np.int64),
        pdf["item_idx"].to_numpy(np.int64),
        pdf["weight"].to_numpy(np.float64),
        n_items,
    )
    mine = np.arange(block, n_items, n_blocks)
    if neighbours is not None and neighbours >= n_items - 1:
        neighbours = None
    columns = sp.csc_matrix(x)
    parts = []
    # a few hundred items' rows at a time: a row of x.T @ x may be dense in the catalogue
    step = max(1, CHUNK_VALUES // max(n_items, 1))
    for lo in range(0, len(mine), step):
        items = mine[lo : lo + step]
        co = sp.csr_matrix(columns[:, items].T @ x)
        rows = np.repeat(np.arange(co.shape[0]), np.diff(co.indptr))
        co.data[co.indices == items[rows]] = 0.0  # the diagonal
        co.eliminate_zeros()
        rows = np.repeat(np.arange(co.shape[0]), np.diff(co.indptr))
        co.data = co.data / (norms[items[rows]] * norms[co.indices] + shrinkage)
        co = prune_top(co, neighbours).tocoo()
        parts.append(
            pd.DataFrame(
                {"i": items[co.row].astype(np.int32), "j": co.col.astype(np.int32), "sim": co.data}
            )
        )
    if not parts:
        return pd.DataFrame({"i": [], "j": [], "sim": []})
    return pd.concat(parts, ignore_index=True)


def _chunks(n_users: int, n_items: int):
    step = max(1, CHUNK_VALUES // max(n_items, 1))
    for lo in range(0, n_users, step):
        yield slice(lo, min(lo + step, n_users))


def _lists(ids, scores_of, seen: sp.csr_matrix, n_items: int, k: int) -> pd.DataFrame:
    """Rank each chunk of users' dense scores (``scores_of(slice)``), seen items excluded."""
    parts = []
    for rows in _chunks(len(ids), n_items):
        scores = scores_of(rows)
        excluded = seen[rows].toarray() > 0
        r, rank, c = top_k_rows(scores, excluded, k)
        parts.append(
            pd.DataFrame(
                {
                    # object, not pandas 3's Arrow-backed str: Spark's Arrow writer takes
                    # one chunk per column, and a concatenated str column has several
                    "user_id": pd.Series(ids[rows][r], dtype=object),
                    "rank": rank.astype(np.int32),
                    "item_idx": c.astype(np.int32),
                    "score": scores[r, c].astype(np.float64),
                }
            )
        )
    if not parts:
        return pd.DataFrame({"user_id": [], "rank": [], "item_idx": [], "score": []})
    return pd.concat(parts, ignore_index=True)


def _histories(pdf: pd.DataFrame, n_items: int):
    """``(ids, seen, weights, cold)`` of a block of test users: rows ``user_id, item_idx,
    weight`` where a user without training pairs has one row with null item."""
    has = pdf["item_idx"].notna().to_numpy()
    users = pdf["user_id"].to_numpy(object)
    ids = np.unique(users)
    pairs = pdf[has]
    rows = np.searchsorted(ids, pairs["user_id"].to_numpy(object))
    items = pairs["item_idx"].to_numpy(np.int64)
    shape = (len(ids), n_items)
    seen = sp.csr_matrix((np.ones(len(rows)), (rows, items)), shape=shape)
    weights = sp.csr_matrix((pairs["weight"].to_numpy(np.float64), (rows, items)), shape=shape)
    seen.sum_duplicates()
    weights.sum_duplicates()
    cold = np.diff(seen.indptr) == 0
    return ids, seen, weights, cold


def popularity_block(pdf: pd.DataFrame, *, popularity: np.ndarray, k: int) -> pd.DataFrame:
    """Every user of the block gets the popularity order, minus its seen items."""
    n_items = len(popularity)
    ids, seen, _, _ = _histories(pdf, n_items)

    def scores_of(rows):
        return np.broadcast_to(popularity, (rows.stop - rows.start, n_items)).copy()

    return _lists(ids, scores_of, seen, n_items, k)


def knn_block(
    pdf: pd.DataFrame,
    *,
    similarity: sp.csr_matrix,
    popularity: np.ndarray,
    weighting: str,
    k: int,
) -> pd.DataFrame:
    """``ItemKNN.score_history``: each known user's (weighted) history @ similarity, the very
    scipy product of the pandas model; users without training pairs get the popularity."""
    n_items = len(popularity)
    ids, seen, weights, cold = _histories(pdf, n_items)
    history = weigh(weights, weighting)

    def scores_of(rows):
        scores = np.asarray((history[rows] @ similarity).todense())
        scores[cold[rows]] = popularity
        return scores

    return _lists(ids, scores_of, seen, n_items, k)


def factors_block(
    pdf: pd.DataFrame, *, item_factors: np.ndarray, popularity: np.ndarray, k: int
) -> pd.DataFrame:
    """ALS: u . v (float32, as Spark ML scores) over the items ALS learnt a factor for; users
    without a factor (none in training) get the popularity list. ``pdf`` also holds one row per
    known user with its ``features`` (and null item)."""
    n_items = len(popularity)
    has_factor = pdf["features"].notna().to_numpy()
    pairs = pdf[~has_factor]
    ids, seen, _, cold = _histories(pairs, n_items)
    rank = item_factors.shape[1]
    users = np.zeros((len(ids), rank), dtype=np.float32)
    known = np.zeros(len(ids), dtype=bool)
    rows = pdf[has_factor]
    where = np.searchsorted(ids, rows["user_id"].to_numpy(object))
    if len(rows):
        users[where] = np.stack(rows["features"].to_numpy()).astype(np.float32)
        known[where] = True
    learnt = ~np.isnan(item_factors[:, 0])
    factors = np.where(learnt[:, None], item_factors, 0.0).astype(np.float32)

    def scores_of(sl):
        scores = (users[sl] @ factors.T).astype(np.float64)
        scores[:, ~learnt] = -np.inf  # Spark ML never recommends an item it has no factor for
        scores[~known[sl]] = popularity
        return scores

    return _lists(ids, scores_of, seen, n_items, k)
