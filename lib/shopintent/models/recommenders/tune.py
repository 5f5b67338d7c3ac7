"""Hyper-parameters chosen on a validation split carved from the training part, never the test.

Models and their grids come from ``registry`` (``MODELS``, ``search_space``).
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
from functools import partial

import pandas as pd
from sklearn.model_selection import ParameterGrid

from shopintent.config import DEFAULT_SEED
from shopintent.data.splits import Split, stratified_user_split, temporal_split
from shopintent.evaluation.ranking import evaluate_ranking
from shopintent.models.recommenders import registry
from shopintent.models.recommenders.base import Recommender
from shopintent.models.recommenders.evaluate import RecTask, make_task

VALIDATIONS = ("temporal", "stratified")
#: name -> factory of every registered recommender (``registry``); each takes its
#: hyper-parameters as keyword arguments
MODELS = registry.View(lambda e: partial(e.factory, **e.params) if e.params else e.factory)
#: the metric a grid point is chosen by (on validation)
SELECT_BY = "ndcg@10"


def search_space(profile: str) -> dict[str, dict[str, list]]:
    """The grid per model for a profile, as each model registered it: smoke a point or two (it
    must run in seconds), default and full small grids (each fit takes seconds on 2 cores).
    Models without a grid (two-tower, neural sequential, KG, re-ranker) choose their epochs or
    weights on validation while fitting and are left out, and so are the grids of models fitted
    on sequences (session kNN, rules: ``sequential.memory.tune_on_validation`` searches them):
    ``tune`` fits on events."""
    spaces = registry.search_spaces("smoke" if profile == "smoke" else "default")
    return {n: g for n, g in spaces.items() if registry.get(n).fits_on == "events"}


def validation_split(
    train: pd.DataFrame, how: str = "temporal", frac: float = 0.2, seed: int = DEFAULT_SEED
) -> Split:
    """Carve validation out of ``train``: ``Split.train`` is what grid points fit on, ``Split.val``
    what they are scored on (``Split.test`` is empty: the real test is never touched here)."""
    if how not in VALIDATIONS:
        raise ValueError(f"validation must be one of {', '.join(VALIDATIONS)}, got {how!r}")
    if how == "temporal":
        inner = temporal_split(train, test_frac=frac)
    else:
        inner = stratified_user_split(train, ratio=1 - frac, seed=seed)
    return Split(
        inner.train, inner.test, train.iloc[:0], f"validation-{inner.protocol}", inner.cutoff
    )


Fold = tuple[pd.DataFrame, RecTask]  # the events a grid point fits on, the task it is scored on


def validation_folds(
    train: pd.DataFrame,
    items: pd.DataFrame,
    how: str = "temporal",
    frac: float = 0.2,
    seed: int = DEFAULT_SEED,
    repeats: int = 1,
) -> list[Fold]:
    """``repeats`` validation folds (seeds ``seed``, ``seed + 1``, ...; one if temporal)."""
    if repeats < 1 or (how == "temporal" and repeats != 1):
        raise ValueError(
            f"repeats must be 1 for a temporal validation (there is one latest period) "
            f"and >= 1 for a stratified one; got {repeats} with {how!r}"
        )
    folds = []
    for r in range(repeats):
        inner = validation_split(train, how, frac, seed + r)
        task = make_task(inner.train, inner.val, items, inner.protocol)
        if len(task.users) == 0 or task.truth.nnz == 0:
            raise ValueError(
                f"validation ({inner.protocol}, frac={frac}) holds no user with an unseen item: "
                f"{len(inner.val):,} validation rows; use a larger frac or more data"
            )
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


def grid_search(
    factory: Callable[..., Recommender],
    grid: dict[str, list],
    folds: list[Fold],
    items: pd.DataFrame,
    *,
    fixed: dict | None = None,
    k: int = 10,
) -> pd.DataFrame:
    """Fit every point of ``grid`` (scikit-learn's ``ParameterGrid``) on each fold and score it
    there; one row per point, best first: its parameters (one column each, and all of them as a
    dict in ``params``), mean ``ndcg@k`` and ``recall@k`` over the folds, and ``fit_s`` (summed).
    Parameters a class lists in ``score_params`` act only when scoring: points that differ only
    there share one fit (and its ``fit_s``)."""
    # (a partial's class holds them)
    score_only = set(getattr(getattr(factory, "func", factory), "score_params", ()))
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
    return (
        pd.DataFrame(rows)
        .sort_values(f"ndcg@{k}", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def tune(
    name: str,
    grid: dict[str, list],
    train: pd.DataFrame,
    items: pd.DataFrame,
    *,
    folds: list[Fold] | None = None,
    how: str = "temporal",
    frac: float = 0.2,
    seed: int = DEFAULT_SEED,
    repeats: int = 1,
    fixed: dict | None = None,
    refit: bool = True,
) -> Tuned:
    """Choose the registered ``name``'s parameters on validation (folds built here unless given
    by ``validation_folds``), then refit the best on all of ``train``. A model without a grid
    (popularity) is just fitted; a model taking a ``seed`` gets ``seed``."""
    entry = registry.get(name)
    if entry.fits_on != "events":
        raise ValueError(f"tune: {name} is fitted on {entry.fits_on}, not on events and items")
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


def tune_all(
    grids: dict[str, dict[str, list]],
    train: pd.DataFrame,
    items: pd.DataFrame,
    *,
    how: str = "temporal",
    frac: float = 0.2,
    seed: int = DEFAULT_SEED,
    repeats: int = 1,
    echo: Callable[[str], None] | None = print,
) -> dict[str, Tuned]:
    """``tune`` every model of ``grids`` (name -> grid, names from ``MODELS``) on the same folds."""
    folds = validation_folds(train, items, how, frac, seed, repeats)
    out = {}
    for name, grid in grids.items():
        out[name] = t = tune(name, grid, train, items, folds=folds, seed=seed)
        if echo:
            echo(
                f"{name}: {t.params} validation {SELECT_BY} {t.val_score:.4f} "
                f"({len(t.table)} points, "
                f"{len(folds)} fold{'s' * (len(folds) > 1)}), refit {t.fit_s:.1f} s"
            )
    return out


def _init_params(factory) -> set[str]:
    import inspect

    return set(inspect.signature(factory).parameters)


def tuning_table(tuned: dict[str, Tuned]) -> pd.DataFrame:
    """One row per model: the chosen parameters, validation NDCG@10, grid size, refit seconds."""
    return pd.DataFrame(
        [
            {
                "model": t.name,
                "params": t.params,
                f"val_{SELECT_BY}": t.val_score,
                "grid_points": len(t.table),
                "refit_s": round(t.fit_s, 2),
                "validation": t.protocol,
            }
            for t in tuned.values()
        ]
    ).set_index("model")
