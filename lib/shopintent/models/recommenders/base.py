"""The one interface every recommender shares, and the indexed training data it learns from.

A recommender is fitted on training interactions (canonical ``events`` rows with an item) and
the catalogue, then asked for the top-k items of users (or, for sequential models, of
sequences). Scores are a dense ``(n_queries, n_items)`` matrix over the *whole catalogue*
(``items.item_id`` order), so that every model is evaluated by full ranking with
``shopintent.evaluation`` and cold items are still candidates. Items a user already interacted
with in training are removed with ``exclude_seen=True`` (DESIGN.md's protocol).

Subclasses implement ``_fit(data, items)`` and ``_score(user_index)``; users unknown at
training time (cold start) are scored by ``_cold_scores`` (default: training popularity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.data.schema import known_user_events
from shopintent.evaluation.ranking import topk_from_scores

#: implicit-feedback weight of each event type (a purchase says more than a view)
EVENT_WEIGHTS: dict[str, float] = {"view": 1.0, "fav": 2.0, "cart": 3.0, "purchase": 5.0}


@dataclass(frozen=True)
class Interactions:
    """Training interactions indexed for matrix code.

    ``matrix`` is CSR ``(n_users, n_items)`` holding the summed event weights of each pair
    (``binary`` gives 1/0); rows follow ``user_ids``, columns ``item_ids`` (the catalogue).
    ``last_ts`` is each pair's latest time in seconds since the epoch (same sparsity), for
    time-decayed models.
    """

    matrix: sp.csr_matrix
    user_ids: pd.Index
    item_ids: pd.Index
    last_ts: sp.csr_matrix

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def binary(self) -> sp.csr_matrix:
        m = self.matrix.copy()
        m.data[:] = 1.0
        return m

    def user_index(self, users) -> np.ndarray:
        """Row of each user id; -1 for users unseen in training."""
        return self.user_ids.get_indexer(pd.Index(users))

    def seen(self, users) -> sp.csr_matrix:
        """CSR ``(len(users), n_items)``: 1 at each user's training items (empty row when cold)."""
        rows = self.user_index(users)
        known = np.flatnonzero(rows >= 0)
        sub = self.matrix[rows[known]]
        out_rows = np.repeat(known, np.diff(sub.indptr))
        return sp.csr_matrix(
            (np.ones(sub.nnz), (out_rows, sub.indices)), shape=(len(rows), self.n_items)
        )


def build_interactions(
    events: pd.DataFrame,
    item_ids,
    *,
    weights: dict[str, float] | None = None,
    user_ids=None,
    col_user: str = "user_id",
) -> Interactions:
    """Index ``events`` over the catalogue ``item_ids``: their rows with an item and a user
    (``schema.known_user_events``: searches and anonymous events are not a user's interactions).

    Event types missing from ``weights`` (default ``EVENT_WEIGHTS``) weigh 1; an item not in the
    catalogue raises, naming it, rather than being silently dropped.
    """
    weights = EVENT_WEIGHTS if weights is None else weights
    ev = known_user_events(events, with_item=True, col_user=col_user)
    item_ids = pd.Index(item_ids)
    if not item_ids.is_unique:
        raise ValueError("item_ids must be unique (the catalogue's item_id column)")
    users = pd.Index(np.sort(pd.unique(ev[col_user]))) if user_ids is None else pd.Index(user_ids)
    u = users.get_indexer(ev[col_user])
    i = item_ids.get_indexer(ev["item_id"])
    if (i < 0).any():
        bad = pd.unique(ev["item_id"].to_numpy()[i < 0])
        raise ValueError(
            f"events: {int((i < 0).sum())} rows name items missing from the catalogue "
            f"(item_id {', '.join(map(repr, bad[:5]))}{', ...' if len(bad) > 5 else ''})"
        )
    keep = u >= 0
    u, i = u[keep], i[keep]
    w = (
        ev["event_type"].map(weights).fillna(1.0).to_numpy(dtype=np.float64)[keep]
        if "event_type" in ev
        else np.ones(len(u))
    )
    shape = (len(users), len(item_ids))
    matrix = sp.csr_matrix((w, (u, i)), shape=shape)  # duplicates are summed
    matrix.sum_duplicates()
    secs = (
        ev["ts"].to_numpy(dtype="datetime64[s]").astype(np.int64)[keep].astype(np.float64)
        if "ts" in ev
        else np.zeros(len(u))
    )
    last = sp.csr_matrix(shape)
    if len(u):  # the latest time of each pair: sort by (user, item, time), keep each run's end
        order = np.lexsort((secs, i, u))
        uo, io, so = u[order], i[order], secs[order]
        is_last = np.r_[(uo[1:] != uo[:-1]) | (io[1:] != io[:-1]), True]
        last = sp.csr_matrix((so[is_last], (uo[is_last], io[is_last])), shape=shape)
    return Interactions(matrix, users, item_ids, last)


