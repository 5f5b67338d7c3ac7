"""Notebook 15's settings by profile, its steps and its recorded metrics: flat ``uplift/...`` keys
on the run's dataset (``uplift/<outcome>/<model>/<metric>``), ``hillstrom/uplift/...`` for the
Hillstrom e-mail section."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.evaluation import uplift
from shopintent.features.customers import user_covariates
from shopintent.models.uplift.learners import cross_fit
from shopintent.studies.settings import StudySettings

HILLSTROM = "hillstrom"
MODELS = ("response", "t_learner", "x_learner", "causal_forest")
FRAC = 0.3  # the share of users a campaign targets in the policy comparison


@dataclass(frozen=True)
class Settings(StudySettings):
    """LightGBM trees per learner (``n_estimators``), cross-fitting folds on the run's data
    (``folds``) and on Hillstrom's (``hillstrom_folds``: its 64,000 customers leave each model
    plenty to learn from in halves), bootstrap replicates (``n_boot``) and the Hillstrom section's
    customers at most (``hillstrom_rows``; None: all)."""

    n_estimators: int
    folds: int
    hillstrom_folds: int
    n_boot: int
    hillstrom_rows: int | None

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {
            "n_estimators": 30,
            "folds": 2,
            "hillstrom_folds": 2,
            "n_boot": 50,
            "hillstrom_rows": 3000,
        },
        "default": {
            "n_estimators": 150,
            "folds": 5,
            "hillstrom_folds": 2,
            "n_boot": 300,
            "hillstrom_rows": None,
        },
        "full": {
            "n_estimators": 300,
            "folds": 5,
            "hillstrom_folds": 5,
            "n_boot": 1000,
            "hillstrom_rows": None,
        },
    }


@dataclass(frozen=True)
class Experiment:
    """A randomised campaign ready to model: covariates ``X`` (DataFrame), ``treated``, one
    array per outcome, and where known each user's true uplift per outcome."""

    X: pd.DataFrame
    treated: np.ndarray
    outcomes: dict[str, np.ndarray]
    true_uplift: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.treated)

    def arm_table(self) -> pd.DataFrame:
        """Outcome rates per arm and their difference (the average effect)."""
        rows = {}
        for name, y in self.outcomes.items():
            a, b = y[~self.treated].mean(), y[self.treated].mean()
            rows[name] = {"control": a, "treated": b, "difference": b - a}
            if name in self.true_uplift:
                rows[name]["true_mean_uplift"] = self.true_uplift[name].mean()
        table = pd.DataFrame(rows).T
        table.attrs["users"] = {
            "treated": int(self.treated.sum()),
            "control": int((~self.treated).sum()),
        }
        return table


def synthetic_experiment(shop) -> Experiment:
    """The synthetic shop's campaign: covariates from its log, outcomes visit and purchase, and
    the truth from ``campaign_truth`` (read for scoring only, never a covariate)."""
    camp = shop.extras["campaign"]
    X = user_covariates(shop.events, shop.items, camp["user_id"]).reset_index(drop=True)
    out = {"visit": camp["visited"].to_numpy(float), "purchase": camp["purchased"].to_numpy(float)}
    truth = {}
    if "campaign_truth" in shop.extras:
        tt = shop.extras["campaign_truth"].set_index("user_id").loc[camp["user_id"]]
        truth = {
            "visit": tt["uplift_visit"].to_numpy(),
            "purchase": tt["uplift_purchase"].to_numpy(),
        }
    return Experiment(X, camp["treated"].to_numpy(bool), out, truth)


def hillstrom_experiment(path: str | Path, max_rows: int | None, seed: int) -> Experiment:
    """Hillstrom's e-mail test through the ``campaign`` loader: any e-mail against none; the
    covariates one-hot encoded; at most ``max_rows`` customers (a seeded random subset)."""
    from shopintent.data.sources import campaigns

    camp = campaigns.load(path).extras["campaign"]
    if max_rows is not None and len(camp) > max_rows:
        camp = camp.sample(max_rows, random_state=seed).reset_index(drop=True)
    cov = camp.drop(columns=["user_id", "arm", "treated", "visit", "conversion", "spend"])
    X = pd.get_dummies(cov, dtype=float)
    out = {"visit": camp["visit"].to_numpy(float), "conversion": camp["conversion"].to_numpy(float)}
    return Experiment(X, camp["treated"].to_numpy(bool), out, {})


