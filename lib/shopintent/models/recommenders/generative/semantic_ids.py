"""Semantic IDs: each catalogue item as a short tuple of codes (TIGER, Rajput et al. 2023).

Residual k-means over an item content vector (MiniLM of its title and description): level 1
clusters the vectors into ``K`` codes, level 2 clusters what level 1's centroid left over
(the residual), and so on for ``L`` levels; items that share a whole L-tuple get a last
*disambiguation* code (0, 1, … in catalogue order), so the (L + 1)-tuple names exactly one
item. Similar items share prefixes: the first code is a coarse topic, later codes refine it.

Size rule (``codebook_size``): ``K = clip(ceil(4 · n^(1/L)), 4, 256)`` codes per level, so the
L-level code space holds about 4^L = 64 times the catalogue (3 levels: 500 items -> 32 codes,
3,000 -> 58, 100,000 -> 186) and collisions stay rare where the vectors allow it (with 2 · n^(1/L),
29 codes, 77% of the synthetic shop's 3,000 items shared their tuple with another item).

scikit-learn's ``KMeans`` (Lloyd, seeded, ``n_init`` restarts) does the clustering, so a seed
gives the same codes. ``random_codes`` draws tuples of the same shape at random: the ablation
that says what the content carries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.io import write_parquet

FILE = "semantic_ids.parquet"


def codebook_size(n_items: int, levels: int = 3, low: int = 4, high: int = 256) -> int:
    """Codes per level for ``n_items``: ``clip(ceil(4 · n^(1/levels)), low, high)``."""
    if n_items < 1 or levels < 1:
        raise ValueError(f"need at least one item and one level, got {n_items} and {levels}")
    return int(min(high, max(low, math.ceil(4 * n_items ** (1 / levels) - 1e-9))))


@dataclass(frozen=True)
class SemanticIds:
    """``codes`` ``(n_items, levels + 1)`` int: each item's tuple, the last column its
    disambiguation code; rows follow ``item_ids``. ``sizes``: codes per column (the last one
    the largest collision group)."""

    item_ids: pd.Index
    codes: np.ndarray
    kind: str = "semantic"

    @property
    def levels(self) -> int:
        return self.codes.shape[1] - 1

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(c) + 1 for c in self.codes.max(axis=0))

    def collision_rate(self) -> float:
        """Share of items whose L-level tuple (before the disambiguation code) another item
        has too."""
        return collision_rate(self.codes[:, :-1])

    def frame(self) -> pd.DataFrame:
        cols = {f"code_{i}": self.codes[:, i] for i in range(self.levels)}
        return pd.DataFrame(
            {"item_id": self.item_ids.astype(str), **cols, "dedup": self.codes[:, -1]}
        )

    def save(self, folder: str | Path) -> Path:
        """``semantic_ids.parquet`` (item_id, code_0 … code_{L-1}, dedup), written atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return write_parquet(self.frame().assign(kind=self.kind), folder / FILE)

    @classmethod
    def load(cls, folder: str | Path) -> SemanticIds:
        frame = pd.read_parquet(Path(folder) / FILE)
        code_cols = [c for c in frame.columns if c.startswith("code_")] + ["dedup"]
        return cls(
            pd.Index(frame["item_id"]),
            frame[code_cols].to_numpy(np.int64),
            str(frame["kind"].iloc[0]) if len(frame) else "semantic",
        )


def collision_rate(tuples: np.ndarray) -> float:
    """Share of rows of ``tuples`` that are not unique."""
    if not len(tuples):
        return 0.0
    _, inverse, counts = np.unique(tuples, axis=0, return_inverse=True, return_counts=True)
    return float(np.mean(counts[inverse.ravel()] > 1))


