"""A re-ranker whose scores SHAP can explain: LightGBM on interpretable user–item features over
a base recommender's top candidates (the two-stage design of production recommenders, where a
ranking model re-orders what retrieval found).

Features of a (user, item) pair, from the user's and the items' history only (``PAIR_FEATURES``):
the base model's score and rank, the item's popularity and conversion, the share of the user's
item events in the item's leaf and top-level category and in its brand, how far the item's
price is from what the user usually looks at, and how active the user is. Training: the
history before a validation cut-off gives features and candidates, the validation period's
interactions give labels (an item the user then touched = 1); testing does the same with the
whole training period and the test period, and the re-ranked lists are scored against the
base model's order on the same candidates (NDCG@10).

``LightGBMReranker`` puts both stages behind ``Recommender`` (fit, recommend, save, load) and
is registered as ``lightgbm_reranker``: fitted on (history, labels) it re-orders exactly as
``fit_and_evaluate`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.data.schema import known_user_events
from shopintent.io import read_json, staging_dir, write_json, write_text
from shopintent.models.recommenders import registry
from shopintent.models.recommenders.base import Interactions, Recommender

PAIR_FEATURES = (
    "base_score",
    "base_rank_log",
    "item_popularity",
    "item_conversion",
    "user_leaf_share",
    "user_top_category_share",
    "user_brand_share",
    "price_gap",
    "user_events",
)


def _onehot(values: pd.Series) -> sp.csr_matrix:
    codes, _ = pd.factorize(values.fillna("(none)"))
    return sp.csr_matrix(
        (np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), codes.max() + 1)
    )


def pair_features(
    history: pd.DataFrame,
    items: pd.DataFrame,
    users,
    candidates: np.ndarray,
    base_scores: np.ndarray,
) -> pd.DataFrame:
    """Features of each (user, candidate item) pair: rows in user order, then candidate order.

    ``candidates`` (n_users, C) are catalogue positions (``items`` order, -1 = none) and
    ``base_scores`` their base-model scores; ``history`` the events the features may see.
    """
    from shopintent.models.recommenders.base import build_interactions

    items = items.reset_index(drop=True)
    data = build_interactions(history, items["item_id"], weights={}, user_ids=pd.Index(users))
    counts = data.matrix.tocsr()  # every event weighs 1: counts of item events per (user, item)
    n_users, c = candidates.shape
    valid = candidates >= 0
    item = np.where(valid, candidates, 0)
    user = np.repeat(np.arange(n_users), c).reshape(n_users, c)
    ev = history[history["item_id"].notna()]
    pos = pd.Index(items["item_id"]).get_indexer(ev["item_id"])
    views = np.bincount(pos[(ev["event_type"] == "view").to_numpy()], minlength=len(items))
    buys = np.bincount(pos[(ev["event_type"] == "purchase").to_numpy()], minlength=len(items))
    users_per_item = np.asarray((counts > 0).sum(axis=0)).ravel()
    total = np.asarray(counts.sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = {}
        for name, column in (
            ("leaf", items["category"]),
            ("top", items["category"].fillna("").str.split(".").str[0].replace("", None)),
            ("brand", items["brand"]),
        ):
            onehot = _onehot(column)
            per_user = (counts @ onehot).toarray() / total[:, None]
            share[name] = per_user[user, onehot.indices[item]]  # each item has exactly one column
        log_price = np.log(items["price"].astype(np.float64).where(items["price"] > 0)).to_numpy()
        seen_price = counts.multiply(~np.isnan(log_price)[None, :]).tocsr()
        mean_price = (seen_price @ np.nan_to_num(log_price)) / np.asarray(
            seen_price.sum(axis=1)
        ).ravel()
    frame = pd.DataFrame(
        {
            "base_score": base_scores.ravel(),
            "base_rank_log": np.log1p(np.tile(np.arange(c), n_users)),
            "item_popularity": np.log1p(users_per_item[item]).ravel(),
            "item_conversion": ((buys[item] + 0.1) / (views[item] + 2.0)).ravel(),
            "user_leaf_share": share["leaf"].ravel(),
            "user_top_category_share": share["top"].ravel(),
            "user_brand_share": share["brand"].ravel(),
            "price_gap": (log_price[item] - mean_price[user]).ravel(),
            "user_events": np.log1p(total[user]).ravel(),
        }
    )
    frame.loc[~valid.ravel()] = np.nan
    return frame


@dataclass
class RankingStage:
    """Candidates of the users, their features and (where known) labels."""

    users: np.ndarray
    candidates: np.ndarray
    features: pd.DataFrame
    labels: np.ndarray | None = None

    def subset(self, rows: np.ndarray) -> RankingStage:
        """The stage of the users at ``rows`` (positions)."""
        c = self.candidates.shape[1]
        flat = (np.asarray(rows)[:, None] * c + np.arange(c)[None, :]).ravel()
        return RankingStage(
            self.users[rows],
            self.candidates[rows],
            self.features.iloc[flat].reset_index(drop=True),
            None if self.labels is None else self.labels[flat],
        )

    def split_users(self, frac: float = 0.25, seed: int = 42) -> tuple[RankingStage, RankingStage]:
        """(fit, early-stopping) parts, ``frac`` of the users held out (seeded)."""
        order = np.random.default_rng(seed).permutation(len(self.users))
        n = max(1, int(round(frac * len(order))))
        return self.subset(np.sort(order[n:])), self.subset(np.sort(order[:n]))


def candidate_stage(
    base,
    history: pd.DataFrame,
    items: pd.DataFrame,
    users,
    n_candidates: int,
    future: pd.DataFrame | None = None,
) -> RankingStage:
    """The base recommender (fitted on ``history``) proposes ``n_candidates`` unseen items per
    user; with ``future`` events, a candidate the user touched then is labelled 1."""
    users = np.asarray(users, dtype=object)
    recs = base.recommend(users, n_candidates, exclude_seen=True)
    feats = pair_features(history, items, users, recs.index, np.nan_to_num(recs.scores))
    labels = None
    if future is not None:
        fut = future[future["item_id"].notna()]
        pairs = set(zip(fut["user_id"], fut["item_id"], strict=True))
        ids = recs.item_ids.ravel()
        labels = np.array(
            [
                (u, i) in pairs
                for u, i in zip(np.repeat(users, recs.index.shape[1]), ids, strict=True)
            ],
            dtype=np.int64,
        )
    return RankingStage(users, recs.index, feats, labels)


@dataclass
class Reranker:
    """LightGBM (binary, one thread, seeded) on ``PAIR_FEATURES``; ``score`` reorders candidates."""

    booster: object
    best_iteration: int

    @classmethod
    def fit(
        cls, train: RankingStage, val: RankingStage | None = None, seed: int = 42, rounds: int = 300
    ):
        import lightgbm as lgb

        params = {
            "objective": "binary",
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_data_in_leaf": 20,
            "feature_fraction": 0.9,
            "lambda_l2": 1.0,
            "verbose": -1,
            "num_threads": 1,
            "seed": seed,
        }
        keep = train.candidates.ravel() >= 0
        data = lgb.Dataset(train.features[keep], train.labels[keep])
        sets, callbacks = [], []
        if val is not None and val.labels is not None and len(np.unique(val.labels)) == 2:
            vkeep = val.candidates.ravel() >= 0
            sets = [lgb.Dataset(val.features[vkeep], val.labels[vkeep], reference=data)]
            callbacks = [lgb.early_stopping(30, verbose=False)]
        booster = lgb.train(params, data, rounds, valid_sets=sets, callbacks=callbacks)
        return cls(booster, int(booster.best_iteration or booster.current_iteration()))

    def score(self, stage: RankingStage) -> np.ndarray:
        """Raw scores (log-odds), shape of ``stage.candidates`` (-inf where no candidate)."""
        s = self.booster.predict(stage.features, raw_score=True, num_iteration=self.best_iteration)
        return np.where(stage.candidates.ravel() >= 0, s, -np.inf).reshape(stage.candidates.shape)

    def rerank(self, stage: RankingStage, k: int = 10) -> np.ndarray:
        """Top-k catalogue positions per user after re-ranking the candidates."""
        order = np.argsort(-self.score(stage), axis=1, kind="stable")[:, :k]
        return np.take_along_axis(stage.candidates, order, axis=1)


class LightGBMReranker(Recommender):
    """``lightgbm_reranker``: a registered ``base`` (item-kNN, as in notebook 10) proposes
    ``n_candidates`` unseen items per user, ``Reranker`` re-orders them on ``PAIR_FEATURES``;
    every other item follows below them in the base model's order."""

    name = "lightgbm_reranker"
    #: the columns of the events and items that ``pair_features`` reads (what ``save`` keeps)
    EVENT_COLUMNS = ("user_id", "item_id", "event_type", "ts")
    ITEM_COLUMNS = ("item_id", "category", "brand", "price")

    def __init__(
        self,
        base: str = "item_knn",
        base_params: dict | None = None,
        n_candidates: int = 50,
        label_frac: float = 0.2,
        seed: int = 42,
        rounds: int = 300,
    ) -> None:
        self.base = base
        self.base_params = dict(base_params or {})
        self.n_candidates = int(n_candidates)
        self.label_frac = float(label_frac)
        self.seed = int(seed)
        self.rounds = int(rounds)

    def fit(
        self, train: pd.DataFrame, items: pd.DataFrame, labels: pd.DataFrame | None = None
    ) -> LightGBMReranker:
        """Candidates and features from ``train``, labels from ``labels`` (the period after it;
        None: the last ``label_frac`` of ``train`` by time), the re-ranker early-stopped on a
        quarter of those users (``fit_and_evaluate``'s protocol); then the base is refitted on
        both periods, which are also the history the features of new recommendations read."""
        if labels is None:
            from shopintent.data.schema import known_user_events
            from shopintent.data.splits import temporal_split

            inner = temporal_split(
                known_user_events(train, with_item=True), test_frac=self.label_frac
            )
            train, labels = inner.train, inner.test
        items = items.reset_index(drop=True)
        users = np.intersect1d(train["user_id"].unique(), labels["user_id"].unique())
        base = registry.create(self.base, **self.base_params).fit(train, items)
        stage = candidate_stage(base, train, items, users, self.n_candidates, labels)
        fit_part, stop_part = stage.split_users(0.25, self.seed)
        self.reranker_ = Reranker.fit(fit_part, stop_part, seed=self.seed, rounds=self.rounds)
        history = pd.concat([train, labels])
        self.base_ = registry.create(self.base, **self.base_params).fit(history, items)
        columns = [c for c in self.EVENT_COLUMNS if c in history]
        self.history_ = history[columns].reset_index(drop=True)
        self.features_items_ = items[[c for c in self.ITEM_COLUMNS if c in items]]
        return super().fit(history, items)

    def _fit(self, data: Interactions, items: pd.DataFrame) -> None:
        return None

    def stage(self, users) -> RankingStage:
        """The base model's candidates of ``users`` with their features (no labels)."""
        return candidate_stage(
            self.base_, self.history_, self.features_items_, users, self.n_candidates
        )

    def score(self, users) -> np.ndarray:
        """The base model's scores, its candidates lifted above the rest in the re-ranker's order
        (users unknown in training too: the base proposes them candidates as to anyone)."""
        self._check_fitted()
        users = np.asarray(list(users), dtype=object)
        base = self.base_.score(users)
        stage = self.stage(users)
        logits = self.reranker_.score(stage)
        by_logit = np.argsort(-logits, axis=1, kind="stable")
        order = np.take_along_axis(stage.candidates, by_logit, axis=1)
        out = base - (np.nanmax(np.abs(base)) * 2 + 1.0)  # every other item below every candidate
        top = np.nanmax(out) + 1.0
        n = order.shape[1]
        r = np.repeat(np.arange(len(users)), n).reshape(order.shape)
        ok = order >= 0
        steps = np.broadcast_to(np.arange(n, 0, -1, dtype=np.float64), order.shape)
        out[r[ok], order[ok]] = top + steps[ok]
        return out

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.score(self.data_.user_ids[rows])

    def _base_file(self) -> str:
        return "base.npz" if registry.get(self.base).saves_to == "file" else "base"

    def save(self, path: str | Path) -> Path:
        """Write the folder ``path``: ``base.npz`` or ``base/`` (the base model's own format),
        ``reranker.txt`` (LightGBM's
        text model), ``history.parquet`` and ``items.parquet`` (what the features read) and
        ``meta.json``."""
        self._check_fitted()
        path = Path(path)
        settings = {
            "base": self.base,
            "base_params": self.base_params,
            "n_candidates": self.n_candidates,
            "label_frac": self.label_frac,
            "seed": self.seed,
            "rounds": self.rounds,
        }
        meta = {
            "name": self.name,
            "settings": settings,
            "best_iteration": self.reranker_.best_iteration,
        }
        with staging_dir(path) as tmp:
            self.base_.save(tmp / self._base_file())
            write_text(tmp / "reranker.txt", self.reranker_.booster.model_to_string())
            self.history_.to_parquet(tmp / "history.parquet", index=False)
            self.features_items_.to_parquet(tmp / "items.parquet", index=False)
            write_json(tmp / "meta.json", meta, indent=1)
        return path

    @classmethod
    def load(cls, path: str | Path) -> LightGBMReranker:
        """The model ``save`` wrote: same candidates, same features, same order."""
        import lightgbm as lgb

        path = Path(path)
        meta = read_json(path / "meta.json")
        self = cls(**meta["settings"])
        self.name = meta["name"]
        self.base_ = registry.load(self.base, path / self._base_file())
        booster = lgb.Booster(model_str=(path / "reranker.txt").read_text())
        self.reranker_ = Reranker(booster, int(meta["best_iteration"]))
        self.history_ = pd.read_parquet(path / "history.parquet")
        self.features_items_ = pd.read_parquet(path / "items.parquet")
        self.data_, self.items_ = self.base_.data_, self.base_.items_
        return self


