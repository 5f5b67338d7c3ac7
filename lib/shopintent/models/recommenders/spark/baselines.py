"""Popularity, item-kNN and ALS on Spark, each giving the test users' top-k lists as rows
``user_id, rank, item_idx, score`` (``rank`` from 1), seen items removed.

The pandas models (``baselines.Popularity``, ``baselines.ItemKNN``, ``factorization.ALS``)
rank the whole catalogue: items a model does not score still fill a list at score 0 (item-kNN),
and users unknown to training get the popularity list. So do these, in blocks (``blocks``):
Spark gathers each block of test users' training pairs in one shuffle, and one Python call per
block scores them with the pandas models' own scipy products and cuts every list (ties to the
lower catalogue index, as ``evaluation.ranking.topk_from_scores``). Spark computes what grows
with the log (co-occurrences, popularity, norms, the ALS fit); what reaches the driver is
bounded by the catalogue (the pruned similarity, n_items x neighbours; the popularity vector;
the item factors) and travels to the blocks with the function.

Sums whose order changes their last bit (weighted co-occurrences, norms, scores) are added in
user (item) order, as scipy's sparse products add a row, not in shuffle order: a tie in the
pandas scores stays a tie here.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from shopintent.models.recommenders.spark import blocks
from shopintent.models.recommenders.spark.split import SparkTask, weigh

#: ItemKNN's constructor defaults (``baselines.ItemKNN``)
KNN_DEFAULTS = {"neighbours": 100, "shrinkage": 10.0, "weighting": "binary"}
#: test users per scoring block (their training pairs go to one Python call)
USERS_PER_BLOCK = 4000


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


def _bind(fn, **options):
    """``fn`` with its keyword options fixed, as a plain function of a block's frame (Spark
    infers a pandas function's kind from a function, not from a ``functools.partial``)."""

    def block(pdf):
        return fn(pdf, **options)

    return block


def _parallelism(spark) -> int:
    """Blocks to cut a step into at least: the session's shuffle partitions."""
    return max(2, int(spark.conf.get("spark.sql.shuffle.partitions")))


def _vector(frame: DataFrame, key: str, value: str, n: int) -> np.ndarray:
    """A small ``key, value`` frame (keys 0..n-1) as a dense float64 vector on the driver."""
    table = frame.select(key, value).toArrow()
    out = np.zeros(n, dtype=np.float64)
    out[table.column(key).to_numpy()] = table.column(value).to_numpy()
    return out


def popularity_scores(task: SparkTask) -> DataFrame:
    """``item_idx, score``: distinct training users per catalogue item (0 for items nobody
    touched)."""
    users = task.train.groupBy("item_idx").agg(F.count(F.lit(1)).cast("double").alias("score"))
    return task.catalogue.join(users, "item_idx", "left").select(
        "item_idx", F.coalesce(F.col("score"), F.lit(0.0)).alias("score")
    )


def popularity_vector(task: SparkTask) -> np.ndarray:
    """``popularity_scores`` as a vector over the catalogue (on the driver: n_items values)."""
    return _vector(popularity_scores(task), "item_idx", "score", task.n_items)


def _test_rows(task: SparkTask, *extra: DataFrame) -> DataFrame:
    """One row per test user (null item) and its training pairs ``user_id, item_idx, weight``
    (plus ``extra`` rows), each with the block of users it belongs to."""
    users = task.users.select("user_id")
    pairs = task.train.join(users, "user_id", "left_semi").select(
        "user_id", F.col("item_idx").cast("int"), F.col("weight").cast("double")
    )
    rows = users.unionByName(pairs, allowMissingColumns=True)
    for frame in extra:
        rows = rows.unionByName(frame, allowMissingColumns=True)
    n_users = users.count()
    n_blocks = max(_parallelism(task.train.sparkSession), math.ceil(n_users / USERS_PER_BLOCK))
    return rows.withColumn("block", F.pmod(F.xxhash64("user_id"), F.lit(n_blocks)))


def _score_blocks(rows: DataFrame, fn) -> DataFrame:
    return rows.groupBy("block").applyInPandas(fn, blocks.RECS_SCHEMA)


def recommend_popularity(task: SparkTask, k: int = 20) -> DataFrame:
    """``Popularity``: the global order by distinct training users, minus each user's seen
    items, cut to k."""
    fn = _bind(blocks.popularity_block, popularity=popularity_vector(task), k=k)
    return _score_blocks(_test_rows(task), fn)