def scores(
    exp: Experiment, outcome: str, settings: Settings, seed: int, folds: int | None = None
) -> pd.DataFrame:
    """Out-of-fold scores (``folds``; None: ``settings.folds``) of every model for one outcome,
    plus ``random`` (a seeded random ranking) and, where the truth is known, ``oracle`` (the
    true uplift)."""
    X, t, y = exp.X.to_numpy(float), exp.treated, exp.outcomes[outcome]
    k = settings.folds if folds is None else folds
    out = {m: cross_fit(m, X, t, y, k, seed, settings.n_estimators) for m in MODELS}
    out["random"] = np.random.default_rng(seed).random(len(y))
    if outcome in exp.true_uplift:
        out["oracle"] = exp.true_uplift[outcome]
    return pd.DataFrame(out)


def evaluate(exp: Experiment, outcome: str, score: pd.DataFrame, n_boot: int, seed: int):
    """Per model: Qini coefficient, uplift@30% and the share of incremental outcomes captured by
    the top 30%, each with a bootstrap interval, on the randomised outcomes; with the truth also
    the exact (true-uplift) Qini, its share of the oracle's, and the expected incremental
    outcomes per 1,000 users of targeting the top 30%. Returns ``(table, curves)``."""
    y, t = exp.outcomes[outcome], exp.treated
    truth = exp.true_uplift.get(outcome)
    rows, curves = {}, {}
    for model in score.columns:
        rep = uplift.uplift_report(y, t, score[model].to_numpy(), FRAC, n_boot=n_boot, seed=seed)
        row = {}
        for name in ("qini", "uplift_at_k", "incremental_share"):
            row[name], row[f"{name}_low"], row[f"{name}_high"] = rep[name]
        if truth is not None:
            s = score[model].to_numpy()
            row["true_qini"] = uplift.qini_coefficient(None, None, s, uplift=truth)
            row["true_incremental_share"] = uplift.incremental_share(None, None, s, FRAC, truth)
            gain = uplift.gain_curve(truth, s)
            row["incremental_per_1000"] = 1000 * gain[int(round(FRAC * len(s)))] / len(s)
        rows[model] = row
        curves[model] = rep
    table = pd.DataFrame(rows).T
    if truth is not None:
        table["share_of_oracle_qini"] = table["true_qini"] / table.loc["oracle", "true_qini"]
    return table, curves


def policy_table(exp: Experiment, outcome: str, score: pd.DataFrame, n_boot: int, seed: int):
    """Targeting the top 30% by each model against targeting by the response model, in the
    campaign's own generative model: expected incremental outcomes (the sum of the true uplift of
    the targeted users, per 1,000 users) and the paired bootstrap interval of the difference."""
    from shopintent.evaluation.bootstrap import paired_bootstrap_diff

    truth = exp.true_uplift[outcome]
    n = len(truth)
    k = int(round(FRAC * n))

    def gained(s: np.ndarray) -> np.ndarray:
        chosen = np.zeros(n)
        chosen[np.argsort(-s, kind="stable")[:k]] = 1.0
        return 1000 * chosen * truth  # per user: incremental outcomes if mailed

    base = gained(score["response"].to_numpy())
    rows = {}
    for model in score.columns:
        g = gained(score[model].to_numpy())
        diff = paired_bootstrap_diff(g, base, n_boot=n_boot, seed=seed)
        rows[model] = {
            "incremental_per_1000": g.sum() / n,
            "vs_response": diff.point,
            "vs_response_low": diff.low,
            "vs_response_high": diff.high,
        }
    return pd.DataFrame(rows).T


def metrics(tables: dict[str, pd.DataFrame], policies: dict[str, pd.DataFrame], prefix="uplift"):
    """``<prefix>/<outcome>/<model>/<metric>`` for every table and policy table."""
    out: dict[str, float] = {}
    for outcome, table in tables.items():
        for model, row in table.iterrows():
            for k, v in row.items():
                out[f"{prefix}/{outcome}/{model}/{k}"] = float(v)
    for outcome, table in policies.items():
        for model, row in table.iterrows():
            for k, v in row.items():
                out[f"{prefix}/{outcome}/policy/{model}/{k}"] = float(v)
    return out