registry.register("lightgbm_reranker", LightGBMReranker, saves_to="folder")


def split_for_ranking(events: pd.DataFrame, test_frac: float = 0.2, val_frac: float = 0.1):
    """(history for training labels, label period, full training history, test period) by time,
    of the events with an item and a user (``schema.known_user_events``: anonymous sessions are
    nobody's history, and they are left out before the cut-offs are chosen)."""
    from shopintent.data.splits import temporal_split

    ev = known_user_events(events, with_item=True)
    sp_ = temporal_split(ev, test_frac=test_frac, val_frac=val_frac)
    return sp_.train, sp_.val, pd.concat([sp_.train, sp_.val]), sp_.test


def ranking_skip_reason(
    history: pd.DataFrame, labels: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame
) -> str | None:
    """Why ``fit_and_evaluate`` has nothing to learn or score on these periods (from
    ``split_for_ranking``), or None: the re-ranker learns from users active both before and in the
    label period, and re-ranks for test users with a training history."""
    if not len(np.intersect1d(history["user_id"].unique(), labels["user_id"].unique())):
        return (
            "the re-ranker skipped: no user has events both before and in its label period "
            "(each user id lives in one period only, e.g. one basket per id)"
        )
    if not len(np.intersect1d(train["user_id"].unique(), test["user_id"].unique())):
        return "the re-ranker skipped: no test user has a training history to re-rank from"
    return None


