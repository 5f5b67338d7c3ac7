"""Notebook 06's baselines on Spark agree with the pandas models under the temporal protocol:
fast on a tiny hand-built log (anonymous events, an item unknown to the catalogue, untouched
items, ties), slow on the smoke and default synthetic shops.

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
from shopintent.models.recommenders.baselines import ItemKNN, Popularity, cosine_similarity, weigh
from shopintent.models.recommenders.evaluate import make_task
from shopintent.models.recommenders.factorization import ALS

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
    seen_only = np.isinf(np.take_along_axis(neg, index, axis=1))  # the catalogue ran out
    return np.where(seen_only, -1, index), scores


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
    np.testing.assert_array_equal(own >= 0, want >= 0)
    np.testing.assert_array_equal(scores[rows, own][own >= 0], scores[rows, want][want >= 0])
    expected = evaluate_ranking(want, task.truth, (10, 20))
    measured = evaluate(spark_task, spark_recs)
    for key in [*METRICS, "coverage@10", "coverage@20", "n_users"]:
        assert measured[key] == pytest.approx(expected[key], abs=1e-9), key
    return measured


TYPES = ("view", "fav", "cart", "purchase")
KNN_PARAMS = [
    {"neighbours": None, "shrinkage": 10.0, "weighting": "binary"},
    {"neighbours": None, "shrinkage": 20.0, "weighting": "log"},
]


def tiny_log(seed: int = 3, n_users: int = 24, n_items: int = 30, n_events: int = 600):
    """Random events of a tiny shop: a few anonymous rows, items 27-29 never touched, and in the
    test period one item the catalogue lacks (left out of the truth, as pandas does)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01", tz="UTC")
    events = pd.DataFrame(
        {
            "user_id": [f"u{u:02d}" for u in rng.integers(0, n_users, n_events)],
            "session_id": [f"s{s:03d}" for s in rng.integers(0, 100, n_events)],
            "ts": start + pd.to_timedelta(np.sort(rng.integers(0, 30 * 86_400, n_events)), "s"),
            "event_type": rng.choice(TYPES, n_events, p=[0.7, 0.1, 0.1, 0.1]),
            "item_id": [f"i{i:02d}" for i in rng.zipf(1.6, n_events) % (n_items - 3)],
            "query_id": None,
            "price": 1.0,
        }
    )
    events.loc[rng.choice(n_events, 25, replace=False), "user_id"] = None
    events.loc[rng.choice(n_events - 10, 3, replace=False), "item_id"] = None  # searches
    events.loc[n_events - 5, "item_id"] = "gone"  # in the test period
    items = pd.DataFrame({"item_id": [f"i{i:02d}" for i in range(n_items)][::-1]})
    return events, items  # the catalogue in reverse id order: its order, not the ids', counts


def to_spark(spark, events, items):
    def value(x):
        return None if pd.isna(x) else x

    rows = [
        (value(r.user_id), r.session_id, r.ts.to_pydatetime(), r.event_type, value(r.item_id))
        for r in events.itertuples()
    ]
    rows = [(*r, None, 1.0) for r in rows]
    schema = (
        "user_id string, session_id string, ts timestamp, event_type string, item_id string, "
        "query_id string, price double"
    )
    return (
        spark.createDataFrame(rows, schema),
        spark.createDataFrame([(i,) for i in items["item_id"]], "item_id string"),
    )


@pytest.fixture(scope="module")
def tiny(spark):
    events, items = tiny_log()
    spark_events, spark_items = to_spark(spark, events, items)
    split, task = _pandas_task(events, items)
    cutoff, spark_task = _spark_task(spark_events, spark_items)
    return events, items, split, task, cutoff, spark_task


