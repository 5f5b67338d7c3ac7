"""Two-tower retrieval with TensorFlow Recommenders (Keras 2 world), behind ``Recommender``.

Query tower: the mean of the feature embeddings of the user's recent items + profile numbers
(+ a user-id embedding, ``user_id``), through a small MLP. Candidate tower: item id (an
out-of-vocabulary bucket for items without training interactions), brand, leaf and top
category, price bucket and, for ``two_tower_text``, a projection of the item's text vector
(MiniLM, passed in as a numpy array: no Keras 3 layer ever enters this tf-keras model), through
an MLP. Both share the item feature embeddings, so history and candidates live in one space.
During training a share ``item_id_dropout`` of the candidates lose their id (OOV bucket), which
teaches the content features to stand in for it: that is what makes items never seen in
training retrievable.

Loss: ``tfrs.tasks.Retrieval`` without metrics (``FactorizedTopK`` costs 10x per step, so it
runs only in ``two_tower_eval.factorized_top_k_accuracy``): an in-batch softmax whose logits
are corrected by the items' sampling probability (logQ, Yi et al. 2019: without it the model
learns to rank popular items down and falls below popularity), or an exact softmax over the
whole catalogue (``negatives="catalogue"``). The epoch is chosen on a validation split
(``fit(..., val=events)`` keeps the best epoch's weights); ``two_tower_eval.tune_two_tower``
picks the other settings. Scores are dot products of cached user and item vectors (numpy).

``import_tfrs`` is the only way this project imports TFRS: with scann 1.4.2 installed, TFRS's
optional ``from scann import scann_ops`` loads ScaNN's TF ops, built for TF 2.20, which fail
here with an undefined symbol (not an ImportError); it is shown an absent ``scann`` instead
(see ``ann.py`` for ScaNN's numpy API).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.evaluation.frames import interactions_matrix
from shopintent.evaluation.ranking import evaluate_ranking, topk_from_scores
from shopintent.io import read_json, write_npz, write_text
from shopintent.models.recommenders.base import Interactions, Recommender
from shopintent.models.recommenders.registry import register
from shopintent.models.recommenders.two_tower import features as ttf

_MISSING = object()


def import_tfrs():
    """``tensorflow_recommenders``, imported with tf.keras = Keras 2 and ScaNN's TF ops hidden."""
    if "tensorflow_recommenders" in sys.modules:
        return sys.modules["tensorflow_recommenders"]
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    if not tf.keras.__name__.startswith("tf_keras"):
        raise RuntimeError(
            "TFRS needs tf.keras to be Keras 2: set TF_USE_LEGACY_KERAS=1 before TensorFlow is "
            f"first imported (tf.keras is {tf.keras.__name__} here)"
        )
    saved = sys.modules.get("scann", _MISSING)
    sys.modules["scann"] = None  # TFRS then sees ImportError and skips its ScaNN TF-ops layer
    try:
        import tensorflow_recommenders as tfrs
    finally:
        if saved is _MISSING:
            sys.modules.pop("scann", None)
        else:
            sys.modules["scann"] = saved
    return tfrs


@dataclass(frozen=True)
class TwoTowerConfig:
    """Settings; ``epochs`` is the maximum when fitting with validation, else the exact count."""

    dim: int = 64
    hidden: tuple[int, ...] = (128,)
    feature_dim: int = 32  # brand / category / price embeddings
    learning_rate: float = 0.1
    optimizer: str = "adagrad"  # adagrad (as the TFRS tutorials) | adam
    epochs: int = 10
    batch_size: int = 1024
    history: int = 20
    history_mode: str = "before"  # training examples' history: "before" (time splits) | "others"
    user_id: bool = True  # a user id embedding in the query tower (else history + profile only)
    item_id_dropout: float = 0.1
    patience: int = 2
    # negatives: "in_batch" (the other examples' items, popularity-sampled, so logits are
    # corrected by log q: Yi et al. 2019) or "catalogue" (every item: an exact softmax, for
    # catalogues of a few thousand items; the batch's other positives are masked out)
    negatives: str = "in_batch"
    logq: bool = True
    remove_accidental_hits: bool = True  # an item equal to the example's positive is no negative
    val_metric: str = "ndcg@10"
    seed: int = 0