@dataclass
class RerankResult:
    """Fitted re-ranker, test stage, scores of base and re-ranked lists, SHAP of test pairs."""

    reranker: Reranker
    stage: RankingStage
    scores: pd.DataFrame
    attributions: object  # shopintent.explain.tabular.TreeAttributions of a sample of test pairs
    item_ids: pd.Index


def fit_and_evaluate(
    history: pd.DataFrame,
    labels: pd.DataFrame,
    train: pd.DataFrame,
    test: pd.DataFrame,
    items: pd.DataFrame,
    seed: int = 42,
    n_candidates: int = 50,
    n_shap: int = 2000,
    n_boot: int = 1000,
) -> RerankResult:
    """Item-kNN candidates, a re-ranker fitted on (``history`` → ``labels``) with early stopping
    on a quarter of those users, then both orders scored on (``train`` → ``test``) over the same
    candidates: NDCG@10 and Recall@10 with 95% bootstrap intervals over test users (protocol
    ``temporal-global-cutoff``, seen items excluded)."""
    from shopintent.evaluation.bootstrap import bootstrap_mean_ci
    from shopintent.evaluation.ranking import ndcg_at_k, recall_at_k
    from shopintent.explain.tabular import tree_shap
    from shopintent.models.recommenders.baselines import ItemKNN
    from shopintent.models.recommenders.evaluate import make_task

    items = items.reset_index(drop=True)
    users = np.intersect1d(history["user_id"].unique(), labels["user_id"].unique())
    fit_stage = candidate_stage(
        ItemKNN().fit(history, items), history, items, users, n_candidates, labels
    )
    fit_part, stop_part = fit_stage.split_users(0.25, seed)
    reranker = Reranker.fit(fit_part, stop_part, seed=seed)
    task = make_task(train, test, items, "temporal-global-cutoff")
    stage = candidate_stage(ItemKNN().fit(train, items), train, items, task.users, n_candidates)
    lists = {
        "itemknn_base": stage.candidates[:, :10],
        "lightgbm_reranker": reranker.rerank(stage, 10),
    }
    rows = {}
    for name, index in lists.items():
        row = {}
        for metric, fn in (("ndcg@10", ndcg_at_k), ("recall@10", recall_at_k)):
            per_user = fn(index, task.truth, 10, per_user=True)
            ci = bootstrap_mean_ci(per_user[np.isfinite(per_user)], n_boot=n_boot, seed=seed)
            row |= {metric: ci.point, f"{metric}_low": ci.low, f"{metric}_high": ci.high}
        row["candidate_recall@50"] = float(
            np.nanmean(recall_at_k(stage.candidates, task.truth, n_candidates, per_user=True))
        )
        rows[name] = row
    scores = pd.DataFrame(rows).T.rename_axis(f"test users: {len(task.users):,}")
    rng = np.random.default_rng(seed)
    valid = np.flatnonzero(stage.candidates.ravel() >= 0)
    sample = np.sort(rng.choice(valid, min(n_shap, len(valid)), replace=False))
    attributions = tree_shap(reranker.booster, stage.features.iloc[sample], reranker.best_iteration)
    return RerankResult(reranker, stage, scores, attributions, pd.Index(items["item_id"]))


