"""Serving indexes for two-tower vectors: TFRS ``BruteForce`` (exact) and ScaNN (approximate).

ScaNN is used through its numpy API (``scann.scann_ops_pybind``). ``import scann`` fails here:
its ``__init__`` also loads ScaNN's TensorFlow ops, built against TF 2.20, which raise an
"undefined symbol" error under the installed TF 2.21. ``load_scann`` therefore registers a bare
``scann`` package (its real ``__path__``, no ``__init__`` run) and imports only the pybind
submodule, which needs neither TensorFlow nor the ops library.

``compare_indexes`` answers the serving question: how many of the exact top 100 does ScaNN
return (recall@100 against brute force) and how many milliseconds a query takes with each,
both on the same precomputed query vectors, in batches, on this machine's CPUs.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
import types
from dataclasses import dataclass

import numpy as np

PYBIND = "scann.scann_ops.py.scann_ops_pybind"


def load_scann():
    """ScaNN's numpy API module (``builder``, ``searcher_from_module``), without its TF ops."""
    if PYBIND in sys.modules:
        return sys.modules[PYBIND]
    current = sys.modules.get("scann")
    if current is None or not hasattr(current, "__path__"):
        spec = importlib.util.find_spec("scann") if current is None else None
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(
                "ScaNN is not installed (pip install scann==1.4.2, see requirements.txt)"
            )
        bare = types.ModuleType(
            "scann", "ScaNN's numpy API only (see shopintent.models.recommenders.two_tower.ann)"
        )
        bare.__path__ = list(spec.submodule_search_locations)
        bare.__spec__ = spec
        bare.__file__ = spec.origin
        sys.modules["scann"] = bare
    return importlib.import_module(PYBIND)


@dataclass(frozen=True)
class ScannConfig:
    """A tree (k-means partitions) + asymmetric hashing + exact re-ranking of the best candidates.

    ``None`` sizes scale with the catalogue: about sqrt(n) leaves; enough leaves searched to
    hold about ``spill x k`` items (at least a twentieth of them: small catalogues are searched
    almost whole, large ones a few percent); the best ``4 k`` re-scored exactly.
    """

    num_leaves: int | None = None
    leaves_to_search: int | None = None
    reorder: int | None = None
    dims_per_block: int = 2
    anisotropic_threshold: float = 0.2
    spill: float = 20.0


def scann_searcher(vectors: np.ndarray, k: int = 100, config: ScannConfig | None = None):
    """A ScaNN searcher over ``vectors`` (n, d) for dot-product (maximum inner product) search.

    ScaNN's k-means takes no seed argument; it uses its own fixed one, so the same vectors give
    the same index almost always (a loaded machine has, rarely, given another partition: searches
    of one index are exact repeats, two builds near-identical; ``test_two_tower.py`` checks both).
    """
    scann = load_scann()
    cfg = config or ScannConfig()
    db = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(db)
    if n < 2:
        raise ValueError(f"ScaNN needs at least 2 vectors to index, got {n}")
    leaves = cfg.num_leaves or max(2, int(round(np.sqrt(n))))
    leaves = min(leaves, n)
    search = cfg.leaves_to_search or int(
        np.clip(np.ceil(cfg.spill * k * leaves / n), max(1, leaves // 20), leaves)
    )
    reorder = cfg.reorder or min(n, 4 * k)
    sample = min(n, 100_000)
    return (
        scann.builder(db, min(k, n), "dot_product")
        .tree(
            num_leaves=leaves, num_leaves_to_search=min(search, leaves), training_sample_size=sample
        )
        .score_ah(cfg.dims_per_block, anisotropic_quantization_threshold=cfg.anisotropic_threshold)
        .reorder(reorder)
        .build()
    )


def scann_top_k(searcher, queries: np.ndarray, k: int) -> np.ndarray:
    """(n_queries, k) item indices from a ScaNN searcher, best first."""
    idx, _ = searcher.search_batched(
        np.ascontiguousarray(queries, dtype=np.float32), final_num_neighbors=k
    )
    return np.asarray(idx, dtype=np.int64)


def bruteforce_index(item_vectors: np.ndarray, query_model=None, k: int = 100):
    """TFRS ``BruteForce`` over the item vectors (identifiers = catalogue positions); with
    ``query_model`` (e.g. a two-tower's ``model_.query_tower``) it takes the tower's inputs."""
    from shopintent.models.recommenders.two_tower.model import import_tfrs

    tfrs = import_tfrs()
    import tensorflow as tf

    index = tfrs.layers.factorized_top_k.BruteForce(query_model, k=k)
    index.index(
        tf.constant(item_vectors, dtype=tf.float32), tf.range(len(item_vectors), dtype=tf.int64)
    )
    return index


def bruteforce_top_k(index, queries, k: int) -> np.ndarray:
    _, ids = index(queries, k=k)
    return np.asarray(ids, dtype=np.int64)


def overlap_recall(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean over queries of |approx row ∩ exact row| / k (padding -1 never counts)."""
    k = exact.shape[1]
    hits = [len(set(a[a >= 0]) & set(e[e >= 0])) for a, e in zip(approx, exact, strict=True)]
    return float(np.mean(hits) / k) if hits else float("nan")


def _ms_per_query(fn, n_queries: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(times)) / max(n_queries, 1)


def compare_indexes(
    query_vectors: np.ndarray,
    item_vectors: np.ndarray,
    k: int = 100,
    config: ScannConfig | None = None,
    repeats: int = 3,
    batch: int = 256,
) -> dict:
    """ScaNN's recall@k against TFRS brute force and both latencies (ms per query, batches of
    ``batch`` queries, median of ``repeats`` passes after one warm-up), on the same vectors."""
    k = min(k, len(item_vectors))
    queries = np.ascontiguousarray(query_vectors, dtype=np.float32)
    brute = bruteforce_index(item_vectors, k=k)
    t0 = time.perf_counter()
    searcher = scann_searcher(item_vectors, k, config)
    build_s = time.perf_counter() - t0

    def run_brute():
        return np.concatenate(
            [
                bruteforce_top_k(brute, queries[lo : lo + batch], k)
                for lo in range(0, len(queries), batch)
            ]
        )

    def run_scann():
        return np.concatenate(
            [
                scann_top_k(searcher, queries[lo : lo + batch], k)
                for lo in range(0, len(queries), batch)
            ]
        )

    exact, approx = run_brute(), run_scann()  # also the warm-up pass
    return {
        "recall_vs_bruteforce": overlap_recall(approx, exact),
        "k": k,
        "n_queries": len(queries),
        "n_items": len(item_vectors),
        "scann_build_s": build_s,
        "bruteforce_ms_per_query": _ms_per_query(run_brute, len(queries), repeats),
        "scann_ms_per_query": _ms_per_query(run_scann, len(queries), repeats),
    }
