"""Popularity, item-kNN and ALS on Spark, each giving the test users' top-k lists as rows
``user_id, rank, item_idx, score`` (``rank`` from 1), seen items removed.

The pandas models (``baselines.Popularity``, ``baselines.ItemKNN``, ``factorization.ALS``)
rank the whole catalogue: items a model does not score still fill a list at score 0 (item-kNN),
and users unknown to training get the popularity list. Here every list is cut from a linear
number of candidates per user: the first k + (its seen items) of a global order, or the items
its neighbours vote for plus that many zero-score fillers. Ties go to the lower catalogue index,
as in ``evaluation.ranking.topk_from_scores``.

Sums whose order changes their last bit (weighted co-occurrences, scores) are added in item
(user) order, as scipy's sparse products add a row, not in shuffle order: a tie in the pandas
scores stays a tie here (binary weights are exact in any order and use a plain sum).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from shopintent.models.recommenders.spark.split import SparkTask, weigh

#: ItemKNN's constructor defaults (``baselines.ItemKNN``)
KNN_DEFAULTS = {"neighbours": 100, "shrinkage": 10.0, "weighting": "binary"}


def ordered_sums(rows: DataFrame, keys: list[str], order: str, value: str, out: str):
    """``keys, out``: the sum of ``value`` per group added in ``order`` from 0.0 (scipy's
    order), not in shuffle order. A window's whole-partition frame folds its rows in sort
    order, so this costs one sort; a ``collect_list`` + ``array_sort`` + ``aggregate`` per
    group fell back to a sort-based aggregate with an interpreted lambda and cost ~10x."""
    group = Window.partitionBy(*keys).orderBy(order)
    whole = group.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    return (
        rows.withColumn(out, F.sum(value).over(whole))
        .withColumn("_first", F.row_number().over(group))
        .filter(F.col("_first") == 1)
        .select(*keys, out)
    )


def top_k(candidates: DataFrame, seen: DataFrame, k: int) -> DataFrame:
    """The k best ``user_id, item_idx, score`` candidates per user that the user has not seen:
    score descending, then catalogue index ascending."""
    order = Window.partitionBy("user_id").orderBy(F.col("score").desc(), F.col("item_idx"))
    return (
        candidates.join(seen, ["user_id", "item_idx"], "left_anti")
        .withColumn("rank", F.row_number().over(order))
        .filter(F.col("rank") <= k)
        .select("user_id", "rank", "item_idx", "score")
    )


def _needs(task: SparkTask, users: DataFrame, k: int) -> DataFrame:
    """``user_id, need``: how many candidates from a fixed order give a user k unseen ones."""
    counts = task.seen.groupBy("user_id").agg(F.count(F.lit(1)).alias("n_seen"))
    need = F.least(F.lit(k) + F.coalesce(F.col("n_seen"), F.lit(0)), F.lit(task.n_items))
    return users.join(counts, "user_id", "left").select("user_id", need.alias("need"))


def popularity_scores(task: SparkTask) -> DataFrame:
    """``item_idx, score, pos``: distinct training users per catalogue item (0 for items nobody
    touched) and the item's 1-based place in the global order (one window over the catalogue)."""
    users = task.train.groupBy("item_idx").agg(F.count(F.lit(1)).cast("double").alias("score"))
    scores = task.catalogue.join(users, "item_idx", "left").select(
        "item_idx", F.coalesce(F.col("score"), F.lit(0.0)).alias("score")
    )
    order = Window.orderBy(F.col("score").desc(), F.col("item_idx"))
    return scores.withColumn("pos", F.row_number().over(order))


def recommend_popularity(task: SparkTask, k: int = 20, users: DataFrame | None = None):
    """``Popularity`` for ``users`` (default: the test users): the first k + n_seen items of
    the global order, minus the seen ones, cut to k."""
    users = task.users if users is None else users
    ranked = popularity_scores(task)
    wanted = _needs(task, users, k).select(
        "user_id", F.explode(F.sequence(F.lit(1), F.col("need"))).alias("pos")
    )
    candidates = wanted.join(F.broadcast(ranked), "pos").select("user_id", "item_idx", "score")
    return top_k(candidates, task.seen, k)


