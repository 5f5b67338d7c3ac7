"""Non-neural baselines every learned recommender is shown next to, all matrix products.

- ``Popularity``: distinct training users per item, the same list for everyone;
- ``RecentPopularity``: popularity with each user's vote decayed by its age (half-life in days),
  for shops whose catalogue turns over;
- ``ItemKNN``: cosine item-item similarity on the user-item matrix (shrunk towards 0 for items
  seen by few users, optionally pruned to each item's top neighbours), scores = history @ S;
- ``EASE``: Steck's (2019) closed-form item-item autoencoder, B = I - P / diag(P) with
  P = (X'X + l2 I)^-1; on MovieLens-100K the strongest simple baseline there is (dense in the
  items it learns on: ``max_items`` caps them to the most popular ones for large catalogues).

``score_history(history)`` scores any CSR ``(n, n_items)`` histories (sessions, sequence
prefixes) with a fitted item-item model, not only training users: notebooks 07 and 08 use it.
Every model saves to one ``.npz`` (``save(path)``, ``Class.load(path)``). Each is registered
(``registry``) with the grid ``tune`` searches: small grids bracketing what validation chose on
MovieLens-100K and the synthetic shop while they were designed (EASE's l2 500 there, 4000 here;
log weights won for the item-item models on the shop; on MovieLens every pair weighs 1, so
log = binary); smoke searches a point or two, as it must run in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.models.recommenders.base import Interactions, Recommender
from shopintent.models.recommenders.persist import Persistent, sparse_arrays, sparse_from
from shopintent.models.recommenders.registry import register

WEIGHTINGS = ("binary", "weight", "log")
_DAY_S = 86_400.0
_PRUNE_CHUNK = 1 << 22  # similarity entries densified at a time when pruning


def weigh(matrix: sp.csr_matrix, weighting: str) -> sp.csr_matrix:
    """The user-item matrix a model learns from: ``binary`` (1 per pair), ``weight`` (summed
    event weights, ``base.EVENT_WEIGHTS``) or ``log`` (1 + log of them, tames heavy viewers)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    m = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    m.eliminate_zeros()
    if weighting == "binary":
        m.data[:] = 1.0
    elif weighting == "log":
        m.data = 1.0 + np.log(np.maximum(m.data, 1.0))
    return m


class _Trained(Persistent, Recommender):
    """A recommender whose (weighted) training matrix is kept for scoring.

    The matrix kept is ``weigh(data_.matrix, weighting)``.
    """

    weighting = "binary"

    def history(self, rows: np.ndarray) -> sp.csr_matrix:
        return weigh(self.data_.matrix[rows], self.weighting)

    def history_of(
        self, events: pd.DataFrame, col_group: str = "user_id"
    ) -> tuple[pd.Index, sp.csr_matrix]:
        """Rows of ``events`` (with an item) grouped by ``col_group`` into CSR histories over the
        fitted catalogue: e.g. session prefixes for ``score_history``. Unknown items are dropped."""
        from shopintent.models.recommenders.base import build_interactions

        ev = events[events["item_id"].isin(self.data_.item_ids)]
        data = build_interactions(ev, self.data_.item_ids, weights=self.weights, col_user=col_group)
        return data.user_ids, weigh(data.matrix, self.weighting)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.score_history(self.history(rows))

    def score_history(self, history: sp.spmatrix) -> np.ndarray:
        raise NotImplementedError


class Popularity(_Trained):
    """Distinct training users per item (ties: catalogue order): the bar every model must clear."""

    name = "popularity"

    def __init__(self) -> None:
        pass

    def _fit(self, data: Interactions, items: pd.DataFrame) -> None:
        self.scores_ = self._cold_scores()

    def score_history(self, history: sp.spmatrix) -> np.ndarray:
        return np.broadcast_to(self.scores_, (history.shape[0], len(self.scores_))).copy()

    def _state(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores_}

    def _set_state(self, arrays) -> None:
        self.scores_ = arrays["scores"]


