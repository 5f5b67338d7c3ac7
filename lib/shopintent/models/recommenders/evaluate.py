"""Score recommenders under one protocol: full-catalogue ranking of held-out interactions, with
cold-user and long-tail slices, coverage, novelty and a bootstrap interval on NDCG@10.

``RecTask`` holds what every model of one notebook is scored on (the split's training data,
the test users and their relevant items); ``evaluate_recs`` turns one model's top-k index into
the table row and the ``recs/<model>/...`` metric keys that notebooks record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.data.schema import known_user_events
from shopintent.evaluation.bootstrap import bootstrap_mean_ci
from shopintent.evaluation.frames import interactions_matrix
from shopintent.evaluation.ranking import (
    evaluate_ranking,
    item_popularity,
    long_tail_mask,
    ranking_per_user,
)
from shopintent.models.recommenders.base import Interactions, build_interactions

#: a user with at most this many training interactions (distinct items) is "cold"
COLD_USER_MAX = 2
KS = (10, 20)


@dataclass(frozen=True)
class RecTask:
    """One evaluation protocol: train interactions, the test users and their relevant items.

    ``truth`` is CSR ``(len(users), n_items)`` (1 = a held-out item of that user), rows in
    ``users`` order, columns in catalogue order; ``seen`` the training items to exclude.
    """

    train: Interactions
    users: np.ndarray
    truth: sp.csr_matrix
    seen: sp.csr_matrix
    protocol: str

    @property
    def popularity(self) -> np.ndarray:
        return item_popularity(self.train.matrix, self.train.n_items)

    @property
    def cold_users(self) -> np.ndarray:
        """Boolean per test user: at most ``COLD_USER_MAX`` distinct training items."""
        return np.asarray(self.seen.sum(axis=1)).ravel() <= COLD_USER_MAX

    @property
    def long_tail(self) -> np.ndarray:
        return long_tail_mask(self.popularity)


def make_task(
    train: pd.DataFrame,
    test: pd.DataFrame,
    items: pd.DataFrame,
    protocol: str,
    *,
    drop_seen_from_truth: bool = True,
    col_user: str = "user_id",
) -> RecTask:
    """Build the task from a split's train and test event rows: those with an item and a user
    (``schema.known_user_events``, as ``build_interactions``: an anonymous event is nobody's
    truth).

    Test users are those with at least one test item; with ``drop_seen_from_truth`` a test item
    the user already had in training is not relevant (it will be excluded from the lists).
    """
    data = build_interactions(train, items["item_id"], col_user=col_user)
    test = known_user_events(test, with_item=True, col_user=col_user)
    users = np.sort(pd.unique(test[col_user]))
    truth = interactions_matrix(test, users, items["item_id"], col_user=col_user)
    seen = data.seen(users)
    if drop_seen_from_truth:
        truth = sp.csr_matrix(truth - truth.multiply(seen))
        truth.eliminate_zeros()
    return RecTask(data, users, truth, seen, protocol)


def evaluate_recs(
    name: str,
    index: np.ndarray,
    task: RecTask,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    extra_ks: tuple[int, ...] = (),
) -> dict:
    """Metrics of one model's top-k ``index`` (rows = ``task.users``), flat, keys without prefix:
    ``ndcg@10 recall@20 mrr@20 ... coverage`` plus ``ndcg@10_low/high`` (bootstrap over users),
    ``cold_users/ndcg@10``, ``longtail_recall@20`` and ``novelty@10``."""
    ks = tuple(sorted({*KS, *extra_ks}))
    pop = task.popularity
    base = evaluate_ranking(
        index, task.truth, ks, popularity=pop, n_users=task.train.n_users, protocol=task.protocol
    )
    per_user = ranking_per_user(index, task.truth, ks)
    ci = bootstrap_mean_ci(per_user["ndcg@10"], n_boot=n_boot, seed=seed)
    out = {
        "model": name,
        **{k: v for k, v in base.items() if k != "protocol"},
        "ndcg@10_low": ci.low,
        "ndcg@10_high": ci.high,
        "coverage": base["coverage@10"],
    }
    cold = task.cold_users
    # no cold test user (e.g. every test user has a long history): the slice is empty, not 0
    out.update({"cold_users/ndcg@10": None, "cold_users/recall@20": None, "cold_users/n": 0})
    if cold.any():
        c = evaluate_ranking(index, task.truth, (10, 20), users=cold)
        out.update(
            {
                "cold_users/ndcg@10": c["ndcg@10"],
                "cold_users/recall@20": c["recall@20"],
                "cold_users/n": int(cold.sum()),
            }
        )
    tail = evaluate_ranking(index, task.truth, (20,), relevant_items=task.long_tail)
    out["longtail_recall@20"] = tail["recall@20"]
    return out


HEADLINE = ("ndcg@10", "recall@20", "mrr@20", "coverage")


def metric_keys(row: dict, prefix: str = "recs") -> dict[str, float]:
    """``recs/<model>/<metric>`` for headline metrics and slices of one ``evaluate_recs`` row."""
    keys = (
        *HEADLINE,
        "ndcg@10_low",
        "ndcg@10_high",
        "longtail_recall@20",
        "cold_users/ndcg@10",
        "novelty@10",
    )
    return {
        f"{prefix}/{row['model']}/{k}": float(row[k])
        for k in keys
        if k in row and row[k] is not None
    }


def results_table(rows: list[dict]) -> pd.DataFrame:
    """One row per model, the headline metrics first, sorted by NDCG@10."""
    table = pd.DataFrame(rows).set_index("model")
    first = [
        c
        for c in (
            "ndcg@10",
            "ndcg@10_low",
            "ndcg@10_high",
            "recall@20",
            "mrr@20",
            "coverage",
            "longtail_recall@20",
            "cold_users/ndcg@10",
        )
        if c in table
    ]
    return table[first + [c for c in table if c not in first]].sort_values(
        "ndcg@10", ascending=False
    )