def explanation_table(
    result: RerankResult,
    items: pd.DataFrame,
    n_users: int = 5,
    k: int = 3,
    top: int = 3,
    seed: int = 42,
) -> pd.DataFrame:
    """The re-ranked top-``k`` of ``n_users`` test users (drawn with ``seed`` among those with a
    history) with the ``top`` features that raised or lowered each item's score most (SHAP)."""
    from shopintent.explain.tabular import tree_shap

    stage, c = result.stage, result.stage.candidates.shape[1]
    active = np.flatnonzero(
        stage.features["user_events"].to_numpy().reshape(-1, c)[:, 0] > np.log1p(2)
    )
    pick = np.sort(
        np.random.default_rng(seed).choice(active, min(n_users, len(active)), replace=False)
    )
    scores = result.reranker.score(stage)
    titles = items.set_index("item_id")["title"] if "title" in items else None
    rows = []
    for u in pick:
        order = np.argsort(-scores[u], kind="stable")[:k]
        flat = u * c + order
        att = tree_shap(
            result.reranker.booster, stage.features.iloc[flat], result.reranker.best_iteration
        )
        for rank, (j, f) in enumerate(zip(order, flat, strict=True), start=1):
            v = att.values.loc[f]
            why = [
                f"{name} = {stage.features.loc[f, name]:.2f} ({v[name]:+.2f})"
                for name in v.abs().sort_values(ascending=False).index[:top]
            ]
            item = result.item_ids[stage.candidates[u, j]]
            rows.append(
                {
                    "user_id": stage.users[u],
                    "rank": rank,
                    "item_id": item,
                    "title": titles.get(item) if titles is not None else None,
                    "base_rank": int(j) + 1,
                    "score": float(scores[u, j]),
                    "why (re-ranker SHAP)": "; ".join(why),
                }
            )
    return pd.DataFrame(rows)
