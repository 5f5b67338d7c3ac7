"""The ranking stage: a deep & cross network (``tfrs.tasks.Ranking``) re-orders a two-tower's
top ``n_candidates`` per user (``two_tower_ranked``).

Protocol (no test data in training): the retrieval model trained on the *inner* training
period proposes candidates for the users of the validation period carved from training; a
candidate is positive when the user interacted with it in that period. Those lists are the
ranker's training data (negatives subsampled, ``neg_frac``), a fifth of the users held out to
pick its epoch by NDCG@10. At test time the retrieval model refitted on all of training
proposes the candidates and the ranker re-orders them.

Features per (user, candidate) transfer between the two retrieval models because none is a
coordinate of their (unaligned) vector spaces: the retrieval score standardised within the
user's list and its log rank; the item's brand, categories and price bucket (embeddings over the
whole catalogue); its log popularity and recent popularity in the period; the user's affinity to
the candidate's leaf category, top category and brand (share of their items), the same for their
most recent items, the distance of its price decile to the mean decile of the user's items; the
user's profile numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.evaluation.frames import interactions_matrix
from shopintent.evaluation.ranking import evaluate_ranking, topk_from_scores
from shopintent.io import read_json, write_npz, write_text
from shopintent.models.recommenders.base import Recommender
from shopintent.models.recommenders.registry import register
from shopintent.models.recommenders.two_tower import features as ttf
from shopintent.models.recommenders.two_tower.model import (
    TwoTowerConfig,
    TwoTowerRecommender,
    import_tfrs,
)

DENSE = (
    "score_z",
    "log_rank",
    "log_popularity",
    "recent_popularity",
    "category_affinity",
    "top_affinity",
    "brand_affinity",
    "recent_category_affinity",
    "price_distance",
    *ttf.PROFILE_FEATURES,
)
CATEGORICAL = ("brand", "category", "top_category", "price_bucket")
RECENT_DAYS = 7


class NothingToRank(ValueError):  # noqa: N818 - the name is what a reader sees in the notebook
    """The validation period gives the ranker no positive pair to learn from (none of a
    validation user's retrieved candidates is an item they then touched): the data, not a bug;
    a caller may go on without the ranking stage, saying why."""


@dataclass(frozen=True)
class RankerConfig:
    n_candidates: int = 100
    embedding_dim: int = 16
    cross_layers: int = 2
    hidden: tuple[int, ...] = (64, 32)
    learning_rate: float = 3e-3
    epochs: int = 8
    batch_size: int = 1024
    neg_frac: float = 0.25
    holdout_frac: float = 0.2
    patience: int = 2
    seed: int = 0


def candidates(
    retrieval: TwoTowerRecommender, rows: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(index, scores): each user's top ``n`` items never seen in training, best first."""
    scores = retrieval._score(rows)
    idx = topk_from_scores(scores, n, retrieval.data_.seen(retrieval.data_.user_ids[rows]))
    return idx, np.take_along_axis(scores, np.maximum(idx, 0), axis=1)


def _share(x: sp.csr_matrix, groups: np.ndarray) -> sp.csr_matrix:
    """(users, n_groups): share of each user's items that fall in each group (0 = unknown group)."""
    onehot = sp.csr_matrix(
        (np.ones(len(groups)), (np.arange(len(groups)), groups)),
        shape=(len(groups), int(groups.max(initial=0)) + 1),
    )
    counts = x @ onehot
    totals = np.maximum(np.asarray(x.sum(axis=1)).ravel(), 1.0)
    return sp.csr_matrix(sp.diags(1.0 / totals) @ counts)


def pair_features(
    retrieval: TwoTowerRecommender,
    catalogue: ttf.ItemFeatures,
    rows: np.ndarray,
    idx: np.ndarray,
    scores: np.ndarray,
) -> dict[str, np.ndarray]:
    """Feature arrays for every (user row, candidate) pair, flattened row-major (users x n)."""
    data = retrieval.data_
    n_users, n = idx.shape
    safe = np.maximum(idx, 0)
    urow = np.repeat(rows, n)
    item = safe.ravel()
    x = data.binary()
    mean = np.nanmean(np.where(idx >= 0, scores, np.nan), axis=1, keepdims=True)
    std = np.nanstd(np.where(idx >= 0, scores, np.nan), axis=1, keepdims=True)
    pop = np.asarray(x.sum(axis=0)).ravel()
    secs = data.last_ts.tocsc()
    end = secs.data.max(initial=0.0)
    recent = np.asarray(
        ((secs >= end - RECENT_DAYS * 86400.0).multiply(secs > 0)).sum(axis=0)
    ).ravel()
    hist = retrieval.users_.history[rows]  # (users, H) catalogue index + 1
    hist_x = sp.csr_matrix(
        (np.ones(int((hist > 0).sum())), (np.nonzero(hist > 0)[0], hist[hist > 0] - 1)),
        shape=(len(rows), data.n_items),
    )
    out = {
        "score_z": ((scores - mean) / np.where(std > 0, std, 1.0)).ravel(),
        "log_rank": np.tile(np.log1p(np.arange(n, dtype=np.float64)), n_users),
        "log_popularity": np.log1p(pop)[item] - np.log1p(pop).mean(),
        "recent_popularity": np.log1p(recent)[item] - np.log1p(recent).mean(),
    }
    for name, groups, mat, user_rows in (
        ("category_affinity", catalogue.category, x, urow),
        ("top_affinity", catalogue.top_category, x, urow),
        ("brand_affinity", catalogue.brand, x, urow),
        (
            "recent_category_affinity",
            catalogue.category,
            hist_x,
            np.repeat(np.arange(len(rows)), n),
        ),
    ):
        share = _share(mat, groups)
        out[name] = np.asarray(share[user_rows, groups[item]]).ravel()
    price = np.asarray(catalogue.price_bucket, dtype=np.float64)
    user_price = np.asarray(x @ price) / np.maximum(
        np.asarray(x @ (price > 0)).astype(np.float64), 1.0
    )
    out["price_distance"] = np.where(price[item] > 0, np.abs(price[item] - user_price[urow]), 0.0)
    for j, name in enumerate(ttf.PROFILE_FEATURES):
        out[name] = retrieval.users_.profile[urow, j]
    dense = np.column_stack([np.asarray(out[k], dtype=np.float32) for k in DENSE])
    cats = {k: getattr(catalogue, k)[item] for k in CATEGORICAL}
    return {"dense": np.nan_to_num(dense), **cats}


def build_ranker(cfg: RankerConfig, sizes: dict[str, int]):
    """DCN: categorical embeddings + dense features -> cross layers -> MLP -> one logit."""
    tfrs = import_tfrs()
    import tensorflow as tf

    layers = tf.keras.layers

    class DeepCrossRanker(tfrs.Model):
        def __init__(self):
            super().__init__()
            self.embed = {
                k: layers.Embedding(sizes[k], cfg.embedding_dim, name=f"{k}_embedding")
                for k in CATEGORICAL
            }
            self.norm = layers.LayerNormalization(name="dense_norm")
            self.cross = [tfrs.layers.dcn.Cross(name=f"cross_{j}") for j in range(cfg.cross_layers)]
            # the last layer starts at zero, so the untrained ranker *is* the retrieval order
            # (logit = score_z) and learns a correction to it
            self.mlp = [layers.Dense(h, activation="relu") for h in cfg.hidden] + [
                layers.Dense(1, kernel_initializer="zeros")
            ]
            self.task = tfrs.tasks.Ranking(
                loss=tf.keras.losses.BinaryCrossentropy(from_logits=True)
            )

        def call(self, x, training=False):
            x0 = tf.concat(
                [self.norm(x["dense"])] + [self.embed[k](x[k]) for k in CATEGORICAL], axis=-1
            )
            z = x0
            for cross in self.cross:
                z = cross(x0, z)
            for dense in self.mlp:
                z = dense(z)
            return tf.squeeze(z, -1) + x["dense"][:, DENSE.index("score_z")]

        def compute_loss(self, features, training=False):
            logits = self(features, training=training)
            return self.task(labels=features["label"], predictions=logits)

    model = DeepCrossRanker()
    model.compile(optimizer=tf.keras.optimizers.Adam(cfg.learning_rate))
    return model


class RankedTwoTower(Recommender):
    """``two_tower_ranked``: the retrieval model's top ``n_candidates`` unseen items, re-ordered
    by the ranker; every other item keeps its retrieval order below them."""

    name = "two_tower_ranked"

    def __init__(self, retrieval: TwoTowerRecommender, config: RankerConfig | None = None):
        self.retrieval = retrieval
        self.config = config or RankerConfig()

    def fit(
        self, train: pd.DataFrame, items: pd.DataFrame, val_frac: float = 0.2, verbose: bool = False
    ) -> RankedTwoTower:
        """Both stages on ``train`` alone (the module's protocol): a copy of the retrieval model
        fitted on the first ``1 - val_frac`` of it (by time) proposes the candidates that the
        last ``val_frac`` labels, then the retrieval model is fitted on all of ``train``."""
        from shopintent.data.splits import temporal_split

        inner = temporal_split(train, test_frac=val_frac)
        r = self.retrieval
        inner_model = TwoTowerRecommender(r.config, r.text, name=r.name).fit(inner.train, items)
        r.fit(train, items)
        return self.fit_ranker(inner_model, inner.test, verbose)

    def fit_ranker(
        self, inner: TwoTowerRecommender, val: pd.DataFrame, verbose: bool = False
    ) -> RankedTwoTower:
        """Train the ranker on ``inner``'s candidates for the ``val`` period.

        See the module docstring.
        """
        import tensorflow as tf

        cfg = self.config
        tf.keras.utils.set_random_seed(cfg.seed)
        self.data_, self.items_ = self.retrieval.data_, self.retrieval.items_
        self.catalogue_ = ttf.item_features(self.items_, np.ones(len(self.items_), dtype=bool))
        val = val[val["item_id"].notna()]
        users = np.sort(pd.unique(val["user_id"]))
        rows = inner.data_.user_index(users)
        users, rows = users[rows >= 0], rows[rows >= 0]
        idx, scores = candidates(inner, rows, cfg.n_candidates)
        truth = interactions_matrix(val, users, inner.data_.item_ids)
        labels = np.asarray(
            truth[np.repeat(np.arange(len(users)), idx.shape[1]), np.maximum(idx, 0).ravel()]
        ).ravel()
        labels = ((labels > 0) & (idx.ravel() >= 0)).astype(np.float32)
        feats = pair_features(inner, self.catalogue_, rows, idx, scores)
        r = np.random.default_rng(cfg.seed)
        held = r.random(len(users)) < cfg.holdout_frac
        pair_held = np.repeat(held, idx.shape[1])
        keep = (
            (~pair_held)
            & (idx.ravel() >= 0)
            & ((labels > 0) | (r.random(len(labels)) < cfg.neg_frac))
        )
        train = {k: v[keep] for k, v in feats.items()} | {"label": labels[keep]}
        if train["label"].sum() == 0:
            raise NothingToRank(
                "ranker: no retrieved candidate of a validation user is relevant; nothing to learn"
            )
        self.model_ = build_ranker(cfg, self.catalogue_.sizes)
        self.model_({k: v[:1] for k, v in feats.items()})  # create the weights
        ds = (
            tf.data.Dataset.from_tensor_slices(train)
            .shuffle(len(train["label"]), seed=cfg.seed)
            .batch(cfg.batch_size)
            .prefetch(2)
        )
        hold = {k: v[pair_held] for k, v in feats.items()}
        hold_idx, hold_truth = idx[held], truth[np.flatnonzero(held)]
        self.eval_k_ = min(10, idx.shape[1])
        base = self._ndcg(hold_idx, hold_truth) if held.any() else float("nan")
        # epoch 0 (the retrieval order) competes too: a ranker that never beats it on the
        # held-out users is kept at its initial weights
        from shopintent.models.training import BestEpoch

        keeper = BestEpoch(self.model_, higher_is_better=True, patience=cfg.patience, initial=base)
        rows_out = []
        rows_out.append(
            {
                "epoch": 0,
                "loss": float("nan"),
                f"holdout_ndcg@{self.eval_k_}": base,
                f"retrieval_order_ndcg@{self.eval_k_}": base,
            }
        )
        for epoch in range(1, cfg.epochs + 1):
            loss = self.model_.fit(ds, epochs=1, verbose=0).history["loss"][-1]
            ndcg = self._holdout_ndcg(hold, hold_idx, hold_truth) if held.any() else float("nan")
            rows_out.append(
                {
                    "epoch": epoch,
                    "loss": float(loss),
                    f"holdout_ndcg@{self.eval_k_}": ndcg,
                    f"retrieval_order_ndcg@{self.eval_k_}": base,
                }
            )
            if verbose:
                print(rows_out[-1])
            if keeper.update(ndcg):
                break
        keeper.restore()
        self.best_epoch_ = keeper.best_epoch
        self.history_ = pd.DataFrame(rows_out)
        self.train_pairs_ = int(keep.sum())
        return self

    def save(self, folder: str | Path) -> Path:
        """``<folder>/two_tower_ranked.json`` + ``.npz``: the ranker's settings and weights, with
        the retrieval model it re-orders beside them (``TwoTowerRecommender.save``'s files)."""
        folder = Path(folder)
        self.retrieval.save(folder)
        # the catalogue's feature columns too: a loaded retrieval model keeps only item ids
        write_npz(
            folder / f"{self.name}.npz",
            {f"weight_{j:03d}": w for j, w in enumerate(self.model_.get_weights())}
            | {f"catalogue_{k}": v for k, v in self.catalogue_.arrays().items()},
        )
        meta = {
            "name": self.name,
            "config": asdict(self.config),
            "retrieval": self.retrieval.name,
            "best_epoch": int(self.best_epoch_),
        }
        write_text(folder / f"{self.name}.json", json.dumps(meta))
        return folder / f"{self.name}.json"

    @classmethod
    def load(
        cls, folder: str | Path, retrieval: TwoTowerRecommender | None = None
    ) -> RankedTwoTower:
        """The ranker saved by ``save``, on top of ``retrieval`` (None: the one saved beside it)."""
        folder = Path(folder)
        meta = read_json(folder / f"{cls.name}.json")
        if retrieval is None:
            retrieval = TwoTowerRecommender.load(folder, meta["retrieval"])
        if meta["retrieval"] != retrieval.name:
            raise ValueError(
                f"{folder}: the ranker was trained on {meta['retrieval']}'s candidates, "
                f"not {retrieval.name}'s"
            )
        cfg = meta["config"]
        self = cls(retrieval, RankerConfig(**{**cfg, "hidden": tuple(cfg["hidden"])}))
        self.data_, self.items_ = retrieval.data_, retrieval.items_
        with np.load(folder / f"{cls.name}.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if "catalogue_id_index" in arrays:
            columns = ("id_index", "brand", "category", "top_category", "price_bucket")
            self.catalogue_ = ttf.ItemFeatures(
                self.data_.item_ids, *(arrays[f"catalogue_{k}"] for k in columns)
            )
        else:  # saved without the catalogue: the retrieval model must know the items' columns
            self.catalogue_ = ttf.item_features(self.items_, np.ones(len(self.items_), dtype=bool))
        self.model_ = build_ranker(self.config, self.catalogue_.sizes)
        self.model_(
            {
                "dense": np.zeros((1, len(DENSE)), np.float32),
                **{k: np.zeros(1, np.int32) for k in CATEGORICAL},
            }
        )
        self.model_.set_weights([arrays[k] for k in sorted(arrays) if k.startswith("weight_")])
        self.best_epoch_ = meta["best_epoch"]
        return self

    def _logits(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        out = self.model_.predict(
            {k: v for k, v in feats.items() if k != "label"}, batch_size=8192, verbose=0
        )
        return np.asarray(out, dtype=np.float64).ravel()

    def rerank(self, idx: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """``idx`` (users, n) re-ordered by the ranker's logits, padding (-1) last."""
        logits = np.where(idx >= 0, logits.reshape(idx.shape), -np.inf)
        return np.take_along_axis(idx, np.argsort(-logits, axis=1, kind="stable"), axis=1)

    def _ndcg(self, idx, truth) -> float:
        return float(evaluate_ranking(idx, truth, (self.eval_k_,))[f"ndcg@{self.eval_k_}"])

    def _holdout_ndcg(self, feats, idx, truth) -> float:
        return self._ndcg(self.rerank(idx, self._logits(feats)), truth)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        """Retrieval scores, with the candidates lifted above the rest in the ranker's order."""
        base = self.retrieval._score(rows)
        idx, scores = candidates(self.retrieval, rows, self.config.n_candidates)
        order = self.rerank(
            idx, self._logits(pair_features(self.retrieval, self.catalogue_, rows, idx, scores))
        )
        out = base - (
            np.nanmax(np.abs(base)) * 2 + 1.0
        )  # every non-candidate below every candidate
        top = np.nanmax(out) + 1.0
        n = order.shape[1]
        r = np.repeat(np.arange(len(rows)), n).reshape(order.shape)
        ok = order >= 0
        out[r[ok], order[ok]] = (
            top + np.broadcast_to(np.arange(n, 0, -1, dtype=np.float64), order.shape)[ok]
        )
        return out


def two_tower_ranked(
    retrieval: TwoTowerConfig | None = None,
    config: RankerConfig | None = None,
    text: np.ndarray | None = None,
) -> RankedTwoTower:
    """An unfitted ``two_tower_ranked`` over a fresh retrieval model (``retrieval`` its config)."""
    return RankedTwoTower(TwoTowerRecommender(retrieval, text), config)


register("two_tower_ranked", two_tower_ranked, saves_to="folder", load=RankedTwoTower.load)