def _check_task(split, task, cutoff, spark_task):
    assert pd.Timestamp(cutoff) == split.cutoff
    assert sorted(r[0] for r in spark_task.users.collect()) == list(task.users)
    truth = {(r[0], r[1]) for r in spark_task.truth.collect()}
    coo = task.truth.tocoo()
    assert truth == {(task.users[u], int(i)) for u, i in zip(coo.row, coo.col, strict=True)}
    assert spark_task.seen.count() == task.seen.nnz and spark_task.n_items == task.train.n_items


def test_split_and_task_match_pandas(tiny):
    events, _, split, task, cutoff, spark_task = tiny
    _check_task(split, task, cutoff, spark_task)
    assert split.test["user_id"].isna().any() and (split.test["item_id"] == "gone").any()


def test_an_item_missing_from_the_catalogue_in_training_raises(spark, tiny):
    from shopintent.models.recommenders.spark import split as ss

    events, items, *_ = tiny
    spark_events, spark_items = to_spark(spark, events, items[items["item_id"] != "i01"])
    with pytest.raises(ValueError, match="missing from the catalogue.*i01"):
        ss.build_interactions(spark_events, ss.catalogue_index(spark_items))


def test_popularity_agrees_with_pandas(tiny):
    from shopintent.models.recommenders.spark.baselines import recommend_popularity

    _, items, split, task, _, spark_task = tiny
    model = Popularity().fit(split.train, items)
    _check_agreement(model, recommend_popularity(spark_task, K), task, spark_task)


@pytest.mark.parametrize("params", KNN_PARAMS)
def test_item_knn_agrees_with_pandas(tiny, params):
    from shopintent.models.recommenders.spark.baselines import recommend_item_knn

    _, items, split, task, _, spark_task = tiny
    model = ItemKNN(**params).fit(split.train, items)
    _check_agreement(model, recommend_item_knn(spark_task, K, **params), task, spark_task)


def test_pruned_similarity_keeps_the_pandas_values(tiny):
    """Each item keeps its 4 largest similarities, the values ``prune_rows`` keeps (which of
    several tied neighbours is kept may differ: see the module docstring; a log-weighted
    co-occurrence may differ in its last bit, scipy's product adding in its own order)."""
    from shopintent.models.recommenders.spark.baselines import item_similarity

    _, _, _, task, _, spark_task = tiny
    want = cosine_similarity(weigh(task.train.matrix, "log"), 20.0, neighbours=4)
    got = pd.DataFrame(
        [r.asDict() for r in item_similarity(spark_task.train, 4, 20.0, "log").collect()]
    )
    for i in range(want.shape[0]):
        row = want.getrow(i)
        mine = np.sort(got.loc[got["i"] == i, "sim"].to_numpy())
        np.testing.assert_allclose(mine, np.sort(row.data), rtol=1e-12)


@pytest.mark.slow  # the smoke run-all's notebook 12 runs run_baselines end to end against pandas
def test_run_baselines_reports_each_model(spark, tiny):
    from shopintent.models.recommenders.spark.run import run_baselines

    events, items, *_ = tiny
    spark_events, spark_items = to_spark(spark, events, items)
    models = ("popularity", "als")
    params = {"als": {"rank": 2, "max_iter": 2}}
    out = run_baselines(spark, spark_events, spark_items, k=5, models=models, params=params)
    assert set(out) == {"task", *models}
    for name in models:
        assert 0 <= out[name]["ndcg@10"] <= 1 and out[name]["fit_s"] > 0
        assert out[name]["n_users"] == out["popularity"]["n_users"] > 0
    with pytest.raises(ValueError, match="unknown models"):
        run_baselines(spark, spark_events, spark_items, models=("ease",))


# ---- slow: the synthetic shops ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop_tasks(spark, smoke_shop, tmp_path_factory):
    folder = smoke_shop.save(tmp_path_factory.mktemp("shop") / "synthetic-smoke")
    events = spark.read.parquet(str(folder / "events.parquet"))
    items = spark.read.parquet(str(folder / "items.parquet"))
    split, task = _pandas_task(smoke_shop.events, smoke_shop.items)
    cutoff, spark_task = _spark_task(events, items)
    return split, task, cutoff, spark_task


