"""Own-price elasticity per category, three ways, each with a 95% interval.

- ``naive``: log(units + 1/2) on log price within item (item fixed effects), OLS with standard
  errors clustered by item: what a shop gets from its logs when it ignores why prices moved.
- ``randomised``: the randomised price tests alone: log(units + 1/2) on the test's log multiplier,
  with the item's mean log units, last week's and the trailing units and the season as controls
  for precision only (the multiplier is random); unbiased by design, but few rows.
- ``dml``: double machine learning (econml ``LinearDML``): LightGBM predicts log units and log
  price from the controls (the shop's decision inputs and the season) by cross-fitting, grouped
  by item; the final stage regresses the residuals on each other per category, and its standard
  errors are clustered by item because demand shocks persist within an item over weeks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.models.pricing.panel import controls_of

__all__ = ["METHODS", "against_truth", "dml", "estimate_all", "naive", "randomised"]

METHODS = ("naive", "randomised", "dml")
Z95 = 1.959963984540054


def _table(categories, estimate, se, n) -> pd.DataFrame:
    est, se = np.asarray(estimate, float), np.asarray(se, float)
    return pd.DataFrame(
        {"estimate": est, "se": se, "low": est - Z95 * se, "high": est + Z95 * se, "n": n},
        index=pd.Index(categories, name="category"),
    )


def _cluster_ols(y: np.ndarray, X: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and standard errors clustered by ``groups`` (statsmodels)."""
    import statsmodels.api as sm

    codes = pd.factorize(groups)[0]
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": codes})
    return np.asarray(fit.params), np.asarray(fit.bse)


def naive(panel: pd.DataFrame) -> pd.DataFrame:
    """Within-item log-log OLS per category (see the module docstring)."""
    rows = []
    cats = sorted(panel["category"].unique())
    for c in cats:
        s = panel[panel["category"] == c]
        y = s["y"] - s.groupby("item_id")["y"].transform("mean")
        t = s["t"] - s.groupby("item_id")["t"].transform("mean")
        if float((t**2).sum()) == 0:
            rows.append((np.nan, np.nan, len(s)))
            continue
        b, se = _cluster_ols(y.to_numpy(), t.to_numpy()[:, None], s["item_id"].to_numpy())
        rows.append((b[0], se[0], len(s)))
    est, se, n = zip(*rows, strict=True) if rows else ((), (), ())
    return _table(cats, est, se, list(n))


def randomised(panel: pd.DataFrame) -> pd.DataFrame:
    """The randomised price tests alone, per category (NaN where a category has < 10 tests)."""
    import statsmodels.api as sm

    base = panel.groupby("item_id")["y"].mean()
    tests = panel[panel["price_test"].astype(bool)]
    cats = sorted(panel["category"].unique())
    rows = []
    for c in cats:
        s = tests[tests["category"] == c]
        if len(s) < 10:
            rows.append((np.nan, np.nan, len(s)))
            continue
        X = sm.add_constant(
            np.c_[
                s["test_multiplier"],
                base.loc[s["item_id"]].to_numpy(),
                s[["log_lag_units", "log_trailing_units", "season_sin", "season_cos"]],
            ]
        )
        fit = sm.OLS(s["y"].to_numpy(), X).fit(cov_type="HC1")
        rows.append((fit.params[1], fit.bse[1], len(s)))
    est, se, n = zip(*rows, strict=True)
    return _table(cats, est, se, list(n))


def dml(panel: pd.DataFrame, seed: int = 0, n_estimators: int = 80, folds: int = 2) -> pd.DataFrame:
    """Double machine learning per category (see the module docstring)."""
    from econml.dml import LinearDML
    from lightgbm import LGBMRegressor

    cats = sorted(panel["category"].unique())
    X = (panel["category"].to_numpy()[:, None] == np.array(cats)[None, :]).astype(float)
    W = np.c_[panel[controls_of(panel)].to_numpy(float), X]

    def nuisance():
        return LGBMRegressor(
            n_estimators=n_estimators,
            learning_rate=0.1,
            num_leaves=15,
            random_state=seed,
            n_jobs=1,  # measured: OpenMP threads thrash on a shared 2-core machine
            verbose=-1,
        )

    model = LinearDML(
        model_y=nuisance(),
        model_t=nuisance(),
        fit_cate_intercept=False,
        cv=folds,
        random_state=seed,
    )
    model.fit(
        panel["y"].to_numpy(),
        panel["t"].to_numpy(),
        X=X,
        W=W,
        groups=panel["item_id"].to_numpy(),
        cache_values=True,
    )
    y_res, t_res, x_res, _ = model.residuals_
    # the same final stage as LinearDML's, with standard errors clustered by item
    est, se = _cluster_ols(y_res, x_res * t_res[:, None], panel["item_id"].to_numpy())
    return _table(cats, est, se, X.sum(axis=0).astype(int).tolist())


def estimate_all(
    panel: pd.DataFrame, seed: int = 0, n_estimators: int = 80, folds: int = 2
) -> pd.DataFrame:
    """Every method's table stacked: columns ``method, category, estimate, se, low, high, n``."""
    parts = {
        "naive": naive(panel),
        "randomised": randomised(panel),
        "dml": dml(panel, seed=seed, n_estimators=n_estimators, folds=folds),
    }
    return pd.concat(parts, names=["method"]).reset_index()


def against_truth(estimates: pd.DataFrame, truth: pd.DataFrame, tolerance: float = 0.1):
    """``estimates`` (from ``estimate_all``) joined with the true elasticity per category
    (``truth``: ``category, elasticity``): bias, relative error, whether the estimate is within
    ``tolerance`` (relative) and whether the interval covers the truth."""
    out = estimates.merge(truth[["category", "elasticity"]], on="category", how="left")
    out = out.rename(columns={"elasticity": "true"})
    out["bias"] = out["estimate"] - out["true"]
    out["relative_error"] = out["bias"] / out["true"].abs()
    out["within"] = out["relative_error"].abs() <= tolerance
    out["covers"] = (out["low"] <= out["true"]) & (out["true"] <= out["high"])
    return out