def disambiguate(tuples: np.ndarray, priority: np.ndarray | None = None) -> np.ndarray:
    """``tuples`` with a last column numbering the rows that share a tuple, so every row of the
    result is unique: 0, 1, … by descending ``priority`` (e.g. training popularity: the code a
    model writes most often then names the item bought most often), ties and None in row
    order."""
    tuples = np.asarray(tuples, dtype=np.int64)
    if not len(tuples):
        return np.zeros((0, tuples.shape[1] + 1), np.int64)
    _, inverse = np.unique(tuples, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = (
        np.arange(len(tuples))
        if priority is None
        else np.argsort(-np.asarray(priority, dtype=np.float64), kind="stable")
    )
    dedup = np.empty(len(tuples), dtype=np.int64)
    dedup[order] = pd.Series(inverse[order]).groupby(inverse[order]).cumcount().to_numpy()
    return np.c_[tuples, dedup]


def residual_kmeans(
    vectors: np.ndarray, levels: int = 3, codes: int | None = None, seed: int = 0, n_init: int = 1
) -> np.ndarray:
    """``(n, levels)`` codes: k-means on the vectors, then on each level's residuals. Vectors
    are L2-normalised first (MiniLM's similarity is the cosine). ``codes``: per level, by
    ``codebook_size`` when None; never more than the number of distinct residuals."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or not len(x):
        raise ValueError(f"vectors must be a non-empty (n_items, dim) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("vectors hold NaN or infinite values: encode every item's text first")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    residual = x / np.where(norms > 0, norms, 1.0)
    k = codes or codebook_size(len(x), levels)
    out = np.zeros((len(x), levels), dtype=np.int64)
    # one thread: at catalogue sizes the OpenMP threads mostly spin-wait, and on a loaded
    # machine they cost 10x (smoke shop: 57 s wall against 4 s at load 20)
    with threadpool_limits(1):
        for level in range(levels):
            distinct = len(np.unique(residual.round(9), axis=0))
            n_clusters = max(1, min(k, distinct))
            km = KMeans(n_clusters, n_init=n_init, random_state=seed + level).fit(residual)
            out[:, level] = km.labels_
            residual = residual - km.cluster_centers_[km.labels_]
    return out


def semantic_ids(
    vectors: np.ndarray,
    item_ids,
    levels: int = 3,
    codes: int | None = None,
    seed: int = 0,
    priority: np.ndarray | None = None,
) -> SemanticIds:
    """Residual k-means codes of each item's vector plus the disambiguation code (numbered by
    descending ``priority`` within a collision group; None: catalogue order)."""
    item_ids = pd.Index(item_ids)
    if len(item_ids) != len(vectors):
        raise ValueError(f"{len(vectors)} vectors for {len(item_ids)} items: one row per item")
    return SemanticIds(
        item_ids, disambiguate(residual_kmeans(vectors, levels, codes, seed), priority)
    )


def random_codes(
    like: SemanticIds, seed: int = 0, priority: np.ndarray | None = None
) -> SemanticIds:
    """The ablation: codes drawn uniformly per level with the same number of codes per level
    as ``like`` (same tuple shape), disambiguated the same way; they carry no content."""
    from shopintent.config import rng

    r = rng(seed, "random_semantic_ids")
    sizes = like.sizes[:-1]
    drawn = np.column_stack([r.integers(0, s, len(like.item_ids)) for s in sizes])
    return SemanticIds(like.item_ids, disambiguate(drawn, priority), kind="random")


def prefix_sharing(ids: SemanticIds, labels: pd.Series | np.ndarray, depth: int = 1) -> dict:
    """How often two items with the same label (brand, category) share their first ``depth``
    codes, against any two items: ``same_label`` and ``any_pair`` are shares of pairs, ``lift``
    their ratio (1: the codes ignore the label). Items with a missing label are left out."""
    labels = pd.Series(np.asarray(labels, dtype=object))
    keep = labels.notna().to_numpy()
    prefix = pd.Series([tuple(r) for r in ids.codes[keep, :depth]], dtype=object).reset_index(
        drop=True
    )
    lab = labels[keep].reset_index(drop=True)

    def pairs(sizes) -> float:
        sizes = np.asarray(sizes, dtype=np.float64)
        return float((sizes * (sizes - 1) / 2).sum())

    both = pd.DataFrame({"label": lab, "prefix": prefix})
    label_pairs = pairs(both.groupby("label").size())
    shared_in_label = pairs(both.groupby(["label", "prefix"]).size())
    all_pairs = pairs([len(both)])
    shared_any = pairs(both.groupby("prefix").size())
    same = shared_in_label / label_pairs if label_pairs else float("nan")
    anyp = shared_any / all_pairs if all_pairs else float("nan")
    return {
        "depth": depth,
        "same_label": same,
        "any_pair": anyp,
        "lift": same / anyp if anyp else float("nan"),
    }
