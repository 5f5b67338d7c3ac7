"""What the two towers read, as numpy arrays (no TensorFlow here): catalogue-aligned item features,
each user's recent history and profile, and the training examples.

Items (candidate tower): an id index that only items seen in training get (0 = the shared
out-of-vocabulary bucket, so a new item is still scored from its content), brand, leaf and top
category (vocabularies from the *training* items: a value only cold items have maps to 0,
never to an untrained row), a price bucket (deciles of log price, 0 = missing) and, optionally,
a text vector per item (MiniLM from notebook 02's embeddings, or ``tfidf_item_vectors``).

Users (query tower): the last ``history`` distinct items by time (catalogue index + 1, 0 =
padding) and a few profile numbers (standardised): log item and event counts, share of strong
(cart/purchase) interactions, mean log price relative to the catalogue, days since the last
interaction. A training example (user, item) sees only the items *before* that item in the
user's history, so the target is never among its own inputs; serving uses the full history.
Profile numbers are computed over the whole training period (static user attributes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.models.recommenders.base import Interactions

N_PRICE_BUCKETS = 10
PROFILE_FEATURES = ("log_items", "log_weight", "strong_share", "rel_log_price", "days_since_last")


@dataclass(frozen=True)
class ItemFeatures:
    """Integer feature columns per catalogue item (``item_ids`` order) and optional text vectors."""

    item_ids: pd.Index
    id_index: np.ndarray  # 0 = out of vocabulary (no training interaction)
    brand: np.ndarray
    category: np.ndarray
    top_category: np.ndarray
    price_bucket: np.ndarray
    text: np.ndarray | None = None  # (n_items, dim) float32

    @property
    def sizes(self) -> dict[str, int]:
        """Rows each embedding table needs (max index + 1)."""
        return {
            name: int(getattr(self, name).max(initial=0)) + 1
            for name in ("id_index", "brand", "category", "top_category", "price_bucket")
        }

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            name: getattr(self, name)
            for name in ("id_index", "brand", "category", "top_category", "price_bucket")
        }


def _vocab_index(values: pd.Series, known: np.ndarray) -> np.ndarray:
    """1..n for values that occur among ``known`` rows (sorted), 0 otherwise (and for nulls)."""
    vocab = pd.Index(np.sort(pd.unique(values[known].dropna().astype(str))))
    idx = vocab.get_indexer(values.astype("string").fillna("\x00").astype(str))
    return (idx + 1).astype(np.int32)


def item_features(
    items: pd.DataFrame, trained: np.ndarray, text: np.ndarray | None = None
) -> ItemFeatures:
    """Feature columns of the catalogue ``items``; ``trained`` (bool per item) marks items with a
    training interaction: only they get an id of their own and shape the vocabularies."""
    trained = np.asarray(trained, dtype=bool)
    if len(trained) != len(items):
        raise ValueError(f"trained has {len(trained)} flags for {len(items)} catalogue items")
    if text is not None and text.shape[0] != len(items):
        raise ValueError(f"text vectors have {text.shape[0]} rows for {len(items)} catalogue items")
    id_index = np.zeros(len(items), dtype=np.int32)
    id_index[trained] = np.arange(1, int(trained.sum()) + 1, dtype=np.int32)
    category = items["category"].astype("string")
    top = category.str.split(".", n=1).str[0]
    price = pd.to_numeric(items["price"], errors="coerce").to_numpy(dtype=np.float64)
    bucket = np.zeros(len(items), dtype=np.int32)
    ok = np.isfinite(price) & (price > 0)
    if (ok & trained).any():
        edges = np.quantile(
            np.log(price[ok & trained]), np.linspace(0, 1, N_PRICE_BUCKETS + 1)[1:-1]
        )
        bucket[ok] = np.searchsorted(edges, np.log(price[ok]), side="right").astype(np.int32) + 1
    return ItemFeatures(
        pd.Index(items["item_id"]),
        id_index,
        _vocab_index(items["brand"], trained),
        _vocab_index(category, trained),
        _vocab_index(top, trained),
        bucket,
        None if text is None else np.ascontiguousarray(text, dtype=np.float32),
    )


def _pairs(data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(user row, item column, last time, weight) of every training pair, by user then time."""
    m = data.matrix.tocoo()
    last = data.last_ts.tocsr()
    ts = np.asarray(last[m.row, m.col]).ravel()
    order = np.lexsort((m.col, ts, m.row))
    return m.row[order].astype(np.int64), m.col[order].astype(np.int64), ts[order], m.data[order]


def _previous_items(
    users: np.ndarray, items: np.ndarray, history: int, include_self: bool
) -> np.ndarray:
    """For pairs sorted by (user, time): the ``history`` items before each (most recent first),
    catalogue index + 1, 0 where the user has no earlier item. ``include_self`` shifts by one."""
    n = len(users)
    out = np.zeros((n, history), dtype=np.int32)
    pos = np.arange(n)
    for j in range(history):
        src = pos - j - (0 if include_self else 1)
        ok = (src >= 0) & (users[np.clip(src, 0, None)] == users)
        out[ok, j] = items[src[ok]] + 1
    return out


