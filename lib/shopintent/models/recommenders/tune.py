"""Hyper-parameters chosen on a validation split carved from the training part, never the test.

``validation_split`` cuts the training events once more, the same way the test was cut:
``temporal`` (the last ``frac`` of the training period validates, for the temporal protocol)
or ``stratified`` (``frac`` of each user's training rows at random, for the Microsoft
Recommenders protocol, whose test is random per user). ``tune`` fits each point of a small
grid on the earlier part, ranks the validation users' items over the whole catalogue (seen
items removed, as in the test), keeps the point with the best validation NDCG@10 and refits
it on the whole training part. ``tune_all`` does that for several models on shared
validation folds. A stratified validation can be repeated with other seeds (``repeats``):
grid points are then ranked by their mean over the folds, which steadies the choice where
the validation curve is flat (EASE's lambda on MovieLens moves between neighbouring grid
values from one random fold to the next).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import ParameterGrid

from shopintent.config import DEFAULT_SEED
from shopintent.data.splits import Split, stratified_user_split, temporal_split
from shopintent.evaluation.ranking import evaluate_ranking
from shopintent.models.recommenders.base import Recommender
from shopintent.models.recommenders.baselines import EASE, ItemKNN, Popularity, RecentPopularity
from shopintent.models.recommenders.evaluate import RecTask, make_task
from shopintent.models.recommenders.factorization import ALS, BPR

VALIDATIONS = ("temporal", "stratified")
#: model name -> class; every class takes its hyper-parameters as keyword arguments
MODELS: dict[str, type[Recommender]] = {"popularity": Popularity, "recent_popularity": RecentPopularity,
                                        "item_knn": ItemKNN, "ease": EASE, "als": ALS, "bpr": BPR}
#: the metric a grid point is chosen by (on validation)
SELECT_BY = "ndcg@10"

_SMOKE: dict[str, dict[str, list]] = {
    "popularity": {},
    "recent_popularity": {"half_life_days": [3.0, 14.0, 56.0]},
    "item_knn": {"neighbours": [50, None], "shrinkage": [20.0], "weighting": ["log"]},
    "ease": {"l2": [100.0, 500.0, 2000.0], "weighting": ["log"], "max_items": [2000]},
    "als": {"factors": [16], "regularization": [10.0], "alpha": [5.0], "iterations": [10]},
    "bpr": {"factors": [32], "iterations": [50], "pop_weight": [0.0, 2.0]},
}
#: small grids bracketing what validation chose on MovieLens-100K and the synthetic shop while
#: they were designed: EASE's l2 500 there, 4000 here; log weights won for the item-item models
#: on the shop (on MovieLens every pair weighs 1, so log = binary); ALS wanted few factors, alpha
#: 5 and strong regularisation; BPR a log-popularity weight near 2 (see ``factorization.BPR``).
#: EASE learns on at most the 4,000 (smoke: 2,000) most popular items: its fit is cubic in them
_DEFAULT: dict[str, dict[str, list]] = {
    "popularity": {},
    "recent_popularity": {"half_life_days": [1.0, 3.0, 7.0, 14.0, 28.0, 56.0, 112.0]},
    "item_knn": {"neighbours": [100, None], "shrinkage": [20.0, 100.0], "weighting": ["log"]},
    "ease": {"l2": [250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0], "weighting": ["log"], "max_items": [4000]},
    "als": {"factors": [16, 32], "regularization": [10.0, 100.0], "alpha": [5.0], "iterations": [15]},
    "bpr": {"factors": [64, 128], "learning_rate": [0.05], "regularization": [0.01], "iterations": [100],
            "pop_weight": [0.0, 1.0, 2.0, 3.0]},
}


def search_space(profile: str) -> dict[str, dict[str, list]]:
    """The grid per model for a profile: smoke a point or two (it must run in seconds), default
    and full the small grids above (each fit takes seconds on 2 cores)."""
    grids = _SMOKE if profile == "smoke" else _DEFAULT
    return {name: {k: list(v) for k, v in grid.items()} for name, grid in grids.items()}


def validation_split(train: pd.DataFrame, how: str = "temporal", frac: float = 0.2,
                     seed: int = DEFAULT_SEED) -> Split:
    """Carve validation out of ``train``: ``Split.train`` is what grid points fit on, ``Split.val``
    what they are scored on (``Split.test`` is empty: the real test is never touched here)."""
    if how not in VALIDATIONS:
        raise ValueError(f"validation must be one of {', '.join(VALIDATIONS)}, got {how!r}")
    if how == "temporal":
        inner = temporal_split(train, test_frac=frac)
    else:
        inner = stratified_user_split(train, ratio=1 - frac, seed=seed)
    return Split(inner.train, inner.test, train.iloc[:0], f"validation-{inner.protocol}", inner.cutoff)


Fold = tuple[pd.DataFrame, RecTask]  # the events a grid point fits on, the task it is scored on


def validation_folds(train: pd.DataFrame, items: pd.DataFrame, how: str = "temporal", frac: float = 0.2,
                     seed: int = DEFAULT_SEED, repeats: int = 1) -> list[Fold]:
    """``repeats`` validation folds (seeds ``seed``, ``seed + 1``, ...; a temporal split has one)."""
    if repeats < 1 or (how == "temporal" and repeats != 1):
        raise ValueError(f"repeats must be 1 for a temporal validation (there is one latest period) "
                         f"and >= 1 for a stratified one; got {repeats} with {how!r}")
    folds = []
    for r in range(repeats):
        inner = validation_split(train, how, frac, seed + r)
        task = make_task(inner.train, inner.val, items, inner.protocol)
        if len(task.users) == 0 or task.truth.nnz == 0:
            raise ValueError(f"validation ({inner.protocol}, frac={frac}) holds no user with an unseen item: "
                             f"{len(inner.val):,} validation rows; use a larger frac or more data")
        folds.append((inner.train, task))
    return folds


def _score_point(model: Recommender, task: RecTask, k: int) -> dict:
    recs = model.recommend(task.users, k).index
    row = evaluate_ranking(recs, task.truth, (k,))
    return {f"ndcg@{k}": row[f"ndcg@{k}"], f"recall@{k}": row[f"recall@{k}"]}


@dataclass
class Tuned:
    """The outcome of one model's search: the chosen point, every point's validation scores
    (``table``, best first) and the model refitted with it on the whole training part."""

    name: str
    params: dict
    table: pd.DataFrame
    model: Recommender | None
    protocol: str
    fit_s: float = float("nan")  # the refit's seconds

    @property
    def val_score(self) -> float:
        return float(self.table[SELECT_BY].iloc[0])


def grid_search(factory: Callable[..., Recommender], grid: dict[str, list], folds: list[Fold],
                items: pd.DataFrame, *, fixed: dict | None = None, k: int = 10) -> pd.DataFrame:
    """Fit every point of ``grid`` (scikit-learn's ``ParameterGrid``) on each fold and score it there;
    one row per point, best first: its parameters (one column each, and all of them as a dict in
    ``params``), mean ``ndcg@k`` and ``recall@k`` over the folds, and ``fit_s`` (summed).
    Parameters a class lists in ``score_params`` act only when scoring: points that differ only
    there share one fit (and its ``fit_s``)."""
    score_only = set(getattr(factory, "score_params", ()))
    rows, fitted = [], {}
    for point in ParameterGrid(grid):
        fit_point = {p: v for p, v in point.items() if p not in score_only}
        scores, fit_s = [], 0.0
        for f, (fit_events, task) in enumerate(folds):
            key = (f, repr(sorted(fit_point.items())))
            if key not in fitted:
                t0 = time.perf_counter()
                model = factory(**{**(fixed or {}), **fit_point}).fit(fit_events, items)
                fitted[key] = model, time.perf_counter() - t0
            model, seconds = fitted[key]
            for name in score_only & point.keys():
                setattr(model, name, point[name])
            scores.append(_score_point(model, task, k))
            fit_s += seconds
        mean = pd.DataFrame(scores).mean().to_dict()
        rows.append({**point, **mean, "fit_s": round(fit_s, 3), "params": point})
    return pd.DataFrame(rows).sort_values(f"ndcg@{k}", ascending=False, kind="stable").reset_index(drop=True)


def tune(name: str, grid: dict[str, list], train: pd.DataFrame, items: pd.DataFrame, *,
         folds: list[Fold] | None = None, how: str = "temporal", frac: float = 0.2, seed: int = DEFAULT_SEED,
         repeats: int = 1, fixed: dict | None = None, refit: bool = True) -> Tuned:
    """Choose ``MODELS[name]``'s parameters on validation (folds built here unless given by
    ``validation_folds``), then refit the best on all of ``train``. A model without a grid
    (popularity) is just fitted; a model taking a ``seed`` gets ``seed``."""
    cls = MODELS[name]
    folds = folds if folds is not None else validation_folds(train, items, how, frac, seed, repeats)
    fixed = {**({"seed": seed} if "seed" in _init_params(cls) else {}), **(fixed or {})}
    table = grid_search(cls, grid, folds, items, fixed=fixed)  # an empty grid is one point
    best = dict(table["params"].iloc[0])
    model, fit_s = None, float("nan")
    if refit:
        t0 = time.perf_counter()
        model = cls(**fixed, **best).fit(train, items)
        fit_s = time.perf_counter() - t0
    protocol = folds[0][1].protocol + (f" x{len(folds)}" if len(folds) > 1 else "")
    return Tuned(name, {**fixed, **best}, table, model, protocol, fit_s)


def tune_all(grids: dict[str, dict[str, list]], train: pd.DataFrame, items: pd.DataFrame, *, how: str = "temporal",
             frac: float = 0.2, seed: int = DEFAULT_SEED, repeats: int = 1,
             echo: Callable[[str], None] | None = print) -> dict[str, Tuned]:
    """``tune`` every model of ``grids`` (name -> grid, names from ``MODELS``) on the same folds."""
    folds = validation_folds(train, items, how, frac, seed, repeats)
    out = {}
    for name, grid in grids.items():
        out[name] = t = tune(name, grid, train, items, folds=folds, seed=seed)
        if echo:
            echo(f"{name}: {t.params} validation {SELECT_BY} {t.val_score:.4f} ({len(t.table)} points, "
                 f"{len(folds)} fold{'s' * (len(folds) > 1)}), refit {t.fit_s:.1f} s")
    return out


def _init_params(cls) -> set[str]:
    import inspect

    return set(inspect.signature(cls.__init__).parameters) - {"self"}


def tuning_table(tuned: dict[str, Tuned]) -> pd.DataFrame:
    """One row per model: the chosen parameters, validation NDCG@10, grid size, refit seconds."""
    return pd.DataFrame([{"model": t.name, "params": t.params, f"val_{SELECT_BY}": t.val_score,
                          "grid_points": len(t.table), "refit_s": round(t.fit_s, 2), "validation": t.protocol}
                         for t in tuned.values()]).set_index("model")