def _embed_layers(
    tf,
    cfg: TwoTowerConfig,
    sizes: dict[str, int],
    feature_tables: dict[str, np.ndarray],
    text: np.ndarray | None,
):
    """The item-feature embedding shared by both towers: catalogue index -> concatenated parts."""
    layers = tf.keras.layers

    class ItemFeatureEmbedding(layers.Layer):
        def __init__(self):
            super().__init__(name="item_features")
            self.tables = {k: tf.constant(v, dtype=tf.int32) for k, v in feature_tables.items()}
            self.embed = {
                k: layers.Embedding(
                    sizes[k], cfg.dim if k == "id_index" else cfg.feature_dim, name=f"{k}_embedding"
                )
                for k in sorted(feature_tables)
            }
            self.text = None if text is None else tf.constant(text, dtype=tf.float32)
            self.text_proj = (
                None if text is None else layers.Dense(cfg.feature_dim * 2, name="text_projection")
            )

        def _ids(self, idx, training, drop_ids):
            ids = {k: tf.gather(t, idx) for k, t in self.tables.items()}
            if training and drop_ids and cfg.item_id_dropout > 0:
                keep = tf.random.uniform(tf.shape(idx)) >= cfg.item_id_dropout
                ids["id_index"] = tf.where(keep, ids["id_index"], tf.zeros_like(ids["id_index"]))
            return ids

        def call(self, idx, training=False):
            """(B,) catalogue indices -> (B, width) features (candidate side, with id dropout)."""
            ids = self._ids(idx, training, True)
            parts = [self.embed[k](ids[k]) for k in sorted(self.embed)]
            if self.text is not None:
                parts.append(self.text_proj(tf.gather(self.text, idx)))
            return tf.concat(parts, axis=-1)

        def pooled(self, history):
            """(B, H) catalogue index + 1 (0 = padding) -> (B, width): the mean of item features."""
            mask = tf.cast(history > 0, tf.float32)[..., None]
            count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
            idx = tf.maximum(history - 1, 0)
            ids = self._ids(idx, False, False)
            parts = [
                tf.reduce_sum(self.embed[k](ids[k]) * mask, axis=1) / count
                for k in sorted(self.embed)
            ]
            if self.text is not None:  # the projection is linear: project the mean text vector once
                parts.append(
                    self.text_proj(tf.reduce_sum(tf.gather(self.text, idx) * mask, axis=1) / count)
                )
            return tf.concat(parts, axis=-1)

    return ItemFeatureEmbedding()


