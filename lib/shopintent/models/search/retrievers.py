"""Product search over the whole catalogue: lexical (TF-IDF), dense (sentence encoder) and hybrid.

Every retriever has one interface: ``fit(item_ids, item_texts)`` indexes the catalogue,
``scores(queries)`` gives a dense ``(n_queries, n_items)`` float32 matrix (higher = better, column
``j`` is ``item_ids[j]``) and ``search(queries, k)`` the k best items per query, scored in chunks
of queries so that memory stays bounded on a large catalogue.

The item text is the title, plus the brand when the title does not already name it
(``item_texts``): Home Depot has titles only, the synthetic shop's titles start with the brand.

The hybrid fuses a lexical and a dense retriever, either by the weighted sum of per-query
z-scored scores, or by weighted reciprocal-rank fusion (RRF, Cormack et al. 2009, k = 60). Its
weight (the lexical share, in [0, 1]) is chosen by ``choose_weight`` on *validation* queries
over a small grid, never on test queries. TensorFlow is never imported here: a dense retriever
receives an encoder that is already built.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

from shopintent.evaluation import ndcg_at_k, recall_at_k, topk_from_scores

#: lexical shares tried by ``choose_weight`` (0 = dense only, 1 = lexical only)
WEIGHT_GRID = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
RRF_K = 60
FUSION_METHODS = ("zscore", "rrf")


def item_texts(items: pd.DataFrame, brand: bool = True) -> pd.Series:
    """The text a retriever indexes for each item: ``title``, plus `` brand`` when the item has
    a brand the title does not already contain (case-insensitive). Missing titles become ""."""
    title = items["title"].fillna("").astype(str)
    if not brand or "brand" not in items.columns:
        return title.reset_index(drop=True)
    b = items["brand"].fillna("").astype(str)
    add = (b != "") & ~np.array(
        [br.lower() in t.lower() for t, br in zip(title, b, strict=True)], dtype=bool
    )
    return title.where(~add, title + " " + b).str.strip().reset_index(drop=True)


class Retriever(ABC):
    """Scores every catalogue item for each query; subclasses implement ``_fit`` and ``scores``."""

    name: str
    item_ids: np.ndarray | None = None
    fit_seconds: float = float("nan")

    def fit(self, item_ids, item_texts: Sequence[str]) -> Retriever:
        """Index the catalogue: ``item_ids[j]`` is column ``j`` of every score matrix."""
        item_ids, texts = np.asarray(item_ids), [str(t) for t in item_texts]
        if len(item_ids) != len(texts):
            raise ValueError(f"{self.name}: {len(item_ids)} item ids but {len(texts)} item texts")
        if len(item_ids) == 0:
            raise ValueError(f"{self.name}: the catalogue is empty")
        start = time.perf_counter()
        self._fit(texts)
        self.fit_seconds = time.perf_counter() - start
        self.item_ids = item_ids
        return self

    @abstractmethod
    def _fit(self, texts: list[str]) -> None: ...

    @abstractmethod
    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """``(n_queries, n_items)`` float32 relevance scores, higher is better."""

    def is_fitted_on(self, item_ids) -> bool:
        return self.item_ids is not None and np.array_equal(self.item_ids, np.asarray(item_ids))

    def _check_fitted(self) -> None:
        if self.item_ids is None:
            raise RuntimeError(f"{self.name}: call fit(item_ids, item_texts) before scoring")

    def search(
        self, queries: Sequence[str], k: int = 10, chunk: int = 512
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best items per query: ``(indices, scores)``, both ``(n_queries, k)``, best
        first (indices into ``item_ids``; ties go to the lower index)."""
        queries = [str(q) for q in queries]
        idx = np.full((len(queries), k), -1, dtype=np.int64)
        val = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for lo in range(0, len(queries), chunk):
            s = self.scores(queries[lo : lo + chunk])
            top = topk_from_scores(s, k)
            idx[lo : lo + len(s)] = top
            val[lo : lo + len(s)] = np.where(
                top >= 0, np.take_along_axis(s, np.maximum(top, 0), axis=1), -np.inf
            )
        return idx, val


