"""Purchase-intent models side by side: how likely is this session to end in a purchase, given
what it has done so far (a prefix, see ``shopintent.features.sessions``)?

- ``logreg``: logistic regression on event counts (the simple baseline);
- ``lightgbm``: gradient boosting on the hand-made session and user features (the strong one);
- ``lstm`` and ``hybrid`` (``shopintent.models.purchase_intent.sequence``): a Keras 3 LSTM over the
  event sequence, and the same with text vectors and user features fused in.

Every model trains on all prefixes of the training sessions with balanced class weights (a
purchase is rare), so its raw scores over-state the purchase probability; a ``Calibrator``
fitted on the validation sessions (isotonic, or Platt's logistic when validation has few
purchases) maps them back to probabilities. ``save``/``load`` write a folder with
``meta.json`` plus the model's own format (LightGBM text, ``.keras``): no pickles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.splits import assert_no_leakage, temporal_split
from shopintent.features.sessions import (
    COUNT_FEATURES,
    HANDMADE_FEATURES,
    SessionExamples,
    handmade_matrix,
)
from shopintent.io import read_json, staging_dir, write_json

MODEL_NAMES = ("logreg", "lightgbm", "lstm", "hybrid")
_EPS = 1e-6


# ---- split ---------------------------------------------------------------------------------------


@dataclass
class PurchaseSplit:
    """Train / validation / test sessions by start time (protocol ``temporal-global-cutoff``).

    Test: sessions starting at or after ``cutoff``; validation: sessions starting in the
    ``val_frac`` before it; train: earlier ones. A train (validation) session whose last event
    (its purchase, say) falls after the validation (test) period starts is dropped, so no label
    from the future enters training: ``dropped`` counts them.
    """

    train: SessionExamples
    val: SessionExamples
    test: SessionExamples
    cutoff: pd.Timestamp
    val_cutoff: pd.Timestamp
    dropped: dict = field(default_factory=dict)
    protocol: str = "temporal-global-cutoff"

    def parts(self) -> dict[str, SessionExamples]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def summary(self) -> pd.DataFrame:
        """Sessions, purchases, purchase rate and prefixes per part."""
        rows = []
        for name, ex in self.parts().items():
            s = ex.sessions
            rows.append(
                {
                    "part": name,
                    "sessions": len(s),
                    "purchases": int(s["label"].sum()),
                    "purchase_rate": float(s["label"].mean()) if len(s) else np.nan,
                    "prefixes": len(ex.prefixes),
                    "first_start": s["start"].min(),
                    "last_start": s["start"].max(),
                }
            )
        return pd.DataFrame(rows).set_index("part").rename_axis(self.protocol)


def split_examples(
    examples: SessionExamples, test_frac: float = 0.2, val_frac: float = 0.1
) -> PurchaseSplit:
    """Split sessions by start time (fractions of sessions); checks train ends before validation."""
    s = examples.sessions
    frame = pd.DataFrame(
        {"ts": s["start"], "user_id": s["user_id"], "end": s["end"], "session_id": s["session_id"]}
    )
    sp = temporal_split(frame, test_frac=test_frac, val_frac=val_frac)
    train = sp.train[sp.train["end"] < sp.val_cutoff]
    val = sp.val[sp.val["end"] < sp.cutoff]
    dropped = {
        "train_sessions_ending_after_val_cutoff": len(sp.train) - len(train),
        "val_sessions_ending_after_cutoff": len(sp.val) - len(val),
    }
    parts = {
        name: examples.subset(df["session_id"])
        for name, df in (("train", train), ("val", val), ("test", sp.test))
    }
    # Every training event and label lies before validation starts, each validation one before test.
    assert_no_leakage(parts["train"].prefixes, sp.val, sp.val_cutoff)
    assert_no_leakage(train.assign(ts=train["end"]), sp.val, sp.val_cutoff)
    assert_no_leakage(val.assign(ts=val["end"]), sp.test, sp.cutoff)
    return PurchaseSplit(
        parts["train"], parts["val"], parts["test"], sp.cutoff, sp.val_cutoff, dropped
    )


# ---- calibration ---------------------------------------------------------------------------------


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass
class Calibrator:
    """Raw score → probability, fitted on validation prefixes.

    ``isotonic`` (a monotone step function, needs many purchases; each step's rate is shrunk
    towards the base rate by two pseudo-examples so that no step says 0 or 1), ``platt`` (a
    logistic curve on the raw logit), ``prior`` (undo the class weight only: odds / pos_weight,
    when validation has too few purchases to fit anything) or ``none``.
    """

    method: str = "none"
    params: dict = field(default_factory=dict)

    @classmethod
    def fit(
        cls, raw, y, method: str = "auto", pos_weight: float = 1.0, min_isotonic: int = 200
    ) -> Calibrator:
        y = np.asarray(y, dtype=np.int64)
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        if method == "auto":
            method = (
                "isotonic"
                if min(n_pos, n_neg) >= min_isotonic
                else "platt"
                if min(n_pos, n_neg) >= 5
                else "prior"
            )
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            raw = np.asarray(raw, dtype=np.float64)
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
            params = {"x": iso.X_thresholds_.tolist(), "y": _shrunk_steps(iso, raw, y).tolist()}
        elif method == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e4).fit(_logit(raw)[:, None], y)
            params = {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
        elif method == "prior":
            params = {"pos_weight": float(pos_weight)}
        elif method == "none":
            params = {}
        else:
            raise ValueError(
                f"unknown calibration method {method!r}: auto, isotonic, platt, prior or none"
            )
        return cls(method, params | {"n_pos": n_pos, "n_neg": n_neg})

    def __call__(self, raw) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            out = np.interp(raw, self.params["x"], self.params["y"])
        elif self.method == "platt":
            out = 1 / (1 + np.exp(-(self.params["a"] * _logit(raw) + self.params["b"])))
        elif self.method == "prior":
            out = 1 / (1 + np.exp(-(_logit(raw) - np.log(self.params["pos_weight"]))))
        else:
            out = raw
        return np.clip(out, _EPS, 1 - _EPS)

    def to_dict(self) -> dict:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, d: dict) -> Calibrator:
        return cls(d["method"], d["params"])


def _shrunk_steps(iso, raw: np.ndarray, y: np.ndarray, strength: float = 2.0) -> np.ndarray:
    """Isotonic step values with each step's purchase rate shrunk towards the base rate by
    ``strength`` pseudo-examples: a top step of three buyers then says 0.62, not 1.0."""
    fitted = iso.predict(raw)
    steps, step = np.unique(fitted, return_inverse=True)
    n = np.bincount(step, minlength=len(steps))
    pos = np.bincount(step, weights=y, minlength=len(steps))
    shrunk = np.maximum.accumulate((pos + strength * y.mean()) / (n + strength))
    return shrunk[np.searchsorted(steps, iso.y_thresholds_).clip(0, len(steps) - 1)]


def balanced_pos_weight(y) -> float:
    """Weight of a positive example that balances the classes: negatives / positives (1 if none)."""
    y = np.asarray(y)
    pos = int(y.sum())
    return float((len(y) - pos) / pos) if pos else 1.0


# ---- models --------------------------------------------------------------------------------------


class PurchaseModel:
    """What every purchase-intent model does: fit on train prefixes, score any prefix, calibrate."""

    kind = "base"

    def __init__(self, name: str | None = None, seed: int = 42):
        self.name = name or self.kind
        self.seed = seed
        self.pos_weight = 1.0
        self.calibrator = Calibrator()
        self.info: dict = {}

    def fit(self, train: SessionExamples, val: SessionExamples | None = None) -> PurchaseModel:
        raise NotImplementedError

    def raw_scores(self, examples: SessionExamples, text=None) -> np.ndarray:
        """Uncalibrated score in (0, 1) of every prefix (class-weighted training: too high).
        ``text`` (``TextVectors``) is read by the hybrid only."""
        raise NotImplementedError

    def calibrate(self, val: SessionExamples, method: str = "auto", text=None) -> PurchaseModel:
        """Fit the calibrator on the validation prefixes' raw scores."""
        self.calibrator = Calibrator.fit(
            self.raw_scores(val, text), val.labels, method, self.pos_weight
        )
        return self

    def predict(self, examples: SessionExamples, text=None) -> np.ndarray:
        """Calibrated purchase probability of every prefix of ``examples``."""
        return self.calibrator(self.raw_scores(examples, text))

    # saving: meta.json (everything small) + the model's own files
    def _meta(self) -> dict:
        return {}

    def _save_files(self, folder: Path) -> None:
        pass

    def _load_files(self, folder: Path, meta: dict) -> None:
        pass

    def save(self, path: str | Path) -> Path:
        """Write the model to the folder ``path`` (replaced atomically)."""
        path = Path(path)
        meta = {
            "kind": self.kind,
            "name": self.name,
            "seed": self.seed,
            "pos_weight": self.pos_weight,
            "calibrator": self.calibrator.to_dict(),
            "info": self.info,
            **self._meta(),
        }
        with staging_dir(path) as tmp:
            self._save_files(tmp)
            write_json(tmp / "meta.json", meta, indent=1, default=float)
        return path

    @classmethod
    def load(cls, path: str | Path) -> PurchaseModel:
        """The model ``save`` wrote to the folder ``path``, of this class's kind (a folder of any
        kind: ``family.load_model``, which knows every kind without this module importing them)."""
        path = Path(path)
        meta = read_json(path / "meta.json")
        if meta["kind"] != cls.kind:
            raise ValueError(
                f"{path} holds a {meta['kind']!r} purchase model, not a {cls.__name__} "
                f"({cls.kind!r}): load it with its own class or family.load_model"
            )
        model = cls.__new__(cls)
        PurchaseModel.__init__(model, meta["name"], meta["seed"])
        model.pos_weight = meta["pos_weight"]
        model.calibrator = Calibrator.from_dict(meta["calibrator"])
        model.info = meta.get("info", {})
        model._load_files(path, meta)
        return model


