"""The block functions behind the Spark recommenders (plain numpy and scipy, no Spark): the
top-k cut and the neighbour pruning keep ties in catalogue order, as a stable sort does."""

import numpy as np
import scipy.sparse as sp

from shopintent.models.recommenders.spark.blocks import prune_top, top_k_rows


def _stable_top_k(scores, excluded, k):
    neg = np.where(excluded, np.inf, -scores)
    order = np.argsort(neg, axis=1, kind="stable")[:, :k]
    return [[c for c in row if np.isfinite(neg[r, c])] for r, row in enumerate(order)]


def test_top_k_rows_equals_a_stable_sort_with_ties_and_exclusions():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 30)).astype(np.float64)  # many ties at every cut
    excluded = rng.random((50, 30)) < 0.3
    excluded[0] = True  # a user who has seen everything: an empty list
    excluded[1, 3:] = True  # fewer allowed items than k
    for k in (1, 5, 29, 30, 40):
        rows, rank, cols = top_k_rows(scores, excluded, k)
        want = _stable_top_k(scores, excluded, k)
        got = [list(cols[rows == r]) for r in range(len(scores))]
        assert got == want
        for r in range(len(scores)):
            assert list(rank[rows == r]) == list(range(1, len(want[r]) + 1))


def test_prune_top_keeps_the_largest_positive_entries_lowest_column_first():
    m = sp.csr_matrix(
        np.array(
            [
                [0.0, 0.5, 0.5, 0.5, -1.0, 0.2],
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                [0.3, 0.0, 0.9, 0.0, 0.3, 0.0],
            ]
        )
    )
    got = prune_top(m, 2).toarray()
    want = np.array(
        [
            [0.0, 0.5, 0.5, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.3, 0.0, 0.9, 0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(prune_top(m, None).toarray(), m.toarray())