def build_model(
    cfg: TwoTowerConfig,
    n_users: int,
    features: ttf.ItemFeatures,
    item_probability: np.ndarray | None = None,
):
    """The ``tfrs.Model``: query tower, candidate tower, retrieval loss.

    Towers: ``query_tower(batch)`` and ``candidate_tower(catalogue index)``.
    """
    tfrs = import_tfrs()
    import tensorflow as tf

    layers = tf.keras.layers
    item_embedding = _embed_layers(tf, cfg, features.sizes, features.arrays(), features.text)

    def mlp(name):
        return tf.keras.Sequential(
            [*(layers.Dense(h, activation="relu") for h in cfg.hidden), layers.Dense(cfg.dim)],
            name=name,
        )

    class QueryTower(tf.keras.Model):
        def __init__(self):
            super().__init__(name="query_tower")
            if cfg.user_id:  # 0 = unknown user
                self.user = layers.Embedding(n_users + 1, cfg.dim, name="user_embedding")
            self.items = item_embedding
            self.mlp = mlp("query_mlp")

        def call(self, x, training=False):
            parts = [self.items.pooled(x["history"]), x["profile"]]
            if cfg.user_id:
                parts.insert(0, self.user(x["user"] + 1))
            z = tf.concat(parts, axis=-1)
            return self.mlp(z, training=training)

    class CandidateTower(tf.keras.Model):
        def __init__(self):
            super().__init__(name="candidate_tower")
            self.items = item_embedding
            self.mlp = mlp("candidate_mlp")

        def call(self, idx, training=False):
            return self.mlp(self.items(idx, training=training), training=training)

    class TwoTowerModel(tfrs.Model):
        def __init__(self):
            super().__init__()
            self.query_tower = QueryTower()
            self.candidate_tower = CandidateTower()
            catalogue = cfg.negatives == "catalogue"
            # no FactorizedTopK while training (10x slower): it runs only in evaluation
            self.task = tfrs.tasks.Retrieval(
                remove_accidental_hits=cfg.remove_accidental_hits or catalogue
            )
            self.item_prob = (
                None if item_probability is None else tf.constant(item_probability, tf.float32)
            )
            self.all_items = tf.range(features.id_index.shape[0], dtype=tf.int32)

        def compute_loss(self, features, training=False):
            q = self.query_tower(features, training=training)
            items = features["item"]
            if cfg.negatives == "catalogue":  # candidates: [the B positives, all N items]
                c = self.candidate_tower(tf.concat([items, self.all_items], 0), training=training)
                b, n = tf.shape(items)[0], tf.shape(self.all_items)[0]
                mask = tf.concat([tf.cast(tf.eye(b), tf.bool), tf.ones((b, n), tf.bool)], axis=1)
                return self.task(
                    q,
                    c,
                    compute_metrics=False,
                    candidate_ids=tf.concat([items, self.all_items], 0),
                    score_mask=mask,
                )
            c = self.candidate_tower(items, training=training)
            prob = (
                None if self.item_prob is None or not cfg.logq else tf.gather(self.item_prob, items)
            )
            ids = items if cfg.remove_accidental_hits else None
            return self.task(
                q, c, compute_metrics=False, candidate_sampling_probability=prob, candidate_ids=ids
            )

    model = TwoTowerModel()
    opt = {"adagrad": tf.keras.optimizers.Adagrad, "adam": tf.keras.optimizers.Adam}[cfg.optimizer]
    model.compile(optimizer=opt(learning_rate=cfg.learning_rate))
    dummy = {
        "user": np.zeros(1, np.int32),
        "history": np.zeros((1, cfg.history), np.int32),
        "profile": np.zeros((1, len(ttf.PROFILE_FEATURES)), np.float32),
        "item": np.zeros(1, np.int32),
    }
    model.query_tower(dummy)
    model.candidate_tower(dummy["item"])
    return model


