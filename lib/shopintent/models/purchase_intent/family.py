"""The purchase-intent family as a whole: fit, score, save and load every model by name.

Kept apart from ``base`` (the interface) and ``sequence`` (the Keras models) so that the
interface never imports its subclasses: ``sequence`` imports ``base``, this module imports both
(the Keras one lazily, so the tabular models load without TensorFlow).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import artefact_dir
from shopintent.io import read_json, write_parquet
from shopintent.models.purchase_intent.base import (
    MODEL_NAMES,
    CountsLogistic,
    HandmadeLightGBM,
    PurchaseModel,
    PurchaseSplit,
)


def _model_classes() -> dict[str, type[PurchaseModel]]:
    from shopintent.models.purchase_intent.sequence import SequenceModel  # imports Keras: lazily

    return {"logreg": CountsLogistic, "lightgbm": HandmadeLightGBM, "sequence": SequenceModel}


def load_model(path: str | Path) -> PurchaseModel:
    """A model written by ``PurchaseModel.save``, whatever its kind: ``<Class>.load`` of the
    class that the folder's ``meta.json`` names."""
    path = Path(path)
    kind = read_json(path / "meta.json")["kind"]
    return _model_classes()[kind].load(path)


def fit_all(
    split: PurchaseSplit,
    text=None,
    names=MODEL_NAMES,
    seed: int = 42,
    calibration: str = "auto",
    log=print,
    **sequence_options,
) -> dict[str, PurchaseModel]:
    """Fit and calibrate each named model on ``split`` (train, then validation); ``text`` feeds
    the hybrid, ``sequence_options`` (epochs, max_len, ...) both sequence models."""
    models: dict[str, PurchaseModel] = {}
    for name in names:
        start = time.perf_counter()
        if name == "logreg":
            model = CountsLogistic(seed=seed)
        elif name == "lightgbm":
            model = HandmadeLightGBM(seed=seed)
        else:
            from shopintent.models.purchase_intent.sequence import SequenceModel

            model = SequenceModel(seed=seed, hybrid=name == "hybrid", **sequence_options)
        if name == "hybrid":
            model.fit(split.train, split.val, text=text)
        else:
            model.fit(split.train, split.val)
        model.calibrate(split.val, calibration, text=text)
        model.info["fit_seconds"] = round(time.perf_counter() - start, 1)
        log(
            f"{name}: fitted in {model.info['fit_seconds']} s, "
            f"calibration {model.calibrator.method}"
        )
        models[name] = model
    return models


def score_all(
    models: dict[str, PurchaseModel], split: PurchaseSplit, text=None
) -> tuple[dict, dict]:
    """(calibrated[part][model], raw[part][model]): each model's scores of each part's prefixes."""
    calibrated: dict = {}
    raw: dict = {}
    for part, ex in split.parts().items():
        raw[part] = {name: m.raw_scores(ex, text) for name, m in models.items()}
        calibrated[part] = {name: models[name].calibrator(r) for name, r in raw[part].items()}
    return calibrated, raw


def model_dir(dataset: str, profile: str) -> Path:
    """Where the family is saved: ``models/<dataset>-<profile>/purchase_intent/``."""
    return artefact_dir(dataset, profile, "purchase_intent")


def save_all(models: dict[str, PurchaseModel], folder: str | Path) -> dict[str, Path]:
    """Save each model to ``<folder>/<name>``; ``load_model`` reads one back."""
    return {name: m.save(Path(folder) / name) for name, m in models.items()}


# ---- outputs -------------------------------------------------------------------------------------


def prediction_table(
    split: PurchaseSplit, scores: dict[str, dict[str, np.ndarray]]
) -> pd.DataFrame:
    """One row per prefix of every part: ``session_id, user_id, k, n_events, ts, is_full, label,
    split`` and ``p_<model>`` (calibrated). ``scores[part][model]`` holds each model's
    probabilities for that part's prefixes (train rows are in-sample: read them as such)."""
    frames = []
    for part, ex in split.parts().items():
        p = ex.prefixes
        df = pd.DataFrame(
            {
                "session_id": p["session_id"],
                "user_id": p["user_id"],
                "k": p["k"].astype(np.int32),
                "n_events": p["n_events"].astype(np.int32),
                "ts": p["ts"],
                "is_full": p["is_full"],
                "label": p["label"].astype(np.int8),
                "split": part,
            }
        )
        for model, values in scores.get(part, {}).items():
            df[f"p_{model}"] = np.asarray(values, dtype=np.float32)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def write_predictions(
    table: pd.DataFrame, folder: str | Path, name: str = "purchase_intent.parquet"
) -> Path:
    """Write the prefix probabilities to ``<folder>/<name>`` atomically."""
    return write_parquet(table, Path(folder) / name)
