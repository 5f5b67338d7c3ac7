"""A weighted hybrid of two sequence models: ``w * norm(first) + (1 - w) * norm(second)``.

session-rec's ``hybrid.weighted.WeightedHybrid`` (Ludewig et al. 2021) combines a neighbourhood
model with a neural one this way: each model's scores are normalised per row (min-max over the
items it can score, so the best item of each row is 1 and its worst 0) and added with a weight.
Here the weight is chosen on validation NDCG@10 (``validation_ndcg``, the test is never read)
from ``weights`` (which holds 0 and 1, so the hybrid can fall back to either model alone);
ties go to the first weight in the grid.

The parts are registered sequence models, named (``first``, ``second``: registry names) with
their parameters, or models already fitted (``parts=``, still named, so that ``load`` finds
their loaders: the notebook's tuned models, so nothing is trained twice). Memory models get
the training rows' ``times`` when ``fit`` is given them.
Registered as ``sequence_hybrid``; ``save`` writes a folder with each part in its own
registered format (``first/``, ``second/``) and ``meta.json``.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.io import read_json, staging_dir, write_json
from shopintent.models.recommenders.registry import register
from shopintent.models.recommenders.sequential.base import SequenceRecommender, validation_ndcg
from shopintent.models.recommenders.sequential.data import NextItems, Sequences
from shopintent.models.recommenders.sequential.memory import SessionMemory

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Each row scaled to [0, 1] over its finite entries (a constant row becomes zeros); entries
    that are not finite (an item a model never scores) become -inf, below every scored item."""
    s = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(s)
    low = np.where(finite, s, np.inf).min(axis=1, keepdims=True)
    high = np.where(finite, s, -np.inf).max(axis=1, keepdims=True)
    span = high - low
    span = np.where(np.isfinite(span) & (span > 0), span, 1.0)
    out = (s - np.where(np.isfinite(low), low, 0.0)) / span
    return np.where(finite, out, -np.inf)


def _scores(model, sequences: Sequences, times) -> np.ndarray:
    if times is not None and "times" in inspect.signature(model.score_sequences).parameters:
        return model.score_sequences(sequences, times=times)
    return model.score_sequences(sequences)


class SequenceHybrid(SequenceRecommender):
    """Per-row min-max normalised scores of two sequence models, mixed by a weight chosen on
    validation (module docstring). ``weight`` fixes it instead."""

    name = "hybrid"

    def __init__(
        self,
        first: str = "vstan",
        second: str = "gru4rec",
        first_params: dict | None = None,
        second_params: dict | None = None,
        weights=WEIGHTS,
        weight: float | None = None,
        parts: tuple[SequenceRecommender, SequenceRecommender] | None = None,
        name: str | None = None,
    ):
        self.first, self.second = first, second
        self.first_params, self.second_params = dict(first_params or {}), dict(second_params or {})
        self.weights = tuple(float(w) for w in weights)
        if weight is None and not self.weights:
            raise ValueError("hybrid: give weights to choose from, or a weight")
        self.weight = None if weight is None else float(weight)
        self.parts = parts
        self.name = name or self.name
        self.validation_: dict[float, float] = {}

    def _fit(self, train: Sequences, val: NextItems | None, times=None, **kwargs) -> None:
        from shopintent.models.recommenders import registry

        if self.parts is not None:
            self.models_ = tuple(self.parts)
        else:
            models = []
            for name, params in (
                (self.first, self.first_params),
                (self.second, self.second_params),
            ):
                model = registry.create(name, **params)
                timed = times is not None and isinstance(model, SessionMemory)
                models.append(model.fit(train, val, **({"times": times} if timed else {})))
            self.models_ = tuple(models)
        if self.weight is not None:
            self.weight_ = self.weight
            return
        if val is None or not len(val):
            raise ValueError("hybrid: weight=None chooses the weight on validation; pass val")
        self.validation_ = {}
        for w in self.weights:
            self.weight_ = w
            self.validation_[w] = validation_ndcg(self, val)
        self.weight_ = max(self.weights, key=lambda w: self.validation_[w])

    def _alone(self):
        """The part the weight leaves alone (weight 1: the first, 0: the second), else None."""
        return {1.0: self.models_[0], 0.0: self.models_[1]}.get(float(self.weight_))

    def score_sequences(self, sequences: Sequences, times=None) -> np.ndarray:
        """``w * minmax(first) + (1 - w) * minmax(second)`` per row; at weight 1 or 0 the one
        part's own scores (so the hybrid is exactly that model)."""
        self._check_fitted(sequences)
        if (alone := self._alone()) is not None:
            return _scores(alone, sequences, times)
        w = self.weight_
        out = None
        for part, share in ((self.models_[0], w), (self.models_[1], 1.0 - w)):
            s = share * minmax_rows(_scores(part, sequences, times))
            out = s if out is None else out + s
        return out

    def recommend_sequences(self, sequences: Sequences, k: int = 10, exclude=True, times=None):
        """Top-k per sequence (``SequenceRecommender``'s); at weight 1 or 0 the one part's own
        lists (a memory model never lists an item unseen in training)."""
        if (alone := self._alone()) is not None:
            takes = "times" in inspect.signature(alone.recommend_sequences).parameters
            extra = {"times": times} if takes and times is not None else {}
            return alone.recommend_sequences(sequences, k, exclude, **extra)
        return super().recommend_sequences(sequences, k, exclude)

    def save(self, path: str | Path) -> Path:
        """A folder: ``first/`` and ``second/`` (each part's own format) and ``meta.json``."""
        path = Path(path)
        meta = {
            "class": type(self).__name__,
            "name": self.name,
            "parts": [self.first, self.second],
            "weights": list(self.weights),
            "weight": self.weight_,
            "validation": [[w, v] for w, v in self.validation_.items()],
            "item_ids": [str(i) for i in self.item_ids_],
        }
        with staging_dir(path) as tmp:
            for folder, model in zip(("first", "second"), self.models_, strict=True):
                model.save(tmp / folder)
            write_json(tmp / "meta.json", meta, indent=1)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SequenceHybrid:
        from shopintent.models.recommenders import registry

        path = Path(path)
        meta = read_json(path / "meta.json")
        if meta.get("class") != cls.__name__:
            raise ValueError(f"{path}: holds a {meta.get('class')}, not a {cls.__name__}")
        first, second = meta["parts"]
        parts = (registry.load(first, path / "first"), registry.load(second, path / "second"))
        model = cls(first, second, weights=meta["weights"], parts=parts, name=meta["name"])
        model.models_ = parts
        model.weight_ = float(meta["weight"])
        model.validation_ = {w: v for w, v in meta["validation"]}
        model.item_ids_ = pd.Index(meta["item_ids"])
        return model


register("sequence_hybrid", SequenceHybrid, fits_on="sequences", saves_to="folder")
