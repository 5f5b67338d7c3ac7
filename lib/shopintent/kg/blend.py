"""A learned recommender plus KG candidates: ``<base>_kg_blend``.

The blend is a z-scored sum, per user over the catalogue: ``z(base) + weight * z(log kg)`` (the
log tames PageRank's heavy tail; ``transform="raw"`` blends the mass itself). With
``scope="tail"`` the KG part scores only long-tail items (all but the 20% most popular in
TRAINING, ``evaluation.ranking.long_tail_mask``; head items get 0 there): the base model
already ranks the head well, and what the KG adds is a way to reach items with too little
history for collaborative filtering (``scope="all"`` blends every item).

``choose_weight`` picks the weight on a validation split carved from training (never the
test): among the weights whose validation NDCG@10 is not below the base model's own bootstrap
lower bound, the one with the highest validation long-tail recall@20 (ties: the smaller weight).
This is the acceptance question asked of validation data: reach more of the tail without
losing measurable accuracy.

Registered as ``kg_blend`` (``models.recommenders.registry``): ``create("kg_blend", base="ease",
base_params={...}, kg_params={...}, weight=...)`` builds both parts; ``save`` writes a folder
with each part in its own registered format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.evaluation.ranking import long_tail_mask
from shopintent.io import read_json, staging_dir, write_json
from shopintent.kg.ppr import KGPPR
from shopintent.models.recommenders import registry
from shopintent.models.recommenders.base import Interactions, Recommender, top_k
from shopintent.models.recommenders.evaluate import RecTask, evaluate_recs

SCOPES = ("tail", "all")
WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


def zscore_rows(scores: np.ndarray) -> np.ndarray:
    """Each row centred and scaled over the catalogue (a constant row becomes zeros)."""
    s = np.asarray(scores, dtype=np.float64)
    sd = s.std(axis=1, keepdims=True)
    return (s - s.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


TRANSFORMS = ("log", "raw")


def log_scores(kg: np.ndarray) -> np.ndarray:
    """log of PageRank mass per row, zeros set a decade below the row's smallest positive mass:
    PageRank mass is heavy-tailed, and z-scored raw it lets a few items of a user with little
    history outweigh everything the base model knows."""
    kg = np.asarray(kg, dtype=np.float64)
    pos = np.where(kg > 0, kg, np.inf).min(axis=1, keepdims=True)
    floor = np.where(np.isfinite(pos), pos / 10.0, 1.0)
    return np.log(np.maximum(kg, floor))


def blend_scores(
    base: np.ndarray,
    kg: np.ndarray,
    weight: float,
    tail: np.ndarray | None = None,
    transform: str = "log",
) -> np.ndarray:
    """``z(base) + weight * z(t(kg))`` with ``t`` = ``log_scores`` or identity (``raw``); with
    ``tail``, the KG scores of head items are set to the row's lowest value first."""
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {transform!r}")
    kg = np.asarray(kg, dtype=np.float64)
    if tail is not None:
        kg = np.where(tail, kg, 0.0)
    t = log_scores(kg) if transform == "log" else kg
    return zscore_rows(base) + weight * zscore_rows(t)


class KGBlend(Recommender):
    """``<base>_kg_blend``: a fitted-together learned model and ``KGPPR`` (see the module doc)."""

    def __init__(
        self,
        base: Recommender,
        kg_model: KGPPR,
        weight: float = 0.3,
        scope: str = "tail",
        transform: str = "log",
    ) -> None:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        if transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {transform!r}")
        self.transform = transform
        self.base = base
        self.kg_model = kg_model
        self.weight = float(weight)
        self.scope = scope
        self.name = f"{base.name}_kg_blend"

    def fit(self, train: pd.DataFrame, items: pd.DataFrame, fitted: bool = False) -> KGBlend:
        """Fit both parts on ``train`` (``fitted=True``: both already are, on the same events)."""
        if not fitted:
            self.base.fit(train, items)
            self.kg_model.fit(train, items)
        return super().fit(train, items)

    def _fit(self, data: Interactions, items: pd.DataFrame) -> None:
        pop = np.asarray((data.matrix > 0).sum(axis=0)).ravel()
        self.tail_ = long_tail_mask(pop) if self.scope == "tail" else None

    def score(self, users) -> np.ndarray:
        self._check_fitted()
        users = list(users)
        return blend_scores(
            self.base.score(users),
            self.kg_model.score(users),
            self.weight,
            self.tail_,
            self.transform,
        )

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.score(self.data_.user_ids[rows])

    def save(self, path: str | Path) -> Path:
        """Write the folder ``path``: ``blend.json`` (weight, scope, transform, the base's
        registered name), ``base.npz`` or ``base/`` (the base model's own format), ``kg_ppr/``."""
        self._check_fitted()
        base = _registered_name(self.base)
        path = Path(path)
        meta = {
            "name": self.name,
            "base": base,
            "weight": self.weight,
            "scope": self.scope,
            "transform": self.transform,
        }
        with staging_dir(path) as tmp:
            self.base.save(tmp / _base_file(base))
            self.kg_model.save(tmp / "kg_ppr")
            write_json(tmp / "blend.json", meta, indent=1)
        return path

    @classmethod
    def load(cls, path: str | Path) -> KGBlend:
        """The blend ``save`` wrote (both parts loaded, fitted on the same events)."""
        path = Path(path)
        meta = read_json(path / "blend.json")
        base = registry.load(meta["base"], path / _base_file(meta["base"]))
        kg_model = KGPPR.load(path / "kg_ppr")
        self = cls(base, kg_model, meta["weight"], meta["scope"], meta["transform"])
        self.name = meta["name"]
        self.data_, self.items_ = self.kg_model.data_, self.kg_model.items_
        self._fit(self.data_, self.items_)
        return self