def item_norms(x: DataFrame, weighting: str, n_items: int) -> np.ndarray:
    """|x_i| of every catalogue item over the weighted pairs ``x`` (``user_id, item_idx,
    weight``): squares added in user order (exact in any order for binary weights)."""
    squares = x.withColumn("sq", F.col("weight") * F.col("weight"))
    if weighting == "binary":
        sums = squares.groupBy("item_idx").agg(F.sum("sq").alias("sq"))
    else:
        sums = ordered_sums(squares, ["item_idx"], "user_id", "sq", "sq")
    return np.sqrt(_vector(sums, "item_idx", "sq", n_items))


def item_similarity(
    train: DataFrame,
    neighbours: int | None = 100,
    shrinkage: float = 10.0,
    weighting: str = "binary",
    n_items: int | None = None,
) -> DataFrame:
    """``i, j, sim``: ``baselines.cosine_similarity`` of the weighted user-item pairs:
    x_i.x_j / (|x_i| |x_j| + shrinkage), i != j, pruned to each item's ``neighbours`` largest
    positive entries (ties: lower index) when that cuts anything.

    The catalogue is cut into blocks of items (``item_idx mod n``); each block gets the full
    histories of the users who touched one of its items and computes its items' rows with
    scipy's ``x.T @ x`` (``blocks.similarity_block``), so only the pruned rows come back."""
    x = weigh(train, weighting).select(
        "user_id", F.col("item_idx").cast("int"), F.col("weight").cast("double")
    )
    if n_items is None:
        n_items = int(x.agg(F.max("item_idx")).collect()[0][0] or 0) + 1
    norms = item_norms(x, weighting, n_items)
    # users as increasing integers in user_id order (pandas' row order, which x.T @ x adds
    # in): a block holds most users' pairs, 8 bytes a user instead of a Python string
    order = x.select("user_id").distinct().orderBy("user_id")
    order = order.withColumn("uid", F.monotonically_increasing_id())
    x = x.join(F.broadcast(order), "user_id").select("uid", "item_idx", "weight")
    n_blocks = min(_parallelism(train.sparkSession), n_items)
    touched = x.select("uid", F.pmod("item_idx", F.lit(n_blocks)).alias("block")).distinct()
    rows = x.join(touched, "uid").select("block", "uid", "item_idx", "weight")
    fn = _bind(
        blocks.similarity_block,
        n_blocks=n_blocks,
        norms=norms,
        shrinkage=float(shrinkage),
        neighbours=None if neighbours is None else int(neighbours),
        n_items=n_items,
    )
    return rows.groupBy("block").applyInPandas(fn, blocks.SIM_SCHEMA)


def similarity_matrix(sim: DataFrame, n_items: int) -> sp.csr_matrix:
    """The pruned similarity rows as a CSR matrix on the driver (n_items x neighbours values)."""
    table: pa.Table = sim.toArrow()
    m = sp.csr_matrix(
        (
            table.column("sim").to_numpy(),
            (table.column("i").to_numpy(), table.column("j").to_numpy()),
        ),
        shape=(n_items, n_items),
    )
    m.sort_indices()
    return m


def recommend_item_knn(
    task: SparkTask,
    k: int = 20,
    *,
    neighbours: int | None = KNN_DEFAULTS["neighbours"],
    shrinkage: float = KNN_DEFAULTS["shrinkage"],
    weighting: str = KNN_DEFAULTS["weighting"],
) -> DataFrame:
    """``ItemKNN``: a known user's score of item j is its weighted history @ similarity (the
    pandas model's scipy product); items nobody in its history votes for fill the list at 0 in
    catalogue order; cold users get the popularity list."""
    sim = item_similarity(task.train, neighbours, shrinkage, weighting, task.n_items)
    fn = _bind(
        blocks.knn_block,
        similarity=similarity_matrix(sim, task.n_items),
        popularity=popularity_vector(task),
        weighting=weighting,
        k=k,
    )
    return _score_blocks(_test_rows(task), fn)


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
    """``factorization.ALS`` on Spark: Spark ML fits the factors; each test user's u.v over the
    catalogue is ranked in its block (``blocks.factors_block``: the item factors, n_items x rank,
    travel with the function), seen items removed; cold users get the popularity list."""
    indexer, model = fit_als(task, **params)
    trained = task.train.select("user_id").distinct()
    known = indexer.transform(task.users.join(trained, "user_id", "left_semi"))
    factors = known.join(model.userFactors, F.col("user_idx").cast("int") == F.col("id")).select(
        "user_id", "features"
    )
    items = model.itemFactors.toArrow()
    item_factors = np.full((task.n_items, model.rank), np.nan, dtype=np.float32)
    if items.num_rows:
        item_factors[items.column("id").to_numpy()] = np.stack(
            items.column("features").to_numpy(zero_copy_only=False)
        )
    fn = _bind(
        blocks.factors_block,
        item_factors=item_factors,
        popularity=popularity_vector(task),
        k=k,
    )
    return _score_blocks(_test_rows(task, factors), fn)