@dataclass(frozen=True)
class UserFeatures:
    """Per training user: history (n_users, H) and profile (n_users, P).

    Rows follow ``Interactions.user_ids`` order.
    """

    history: np.ndarray
    profile: np.ndarray


def user_features(
    data: Interactions, items: pd.DataFrame, history: int = 20, strong_weight: float = 3.0
) -> UserFeatures:
    """Each training user's last ``history`` items and standardised profile numbers."""
    u, i, ts, w = _pairs(data)
    hist = np.zeros((data.n_users, history), dtype=np.int32)
    if len(u):
        last_rows = np.r_[u[1:] != u[:-1], True]  # each user's latest pair holds the full history
        hist[u[last_rows]] = _previous_items(u, i, history, include_self=True)[last_rows]
    n_items = np.bincount(u, minlength=data.n_users).astype(np.float64)
    weight = np.bincount(u, weights=w, minlength=data.n_users)
    strong = np.bincount(u, weights=(w >= strong_weight).astype(np.float64), minlength=data.n_users)
    price = pd.to_numeric(items["price"], errors="coerce").to_numpy(dtype=np.float64)
    log_price = np.where(
        np.isfinite(price) & (price > 0), np.log(np.where(price > 0, price, 1.0)), np.nan
    )
    lp = log_price[i]
    has = np.isfinite(lp)
    price_sum = np.bincount(u[has], weights=lp[has], minlength=data.n_users)
    price_n = np.bincount(u[has], minlength=data.n_users)
    centre = np.nanmean(log_price) if np.isfinite(log_price).any() else 0.0
    rel_price = np.where(price_n > 0, price_sum / np.maximum(price_n, 1) - centre, 0.0)
    latest = np.full(data.n_users, np.nan)
    if len(u):
        np.fmax.at(latest, u, ts)
    end = np.nanmax(latest) if np.isfinite(latest).any() else 0.0
    days = np.where(np.isfinite(latest), (end - latest) / 86400.0, 0.0)
    raw = np.column_stack(
        [
            np.log1p(n_items),
            np.log1p(weight),
            strong / np.maximum(n_items, 1),
            rel_price,
            np.log1p(days),
        ]
    )
    std = raw.std(axis=0)
    profile = (raw - raw.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return UserFeatures(hist, profile.astype(np.float32))


@dataclass(frozen=True)
class Examples:
    """Training examples, one per distinct (user, item) training pair."""

    user: np.ndarray  # user row
    item: np.ndarray  # catalogue index
    history: np.ndarray  # (n, H) earlier items (catalogue index + 1)
    weight: np.ndarray  # summed event weight of the pair

    def __len__(self) -> int:
        return len(self.user)


def training_examples(data: Interactions, history: int = 20, mode: str = "before") -> Examples:
    """One example per training pair. Its history: ``before``, the user's items before it in
    time (as at serving time in a split by time); ``others``, the user's latest items other
    than itself (for random splits, where the test items lie among the training ones in time)."""
    u, i, _, w = _pairs(data)
    if mode == "before":
        hist = _previous_items(u, i, history, include_self=False)
    elif mode == "others":
        latest = np.zeros((data.n_users, history + 1), dtype=np.int32)
        if len(u):
            last_rows = np.r_[u[1:] != u[:-1], True]
            latest[u[last_rows]] = _previous_items(u, i, history + 1, include_self=True)[last_rows]
        rows = latest[u]
        keep = (rows != (i[:, None] + 1)) & (rows > 0)
        order = np.argsort(~keep, axis=1, kind="stable")  # kept entries first, in recency order
        hist = np.where(
            np.take_along_axis(keep, order, axis=1), np.take_along_axis(rows, order, axis=1), 0
        )
        hist = hist[:, :history].astype(np.int32)
    else:
        raise ValueError(f"history mode must be 'before' or 'others', got {mode!r}")
    return Examples(u.astype(np.int32), i.astype(np.int32), hist, w.astype(np.float32))


def tfidf_item_vectors(items: pd.DataFrame, dim: int = 64, seed: int = 0) -> np.ndarray:
    """A fast stand-in for sentence vectors of the item texts (same text rule as the MiniLM
    embeddings): TF-IDF of words and character 2-4-grams, truncated SVD, L2-normalised."""
    from scipy.sparse import hstack
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    from shopintent.features.text.embeddings import table_texts

    texts = pd.Series(table_texts("items", items)).str.lower()
    word = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit_transform(texts)
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True
    ).fit_transform(texts)
    x = hstack([word, char]).tocsr()
    svd = TruncatedSVD(
        n_components=max(1, min(dim, x.shape[1] - 1, x.shape[0] - 1)), random_state=seed
    )
    return normalize(svd.fit_transform(x)).astype(np.float32)