def _registered_name(model: Recommender) -> str:
    """The registry name of ``model``'s class (its own name when several entries share it)."""
    matches = [n for n, e in registry.entries().items() if e.target is type(model)]
    if not matches:
        raise ValueError(
            f"{type(model).__name__} is not a registered recommender: a blend cannot save it"
        )
    return model.name if model.name in matches else matches[0]


def _base_file(name: str) -> str:
    return "base.npz" if registry.get(name).saves_to == "file" else "base"


def kg_blend(
    base: str = "ease",
    base_params: dict | None = None,
    kg_params: dict | None = None,
    weight: float = 0.3,
    scope: str = "tail",
    transform: str = "log",
) -> KGBlend:
    """An unfitted ``KGBlend`` of the registered ``base`` and a ``KGPPR`` (``kg_params``)."""
    return KGBlend(
        registry.create(base, **(base_params or {})),
        KGPPR(**(kg_params or {})),
        weight,
        scope,
        transform,
    )


registry.register("kg_blend", kg_blend, saves_to="folder", load=KGBlend.load)


@dataclass
class BlendChoice:
    """The chosen weight, every weight's validation row (``table``) and the NDCG floor used."""

    weight: float
    table: pd.DataFrame
    floor: float
    scope: str
    transform: str = "log"


def choose_weight(
    base: Recommender,
    kg_model: KGPPR,
    fit_events: pd.DataFrame,
    items: pd.DataFrame,
    task: RecTask,
    *,
    weights=WEIGHTS,
    scope: str = "tail",
    transform: str = "log",
    n_boot: int = 200,
    seed: int = 0,
) -> BlendChoice:
    """Fit ``base`` and ``kg_model`` (fresh instances) on ``fit_events`` (the earlier part of
    training) and score each weight on the validation ``task``; see the module doc for the rule."""
    base.fit(fit_events, items)
    kg_model.fit(fit_events, items)
    users = task.users
    b, k = base.score(users), kg_model.score(users)
    pop = np.asarray((base.data_.matrix > 0).sum(axis=0)).ravel()
    tail = long_tail_mask(pop) if scope == "tail" else None
    rows = []
    for w in sorted({0.0, *map(float, weights)}):
        rec = top_k(blend_scores(b, k, w, tail, transform), task.train.item_ids, 20, task.seen)
        r = evaluate_recs(f"w={w:g}", rec.index, task, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "weight": w,
                **{
                    m: r[m]
                    for m in (
                        "ndcg@10",
                        "ndcg@10_low",
                        "ndcg@10_high",
                        "recall@20",
                        "longtail_recall@20",
                        "coverage",
                    )
                },
                "cold_users/ndcg@10": r.get("cold_users/ndcg@10"),
            }
        )
    table = pd.DataFrame(rows).set_index("weight")
    floor = float(table.loc[0.0, "ndcg@10_low"])
    eligible = table[table["ndcg@10"] >= floor]
    best = eligible["longtail_recall@20"].max()
    weight = float(eligible.index[eligible["longtail_recall@20"] == best].min())
    table["chosen"] = table.index == weight
    return BlendChoice(weight, table, floor, scope, transform)


def blend_factory(
    base_factory: Callable[[], Recommender], kg_factory: Callable[[], KGPPR], choice: BlendChoice
) -> KGBlend:
    """A fresh, unfitted ``KGBlend`` with the chosen weight and scope."""
    return KGBlend(base_factory(), kg_factory(), choice.weight, choice.scope, choice.transform)