@pytest.mark.slow
def test_smoke_shop_agrees_with_pandas(shop_tasks, smoke_shop):
    from shopintent.models.recommenders.spark.baselines import (
        recommend_item_knn,
        recommend_popularity,
    )

    split, task, cutoff, spark_task = shop_tasks
    _check_task(split, task, cutoff, spark_task)
    model = Popularity().fit(split.train, smoke_shop.items)
    _check_agreement(model, recommend_popularity(spark_task, K), task, spark_task)
    params = KNN_PARAMS[1]
    model = ItemKNN(**params).fit(split.train, smoke_shop.items)
    _check_agreement(model, recommend_item_knn(spark_task, K, **params), task, spark_task)


@pytest.mark.slow
def test_spark_als_is_within_seed_noise_of_implicit(shop_tasks, smoke_shop):
    """Spark ML's implicit ALS against implicit's on the smoke shop: the same factors (16),
    alpha (5), iterations (15) and log weights; regularisation means another thing in each
    (``fit_als``): implicit's 10 (the registry's grid) against Spark's 0.1 per interaction.
    NDCG@10 measured over seeds 1-3: implicit 0.114, 0.123, 0.121; Spark 0.110, 0.104, 0.112
    (its mean 0.011 lower); popularity 0.102. The tolerance, 0.02, is twice the widest seed-to-
    seed range of either library (implicit's 0.0094) and covers the worst pair of seeds (0.019);
    seed 1 of each is compared."""
    from shopintent.models.recommenders.spark.baselines import recommend_als
    from shopintent.models.recommenders.spark.evaluate import evaluate

    split, task, _, spark_task = shop_tasks
    model = ALS(factors=16, regularization=10.0, alpha=5.0, iterations=15, seed=1)
    model.fit(split.train, smoke_shop.items)
    want = evaluate_ranking(model.recommend(task.users, K).index, task.truth, (10,))["ndcg@10"]
    recs = recommend_als(spark_task, K, rank=16, reg_param=0.1, alpha=5.0, max_iter=15, seed=1)
    assert evaluate(spark_task, recs)["ndcg@10"] == pytest.approx(want, abs=0.02)


@pytest.mark.slow
def test_default_shop_agrees_with_pandas(spark, tmp_path):
    """Issue 19's agreement on the default shop. Popularity: lists equal to the pandas scores
    ranked with ties by index, metrics to 1e-9 (the pandas model's own lists differ there only
    among items with as many users: at the 20th place, which moves its Recall@20 by 5e-4).
    Item-kNN with its defaults (100 neighbours): metrics to 1e-9 against the pandas model's own
    lists (measured: 3e-16; a tie at a neighbour cut could pick another neighbour there)."""
    from shopintent.data.synthetic import generate
    from shopintent.models.recommenders.spark.baselines import (
        recommend_item_knn,
        recommend_popularity,
    )
    from shopintent.models.recommenders.spark.evaluate import evaluate

    shop = generate("default", seed=42)
    folder = shop.save(tmp_path / "synthetic-default")
    split, task = _pandas_task(shop.events, shop.items)
    cutoff, spark_task = _spark_task(
        spark.read.parquet(str(folder / "events.parquet")),
        spark.read.parquet(str(folder / "items.parquet")),
    )
    assert pd.Timestamp(cutoff) == split.cutoff
    popularity = Popularity().fit(split.train, shop.items)
    _check_agreement(popularity, recommend_popularity(spark_task, K), task, spark_task)
    knn = ItemKNN().fit(split.train, shop.items)
    want = evaluate_ranking(knn.recommend(task.users, K).index, task.truth, (10, 20))
    got = evaluate(spark_task, recommend_item_knn(spark_task, K))
    for key in [*METRICS, "coverage@10", "n_users"]:
        assert got[key] == pytest.approx(want[key], abs=1e-9), key
