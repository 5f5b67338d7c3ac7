"""Ranking metrics: hand-computed values on tiny lists, scikit-learn and a naive per-user loop
on random ones, padding, seen-item exclusion and users without relevant items."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score

from shopintent.evaluation import (
    catalog_coverage,
    evaluate_ranking,
    evaluate_ranking_df,
    hit_rate_at_k,
    item_popularity,
    long_tail_mask,
    long_tail_share,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    ndcg_at_k_df,
    novelty,
    precision_at_k,
    precision_at_k_df,
    ranking_inputs,
    ranking_per_user,
    recall_at_k,
    topk_from_scores,
)

LOG3 = np.log2(3)


def _tiny():
    """3 users, 8 items. User 0 likes {1, 4}, user 1 likes {0}, user 2 likes nothing."""
    recs = np.array(
        [
            [0, 1, 2, -1],  # padded after three items
            [3, 4, 5, 0],
            [1, 2, 3, 4],
        ]
    )
    truth = sp.csr_matrix((np.ones(3), ([0, 0, 1], [1, 4, 0])), shape=(3, 8))
    return recs, truth


def test_hand_computed_values_at_3():
    recs, truth = _tiny()
    # user 0: [0, 1, 2] holds item 1 at rank 2; 2 relevant items.
    #   precision 1/3, recall 1/2, hit 1, RR 1/2, AP = (1/2) / min(3, 2) = 1/4,
    #   NDCG = (1/log2 3) / (1 + 1/log2 3)
    # user 1: [3, 4, 5] misses item 0: all 0.  user 2: no relevant items, excluded.
    assert precision_at_k(recs, truth, 3) == pytest.approx((1 / 3 + 0) / 2)
    assert recall_at_k(recs, truth, 3) == pytest.approx(0.25)
    assert hit_rate_at_k(recs, truth, 3) == pytest.approx(0.5)
    assert mrr_at_k(recs, truth, 3) == pytest.approx(0.25)
    assert map_at_k(recs, truth, 3) == pytest.approx(0.125)
    ndcg0 = (1 / LOG3) / (1 + 1 / LOG3)
    assert ndcg_at_k(recs, truth, 3) == pytest.approx(ndcg0 / 2)
    # items shown in the top 3: {0,1,2} | {3,4,5} | {1,2,3} = 6 of 8
    assert catalog_coverage(recs, 8, 3) == pytest.approx(0.75)


def test_hand_computed_values_at_4_with_padding():
    recs, truth = _tiny()
    # user 0 still has one hit in its 3 real items; precision divides by k = 4 regardless.
    # user 1 finds item 0 at rank 4: precision 1/4, recall 1, RR 1/4, AP = (1/4) / 1,
    #   NDCG = (1/log2 5) / 1
    per_user = precision_at_k(recs, truth, 4, per_user=True)
    np.testing.assert_allclose(per_user, [0.25, 0.25, np.nan])
    np.testing.assert_allclose(recall_at_k(recs, truth, 4, per_user=True), [0.5, 1.0, np.nan])
    np.testing.assert_allclose(mrr_at_k(recs, truth, 4, per_user=True), [0.5, 0.25, np.nan])
    np.testing.assert_allclose(map_at_k(recs, truth, 4, per_user=True), [0.25, 0.25, np.nan])
    np.testing.assert_allclose(
        ndcg_at_k(recs, truth, 4, per_user=True),
        [(1 / LOG3) / (1 + 1 / LOG3), 1 / np.log2(5), np.nan],
    )


def test_map_normalises_by_min_k_and_relevant():
    # hits at ranks 1, 3, 5 of 5, four relevant items: (1/1 + 2/3 + 3/5) / min(5, 4)
    recs = np.array([[0, 9, 1, 8, 2]])
    truth = sp.csr_matrix((np.ones(4), ([0, 0, 0, 0], [0, 1, 2, 3])), shape=(1, 10))
    assert map_at_k(recs, truth, 5) == pytest.approx((1 + 2 / 3 + 3 / 5) / 4)
    # at k = 3 the cap is min(3, 4) = 3: (1/1 + 2/3) / 3
    assert map_at_k(recs, truth, 3) == pytest.approx((1 + 2 / 3) / 3)


def test_graded_ndcg_by_hand():
    # relevances a=3, b=2, c=1 (items 0, 1, 2); list [c, a, x]
    # DCG = 1/log2 2 + 3/log2 3 + 0;  IDCG = 3/log2 2 + 2/log2 3 + 1/log2 4
    recs = np.array([[2, 0, 7]])
    truth = sp.csr_matrix(np.array([[3, 2, 1, 0, 0, 0, 0, 0]], dtype=float))
    expected = (1 + 3 / LOG3) / (3 + 2 / LOG3 + 1 / 2)
    assert ndcg_at_k(recs, truth, 3) == pytest.approx(expected)
    # binary relevance: DCG = 1 + 1/log2 3, IDCG = 1 + 1/log2 3 + 1/2
    assert ndcg_at_k(recs, truth, 3, relevance="binary") == pytest.approx(
        (1 + 1 / LOG3) / (1 + 1 / LOG3 + 0.5)
    )


def test_graded_ndcg_matches_scikit_learn():
    r = np.random.default_rng(0)
    n_users, n_items = 40, 25
    rel = r.integers(1, 5, (n_users, n_items)) * (r.random((n_users, n_items)) < 0.3)
    rel[0] = 0  # a user without relevant items is excluded here, and 0 in scikit-learn
    scores = r.random((n_users, n_items))
    for k in (1, 5, 10, 25):
        recs = topk_from_scores(scores, k)
        ours = ndcg_at_k(recs, sp.csr_matrix(rel), k, per_user=True)
        theirs = np.array(
            [ndcg_score(rel[u : u + 1], scores[u : u + 1], k=k) for u in range(n_users)]
        )
        assert np.isnan(ours[0])
        np.testing.assert_allclose(ours[1:], theirs[1:], atol=1e-12)


def _naive(recs, rel, k):
    """Reference: one user at a time, straight from the definitions."""
    out = {m: [] for m in ("precision", "recall", "hit_rate", "mrr", "map")}
    for u in range(len(recs)):
        relevant = set(np.flatnonzero(rel[u]))
        if not relevant:
            continue
        top = [i for i in recs[u, :k]]
        hits = [i in relevant for i in top]
        out["precision"].append(sum(hits) / k)
        out["recall"].append(sum(hits) / len(relevant))
        out["hit_rate"].append(float(any(hits)))
        out["mrr"].append(next((1 / (j + 1) for j, h in enumerate(hits) if h), 0.0))
        ap = sum(sum(hits[: j + 1]) / (j + 1) for j, h in enumerate(hits) if h)
        out["map"].append(ap / min(k, len(relevant)))
    return {m: np.mean(v) for m, v in out.items()}


def test_all_metrics_match_a_per_user_loop_on_random_lists():
    r = np.random.default_rng(1)
    n_users, n_items = 60, 40
    rel = (r.random((n_users, n_items)) < 0.08).astype(float)
    recs = topk_from_scores(r.random((n_users, n_items)), 20)
    res = evaluate_ranking(recs, sp.csr_matrix(rel), ks=(5, 20))
    for k in (5, 20):
        for name, value in _naive(recs, rel, k).items():
            assert res[f"{name}@{k}"] == pytest.approx(value, abs=1e-12), (name, k)
    assert res["n_users"] + res["n_users_without_relevant"] == n_users
    assert res["n_users"] == int((rel.sum(axis=1) > 0).sum())


def test_evaluate_ranking_keys_slices_and_protocol():
    recs, truth = _tiny()
    pop = np.array([5, 4, 3, 2, 1, 0, 0, 0])
    res = evaluate_ranking(
        recs, truth, ks=(3, 4), popularity=pop, protocol="temporal-global-cutoff"
    )
    for k in (3, 4):
        for name in (
            "precision",
            "recall",
            "ndcg",
            "hit_rate",
            "mrr",
            "map",
            "coverage",
            "novelty",
            "long_tail_share",
        ):
            assert f"{name}@{k}" in res
    assert res["protocol"] == "temporal-global-cutoff"
    assert (res["n_users"], res["n_users_without_relevant"]) == (2, 1)
    # only user 1 (row 1): item 0 at rank 4
    one = evaluate_ranking(recs, truth, ks=(4,), users=np.array([False, True, False]))
    assert one["recall@4"] == 1.0 and one["mrr@4"] == 0.25 and one["n_users"] == 1
    # count only item 4 as relevant: user 0 misses it in [0, 1, 2], user 1 has none left
    tail = evaluate_ranking(recs, truth, ks=(4,), relevant_items=np.arange(8) == 4)
    assert (tail["n_users"], tail["mrr@4"]) == (1, 0.0)
    # only item 1: user 0 finds it at rank 2
    assert evaluate_ranking(recs, truth, ks=(4,), relevant_items=np.arange(8) == 1)["mrr@4"] == 0.5


def test_users_without_relevant_items_only():
    recs = np.array([[0, 1]])
    truth = sp.csr_matrix((1, 3))
    res = evaluate_ranking(recs, truth, ks=(2,))
    assert res["n_users"] == 0 and np.isnan(res["recall@2"])
    assert res["coverage@2"] == pytest.approx(2 / 3)


def test_invalid_inputs_are_explained():
    recs, truth = _tiny()
    with pytest.raises(ValueError, match="same item twice to 1 users"):
        precision_at_k(np.array([[1, 1, 2], [0, 1, 2], [0, 1, 2]]), truth, 3)
    with pytest.raises(ValueError, match=r"hold 4 items; k must be in \[1, 4\]"):
        recall_at_k(recs, truth, 10)
    with pytest.raises(ValueError, match="outside"):
        recall_at_k(recs + 5, truth, 3)
    with pytest.raises(ValueError, match="rows"):
        recall_at_k(recs[:2], truth, 3)


def test_novelty_and_long_tail_by_hand():
    pop = np.array([4, 2, 1, 1])
    recs = np.array([[0, 1], [2, -1]])
    # p = pop / 4 users = [1, 1/2, 1/4, 1/4]: self-information [0, 1, 2, 2] bits
    assert novelty(recs, pop, n_users=4) == pytest.approx((0 + 1 + 2) / 3)
    np.testing.assert_allclose(novelty(recs, pop, n_users=4, per_user=True), [0.5, 2.0])
    # without n_users, p = pop / 8: [1, 2, 3, 3] bits
    assert novelty(recs, pop) == pytest.approx((1 + 2 + 3) / 3)
    popularity = np.array([10, 5, 5, 1, 0])
    np.testing.assert_array_equal(long_tail_mask(popularity, 0.2), [False, True, True, True, True])
    np.testing.assert_array_equal(
        long_tail_mask(popularity, 0.4), [False, False, False, True, True]
    )
    assert long_tail_share(np.array([[0, 1], [3, 4]]), popularity, head_frac=0.4) == pytest.approx(
        0.5
    )
    seen = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [2, 0, 1]]))
    np.testing.assert_array_equal(item_popularity(seen), [3, 1, 1])


def test_topk_matches_a_full_sort_and_excludes_seen_items():
    r = np.random.default_rng(2)
    scores = r.random((30, 50))
    before = scores.copy()
    np.testing.assert_array_equal(topk_from_scores(scores, 7), np.argsort(-scores, axis=1)[:, :7])
    seen = sp.csr_matrix(r.random((30, 50)) < 0.2)
    top = topk_from_scores(scores, 7, exclude=seen, chunk_size=4)
    masked = np.where(seen.toarray(), -np.inf, scores)
    np.testing.assert_array_equal(top, np.argsort(-masked, axis=1)[:, :7])
    assert not seen.toarray()[np.arange(30)[:, None], top].any()
    np.testing.assert_array_equal(scores, before)  # the input is not modified


def test_topk_pads_ties_and_nan():
    scores = np.array([[0.5, np.nan, 0.5, -np.inf, 0.9], [1.0, 1.0, 1.0, 1.0, 1.0]])
    exclude = sp.csr_matrix(([1.0], ([0], [4])), shape=(2, 5))
    top = topk_from_scores(scores, 6, exclude=exclude)
    # row 0: item 4 excluded, NaN and -inf never recommended; ties go to the lower index
    np.testing.assert_array_equal(top, [[0, 2, -1, -1, -1, -1], [0, 1, 2, 3, 4, -1]])


def _frames():
    truth = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u3", "u1"],
            "item_id": ["b", "e", "a", "c", "b"],  # (u1, b) repeated: counted once
            "rating": [3.0, 1.0, 2.0, 5.0, 1.0],
        }
    )
    pred = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2", "u2", "u9"],
            "item_id": ["a", "b", "c", "d", "a", "a", "a"],
            "prediction": [0.9, 0.8, 0.1, 0.7, 0.2, 0.6, 1.0],
        }
    )
    return truth, pred


def test_ranking_inputs_from_dataframes():
    truth, pred = _frames()
    inp = ranking_inputs(truth, pred, col_rating="rating")
    assert list(inp.user_ids) == ["u1", "u2", "u3"]  # u9 has no truth: dropped
    assert list(inp.item_ids) == ["a", "b", "c", "d", "e"]
    # u1: a, b, c by score; u2: d (0.7), a (best of 0.2 and 0.6); u3: nothing
    np.testing.assert_array_equal(inp.recs, [[0, 1, 2], [3, 0, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(
        inp.truth.toarray(), [[0, 3, 0, 0, 1], [2, 0, 0, 0, 0], [0, 0, 5, 0, 0]]
    )
    # precision@2: u1 1/2 (b), u2 1/2 (a), u3 0 (no list) -> 1/3
    assert precision_at_k_df(truth, pred, k=2) == pytest.approx(1 / 3)
    graded = ndcg_at_k_df(truth, pred, col_rating="rating", k=3)
    assert graded == pytest.approx(ndcg_at_k(inp.recs, inp.truth, 3))
    res = evaluate_ranking_df(truth, pred, ks=(2, 3), items=["a", "b", "c", "d", "e", "f"])
    assert res["coverage@3"] == pytest.approx(4 / 6)
    with pytest.raises(ValueError, match="not in items"):
        ranking_inputs(truth, pred, items=["a", "b"])
    with pytest.raises(KeyError, match="score"):
        ranking_inputs(truth, pred, col_prediction="score")


def test_per_user_table_lines_up_with_the_averages():
    r = np.random.default_rng(3)
    rel = sp.csr_matrix((r.random((50, 30)) < 0.1).astype(float))
    recs = topk_from_scores(r.random((50, 30)), 10)
    table = ranking_per_user(recs, rel, ks=(10,), popularity=np.arange(30))
    res = evaluate_ranking(recs, rel, ks=(10,))
    assert len(table) == 50
    assert table["ndcg@10"].mean() == pytest.approx(res["ndcg@10"])  # pandas skips NaN
    assert table["ndcg@10"].isna().sum() == res["n_users_without_relevant"]


def test_topk_ties_across_the_cut_take_the_lowest_indices():
    """Of items tied at the k-th place, the lowest indices get in (argpartition alone picks any):
    the lists equal a stable sort by score, which is what ORDER BY score DESC, index gives."""
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, (300, 60)).astype(float)
    seen = sp.random(300, 60, density=0.1, random_state=4, format="csr")
    got = topk_from_scores(scores, 9, exclude=seen)
    masked = np.where(seen.toarray() != 0, -np.inf, scores)
    want = np.argsort(-masked, axis=1, kind="stable")[:, :9]
    assert (got == want).all()
