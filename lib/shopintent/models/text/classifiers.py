"""Text classifiers side by side, one interface: ``fit(texts, labels, val_texts, val_labels)``,
``predict_proba(texts) -> (n, classes)`` (columns in ``classes_`` order), ``predict(texts)``,
``save(folder)`` and ``TextClassifier.load(folder)`` (any kind; a subclass loads its own kind).

- ``majority``: the most frequent training label (the floor every model must clear);
- ``tfidf_lr``: TF-IDF of words (1-2 grams) and characters (2-5 grams within words) into a
  multinomial logistic regression;
- ``minilm_lr``: frozen MiniLM sentence vectors (through the embedding cache) into the same
  logistic regression;
- ``minilm_finetuned``: a sequence head of a ``FineTunedNetwork`` (``text_finetune``).

Logistic regressions choose their regularisation ``C`` on the validation texts (macro-F1,
never the test set) and are stored as arrays: the TF-IDF vocabularies and idf weights as JSON,
coefficients as ``.npz`` read with ``allow_pickle=False``, so a saved model is safe to load
from anyone. Probabilities are computed from those arrays (softmax of ``X @ coef.T + b``), so a
loaded model predicts exactly what the fitted one did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shopintent.config import DEFAULT_SEED
from shopintent.io import write_json, write_npz

C_GRID = (1.0, 3.0, 10.0, 30.0)
META = "classifier.json"


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _macro_f1(y, pred, classes) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, labels=list(classes), average="macro", zero_division=0))


class TextClassifier:
    """Base: subclasses set ``classes_`` in ``fit`` and implement ``predict_proba``."""

    kind = "base"
    name = "base"
    classes_: np.ndarray

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _meta(self) -> dict:
        return {"kind": self.kind, "name": self.name, "classes": self.classes_.tolist()}

    @classmethod
    def load(cls, folder: str | Path, encoder=None) -> TextClassifier:
        """A classifier written by ``save``, of whichever kind the folder holds (called on a
        subclass: that kind only); ``encoder`` (a built encoder) spares loading one again."""
        folder = Path(folder)
        path = folder / META
        if not path.is_file():
            raise FileNotFoundError(f"no saved classifier in {folder} ({META} missing)")
        meta = json.loads(path.read_text(encoding="utf-8"))
        kind = meta.get("kind")
        kinds = {**_KINDS, "finetuned": FineTunedClassifier}
        if kind not in kinds:
            raise ValueError(f"{path}: unknown classifier kind {kind!r}; known: {', '.join(kinds)}")
        if not issubclass(kinds[kind], cls):
            raise ValueError(f"{path} holds a {kind} classifier, not a {cls.__name__}")
        if kind == "finetuned":
            return FineTunedClassifier._from_folder(folder, meta)
        model = kinds[kind].__new__(kinds[kind])
        if kind == "encoder_lr":
            EncoderLogisticRegression.__init__(
                model, encoder=encoder, encoder_name=meta["encoder"], max_length=meta["max_length"]
            )
        elif kind != "majority":
            _LinearModel.__init__(model)
        model.classes_ = np.asarray(meta["classes"], dtype=str)
        model._load(folder, meta)
        return model


class MajorityClassifier(TextClassifier):
    """Always the most frequent training label, with the training label shares as probabilities."""

    kind = name = "majority"

    def fit(self, texts, labels, val_texts=None, val_labels=None) -> MajorityClassifier:
        self.classes_, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
        self.prior_ = counts / counts.sum()
        return self

    def predict_proba(self, texts):
        return np.tile(self.prior_, (len(texts), 1))

    def save(self, folder):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / META, {**self._meta(), "prior": self.prior_.tolist()})
        return folder

    def _load(self, folder, meta):
        self.prior_ = np.asarray(meta["prior"], dtype=np.float64)


class _LinearModel(TextClassifier):
    """Multinomial logistic regression over a feature map; ``C`` chosen on validation."""

    def __init__(
        self,
        c: float | None = None,
        class_weight: str | None = None,
        seed: int = DEFAULT_SEED,
        max_iter: int = 1000,
    ):
        self.c, self.class_weight, self.seed, self.max_iter = c, class_weight, seed, max_iter
        self.validation: dict[float, float] = {}

    def features(self, texts):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_features(self, texts):
        return self.features(texts)

    def fit(self, texts, labels, val_texts=None, val_labels=None):
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(labels).astype(str)
        x = self._fit_features(list(texts))
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{self.name}: the training labels hold one class only ({self.classes_.tolist()})"
            )
        grid = (self.c,) if self.c is not None else C_GRID
        if len(grid) > 1 and (val_texts is None or len(val_texts) == 0):
            grid = (1.0,)  # nothing to choose on
        xv = self.features(list(val_texts)) if len(grid) > 1 else None
        best = None
        for c in grid:
            # one BLAS/OpenMP thread: on 2 shared cores two threads spin-wait, ~10x slower
            # (measured)
            with threadpool_limits(1):
                lr = LogisticRegression(
                    C=c,
                    class_weight=self.class_weight,
                    max_iter=self.max_iter,
                    random_state=self.seed,
                ).fit(x, y)
            if xv is not None:
                self.validation[c] = _macro_f1(
                    np.asarray(val_labels).astype(str), lr.predict(xv), self.classes_
                )
                if best is None or self.validation[c] > self.validation[best[0]]:
                    best = (c, lr)
            else:
                best = (c, lr)
        self.c_, lr = best
        coef, intercept = lr.coef_, lr.intercept_
        if (
            len(self.classes_) == 2
        ):  # binary: one row for class 1; as two softmax rows it is the same model
            coef, intercept = (
                np.vstack([-coef / 2, coef / 2]),
                np.array([-intercept[0] / 2, intercept[0] / 2]),
            )
        self.coef_, self.intercept_ = (
            np.asarray(coef, dtype=np.float64),
            np.asarray(intercept, dtype=np.float64),
        )
        return self

    def decision_function(self, texts) -> np.ndarray:
        x = self.features(list(texts))
        return np.asarray(x @ self.coef_.T) + self.intercept_

    def predict_proba(self, texts):
        return _softmax(self.decision_function(texts))

    def _save_arrays(self, folder: Path) -> None:
        write_npz(folder / "linear.npz", {"coef": self.coef_, "intercept": self.intercept_})

    def _load_arrays(self, folder: Path) -> None:
        with np.load(folder / "linear.npz", allow_pickle=False) as z:
            self.coef_, self.intercept_ = z["coef"], z["intercept"]


class TfidfLogisticRegression(_LinearModel):
    """TF-IDF of words (1-2 grams) and of characters within word boundaries (2-5 grams)."""

    kind = name = "tfidf_lr"
    WORD = {
        "analyzer": "word",
        "ngram_range": (1, 2),
        "min_df": 1,
        "sublinear_tf": True,
        "token_pattern": r"(?u)\b\w+\b",
    }
    CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2, "sublinear_tf": True}

    def _fit_features(self, texts):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizers = [
            TfidfVectorizer(**self.WORD).fit(texts),
            TfidfVectorizer(**self.CHAR).fit(texts),
        ]
        return self.features(texts)

    def features(self, texts):
        return sp.hstack([v.transform(texts) for v in self.vectorizers]).tocsr()

    def feature_names(self) -> np.ndarray:
        return np.concatenate([v.get_feature_names_out() for v in self.vectorizers])

    def save(self, folder):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        vecs = [
            {
                "params": {**p, "ngram_range": list(p["ngram_range"])},
                "terms": v.get_feature_names_out().tolist(),
                "idf": v.idf_.tolist(),
            }
            for p, v in zip((self.WORD, self.CHAR), self.vectorizers, strict=True)
        ]
        self._save_arrays(folder)
        write_json(
            folder / META,
            {
                **self._meta(),
                "c": self.c_,
                "validation": {str(k): v for k, v in self.validation.items()},
                "vectorizers": vecs,
            },
        )
        return folder

    def _load(self, folder, meta):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizers = []
        for v in meta["vectorizers"]:
            params = {**v["params"], "ngram_range": tuple(v["params"]["ngram_range"])}
            vec = TfidfVectorizer(**params, vocabulary={t: i for i, t in enumerate(v["terms"])})
            vec.idf_ = np.asarray(v["idf"], dtype=np.float64)
            self.vectorizers.append(vec)
        self.c_ = meta["c"]
        self._load_arrays(Path(folder))


class EncoderLogisticRegression(_LinearModel):
    """Frozen sentence vectors (``encoder.encode``, via the on-disk cache) into logistic regression.

    ``encoder`` is a built ``TextEncoder`` or None to build ``get_encoder(encoder_name,
    max_length=max_length)`` when first needed; ``cache`` is passed to ``encode_cached``
    (None: the default cache file; False: no cache).
    """

    kind = "encoder_lr"

    def __init__(
        self, encoder=None, encoder_name: str = "minilm", max_length: int = 64, cache=None, **kw
    ):
        super().__init__(**kw)
        self.encoder, self.encoder_name, self.max_length, self.cache = (
            encoder,
            encoder_name,
            max_length,
            cache,
        )
        self.name = f"{encoder_name}_lr"

    def _encoder(self):
        if self.encoder is None:
            from shopintent.features.text.encoders import get_encoder

            self.encoder = get_encoder(self.encoder_name, max_length=self.max_length)
        return self.encoder

    def features(self, texts):
        enc = self._encoder()
        if self.cache is False or not getattr(enc, "encoder_id", ""):
            return enc.encode(list(texts))
        from shopintent.features.text.cache import encode_cached

        return encode_cached(enc, list(texts), cache=self.cache, progress=False)

    def save(self, folder):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._save_arrays(folder)
        write_json(
            folder / META,
            {
                **self._meta(),
                "c": self.c_,
                "encoder": self.encoder_name,
                "encoder_id": getattr(self._encoder(), "encoder_id", ""),
                "max_length": self.max_length,
                "validation": {str(k): v for k, v in self.validation.items()},
            },
        )
        return folder

    def _load(self, folder, meta):
        self.encoder_name, self.max_length, self.c_ = meta["encoder"], meta["max_length"], meta["c"]
        self.name = meta["name"]
        self._load_arrays(Path(folder))


class FineTunedClassifier(TextClassifier):
    """A view of one sequence head of a ``FineTunedNetwork`` (several views may share one)."""

    kind = "finetuned"

    def __init__(self, network, head: str, name: str = "minilm_finetuned"):
        self.network, self.head, self.name = network, head, name
        self.classes_ = np.asarray(network.heads[head].classes, dtype=str)

    @classmethod
    def fit(
        cls,
        backbone,
        tokenizer,
        texts,
        labels,
        val_texts=None,
        val_labels=None,
        config=None,
        seed: int = DEFAULT_SEED,
        class_weight: str | None = None,
        head: str = "label",
        name: str = "minilm_finetuned",
        init: EncoderLogisticRegression | None = None,
    ) -> FineTunedClassifier:
        """Fine-tune a one-head network.

        ``class_weight="balanced"`` weighs classes by n / (k n_c). ``init``: a fitted
        ``EncoderLogisticRegression`` on the same backbone's vectors, the head's starting point
        (epoch 0, kept if validation prefers it); without it the head starts from a logistic
        regression fitted on the fine-tune's own training sample (``FineTunedNetwork.fit``).
        """
        from shopintent.models.text.finetune import FineTunedNetwork, Head

        y = np.asarray(labels).astype(str)
        classes = np.unique(y)
        index = {c: i for i, c in enumerate(classes)}
        targets = {head: [index[c] for c in y]}
        val_targets = None
        if val_texts is not None and len(val_texts):
            yv = np.asarray(val_labels).astype(str)
            keep = np.isin(yv, classes)  # a class unseen in training cannot be scored
            val_texts = [t for t, k in zip(val_texts, keep, strict=True) if k]
            val_targets = {head: [index[c] for c in yv[keep]]}
        head_init = None
        if init is not None:
            if list(init.classes_) != list(classes):
                raise ValueError(
                    f"init: the logistic regression's classes {list(init.classes_)} are not the "
                    f"training labels' {list(classes)}"
                )
            head_init = {head: (init.coef_.T, init.intercept_)}
        weights = None
        if class_weight == "balanced":
            counts = np.array([(y == c).sum() for c in classes], dtype=np.float64)
            weights = {head: len(y) / (len(classes) * counts)}
        network = FineTunedNetwork.fit(
            backbone,
            tokenizer,
            [Head(head, "sequence", tuple(classes))],
            list(texts),
            targets,
            val_texts,
            val_targets,
            config=config,
            seed=seed,
            class_weights=weights,
            head_init=head_init,
        )
        return cls(network, head, name)

    def predict_proba(self, texts):
        return self.network.predict(list(texts))[self.head].astype(np.float64)

    def save(self, folder):
        folder = Path(folder)
        self.network.save(folder)
        write_json(folder / META, {**self._meta(), "head": self.head})
        return folder

    @classmethod
    def _from_folder(cls, folder, meta):
        from shopintent.models.text.finetune import FineTunedNetwork

        return cls(FineTunedNetwork.load(folder), meta["head"], meta["name"])


_KINDS = {
    "majority": MajorityClassifier,
    "tfidf_lr": TfidfLogisticRegression,
    "encoder_lr": EncoderLogisticRegression,
}


__all__ = [
    "C_GRID",
    "EncoderLogisticRegression",
    "FineTunedClassifier",
    "MajorityClassifier",
    "TextClassifier",
    "TfidfLogisticRegression",
]