class TwoTowerRecommender(Recommender):
    """``two_tower`` (ids + brand/category/price) or, with ``text`` vectors, ``two_tower_text``.

    ``text`` is an (n_items, dim) array aligned with the ``items`` passed to ``fit``.
    ``fit(train, items, val=events)`` chooses the epoch on ``val`` (users known in training,
    their new items) and keeps that epoch's weights; ``history_`` has loss and metric per epoch.
    """

    def __init__(
        self,
        config: TwoTowerConfig | None = None,
        text: np.ndarray | None = None,
        name: str | None = None,
    ):
        self.config = config or TwoTowerConfig()
        self.text = None if text is None else np.asarray(text, dtype=np.float32)
        self.name = name or ("two_tower_text" if text is not None else "two_tower")

    # -- training -------------------------------------------------------------------------
    def _fit(
        self,
        data: Interactions,
        items: pd.DataFrame,
        val: pd.DataFrame | None = None,
        verbose: bool = False,
    ) -> None:
        import tensorflow as tf

        cfg = self.config
        tf.keras.utils.set_random_seed(cfg.seed)
        trained = np.asarray(data.matrix.sum(axis=0)).ravel() > 0
        self.features_ = ttf.item_features(items, trained, self.text)
        self.users_ = ttf.user_features(data, items, cfg.history)
        ex = ttf.training_examples(data, cfg.history, cfg.history_mode)
        if len(ex) == 0:
            raise ValueError(
                "two-tower: no training interactions (events with an item) to learn from"
            )
        freq = np.bincount(ex.item, minlength=data.n_items).astype(np.float64)
        self.model_ = build_model(
            cfg, data.n_users, self.features_, np.maximum(freq, 1.0) / len(ex)
        )
        arrays = {
            "user": ex.user,
            "history": ex.history,
            "profile": self.users_.profile[ex.user],
            "item": ex.item,
        }
        ds = (
            tf.data.Dataset.from_tensor_slices(arrays)
            .shuffle(len(ex), seed=cfg.seed, reshuffle_each_iteration=True)
            .batch(min(cfg.batch_size, len(ex)))
            .prefetch(2)
        )
        val_task = self._val_task(data, val) if val is not None else None
        from shopintent.models.training import BestEpoch

        keeper = BestEpoch(self.model_, higher_is_better=True, patience=cfg.patience)
        rows, stop = [], False
        started = time.perf_counter()
        for epoch in range(1, cfg.epochs + 1):
            t0 = time.perf_counter()
            loss = self.model_.fit(ds, epochs=1, verbose=0).history["loss"][-1]
            row = {"epoch": epoch, "loss": float(loss), "seconds": time.perf_counter() - t0}
            if val_task is not None:
                self._cache_vectors()
                row[f"val_{cfg.val_metric}"] = score = self._val_score(*val_task)
                stop = keeper.update(score)
            rows.append(row)
            if verbose:
                print(row)
            if stop:
                break
        keeper.restore()
        self.best_epoch_ = keeper.best_epoch if keeper.kept else len(rows)
        self.history_ = pd.DataFrame(rows)
        self.train_seconds_ = time.perf_counter() - started
        self.examples_ = len(ex)
        self._cache_vectors()

    def _val_task(self, data: Interactions, val: pd.DataFrame):
        val = val[val["item_id"].notna()]
        users = np.sort(pd.unique(val["user_id"]))
        rows = data.user_index(users)
        users, rows = users[rows >= 0], rows[rows >= 0]
        truth = interactions_matrix(val, users, data.item_ids)
        seen = data.seen(users)
        truth = sp.csr_matrix(truth - truth.multiply(seen))
        truth.eliminate_zeros()
        if truth.nnz == 0:
            raise ValueError(
                "two-tower validation: no validation user known in training has a new item"
            )
        return rows, truth, seen

    def _val_score(self, rows, truth, seen) -> float:
        name, k = self.config.val_metric.split("@")
        recs = topk_from_scores(self._score(rows), int(k), seen)
        return float(evaluate_ranking(recs, truth, (int(k),))[f"{name}@{k}"])

    # -- scoring --------------------------------------------------------------------------
    def query_inputs(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The query tower's inputs for training users at ``rows``."""
        rows = np.asarray(rows, dtype=np.int32)
        return {
            "user": rows,
            "history": self.users_.history[rows],
            "profile": self.users_.profile[rows],
        }

    def _cache_vectors(self) -> None:
        n_users, n_items = self.data_.n_users, self.data_.n_items
        self.user_vectors_ = self._predict(
            self.model_.query_tower, self.query_inputs(np.arange(n_users))
        )
        self.item_vectors_ = self._predict(
            self.model_.candidate_tower, np.arange(n_items, dtype=np.int32)
        )

    @staticmethod
    def _predict(tower, inputs, batch: int = 4096) -> np.ndarray:
        n = len(inputs["user"]) if isinstance(inputs, dict) else len(inputs)
        parts = []
        for lo in range(0, n, batch):
            chunk = (
                {k: v[lo : lo + batch] for k, v in inputs.items()}
                if isinstance(inputs, dict)
                else inputs[lo : lo + batch]
            )
            parts.append(np.asarray(tower(chunk, training=False)))
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.user_vectors_[rows].astype(np.float64) @ self.item_vectors_.T.astype(np.float64)

    # -- persistence ----------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """``<folder>/<name>.json`` (config, ids) + ``<name>.npz`` (weights, features, training
        interactions): safe arrays only, no pickle. Written to temp files, then renamed."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": self.name,
            "class": type(self).__name__,
            "config": asdict(self.config),
            "has_text": self.text is not None,
            "best_epoch": int(self.best_epoch_),
            "user_ids": [str(u) for u in self.data_.user_ids],
            "item_ids": [str(i) for i in self.data_.item_ids],
        }
        arrays = {f"weight_{j:03d}": w for j, w in enumerate(self.model_.get_weights())}
        arrays.update({f"feature_{k}": v for k, v in self.features_.arrays().items()})
        arrays.update(
            history=self.users_.history,
            profile=self.users_.profile,
            **_interaction_arrays(self.data_),
        )
        if self.text is not None:
            arrays["text"] = self.text
        write_npz(folder / f"{self.name}.npz", arrays)
        write_text(folder / f"{self.name}.json", json.dumps(meta))
        return folder / f"{self.name}.json"

    @classmethod
    def load(cls, folder: str | Path, name: str = "two_tower") -> TwoTowerRecommender:
        """The model saved by ``save`` under ``name``; scores match the saved model's."""
        folder = Path(folder)
        meta = read_json(folder / f"{name}.json")
        with np.load(folder / f"{name}.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        cfg = meta["config"]
        cfg = TwoTowerConfig(**{**cfg, "hidden": tuple(cfg["hidden"])})
        self = cls(cfg, arrays.get("text"), name=meta["name"])
        self.data_ = _interactions_from(arrays, meta)
        self.items_ = pd.DataFrame({"item_id": self.data_.item_ids})
        self.features_ = ttf.ItemFeatures(
            self.data_.item_ids,
            *(
                arrays[f"feature_{k}"]
                for k in ("id_index", "brand", "category", "top_category", "price_bucket")
            ),
            self.text,
        )
        self.users_ = ttf.UserFeatures(arrays["history"], arrays["profile"])
        self.model_ = build_model(cfg, self.data_.n_users, self.features_)
        weights = [arrays[k] for k in sorted(a for a in arrays if a.startswith("weight_"))]
        self.model_.set_weights(weights)
        self.best_epoch_ = meta["best_epoch"]
        self._cache_vectors()
        return self


def _interaction_arrays(data: Interactions) -> dict[str, np.ndarray]:
    m, t = data.matrix.tocsr(), data.last_ts.tocsr()
    return {
        "m_indptr": m.indptr,
        "m_indices": m.indices,
        "m_data": m.data,
        "t_indptr": t.indptr,
        "t_indices": t.indices,
        "t_data": t.data,
    }


def _interactions_from(arrays: dict, meta: dict) -> Interactions:
    shape = (len(meta["user_ids"]), len(meta["item_ids"]))
    m = sp.csr_matrix((arrays["m_data"], arrays["m_indices"], arrays["m_indptr"]), shape=shape)
    t = sp.csr_matrix((arrays["t_data"], arrays["t_indices"], arrays["t_indptr"]), shape=shape)
    return Interactions(
        m, pd.Index(meta["user_ids"], dtype=object), pd.Index(meta["item_ids"], dtype=object), t
    )


# no grid for tune: the epoch is chosen on validation while fitting (``fit(..., val=events)``) and
# the rest by the study's own search over configs (``studies.two_tower_retrieval.tune_two_tower``)
register(
    "two_tower",
    TwoTowerRecommender,
    saves_to="folder",
    load=partial(TwoTowerRecommender.load, name="two_tower"),
)
register(
    "two_tower_text",
    TwoTowerRecommender,
    params={"name": "two_tower_text"},
    needs=("text",),
    saves_to="folder",
    load=partial(TwoTowerRecommender.load, name="two_tower_text"),
)
