"""Notebook 06's baselines on Spark agree with the pandas models under the temporal protocol.

Ties: ``topk_from_scores`` and ``prune_rows`` select with ``argpartition``, which keeps an
arbitrary one of several equally scored items at the cut; Spark keeps the lower catalogue
index. So the reference here is the pandas model's own dense scores ranked by (score desc,
index asc): Spark's lists must equal it and its metrics match to 1e-9, and the pandas model's
own lists must carry the same score at every rank (they differ only among ties).
"""

import numpy as np
import pandas as pd
import pytest

from shopintent.data.splits import temporal_split
from shopintent.evaluation.ranking import evaluate_ranking
from shopintent.models.recommenders.baselines import ItemKNN, Popularity
from shopintent.models.recommenders.evaluate import make_task

K = 20
METRICS = [f"{m}@{k}" for k in (10, 20) for m in ("precision", "recall", "ndcg", "map", "mrr")]


def _pandas_task(events, items):
    split = temporal_split(events[events["item_id"].notna()], test_frac=0.2)
    return split, make_task(split.train, split.test, items, split.protocol)


def _spark_task(spark_events, spark_items):
    from shopintent.models.recommenders.spark import split as ss

    train, test, cutoff = ss.temporal_split(spark_events, 0.2)
    return cutoff, ss.make_task(train, test, spark_items)


def _reference(model, task, k=K):
    """The pandas model's top-k with ties broken by catalogue index (a stable sort)."""
    scores = model.score(task.users)
    neg = -scores
    seen = task.seen.tocoo()
    neg[seen.row, seen.col] = np.inf
    index = np.argsort(neg, axis=1, kind="stable")[:, :k]
    return index, scores


def _as_index(recs, users, k=K):
    frame = pd.DataFrame([r.asDict() for r in recs.collect()])
    index = np.full((len(users), k), -1, dtype=np.int64)
    index[pd.Index(users).get_indexer(frame["user_id"]), frame["rank"] - 1] = frame["item_idx"]
    return index


def _check_agreement(model, spark_recs, task, spark_task):
    from shopintent.models.recommenders.spark.evaluate import evaluate

    want, scores = _reference(model, task)
    got = _as_index(spark_recs, task.users)
    np.testing.assert_array_equal(got, want)
    own = model.recommend(task.users, K).index  # the pandas model's own lists: ties aside, same
    rows = np.arange(len(own))[:, None]
    np.testing.assert_array_equal(scores[rows, own], scores[rows, want])
    expected = evaluate_ranking(want, task.truth, (10, 20))
    measured = evaluate(spark_task, spark_recs)
    for key in [*METRICS, "coverage@10", "coverage@20", "n_users"]:
        assert measured[key] == pytest.approx(expected[key], abs=1e-9), key
    return measured


@pytest.fixture(scope="module")
def shop_tasks(spark, smoke_shop, tmp_path_factory):
    folder = smoke_shop.save(tmp_path_factory.mktemp("shop") / "synthetic-smoke")
    events = spark.read.parquet(str(folder / "events.parquet"))
    items = spark.read.parquet(str(folder / "items.parquet"))
    split, task = _pandas_task(smoke_shop.events, smoke_shop.items)
    cutoff, spark_task = _spark_task(events, items)
    return split, task, cutoff, spark_task


def test_split_and_task_match_pandas(shop_tasks):
    split, task, cutoff, spark_task = shop_tasks
    assert pd.Timestamp(cutoff) == split.cutoff
    users = sorted(r[0] for r in spark_task.users.collect())
    assert users == list(task.users)
    truth = {(r[0], r[1]) for r in spark_task.truth.collect()}
    coo = task.truth.tocoo()
    assert truth == {(task.users[u], int(i)) for u, i in zip(coo.row, coo.col, strict=True)}
    assert spark_task.seen.count() == task.seen.nnz and spark_task.n_items == task.train.n_items


def test_popularity_agrees_with_pandas(shop_tasks, smoke_shop):
    from shopintent.models.recommenders.spark.baselines import recommend_popularity

    split, task, _, spark_task = shop_tasks
    model = Popularity().fit(split.train, smoke_shop.items)
    _check_agreement(model, recommend_popularity(spark_task, K), task, spark_task)


@pytest.mark.parametrize(
    "params",
    [
        {"neighbours": None, "shrinkage": 10.0, "weighting": "binary"},
        {"neighbours": None, "shrinkage": 20.0, "weighting": "log"},
    ],
)
def test_item_knn_agrees_with_pandas(shop_tasks, smoke_shop, params):
    from shopintent.models.recommenders.spark.baselines import recommend_item_knn

    split, task, _, spark_task = shop_tasks
    model = ItemKNN(**params).fit(split.train, smoke_shop.items)
    _check_agreement(model, recommend_item_knn(spark_task, K, **params), task, spark_task)