@dataclass(frozen=True)
class Recommendations:
    """Top-k lists: ``index`` (n, k) item positions in the catalogue (-1 = padding), the
    matching ``item_ids`` (object array, None for padding) and ``scores`` (NaN for padding)."""

    index: np.ndarray
    item_ids: np.ndarray
    scores: np.ndarray

    def to_frame(self, queries) -> pd.DataFrame:
        """Long table ``query, rank, item_id, score`` (padding dropped)."""
        n, k = self.index.shape
        frame = pd.DataFrame(
            {
                "query": np.repeat(np.asarray(queries, dtype=object), k),
                "rank": np.tile(np.arange(1, k + 1), n),
                "item_id": self.item_ids.ravel(),
                "score": self.scores.ravel(),
            }
        )
        return frame[self.index.ravel() >= 0].reset_index(drop=True)


def top_k(
    scores: np.ndarray, item_ids: pd.Index, k: int, exclude: sp.csr_matrix | None = None
) -> Recommendations:
    """The k best catalogue items per row of ``scores``, never an excluded one."""
    index = topk_from_scores(scores, k, exclude)
    valid = index >= 0
    ids = np.full(index.shape, None, dtype=object)
    ids[valid] = np.asarray(item_ids, dtype=object)[index[valid]]
    vals = np.full(index.shape, np.nan)
    rows = np.repeat(np.arange(index.shape[0]), index.shape[1]).reshape(index.shape)
    vals[valid] = np.asarray(scores)[rows[valid], index[valid]]
    return Recommendations(index, ids, vals)


class Recommender:
    """Base class: ``fit(train_events, items)`` then ``recommend(users, k)``.

    Subclasses set ``name`` and implement ``_fit(data: Interactions, items: DataFrame)`` and
    ``_score(rows: ndarray) -> (len(rows), n_items)`` for known users' rows. ``score(users)``
    fills cold users' rows with ``_cold_scores()``.
    """

    name = "recommender"
    weights: dict[str, float] | None = None  # event weights for build_interactions (None: default)

    def fit(self, train: pd.DataFrame, items: pd.DataFrame, **kwargs) -> Recommender:
        self.data_ = build_interactions(train, items["item_id"], weights=self.weights)
        self.items_ = items.reset_index(drop=True)
        self._fit(self.data_, self.items_, **kwargs)
        return self

    def _fit(self, data: Interactions, items: pd.DataFrame, **kwargs) -> None:
        raise NotImplementedError

    def _score(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _cold_scores(self) -> np.ndarray:
        """Scores for a user without training interactions: training popularity (distinct users)."""
        return np.asarray((self.data_.matrix > 0).sum(axis=0), dtype=np.float64).ravel()

    def _check_fitted(self) -> None:
        if not hasattr(self, "data_"):
            raise RuntimeError(
                f"{type(self).__name__} is not fitted: call fit(train_events, items) first"
            )

    def score(self, users) -> np.ndarray:
        """Dense ``(len(users), n_items)`` scores over the catalogue (higher = better)."""
        self._check_fitted()
        rows = self.data_.user_index(users)
        out = np.empty((len(rows), self.data_.n_items), dtype=np.float64)
        known = rows >= 0
        if known.any():
            out[known] = self._score(rows[known])
        if (~known).any():
            out[~known] = self._cold_scores()
        return out

    def recommend(self, users, k: int = 10, exclude_seen: bool = True) -> Recommendations:
        """Top-k catalogue items per user (exactly k distinct items unless the catalogue runs
        out), without the user's training items when ``exclude_seen``."""
        users = list(users)
        scores = self.score(users)
        exclude = self.data_.seen(users) if exclude_seen else None
        return top_k(scores, self.data_.item_ids, k, exclude)