class CountsLogistic(PurchaseModel):
    """Logistic regression on log(1 + count) per event type, distinct items and prefix length."""

    kind = "logreg"

    def __init__(
        self, name: str | None = None, seed: int = 42, features=COUNT_FEATURES, c: float = 1.0
    ):
        super().__init__(name, seed)
        self.features = list(features)
        self.c = c

    def _x(self, examples: SessionExamples) -> np.ndarray:
        x = np.log1p(handmade_matrix(examples.prefixes, self.features).fillna(0).to_numpy())
        return (x - self.mean) / self.std

    def fit(self, train, val=None):
        from sklearn.linear_model import LogisticRegression

        raw = np.log1p(handmade_matrix(train.prefixes, self.features).fillna(0).to_numpy())
        self.mean, self.std = raw.mean(axis=0), raw.std(axis=0) + 1e-9
        y = train.labels
        self.pos_weight = balanced_pos_weight(y)
        lr = LogisticRegression(C=self.c, max_iter=1000, class_weight={0: 1.0, 1: self.pos_weight})
        lr.fit((raw - self.mean) / self.std, y)
        self.coef, self.intercept = lr.coef_[0], float(lr.intercept_[0])
        return self

    def raw_scores(self, examples, text=None):
        return 1 / (1 + np.exp(-(self._x(examples) @ self.coef + self.intercept)))

    def coefficients(self) -> pd.Series:
        """Standardised coefficients (log-odds per standard deviation of log(1 + count))."""
        return pd.Series(self.coef, index=self.features).sort_values()

    def _meta(self):
        return {
            "features": self.features,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    def _load_files(self, folder, meta):
        self.features = meta["features"]
        self.mean, self.std, self.coef = (np.array(meta[k]) for k in ("mean", "std", "coef"))
        self.intercept = meta["intercept"]


class HandmadeLightGBM(PurchaseModel):
    """LightGBM on the hand-made prefix features (counts, dwell, prices, item and user history).

    Early stopping on the class-weighted validation log loss. (On the default synthetic shop
    its whole-session validation ROC-AUC is flat, 0.949–0.950, from about 5 to 80 trees and
    falls after: stopping on that AUC would pick a noisy maximum among equals.)
    """

    kind = "lightgbm"
    PARAMS = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "verbose": -1,
        "num_threads": 1,
    }
    # One thread: on a shared 2-core machine OpenMP's busy-waiting made 2 threads ~2.5x slower.

    def __init__(
        self,
        name: str | None = None,
        seed: int = 42,
        features=HANDMADE_FEATURES,
        num_boost_round: int = 600,
        early_stopping: int = 40,
        **params,
    ):
        super().__init__(name, seed)
        self.features = list(features)
        self.num_boost_round = num_boost_round
        self.early_stopping = early_stopping
        self.params = {**self.PARAMS, **params, "seed": seed}
        self.booster = None

    def matrix(self, examples: SessionExamples) -> pd.DataFrame:
        return handmade_matrix(examples.prefixes, self.features)

    def fit(self, train, val=None):
        import lightgbm as lgb

        y = train.labels
        self.pos_weight = balanced_pos_weight(y)
        weight = np.where(y == 1, self.pos_weight, 1.0)
        data = lgb.Dataset(self.matrix(train), y, weight=weight, free_raw_data=True)
        sets, callbacks = [], []
        if val is not None and len(np.unique(val.labels)) == 2:
            yv = val.labels
            sets = [
                lgb.Dataset(
                    self.matrix(val),
                    yv,
                    weight=np.where(yv == 1, self.pos_weight, 1.0),
                    reference=data,
                )
            ]
            callbacks = [lgb.early_stopping(self.early_stopping, verbose=False)]
        self.booster = lgb.train(
            self.params, data, self.num_boost_round, valid_sets=sets, callbacks=callbacks
        )
        self.info["best_iteration"] = int(
            self.booster.best_iteration or self.booster.current_iteration()
        )
        return self

    def raw_scores(self, examples, text=None):
        return self.booster.predict(
            self.matrix(examples), num_iteration=self.info.get("best_iteration")
        )

    def _meta(self):
        return {"features": self.features, "params": self.params}

    def _save_files(self, folder):
        self.booster.save_model(
            str(folder / "model.txt"), num_iteration=self.info.get("best_iteration")
        )

    def _load_files(self, folder, meta):
        import lightgbm as lgb

        self.features, self.params = meta["features"], meta["params"]
        self.booster = lgb.Booster(model_file=str(folder / "model.txt"))
        self.info.pop("best_iteration", None)  # the saved model holds just those trees
