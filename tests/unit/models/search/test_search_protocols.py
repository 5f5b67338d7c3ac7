"""Search protocols: Home Depot query split and catalogue on the real sample; the synthetic shop's
(last query before the purchase, purchased item) pairs split by time."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopintent.models.search.protocols import (
    compare_search_models,
    fold_query,
    held_out_sizes,
    judged_task,
    purchase_search_pairs,
    random_rerank_ndcg,
    rerank_ndcg,
    synthetic_task,
)
from shopintent.models.search.retrievers import TfidfRetriever

# train.csv: the 16 products judged for "metal sheet"; relevance >= 2.67 (3.00 or 2.67) are relevant
METAL_SHEET_RELEVANT = {
    "100397",
    "100428",
    "100457",
    "100794",
    "100855",
    "101035",
    "101847",
    "101967",
    "103229",
}


@pytest.fixture(scope="module")
def homedepot_shop(shared_data):
    from shopintent.data.sources import homedepot

    return homedepot.load(shared_data / "homedepot-search-relevance")


@pytest.fixture(scope="module")
def task(homedepot_shop):
    return judged_task(homedepot_shop, n_test=60, n_validation=30, n_items=1_200, seed=7)


def test_homedepot_splits_are_disjoint_by_query(task, homedepot_shop):
    test, val = set(task.test.query_ids), set(task.validation.query_ids)
    train = set(task.train_pairs["query_id"])
    assert len(test) == 60 and len(val) == 30 and not test & val and not (test | val) & train
    # split by the folded text: no test query reappears in training in another case or spacing
    folded = {fold_query(t) for t in task.test.texts}
    assert folded == test and not folded & {fold_query(q) for q in task.train_pairs["query"]}
    # every evaluated query has a relevant product; training queries include all the others
    assert (task.test.truth.getnnz(axis=1) > 0).all() and (
        task.validation.truth.getnnz(axis=1) > 0
    ).all()
    n_folded = homedepot_shop.queries["text"].map(fold_query).nunique()
    assert task.meta["n_train_queries"] == n_folded - 90


def test_homedepot_catalogue_subset_holds_every_judged_product(task, homedepot_shop):
    assert len(task.item_ids) == 1_200 == task.meta["n_items"] and len(set(task.item_ids)) == 1_200
    assert task.meta["catalogue"] == "subset" and task.meta["n_items_total"] == 54_667
    rel = homedepot_shop.extras["relevance"].merge(homedepot_shop.queries, on="query_id")
    held = rel[
        rel["text"].map(fold_query).isin(set(task.test.query_ids) | set(task.validation.query_ids))
    ]
    assert set(held["item_id"]) <= set(task.item_ids)
    titles = homedepot_shop.items.set_index("item_id")["title"]
    assert task.item_texts == titles.loc[task.item_ids].tolist()
    # the judged products are not bunched at the front of the catalogue (ties would favour them)
    judged_cols = np.flatnonzero(np.isin(task.item_ids, held["item_id"].unique()))
    assert judged_cols.max() > 1_000 and judged_cols.min() < 200


def test_homedepot_relevant_sets_match_hand_checked_query(homedepot_shop):
    # A shop cut down to "metal sheet" and a few other queries, so it lands in test or validation.
    q = homedepot_shop.queries
    keep = q[
        (q["text"] == "metal sheet") | q["query_id"].isin(["q1", "q2", "q3", "q4", "q5", "q6"])
    ]
    rel = homedepot_shop.extras["relevance"]
    small = SimpleNamespace(
        queries=keep,
        items=homedepot_shop.items,
        extras={"relevance": rel[rel["query_id"].isin(keep["query_id"])]},
    )
    n_eligible = 1 + sum(
        (rel[rel["query_id"] == i]["relevance"] >= 2.67).any() for i in keep["query_id"][:-1]
    )
    t = judged_task(small, n_test=n_eligible - 2, n_validation=2, n_items=None, seed=1)
    for qs in (t.test, t.validation):
        if "metal sheet" in qs.query_ids:
            row = list(qs.query_ids).index("metal sheet")
            assert set(t.item_ids[qs.truth[row].indices]) == METAL_SHEET_RELEVANT
            assert qs.judged[row].nnz == 16 and sorted(qs.judged[row].data)[:2] == [2.0, 2.0]
            break
    else:
        pytest.fail("'metal sheet' is in neither test nor validation")
    assert t.meta["catalogue"] == "all" and len(t.item_ids) == 54_667


def test_homedepot_comparison_reports_rerank_and_random_order(task):
    cmp = compare_search_models(task, {"tfidf_word": TfidfRetriever("word")})
    per = cmp.per_query["tfidf_word"]
    assert list(per.columns) == ["query_id", "recall@10", "ndcg@10", "rerank_ndcg@10"]
    assert per["recall@10"].notna().all() and 0 < per["recall@10"].mean() < 1
    rand = cmp.per_query["random_order"]["rerank_ndcg@10"]
    assert rand.notna().sum() == per["rerank_ndcg@10"].notna().sum() and 0.7 < rand.mean() < 1.0
    summary = cmp.summary(n_boot=50)
    row = summary[(summary["model"] == "tfidf_word") & (summary["metric"] == "recall@10")].iloc[0]
    assert row["low"] <= row["mean"] <= row["high"] and row["n_queries"] == 60


def test_rerank_ndcg_by_hand():
    # one query judged on items 0 and 2 with relevance 3 and 1 (gains 2 and 0)
    judged = sp.csr_matrix(np.array([[3.0, 0, 1.0]]))
    good, bad = np.array([[0.9, 0.0, 0.1]]), np.array([[0.1, 0.0, 0.9]])
    np.testing.assert_allclose(rerank_ndcg(good, judged), [1.0])
    np.testing.assert_allclose(rerank_ndcg(bad, judged), [1 / np.log2(3)])  # (0 + 2/log2 3) / 2
    np.testing.assert_allclose(
        random_rerank_ndcg(judged), [(1 + 1 / np.log2(3)) / 2]
    )  # mean of both orders
    # a single judged product, or gains all 0, cannot be scored
    assert np.isnan(rerank_ndcg(good, sp.csr_matrix(np.array([[3.0, 0, 0]])))).all()
    assert np.isnan(random_rerank_ndcg(sp.csr_matrix(np.array([[1.0, 1.0, 0]])))).all()


def test_synthetic_pairs_are_last_query_before_the_purchase(smoke_shop):
    pairs = purchase_search_pairs(smoke_shop).set_index("session_id")
    # s0066: "ivory barbeceu on sale", view, "v12 mini coupon", purchase i183
    assert pairs.loc["s0066", ["query", "item_id"]].tolist() == ["v12 mini coupon", "i183"]
    # s0009: "cheap sneakers", then purchases i092 and i189: the first purchase is the target
    assert pairs.loc["s0009", ["query", "item_id"]].tolist() == ["cheap sneakers", "i092"]
    ev = smoke_shop.events
    text = smoke_shop.queries.set_index("query_id")["text"]
    for sid in pairs.index[::7]:  # independent check, one session at a time, in event order
        s = ev[ev["session_id"] == sid].sort_values("ts", kind="stable")
        first_buy = np.flatnonzero(s["event_type"].to_numpy() == "purchase")[0]
        before = s.iloc[:first_buy]
        assert (
            pairs.loc[sid, "query"]
            == text[before[before["event_type"] == "search"]["query_id"].iloc[-1]]
        )
        assert pairs.loc[sid, "item_id"] == s["item_id"].iat[first_buy]
    truth = smoke_shop.extras["session_truth"].set_index("session_id")
    assert (pairs["item_id"] == truth.loc[pairs.index, "target_item_id"]).all()
    bought = ev.loc[ev["event_type"] == "purchase", "session_id"].unique()
    assert set(pairs.index) < set(bought)  # sessions without a search before buying give no pair


def test_synthetic_test_sessions_come_after_the_cutoff(smoke_shop):
    t = synthetic_task(smoke_shop, test_frac=0.2, validation_frac=0.1)
    pairs = purchase_search_pairs(smoke_shop).set_index("session_id")
    test_from, val_from = pd.Timestamp(t.meta["test_from"]), pd.Timestamp(t.meta["validation_from"])
    test_start, val_start = (
        pairs.loc[t.test.query_ids, "start"],
        pairs.loc[t.validation.query_ids, "start"],
    )
    assert (test_start >= test_from).all() and (
        (val_start >= val_from) & (val_start < test_from)
    ).all()
    assert len(t.train_pairs) == (pairs["start"] < val_from).sum() > 0
    assert len(t.test) == len(pairs) - int(0.8 * len(pairs)) and len(t.validation) > 0
    assert len(t.test) + len(t.validation) + len(t.train_pairs) == len(pairs)
    # one relevant item per query: the purchased one; the catalogue is the whole shop
    assert (t.test.truth.getnnz(axis=1) == 1).all() and len(t.item_ids) == len(smoke_shop.items)
    assert list(t.item_ids[t.test.truth.indices]) == pairs.loc[t.test.query_ids, "item_id"].tolist()
    assert t.test.judged is None and t.pairs("test")["query"].tolist() == t.test.texts


@pytest.mark.parametrize(
    ("eligible", "asked", "used"),
    [
        (1000, (500, 250), (500, 250)),
        (150, (500, 250), (50, 25)),
        (4, (100, 50), (1, 1)),
        (9, (2, 1), (2, 1)),
    ],
)
def test_held_out_sizes_are_upper_bounds(eligible, asked, used):
    """Issue 18: a smaller judged set holds out at most half its queries, in the ratio asked."""
    assert held_out_sizes(eligible, *asked) == used


def test_too_few_judged_queries_cannot_be_split():
    with pytest.raises(ValueError, match="only 3 queries have a relevant product"):
        held_out_sizes(3, 500, 250)


def test_a_small_judged_set_adapts_its_sizes(homedepot_shop):
    """150 judged queries and a catalogue cap below the judged products: the sizes shrink to the
    data and the catalogue takes every judged product (issue 18's failures on a second file)."""
    q = homedepot_shop.queries.iloc[:150]
    rel = homedepot_shop.extras["relevance"]
    small = SimpleNamespace(
        queries=q,
        items=homedepot_shop.items,
        extras={"relevance": rel[rel["query_id"].isin(q["query_id"])]},
        meta={"dataset": "judged"},
    )
    t = judged_task(small, n_test=500, n_validation=250, n_items=100, seed=3)
    m = t.meta
    assert m["n_eligible_queries"] < 150
    assert (m["n_test"], m["n_validation"]) == held_out_sizes(m["n_eligible_queries"], 500, 250)
    assert len(t.test) == m["n_test"] and len(t.validation) == m["n_validation"]
    assert m["n_items"] == m["n_items_judged"] > 100
    assert t.protocol.startswith("judged: judged relevance") and "of 500 / 250 asked" in t.protocol
    held = list(t.test.query_ids) + list(t.validation.query_ids)
    assert not set(held) & set(t.train_pairs["query_id"])