class TfidfRetriever(Retriever):
    """Cosine similarity of TF-IDF vectors (scikit-learn), as sparse dot products.

    ``analyzer="word"`` keeps one-character tokens (sizes such as "2 in." matter in a DIY
    shop); ``"char_wb"`` uses character n-grams inside word boundaries, robust to typos and
    to run-together words. Default n-grams: words 1, characters 3-5. Sub-linear tf.
    """

    def __init__(
        self,
        analyzer: str = "word",
        ngram_range: tuple[int, int] | None = None,
        min_df: int = 1,
        sublinear_tf: bool = True,
        name: str | None = None,
    ):
        if analyzer not in ("word", "char_wb", "char"):
            raise ValueError(f"analyzer must be 'word', 'char_wb' or 'char', got {analyzer!r}")
        self.analyzer = analyzer
        self.ngram_range = ngram_range or ((1, 1) if analyzer == "word" else (3, 5))
        self.min_df, self.sublinear_tf = min_df, sublinear_tf
        self.name = name or ("tfidf_word" if analyzer == "word" else "tfidf_char")

    def _fit(self, texts: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        words = {"token_pattern": r"(?u)\b\w+\b"} if self.analyzer == "word" else {}
        self.vectorizer = TfidfVectorizer(
            analyzer=self.analyzer,
            ngram_range=self.ngram_range,
            min_df=self.min_df,
            sublinear_tf=self.sublinear_tf,
            dtype=np.float32,
            **words,
        )
        self.item_matrix = sp.csr_matrix(self.vectorizer.fit_transform(texts)).T.tocsc()

    def vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised sparse TF-IDF rows of any texts (the fitted vocabulary)."""
        self._check_fitted()
        return self.vectorizer.transform([str(t) for t in texts])

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        q = self.vectors(queries)
        return np.asarray((q @ self.item_matrix).toarray(), dtype=np.float32)


def _default_encode(encoder, texts: list[str]) -> np.ndarray:
    """Through the shared embedding cache when the encoder has an ``encoder_id`` (the cache's
    key), else straight from the encoder."""
    if getattr(encoder, "encoder_id", None):
        try:
            from shopintent.features.text.cache import encode_cached
        except ImportError:
            pass
        else:
            return encode_cached(encoder, texts)
    return encoder.encode(texts)


class DenseRetriever(Retriever):
    """Cosine similarity of L2-normalised encoder vectors (``encoder.encode(texts)``).

    Catalogue vectors are kept in ``item_vectors`` ``(n_items, dim)``; ``fit_vectors`` takes
    precomputed ones. ``query_seconds`` accumulates the time spent encoding queries; query
    vectors are memoised by text for the retriever's lifetime.

    ``center=True`` subtracts the catalogue's mean vector from item and query vectors and
    re-normalises them. Mean-pooled vectors of a model pretrained only with masked-LM share a
    large common direction (all cosines near 1), which drowns the differences retrieval needs;
    centring on the catalogue (the first step of BERT-whitening) removes it. Contrastively
    trained encoders such as MiniLM do not need it.
    """

    def __init__(
        self, encoder, name: str | None = None, use_cache: bool = True, center: bool = False
    ):
        self.encoder = encoder
        self.name = name or encoder.name
        self.use_cache = use_cache
        self.center = center
        self.mean_vector: np.ndarray | None = None
        self.query_seconds = 0.0
        self._queries: dict[str, np.ndarray] = {}

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = (
            _default_encode(self.encoder, texts) if self.use_cache else self.encoder.encode(texts)
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.mean_vector is not None:
            vectors = vectors - self.mean_vector
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def _fit(self, texts: list[str]) -> None:
        self.mean_vector, self._queries = None, {}
        vectors = self._encode(texts)
        if self.center:
            self.mean_vector = vectors.mean(axis=0)
            vectors = vectors - self.mean_vector
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        self.item_vectors = vectors

    def fit_vectors(self, item_ids, vectors: np.ndarray) -> DenseRetriever:
        """Index precomputed, L2-normalised item vectors instead of encoding texts."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(item_ids):
            raise ValueError(
                f"{self.name}: vectors {vectors.shape} must be (n_items={len(item_ids)}, dim)"
            )
        self.item_ids, self.item_vectors, self.fit_seconds = np.asarray(item_ids), vectors, 0.0
        return self

    def query_vectors(self, queries: Sequence[str]) -> np.ndarray:
        """Query vectors, each distinct text encoded once per retriever (hybrids sharing this
        retriever, and repeated evaluations, reuse them)."""
        queries = [str(t) for t in queries]
        new = list(dict.fromkeys(q for q in queries if q not in self._queries))
        if new:
            start = time.perf_counter()
            self._queries.update(zip(new, self._encode(new), strict=True))
            self.query_seconds += time.perf_counter() - start
        if not queries:
            return np.zeros((0, self.item_vectors.shape[1]), dtype=np.float32)
        return np.stack([self._queries[q] for q in queries])

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self.query_vectors(queries) @ self.item_vectors.T


def _check_pair(
    lexical: np.ndarray, dense: np.ndarray, weight: float
) -> tuple[np.ndarray, np.ndarray]:
    lexical, dense = np.asarray(lexical, dtype=np.float64), np.asarray(dense, dtype=np.float64)
    if lexical.shape != dense.shape or lexical.ndim != 2:
        raise ValueError(
            "score matrices must both be (n_queries, n_items); "
            f"got {lexical.shape} and {dense.shape}"
        )
    if not 0.0 <= float(weight) <= 1.0:
        raise ValueError(f"weight (the lexical share) must be in [0, 1], got {weight}")
    return lexical, dense


def zscore(scores: np.ndarray) -> np.ndarray:
    """Each row standardised over the catalogue: (s - row mean) / row std (0 where std is 0)."""
    s = np.asarray(scores, dtype=np.float64)
    sd = s.std(axis=1, keepdims=True)
    return (s - s.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


def zscore_fusion(lexical: np.ndarray, dense: np.ndarray, weight: float) -> np.ndarray:
    """``weight * z(lexical) + (1 - weight) * z(dense)``, z-scores taken per query (row)."""
    lexical, dense = _check_pair(lexical, dense, weight)
    return (weight * zscore(lexical) + (1.0 - weight) * zscore(dense)).astype(np.float32)


def rrf_fusion(lexical: np.ndarray, dense: np.ndarray, weight: float, k: int = RRF_K) -> np.ndarray:
    """Weighted reciprocal-rank fusion: ``weight / (k + r_lex) + (1 - weight) / (k + r_dense)``.

    Ranks are 1-based within each query over the whole catalogue; tied scores share the best
    (lowest) rank of their tie, so the many items a lexical model scores 0 are all equal.
    """
    lexical, dense = _check_pair(lexical, dense, weight)
    r_lex = rankdata(-lexical, method="min", axis=1)
    r_dense = rankdata(-dense, method="min", axis=1)
    return (weight / (k + r_lex) + (1.0 - weight) / (k + r_dense)).astype(np.float32)


def fuse(
    lexical: np.ndarray,
    dense: np.ndarray,
    weight: float,
    method: str = "zscore",
    rrf_k: int = RRF_K,
) -> np.ndarray:
    """Fused ``(n_queries, n_items)`` scores by ``method`` ("zscore" or "rrf")."""
    if method == "zscore":
        return zscore_fusion(lexical, dense, weight)
    if method == "rrf":
        return rrf_fusion(lexical, dense, weight, rrf_k)
    raise ValueError(f"method must be one of {FUSION_METHODS}, got {method!r}")


def choose_weight(
    lexical: np.ndarray,
    dense: np.ndarray,
    truth,
    method: str = "zscore",
    grid: Sequence[float] = WEIGHT_GRID,
    metric: str = "recall",
    k: int = 10,
    rrf_k: int = RRF_K,
) -> tuple[float, pd.DataFrame]:
    """The lexical share that maximises ``metric@k`` ("recall" or "ndcg", binary gain) of the
    fused scores, and the table ``weight, recall@k, ndcg@k`` over the grid.

    Give it *validation* queries only: ``lexical``/``dense`` are their score matrices and
    ``truth`` their CSR relevance ``(n_queries, n_items)``. Ties go to the first weight of the
    grid with the best value (by default the most dense one).
    """
    if metric not in ("recall", "ndcg"):
        raise ValueError(f"metric must be 'recall' or 'ndcg', got {metric!r}")
    truth = sp.csr_matrix(truth)
    rows = []
    for w in grid:
        recs = topk_from_scores(fuse(lexical, dense, float(w), method, rrf_k), k)
        rows.append(
            {
                "weight": float(w),
                f"recall@{k}": recall_at_k(recs, truth, k),
                f"ndcg@{k}": ndcg_at_k(recs, truth, k, relevance="binary"),
            }
        )
    table = pd.DataFrame(rows)
    best = float(table["weight"].iat[int(np.argmax(table[f"{metric}@{k}"].to_numpy()))])
    return best, table


class HybridRetriever(Retriever):
    """A lexical and a dense retriever fused by z-scored sum or RRF with a lexical share
    ``weight``; ``choose_weight`` sets it from validation queries.

    ``fit`` fits a component only when it is not already fitted on the same item ids, so one
    fitted TF-IDF and one encoded catalogue can serve several hybrids.
    """

    def __init__(
        self,
        lexical: Retriever,
        dense: Retriever,
        method: str = "zscore",
        weight: float | None = None,
        rrf_k: int = RRF_K,
        name: str | None = None,
    ):
        if method not in FUSION_METHODS:
            raise ValueError(f"method must be one of {FUSION_METHODS}, got {method!r}")
        self.lexical, self.dense, self.method, self.weight, self.rrf_k = (
            lexical,
            dense,
            method,
            weight,
            rrf_k,
        )
        self.name = name or ("hybrid" if method == "zscore" else f"hybrid_{method}")
        self.weight_table: pd.DataFrame | None = None
        if lexical.item_ids is not None and dense.is_fitted_on(lexical.item_ids):
            self.item_ids, self.fit_seconds = lexical.item_ids, 0.0

    def _fit(self, texts: list[str]) -> None:  # fit() sets item_ids after this
        raise AssertionError("unreachable: HybridRetriever overrides fit")

    def fit(self, item_ids, item_texts: Sequence[str]) -> HybridRetriever:
        start = time.perf_counter()
        for part in (self.lexical, self.dense):
            if not part.is_fitted_on(item_ids):
                part.fit(item_ids, item_texts)
        self.item_ids, self.fit_seconds = np.asarray(item_ids), time.perf_counter() - start
        return self

    def component_scores(self, queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        return self.lexical.scores(queries), self.dense.scores(queries)

    def choose_weight(
        self,
        queries: Sequence[str],
        truth,
        grid: Sequence[float] = WEIGHT_GRID,
        metric: str = "recall",
        k: int = 10,
    ) -> float:
        """Set ``weight`` to the grid value with the best ``metric@k`` on these (validation)
        queries and their relevance ``truth``; the grid's results go to ``weight_table``."""
        lexical, dense = self.component_scores(queries)
        self.weight, self.weight_table = choose_weight(
            lexical, dense, truth, self.method, grid, metric, k, self.rrf_k
        )
        return self.weight

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        if self.weight is None:
            raise RuntimeError(
                f"{self.name}: no weight yet; call choose_weight on validation queries "
                "or pass weight=..."
            )
        lexical, dense = self.component_scores(queries)
        return fuse(lexical, dense, self.weight, self.method, self.rrf_k)
