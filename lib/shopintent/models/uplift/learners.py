"""Uplift learners behind one interface, scored by cross-fitting.

Every learner maps covariates ``X`` to a score where higher means "target first". The response
model predicts P(outcome | mailed) — the classic campaign model, which ranks the sure things
first; the uplift models estimate P(outcome | mailed) − P(outcome | not mailed):

- ``t_learner``: one LightGBM model per arm, the difference of their predictions (econml
  ``TLearner``);
- ``x_learner``: the T-learner's imputed effects regressed again per arm and blended by the
  propensity (econml ``XLearner``);
- ``causal_forest``: econml ``CausalForestDML`` (honest causal forest on the residuals of a
  LightGBM outcome model and of the arm).

The campaign is randomised, so the propensity is the design's: the treated share, the same for
every user (``DummyClassifier``). Fitting it from the covariates would only add noise, and a
logistic fit on unscaled covariates took most of the X-learner's time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["LEARNERS", "cross_fit"]


def _lgbm(kind: str, seed: int, n_estimators: int):
    from lightgbm import LGBMClassifier, LGBMRegressor

    cls = LGBMClassifier if kind == "classifier" else LGBMRegressor
    return cls(
        n_estimators=n_estimators,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=40,
        subsample=0.8,
        subsample_freq=1,
        random_state=seed,
        n_jobs=1,  # small data: OpenMP threads cost more than they give, on a busy machine a lot
        verbose=-1,
    )


def _design_propensity():
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior")


def response(X, t, y, X_new, seed: int, n_estimators: int) -> np.ndarray:
    """P(outcome) of the mailed users, applied to ``X_new``."""
    model = _lgbm("classifier", seed, n_estimators).fit(X[t], y[t])
    return model.predict_proba(X_new)[:, 1]


def t_learner(X, t, y, X_new, seed: int, n_estimators: int) -> np.ndarray:
    from econml.metalearners import TLearner

    model = TLearner(models=_lgbm("regressor", seed, n_estimators))
    model.fit(y, t.astype(int), X=X)
    return model.effect(X_new)


def x_learner(X, t, y, X_new, seed: int, n_estimators: int) -> np.ndarray:
    from econml.metalearners import XLearner

    model = XLearner(
        models=_lgbm("regressor", seed, n_estimators), propensity_model=_design_propensity()
    )
    model.fit(y, t.astype(int), X=X)
    return model.effect(X_new)


def causal_forest(X, t, y, X_new, seed: int, n_estimators: int) -> np.ndarray:
    from econml.dml import CausalForestDML

    model = CausalForestDML(
        model_y=_lgbm("regressor", seed, n_estimators),
        model_t=_design_propensity(),
        discrete_treatment=True,
        # forest trees: as many as boosted ones, at least 52, a multiple of econml's subforest 4
        n_estimators=4 * max(13, n_estimators // 4),
        min_samples_leaf=20,
        cv=2,
        random_state=seed,
    )
    model.fit(y, t.astype(int), X=X)
    return model.effect(X_new)


#: learner name -> fit on (X, t, y) and score X_new
LEARNERS: dict[str, Callable[..., np.ndarray]] = {
    "response": response,
    "t_learner": t_learner,
    "x_learner": x_learner,
    "causal_forest": causal_forest,
}


def cross_fit(
    name: str,
    X: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    folds: int = 2,
    seed: int = 0,
    n_estimators: int = 200,
) -> np.ndarray:
    """Out-of-fold scores of learner ``name`` for every user: fitted on the other folds (split
    at random, stratified by arm), so the scores can be evaluated on the same users' outcomes."""
    from sklearn.model_selection import StratifiedKFold

    X, t, y = np.asarray(X, dtype=float), np.asarray(t, dtype=bool), np.asarray(y, dtype=float)
    if name not in LEARNERS:
        raise ValueError(f"unknown uplift learner {name!r}; known: {', '.join(LEARNERS)}")
    out = np.empty(len(y))
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, test in split.split(X, t * 2 + (y > 0)):
        out[test] = LEARNERS[name](X[train], t[train], y[train], X[test], seed, n_estimators)
    return out