class RecentPopularity(Popularity):
    """Popularity where a user's vote for an item counts 2^(-age / half-life), its age being the
    time from that user's latest interaction with it to the end of training (days)."""

    name = "recent_popularity"

    def __init__(self, half_life_days: float = 7.0) -> None:
        self.half_life_days = float(half_life_days)

    def _fit(self, data: Interactions, items: pd.DataFrame) -> None:
        if self.half_life_days <= 0:
            raise ValueError(f"half_life_days must be positive, got {self.half_life_days}")
        last = data.last_ts.tocsr()
        now = last.data.max() if last.nnz else 0.0
        decay = np.exp2(-(now - last.data) / (self.half_life_days * _DAY_S))
        self.scores_ = np.bincount(last.indices, weights=decay, minlength=data.n_items)

    def _cold_scores(self) -> np.ndarray:
        return self.scores_


def cosine_similarity(
    x: sp.spmatrix, shrinkage: float = 0.0, neighbours: int | None = None
) -> sp.csr_matrix:
    """Item-item cosine of the columns of ``x`` (users x items), zero diagonal, as CSR.

    s(i, j) = x_i . x_j / (|x_i| |x_j| + shrinkage): shrinkage pulls similarities resting on few
    co-occurrences towards 0. With ``neighbours``, row i keeps only its ``neighbours`` largest
    entries (ties: lower item index), the items that item i votes for.
    """
    x = sp.csc_matrix(x, dtype=np.float64)
    co = sp.csr_matrix(x.T @ x)
    norms = np.sqrt(co.diagonal())
    co = sp.csr_matrix(co - sp.diags(co.diagonal()))
    co.eliminate_zeros()
    rows = np.repeat(np.arange(co.shape[0]), np.diff(co.indptr))
    co.data = co.data / (norms[rows] * norms[co.indices] + shrinkage)
    if neighbours is None or neighbours >= co.shape[1] - 1:
        return co
    return prune_rows(co, int(neighbours))


