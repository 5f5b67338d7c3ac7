"""Full-catalogue ranking metrics of top-k lists as one DataFrame aggregation.

The definitions are ``evaluation.ranking``'s, not ``RankingEvaluator``'s (whose MAP divides by
the number of relevant items, not min(k, n_relevant)): precision divides by k, recall by the
user's relevant items, AP@k by min(k, n_relevant), NDCG uses log2(rank + 1) discounts (the same
float64 values, from numpy) over the ideal DCG of min(k, n_relevant) hits; averages over test
users with at least one relevant item; coverage over all test users' lists. Point estimates
only: the bootstrap interval of ``evaluate_recs`` stays on the pandas side.
"""

from __future__ import annotations

import numpy as np
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from shopintent.models.recommenders.spark.split import SparkTask

KS = (10, 20)
_NAMES = ("precision", "recall", "ndcg", "hit_rate", "mrr", "map")


def _table(values) -> F.Column:
    return F.array(*[F.lit(float(v)) for v in values])


def evaluate(task: SparkTask, recs: DataFrame, ks=KS) -> dict:
    """``evaluation.ranking.evaluate_ranking``'s keys (``precision@k recall@k ndcg@k
    hit_rate@k mrr@k map@k coverage@k``, ``n_users``, ``n_users_without_relevant``) for
    ``recs`` (``user_id, rank, item_idx``) against the task's truth."""
    ks = sorted({int(k) for k in ks})
    disc = 1.0 / np.log2(np.arange(2, max(ks) + 2, dtype=np.float64))
    ideal = np.cumsum(disc)  # ideal DCG of 1, 2, ... hits
    n_rel = task.truth.groupBy("user_id").agg(F.count(F.lit(1)).alias("n_rel"))
    nth = Window.partitionBy("user_id").orderBy("rank")
    hits = (
        recs.join(task.truth, ["user_id", "item_idx"])
        .filter(F.col("rank") <= max(ks))
        .withColumn("nth", F.row_number().over(nth))
    )
    rank = F.col("rank")
    discount = F.element_at(_table(disc), rank.cast("int"))
    per_hit = []
    for k in ks:
        at = rank <= k
        per_hit += [
            F.sum(F.when(at, 1.0).otherwise(0.0)).alias(f"hits{k}"),
            F.sum(F.when(at, discount).otherwise(0.0)).alias(f"dcg{k}"),
            F.max(F.when(at, 1.0 / rank).otherwise(0.0)).alias(f"rr{k}"),
            F.sum(F.when(at, F.col("nth") / rank).otherwise(0.0)).alias(f"ap{k}"),
        ]
    users = n_rel.join(hits.groupBy("user_id").agg(*per_hit), "user_id", "left").fillna(0.0)
    means = []
    for k in ks:
        h, n = F.col(f"hits{k}"), F.col("n_rel")
        m = F.least(F.lit(k), n).cast("int")
        values = {
            "precision": h / k,
            "recall": h / n,
            "ndcg": F.col(f"dcg{k}") / F.element_at(_table(ideal[:k]), m),
            "hit_rate": (h > 0).cast("double"),
            "mrr": F.col(f"rr{k}"),
            "map": F.col(f"ap{k}") / m,
        }
        means += [F.avg(values[name]).alias(f"{name}@{k}") for name in _NAMES]
    row = users.agg(*means, F.count(F.lit(1)).alias("n_users")).collect()[0].asDict()
    listed = recs.select("item_idx", "rank")
    coverage = listed.agg(
        *[F.countDistinct(F.when(rank <= k, F.col("item_idx"))).alias(f"c{k}") for k in ks]
    ).collect()[0]
    out = {}
    for k in ks:
        out.update({f"{name}@{k}": row[f"{name}@{k}"] for name in _NAMES})
        out[f"coverage@{k}"] = coverage[f"c{k}"] / task.n_items
    out["n_users"] = int(row["n_users"])
    out["n_users_without_relevant"] = task.users.count() - out["n_users"]
    return out