def _known_and_cold(task: SparkTask) -> tuple[DataFrame, DataFrame]:
    train_users = task.train.select("user_id").distinct()
    return (
        task.users.join(train_users, "user_id", "left_semi"),
        task.users.join(train_users, "user_id", "left_anti"),
    )


def item_similarity(
    train: DataFrame,
    neighbours: int | None = 100,
    shrinkage: float = 10.0,
    weighting: str = "binary",
    n_items: int | None = None,
) -> DataFrame:
    """``i, j, sim``: ``baselines.cosine_similarity`` of the weighted user-item pairs, by a
    self-join on users: x_i.x_j / (|x_i| |x_j| + shrinkage), i != j, pruned to each item's
    ``neighbours`` largest positive entries (ties: lower index) when that cuts anything."""
    x = weigh(train, weighting).select("user_id", "item_idx", "weight")
    exact = weighting == "binary"  # integer sums: any order gives the same bits

    def total(rows: DataFrame, keys: list[str], value: str, out: str) -> DataFrame:
        if exact:
            return rows.groupBy(*keys).agg(F.sum(value).alias(out))
        return ordered_sums(rows, keys, "user_id", value, out)

    left = x.select("user_id", F.col("item_idx").alias("i"), F.col("weight").alias("wi"))
    right = x.select("user_id", F.col("item_idx").alias("j"), F.col("weight").alias("wj"))
    squares = left.withColumn("sq", F.col("wi") * F.col("wi"))
    norms = total(squares, ["i"], "sq", "sq").select("i", F.sqrt("sq").alias("ni"))
    # the co-occurrence matrix is symmetric (wi x wj == wj x wi, added in the same user order):
    # sum the upper triangle only, half the self-join's rows, and mirror it
    products = (
        left.join(right, "user_id")
        .filter(F.col("i") < F.col("j"))
        .withColumn("p", F.col("wi") * F.col("wj"))
    )
    upper = total(products, ["i", "j"], "p", "co").filter(F.col("co") != 0)
    co = upper.unionByName(upper.select(F.col("j").alias("i"), F.col("i").alias("j"), "co"))
    nj = norms.select(F.col("i").alias("j"), F.col("ni").alias("nj"))
    sim = (
        co.join(F.broadcast(norms), "i")
        .join(F.broadcast(nj), "j")
        .select("i", "j", (F.col("co") / (F.col("ni") * F.col("nj") + shrinkage)).alias("sim"))
    )
    if neighbours is None or (n_items is not None and neighbours >= n_items - 1):
        return sim
    order = Window.partitionBy("i").orderBy(F.col("sim").desc(), F.col("j"))
    return (
        sim.filter(F.col("sim") > 0)
        .withColumn("r", F.row_number().over(order))
        .filter(F.col("r") <= int(neighbours))
        .drop("r")
    )


def recommend_item_knn(
    task: SparkTask,
    k: int = 20,
    *,
    neighbours: int | None = KNN_DEFAULTS["neighbours"],
    shrinkage: float = KNN_DEFAULTS["shrinkage"],
    weighting: str = KNN_DEFAULTS["weighting"],
) -> DataFrame:
    """``ItemKNN``: a known user's score of item j is the sum over its history of
    weight x sim(i, j), added in item order; items nobody in its history votes for fill the
    list at 0 in catalogue order; cold users get the popularity list."""
    sim = item_similarity(task.train, neighbours, shrinkage, weighting, task.n_items)
    known, cold = _known_and_cold(task)
    history = weigh(task.train.join(known, "user_id", "left_semi"), weighting)
    terms = history.join(sim, history["item_idx"] == sim["i"]).select(
        "user_id", "i", F.col("j").alias("item_idx"), (F.col("weight") * F.col("sim")).alias("c")
    )
    votes = ordered_sums(terms, ["user_id", "item_idx"], "i", "c", "score")
    fillers = _needs(task, known, k).select(
        "user_id",
        F.explode(F.sequence(F.lit(0), F.col("need") - 1)).alias("item_idx"),
        F.lit(0.0).alias("score"),
    )
    candidates = votes.unionByName(fillers.join(votes, ["user_id", "item_idx"], "left_anti"))
    return top_k(candidates, task.seen, k).unionByName(recommend_popularity(task, k, cold))


