"""Sequence models of purchase intent (Keras 3): an LSTM reads a session's events one by one and
scores the purchase probability after each of them; the hybrid also reads each event's text
vector (the search query's or the item's) and the user's history.

Per event: embeddings of event type, category and brand (vocabularies from the training
prefixes, rare values share the unknown id; item ids only on request, see ``SequenceModel``),
the log time gap since the previous event, the
price relative to the category median, a repeat flag and the item's past conversion
(``shopintent.features.sessions.EVENT_NUMERIC``). Padding is masked. The LSTM is causal, so one
pass over a session of n events scores all n prefixes (step j sees events 1 … j only);
sessions longer than ``max_len`` add windows of their last ``max_len`` events. Batches are
grouped by length (4, 8, 16, … steps) so short sessions do not pay for long padding.

Text vectors are inputs, not weights: the caller passes ``TextVectors`` (MiniLM vectors from
the embeddings cache, or ``tfidf_text_vectors`` when there are none), so a model scores queries
it has never seen. Keras layers stay in Keras 3; nothing here touches ``tf.keras``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from shopintent.features.sessions import (
    EVENT_NUMERIC,
    HYBRID_USER_FEATURES,
    SEQUENCE_FIELDS,
    SessionExamples,
    Vocabulary,
    event_arrays,
    sequence_rows,
    text_rows,
)
from shopintent.models.purchase_intent.base import PurchaseModel, balanced_pos_weight
from shopintent.models.training import BestEpoch

BUCKETS = (4, 8, 16, 32, 64, 128, 256)
EMBED_DIMS = {"event_type": 4, "item_id": 32, "category": 12, "brand": 8}


@dataclass
class TextVectors:
    """Vectors of items and queries, rows aligned with the ids (either part may be empty)."""

    item_ids: np.ndarray
    item_vectors: np.ndarray
    query_ids: np.ndarray
    query_vectors: np.ndarray
    source: str = "unknown"

    @property
    def dim(self) -> int:
        return int(
            self.item_vectors.shape[1] if len(self.item_vectors) else self.query_vectors.shape[1]
        )

    def matrix(self) -> np.ndarray:
        """``[zeros; item vectors; query vectors]`` (float32): row 0 is "no text". Built once."""
        if getattr(self, "_matrix", None) is None:
            parts = [np.zeros((1, self.dim), np.float32)]
            parts += [
                np.asarray(v, np.float32).reshape(-1, self.dim)
                for v in (self.item_vectors, self.query_vectors)
            ]
            self._matrix = np.concatenate(parts)
        return self._matrix

    def rows(self, prefixes: pd.DataFrame) -> np.ndarray:
        return text_rows(prefixes, self.item_ids, self.query_ids)


def tfidf_text_vectors(
    items: pd.DataFrame, queries: pd.DataFrame, fit_query_ids=None, dim: int = 64, seed: int = 42
) -> TextVectors:
    """A fast stand-in for sentence vectors: TF-IDF of word 1–2-grams and character 2–4-grams,
    reduced to ``dim`` by truncated SVD and L2-normalised. Fitted on the item titles and, if
    given, only the queries ``fit_query_ids`` (those of training sessions), then applied to all."""
    from scipy.sparse import hstack
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    titles = items["title"].fillna("").astype(str)
    texts = queries["text"].fillna("").astype(str)
    fit_q = (
        texts if fit_query_ids is None else texts[queries["query_id"].isin(pd.Index(fit_query_ids))]
    )
    corpus = pd.concat([titles, fit_q]).str.lower()
    word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(corpus)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True).fit(
        corpus
    )

    def transform(s: pd.Series):
        s = s.str.lower()
        return hstack([word.transform(s), char.transform(s)]).tocsr()

    fit_x = transform(corpus)
    svd = TruncatedSVD(n_components=min(dim, fit_x.shape[1] - 1), random_state=seed).fit(fit_x)
    vec = {
        name: normalize(svd.transform(transform(s))).astype(np.float32)
        for name, s in (("items", titles), ("queries", texts))
    }
    return TextVectors(
        items["item_id"].to_numpy(),
        vec["items"],
        queries["query_id"].to_numpy(),
        vec["queries"],
        source=f"tfidf-svd{svd.n_components}",
    )


def text_vectors_for(
    shop,
    dataset: str,
    profile: str,
    mode: str = "auto",
    encode_limit: int = 5000,
    fit_query_ids=None,
    seed: int = 42,
) -> tuple[TextVectors | None, str]:
    """The hybrid's text vectors (item titles and queries) and a sentence saying where they come
    from, by the one rule of ``features.text.embeddings.item_text_vectors``: saved MiniLM
    vectors, else MiniLM encoded now within ``encode_limit`` distinct texts, else
    ``tfidf_text_vectors`` (fitted on the titles and the queries ``fit_query_ids``). A dataset
    without titles or queries gets None.
    """
    from shopintent.features.text import embeddings

    has_titles = shop.items["title"].notna().any()
    if mode == "none" or not (has_titles or len(shop.queries)):
        why = (
            "not asked for"
            if mode == "none"
            else "this dataset has no item titles and no search queries"
        )
        return (
            None,
            f"no text vectors ({why}): the hybrid reads the events and the user's history only",
        )

    def tfidf() -> tuple[TextVectors, str]:
        text = tfidf_text_vectors(shop.items, shop.queries, fit_query_ids, seed=seed)
        return text, (
            f"{text.source} vectors (TF-IDF of word and character n-grams fitted on "
            "item titles and training queries, reduced by SVD)"
        )

    found = embeddings.item_text_vectors(
        shop, dataset, profile, mode, encode_limit, tables=("items", "queries"), fallback=tfidf
    )
    if not found.minilm:
        return found.vectors, found.note
    item_ids, item_vecs = found.vectors["items"]
    if "queries" in found.vectors:
        query_ids, query_vecs = found.vectors["queries"]
    else:
        query_ids, query_vecs = (
            np.array([], dtype=object),
            np.zeros((0, item_vecs.shape[1]), np.float32),
        )
    return TextVectors(item_ids, item_vecs, query_ids, query_vecs, source="minilm"), found.note


class SequenceBatches:
    """Batches of session rows of one length bucket each: inputs, labels and per-step weights.

    ``dataset()`` wraps them as a ``tf.data.Dataset`` whose signature leaves batch size and
    length open (Keras' own ``PyDataset`` fixes them from the first batches it sees).
    """

    def __init__(
        self,
        model: SequenceModel,
        examples: SessionExamples,
        text: TextVectors | None = None,
        batch_size: int = 256,
        shuffle: bool = False,
        seed: int = 0,
        labels: bool = True,
    ):
        self.arrays = event_arrays(examples.prefixes, model.vocab)
        self.index, self.target = sequence_rows(examples.prefixes, model.max_len)
        self.user = model.user_matrix(examples.prefixes) if model.hybrid else None
        self.text = text.matrix() if model.hybrid and text is not None else None
        self.text_rows = text.rows(examples.prefixes) if self.text is not None else None
        if model.hybrid and self.text is None and model.text_dim:
            raise ValueError(
                f"{model.name}: trained with {model.text_dim}-d text vectors; pass text="
            )
        self.text_dim = model.text_dim
        self.y = examples.labels.astype(np.float32)
        self.w = np.where(self.y == 1, model.pos_weight, 1.0).astype(np.float32)
        self.with_labels = labels
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        length = (self.index >= 0).sum(axis=1)
        self.width = np.array([next(b for b in BUCKETS if b >= n) for n in np.maximum(length, 1)])
        self.width = np.minimum(self.width, model.max_len)
        self._plan()

    def _plan(self) -> None:
        batches = []
        for w in np.unique(self.width):
            rows = np.flatnonzero(self.width == w)
            if self.shuffle:
                rows = self.rng.permutation(rows)
            batches += [
                (rows[i : i + self.batch_size], int(w))
                for i in range(0, len(rows), self.batch_size)
            ]
        if self.shuffle:
            batches = [batches[i] for i in self.rng.permutation(len(batches))]
        self.batches = batches

    def dataset(self):
        import tensorflow as tf

        x = {f: tf.TensorSpec((None, None), tf.int32, name=f) for f in SEQUENCE_FIELDS}
        x["numeric"] = tf.TensorSpec((None, None, len(EVENT_NUMERIC)), tf.float32)
        if self.user is not None:
            x["user"] = tf.TensorSpec((None, None, self.user.shape[1]), tf.float32)
        if self.text_dim:
            x["text"] = tf.TensorSpec((None, None, self.text_dim), tf.float32)
        spec = (
            x,
            tf.TensorSpec((None, None, 1), tf.float32),
            tf.TensorSpec((None, None), tf.float32),
        )

        def epoch():  # called once per epoch: a new shuffle each time
            if self.shuffle:
                self._plan()
            for i in range(len(self)):
                yield self[i]

        # repeated: Keras then knows each epoch's length (steps) and draws a fresh shuffle per epoch
        return tf.data.Dataset.from_generator(epoch, output_signature=spec).repeat().prefetch(2)

    def __len__(self) -> int:
        return len(self.batches)

    def inputs(self, i: int) -> tuple[dict, np.ndarray, np.ndarray]:
        rows, w = self.batches[i]
        idx = self.index[rows, :w]
        valid = idx >= 0
        safe = np.where(valid, idx, 0)
        x = {f: np.where(valid, self.arrays[f][safe], 0).astype(np.int32) for f in SEQUENCE_FIELDS}
        x["numeric"] = (self.arrays["numeric"][safe] * valid[..., None]).astype(np.float32)
        if self.user is not None:
            x["user"] = (self.user[safe] * valid[..., None]).astype(np.float32)
        if self.text_dim:
            x["text"] = (self.text[self.text_rows[safe]] * valid[..., None]).astype(np.float32)
        return x, safe, valid & self.target[rows, :w]

    def __getitem__(self, i: int):
        x, safe, scored = self.inputs(i)
        if not self.with_labels:
            return x
        return x, self.y[safe][..., None], (self.w[safe] * scored).astype(np.float32)


def build_network(
    sizes: dict[str, int],
    n_numeric: int,
    text_dim: int = 0,
    n_user: int = 0,
    units: int = 64,
    dropout: float = 0.1,
    item_dim: int = 32,
) -> keras.Model:
    """Embeddings + numeric (+ text) per event → masked LSTM → (+ user) → P(purchase) per step.

    The text vectors (when given) are projected first.
    """
    ids = {f: keras.Input((None,), dtype="int32", name=f) for f in SEQUENCE_FIELDS}
    numeric = keras.Input((None, n_numeric), name="numeric")
    inputs = [*ids.values(), numeric]
    dims = {**EMBED_DIMS, "item_id": item_dim}
    parts = [
        keras.layers.Embedding(sizes[f], dims[f], name=f"{f}_embedding")(ids[f])
        for f in SEQUENCE_FIELDS
    ]
    parts.append(numeric)
    if text_dim:
        text = keras.Input((None, text_dim), name="text")
        inputs.append(text)
        parts.append(keras.layers.Dense(32, activation="tanh", name="text_projection")(text))
    x = keras.layers.Concatenate(name="event")(parts)
    x = keras.layers.Dropout(dropout)(x)
    mask = keras.ops.not_equal(ids["event_type"], 0)
    h = keras.layers.LSTM(units, return_sequences=True, name="lstm")(x, mask=mask)
    if n_user:
        user = keras.Input((None, n_user), name="user")
        inputs.append(user)
        h = keras.layers.Concatenate(name="fused")(
            [h, keras.layers.Dense(16, activation="relu", name="user_dense")(user)]
        )
    h = keras.layers.Dense(32, activation="relu", name="head")(h)
    out = keras.layers.Dense(1, activation="sigmoid", name="purchase")(h)
    return keras.Model(inputs, out, name="purchase_lstm")


class _EpochTimer(keras.callbacks.Callback):
    """Training seconds of each epoch (validation loss included, the AUC check not)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class _WholeSessionAUC:
    """Early stopping on what the models are judged by: validation ROC-AUC of whole sessions.

    The class-weighted loss keeps falling while scores grow over-confident (calibration fixes
    that afterwards), so the loss is a poor guide to when ranking stops improving. Called with
    an epoch's logs, it adds ``val_auc`` to them and returns it as the epoch's score.
    """

    def __init__(self, model: SequenceModel, val: SessionExamples, text):
        self.owner, self.val, self.text = model, val, text
        self.full = val.full_mask()

    def __call__(self, logs: dict) -> float:
        from shopintent.evaluation.classification import roc_auc

        p = self.owner.raw_scores(self.val, self.text)[self.full]
        y = self.val.labels[self.full].astype(np.float64)
        auc = float(roc_auc(y, p, np.ones(len(y)))[0])
        logs["val_auc"] = auc
        return auc


class SequenceModel(PurchaseModel):
    """The LSTM (``hybrid=False``) or the hybrid (``hybrid=True``: + text vectors + user features).

    Categories and brands enter as ids (seen fewer than ``min_count`` times: unknown); items by
    default do not (``item_min_count=None``): an item is known to the model through its category,
    brand, price and past conversion. On the default synthetic shop with item ids (items seen
    50+ times) the hybrid's validation ROC-AUC peaked after two epochs (0.945) and fell as it
    memorised which items early buyers touched; without them it kept improving (0.948 after
    eight). Set ``item_min_count`` to use ids where items have long histories. Training stops on
    validation ROC-AUC of whole sessions (``patience`` epochs without a better one).
    """

    kind = "sequence"

    def __init__(
        self,
        name: str | None = None,
        seed: int = 42,
        hybrid: bool = False,
        max_len: int = 32,
        units: int = 64,
        epochs: int = 8,
        batch_size: int | None = None,
        learning_rate: float = 2e-3,
        patience: int = 2,
        min_count: int = 2,
        item_min_count: int | None = None,
        dropout: float = 0.1,
        item_dim: int = 16,
    ):
        super().__init__(name or ("hybrid" if hybrid else "lstm"), seed)
        self.hybrid, self.max_len, self.units = hybrid, max_len, units
        self.dropout, self.item_dim = dropout, item_dim
        self.epochs, self.batch_size, self.learning_rate, self.patience = (
            epochs,
            batch_size,
            learning_rate,
            patience,
        )
        self.min_count, self.item_min_count = min_count, item_min_count
        self.text_dim = 0
        self.network = None
        self.history: dict = {}

    def user_matrix(self, prefixes: pd.DataFrame) -> np.ndarray:
        x = prefixes[list(HYBRID_USER_FEATURES)].to_numpy(np.float64)
        x = np.where(np.isin(np.arange(x.shape[1]), self._log_cols), np.log1p(np.maximum(x, 0)), x)
        return np.nan_to_num((x - self.user_mean) / self.user_std).astype(np.float32)

    @property
    def _log_cols(self) -> list[int]:
        return [
            i
            for i, f in enumerate(HYBRID_USER_FEATURES)
            if f in ("user_sessions", "user_purchase_sessions", "user_carts", "user_tenure_d")
        ]

    def fit(
        self,
        train: SessionExamples,
        val: SessionExamples | None = None,
        text: TextVectors | None = None,
        verbose: int = 0,
    ) -> SequenceModel:
        keras.utils.set_random_seed(self.seed)
        self.vocab = Vocabulary.fit(train.prefixes, self.min_count, self.item_min_count)
        self.pos_weight = balanced_pos_weight(train.labels)
        if self.hybrid:
            self.user_mean, self.user_std = (
                np.zeros(len(HYBRID_USER_FEATURES)),
                np.ones(len(HYBRID_USER_FEATURES)),
            )
            raw = self.user_matrix(train.prefixes).astype(np.float64)
            self.user_mean, self.user_std = np.nanmean(raw, axis=0), np.nanstd(raw, axis=0) + 1e-6
            self.text_dim = text.dim if text is not None else 0
            self.info["text_source"] = text.source if text is not None else None
        sizes = {f: self.vocab.size(f) for f in SEQUENCE_FIELDS}
        self.network = build_network(
            sizes,
            len(EVENT_NUMERIC),
            self.text_dim,
            len(HYBRID_USER_FEATURES) if self.hybrid else 0,
            self.units,
            self.dropout,
            self.item_dim,
        )
        self.network.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate),
            loss="binary_crossentropy",
            weighted_metrics=[],
        )
        # None: about 40 batches per epoch, 32-256 sessions each
        # (small data needs more, smaller steps)
        batch = self.batch_size or int(np.clip(len(train.sessions) // 40, 32, 256))
        self.info["batch_size"] = batch
        data = SequenceBatches(self, train, text, batch, shuffle=True, seed=self.seed)
        callbacks, val_data, keeper = [], None, None
        if val is not None and len(np.unique(val.sessions["label"])) == 2:
            val_data = SequenceBatches(self, val, text, 1024)
            # keeps the best epoch's weights, stops after `patience` epochs without a better AUC
            keeper = BestEpoch(self.network, higher_is_better=True, patience=self.patience)
            callbacks = [keeper.keras_callback(_WholeSessionAUC(self, val, text))]
        timer = _EpochTimer()
        callbacks.insert(0, timer)
        start = time.perf_counter()
        hist = self.network.fit(
            data.dataset(),
            steps_per_epoch=len(data),
            epochs=self.epochs,
            shuffle=False,
            validation_data=None if val_data is None else val_data.dataset(),
            validation_steps=None if val_data is None else len(val_data),
            callbacks=callbacks,
            verbose=verbose,
        )
        seconds = time.perf_counter() - start
        self.history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
        if keeper is not None:
            self.history["val_auc"] = keeper.history
            self.info["best_epoch"] = keeper.best_epoch
        # speed: epochs after the first (which traces the graphs), else the first
        steady = timer.seconds[1:] or timer.seconds
        per_epoch = float(np.mean(steady))
        self.info.update(
            {
                "epochs": len(timer.seconds),
                "train_seconds": round(seconds, 2),
                "epoch_seconds": [round(t, 2) for t in timer.seconds],
                "sessions_per_s": round(len(train.sessions) / per_epoch, 1),
                "prefixes_per_s": round(len(train.prefixes) / per_epoch, 1),
            }
        )
        return self

    def raw_scores(self, examples: SessionExamples, text: TextVectors | None = None) -> np.ndarray:
        data = SequenceBatches(self, examples, text, 1024, labels=False)
        out = np.full(len(examples.prefixes), np.nan)
        for i in range(len(data)):
            x, safe, scored = data.inputs(i)
            p = np.asarray(self.network.predict_on_batch(x))[..., 0]
            out[safe[scored]] = p[scored]
        return out

    def _meta(self):
        meta = {
            "hybrid": self.hybrid,
            "max_len": self.max_len,
            "units": self.units,
            "text_dim": self.text_dim,
            "vocab": json.loads(self.vocab.to_json()),
            "history": self.history,
        }
        if self.hybrid:
            meta |= {"user_mean": self.user_mean.tolist(), "user_std": self.user_std.tolist()}
        return meta

    def _save_files(self, folder: Path):
        self.network.save(folder / "model.keras")

    def _load_files(self, folder: Path, meta: dict):
        self.hybrid, self.max_len, self.units = meta["hybrid"], meta["max_len"], meta["units"]
        self.text_dim, self.history = meta["text_dim"], meta.get("history", {})
        self.vocab = Vocabulary(meta["vocab"])
        if self.hybrid:
            self.user_mean, self.user_std = np.array(meta["user_mean"]), np.array(meta["user_std"])
        self.network = keras.models.load_model(folder / "model.keras")