def prune_rows(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's k largest positive entries (chunks of rows densified at a time)."""
    n_rows, n_cols = m.shape
    keep_rows, keep_cols, keep_vals = [], [], []
    step = max(1, _PRUNE_CHUNK // max(n_cols, 1))
    kk = min(k, n_cols)
    for lo in range(0, n_rows, step):
        block = m[lo : lo + step].toarray()
        top = (
            np.argpartition(-block, kk - 1, axis=1)[:, :kk]
            if kk < n_cols
            else np.broadcast_to(np.arange(n_cols), block.shape)
        )
        vals = np.take_along_axis(block, top, axis=1)
        r, c = np.nonzero(vals > 0)
        keep_rows.append(r + lo)
        keep_cols.append(top[r, c])
        keep_vals.append(vals[r, c])
    out = sp.csr_matrix(
        (np.concatenate(keep_vals), (np.concatenate(keep_rows), np.concatenate(keep_cols))),
        shape=m.shape,
    )
    out.sort_indices()
    return out


class ItemKNN(_Trained):
    """Item-based collaborative filtering: an item scores the summed cosine similarity to the
    items in the user's history (Sarwar et al. 2001; Deshpande & Karypis 2004)."""

    name = "item_knn"

    def __init__(
        self, neighbours: int | None = 100, shrinkage: float = 10.0, weighting: str = "binary"
    ) -> None:
        self.neighbours = None if neighbours is None else int(neighbours)
        self.shrinkage = float(shrinkage)
        self.weighting = weighting

    def _fit(self, data: Interactions, items: pd.DataFrame) -> None:
        self.similarity_ = cosine_similarity(
            weigh(data.matrix, self.weighting), self.shrinkage, self.neighbours
        )

    def score_history(self, history: sp.spmatrix) -> np.ndarray:
        return np.asarray((sp.csr_matrix(history) @ self.similarity_).todense())

    def _state(self) -> dict[str, np.ndarray]:
        return sparse_arrays("similarity", self.similarity_)

    def _set_state(self, arrays) -> None:
        self.similarity_ = sparse_from(arrays, "similarity")


def ease_weights(x: sp.spmatrix, l2: float) -> np.ndarray:
    """EASE's item-item matrix B (n_items, n_items): argmin |X - XB|^2 + l2 |B|^2 with diag(B) = 0,
    in closed form B = I - P diag(1 / diag(P)), P = (X'X + l2 I)^-1 (Steck 2019, eq. 8)."""
    if l2 <= 0:
        raise ValueError(f"l2 must be positive (it keeps X'X + l2 I invertible), got {l2}")
    x = sp.csc_matrix(x, dtype=np.float64)
    gram = (x.T @ x).toarray()
    gram[np.diag_indices_from(gram)] += l2
    p = np.linalg.inv(gram)
    b = p / -np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b


class EASE(_Trained):
    """Embarrassingly Shallow Autoencoder: each item predicted from all other items by one ridge
    regression, solved for all items at once. ``l2`` (Steck's lambda) is chosen on validation.

    B is dense over the items it is learnt on, and the fit costs O(n^3) in their number: only
    items with training interactions enter it (an item without any has a zero column in the
    full solution, so nothing is lost), and at most the ``max_items`` most popular of them
    (3,000 items: 72 MB and about a second on 2 cores; 6,000: 8x the time). Items left out are
    ranked below every item EASE scores, in order of training popularity, so a list is still
    filled to k.
    """

    name = "ease"

    def __init__(
        self, l2: float = 500.0, weighting: str = "binary", max_items: int | None = None
    ) -> None:
        self.l2 = float(l2)
        self.weighting = weighting
        self.max_items = None if max_items is None else int(max_items)

    def _fit(self, data: Interactions, items: pd.DataFrame) -> None:
        x = weigh(data.matrix, self.weighting)
        users = np.diff(sp.csc_matrix(x).indptr)
        by_popularity = np.lexsort(
            (np.arange(len(users)), -users)
        )  # most popular first; ties by position
        n_kept = (
            int((users > 0).sum())
            if self.max_items is None
            else min(int((users > 0).sum()), self.max_items)
        )
        self.kept_ = np.sort(by_popularity[:n_kept])
        self.weights_ = ease_weights(x[:, self.kept_], self.l2).astype(np.float32)
        rest = by_popularity[n_kept:]
        self.fallback_ = np.zeros(
            len(users), dtype=np.float32
        )  # below every EASE score, by popularity
        self.fallback_[rest] = (1.0 + np.arange(len(rest))) / (len(rest) + 1)

    def score_history(self, history: sp.spmatrix) -> np.ndarray:
        h = sp.csr_matrix(history, dtype=np.float32)
        learnt = np.asarray(h[:, self.kept_] @ self.weights_)
        floor = (learnt.min() if learnt.size else 0.0) - 1.0
        out = np.broadcast_to(floor - self.fallback_, (h.shape[0], len(self.fallback_))).copy()
        out[:, self.kept_] = learnt
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, "kept": self.kept_, "fallback": self.fallback_}

    def _set_state(self, arrays) -> None:
        self.weights_, self.kept_, self.fallback_ = (
            arrays["weights"],
            arrays["kept"],
            arrays["fallback"],
        )


register("popularity", Popularity, space={"smoke": {}, "default": {}})
register(
    "recent_popularity",
    RecentPopularity,
    space={
        "smoke": {"half_life_days": [3.0, 14.0, 56.0]},
        "default": {"half_life_days": [1.0, 3.0, 7.0, 14.0, 28.0, 56.0, 112.0]},
    },
)
register(
    "item_knn",
    ItemKNN,
    space={
        "smoke": {"neighbours": [50, None], "shrinkage": [20.0], "weighting": ["log"]},
        "default": {"neighbours": [100, None], "shrinkage": [20.0, 100.0], "weighting": ["log"]},
    },
)
# EASE learns on at most the 4,000 (smoke: 2,000) most popular items: its fit is cubic in them
register(
    "ease",
    EASE,
    space={
        "smoke": {"l2": [100.0, 500.0, 2000.0], "weighting": ["log"], "max_items": [2000]},
        "default": {
            "l2": [250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0],
            "weighting": ["log"],
            "max_items": [4000],
        },
    },
)