def _checkpoints(spark) -> None:
    """ALS cuts its lineage every 10 iterations only with a checkpoint folder (without one,
    15 iterations overflow an executor's stack): Spark's scratch folder, unless one is set."""
    sc = spark.sparkContext
    if sc.getCheckpointDir() is None:
        scratch = spark.conf.get("spark.local.dir", None) or tempfile.gettempdir()
        sc.setCheckpointDir(str(Path(scratch) / "checkpoints"))


def fit_als(
    task: SparkTask,
    *,
    rank: int = 16,
    reg_param: float = 0.1,
    alpha: float = 5.0,
    max_iter: int = 15,
    weighting: str = "log",
    seed: int = 42,
):
    """Spark ML's implicit ALS on the weighted pairs: the user indexer and the fitted model.

    Same meaning as ``factorization.ALS``: rank = factors, alpha (confidence 1 + alpha x r),
    iterations, seed, weighting. Not regularisation: Spark scales ``regParam`` by each user's
    (item's) number of interactions (ALS-WR), implicit does not, so it is its own parameter.
    """
    from pyspark.ml.feature import StringIndexer
    from pyspark.ml.recommendation import ALS

    pairs = weigh(task.train, weighting)
    _checkpoints(pairs.sparkSession)
    indexer = StringIndexer(
        inputCol="user_id", outputCol="user_idx", stringOrderType="alphabetAsc"
    ).fit(pairs)
    als = ALS(
        rank=rank,
        maxIter=max_iter,
        regParam=reg_param,
        alpha=alpha,
        implicitPrefs=True,
        seed=seed,
        userCol="user_idx",
        itemCol="item_idx",
        ratingCol="weight",
        coldStartStrategy="drop",
    )
    return indexer, als.fit(indexer.transform(pairs))


def recommend_als(task: SparkTask, k: int = 20, **params) -> DataFrame:
    """``factorization.ALS`` on Spark: each known user's k + n_seen best items by u.v (asked
    for in power-of-two sized groups of users, so no user costs the longest history's length),
    seen ones removed; cold users get the popularity list."""
    indexer, model = fit_als(task, **params)
    known, cold = _known_and_cold(task)
    needs = indexer.transform(_needs(task, known, k)).withColumn(
        "bucket", F.pow(F.lit(2), F.ceil(F.log2("need"))).cast("int")
    )
    needs = needs.cache()
    parts = []
    for (size,) in needs.select("bucket").distinct().collect():
        subset = needs.filter(F.col("bucket") == size).select(F.col("user_idx").cast("int"))
        recs = model.recommendForUserSubset(subset, min(int(size), task.n_items))
        parts.append(recs)
    if not parts:
        return recommend_popularity(task, k, cold)
    recs = parts[0]
    for part in parts[1:]:
        recs = recs.unionByName(part)
    scored = (
        recs.select("user_idx", F.explode("recommendations").alias("r"))
        .join(needs.select("user_idx", "user_id"), "user_idx")
        .select("user_id", F.col("r.item_idx").alias("item_idx"), F.col("r.rating").alias("score"))
        .withColumn("score", F.col("score").cast("double"))
    )
    return top_k(scored, task.seen, k).unionByName(recommend_popularity(task, k, cold))
