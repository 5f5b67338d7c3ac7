"""Speed of the ranking metrics: evaluate_ranking and topk_from_scores on synthetic lists.

    python benchmarks/bench_ranking_metrics.py

Random recommendations and truth (no model): 10^5 users x top-100 over a 20k-item
catalogue with ~5 relevant items per user, and top-100 from a dense 10^4 x 20k score matrix
with ~20 seen items per user excluded. Prints wall times; asserts nothing.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from shopintent.config import rng
from shopintent.evaluation import evaluate_ranking, item_popularity, topk_from_scores


def _random_rows(
    r: np.random.Generator, n_users: int, n_items: int, per_user: int
) -> sp.csr_matrix:
    rows = np.repeat(np.arange(n_users), per_user)
    cols = r.integers(0, n_items, n_users * per_user)
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))
    m.sum_duplicates()
    m.data[:] = 1.0  # a repeated draw stays one relevant item
    return m


def _timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    n_users, n_items, k = 100_000, 20_000, 100
    r = rng(0, "bench-ranking")
    # distinct items per list: the first k of a random permutation of a random offset
    base = r.permuted(np.tile(np.arange(n_items), (200, 1)), axis=1)[:, :k]
    recs = (base[r.integers(0, 200, n_users)] + r.integers(0, n_items, (n_users, 1))) % n_items
    truth = _random_rows(r, n_users, n_items, 5)
    popularity = item_popularity(_random_rows(r, n_users, n_items, 20))
    print(
        f"evaluate_ranking: {n_users:,} users x top-{k}, {n_items:,} items, "
        f"{truth.nnz / n_users:.2f} relevant per user"
    )
    secs, res = _timed(lambda: evaluate_ranking(recs, truth, ks=(10, 20, 100)))
    print(
        f"  ks=(10, 20, 100), accuracy + coverage        {secs:6.2f} s   "
        f"(recall@100 {res['recall@100']:.4f}, expected ~{k / n_items:.4f} at random)"
    )
    secs, _ = _timed(lambda: evaluate_ranking(recs, truth, ks=(10, 20, 100), popularity=popularity))
    print(f"  ks=(10, 20, 100), + novelty, long-tail share  {secs:6.2f} s")

    n_score_users = 10_000
    scores = r.random((n_score_users, n_items), dtype=np.float32)
    seen = _random_rows(r, n_score_users, n_items, 20)
    print(f"topk_from_scores: {n_score_users:,} users x {n_items:,} items (float32), k={k}")
    secs, _ = _timed(lambda: topk_from_scores(scores, k))
    print(f"  no exclusion                                 {secs:6.2f} s")
    secs, _ = _timed(lambda: topk_from_scores(scores, k, exclude=seen))
    print(f"  excluding ~20 seen items per user            {secs:6.2f} s")


if __name__ == "__main__":
    main()
