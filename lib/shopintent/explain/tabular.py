"""SHAP for tree models (``shap.TreeExplainer``: exact for trees) and feature groups.

Values are in the model's raw output (log-odds for a binary LightGBM), so that they add up:
``values.sum(axis=1) + base == raw_score`` for every row. For a purchase-intent model that is
the raw, class-weighted model; its calibrator is monotone and changes no ranking of contributions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.features.sessions import USER_FEATURES

#: the purchase-intent hand-made features by what they describe; the same groups as the
#: sequence models' inputs (``shopintent.explain.groups.SEQUENCE_GROUPS``), text aside
PURCHASE_FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "event types": (
        "k",
        "n_search",
        "n_view",
        "n_cart",
        "n_fav",
        "n_remove_from_cart",
        "events_since_cart",
    ),
    "timing": (
        "duration_log_s",
        "mean_log_gap",
        "max_log_gap",
        "last_log_gap",
        "hour_sin",
        "hour_cos",
        "weekday",
    ),
    "price": (
        "rel_price_mean",
        "rel_price_min",
        "rel_price_max",
        "rel_price_last",
        "cart_rel_price",
        "cart_minus_view_price",
        "cart_minus_user_price",
    ),
    "items": (
        "n_distinct_items",
        "n_distinct_categories",
        "max_item_views",
        "repeat_share",
        "item_conv_last",
        "item_conv_max",
        "item_conv_cart",
        "item_views_last",
    ),
    "user history": USER_FEATURES,
}


@dataclass
class TreeAttributions:
    """SHAP values and the rows they explain (same index and columns), the base value (the
    expected raw output) and the raw output of each row."""

    values: pd.DataFrame
    features: pd.DataFrame
    base: float
    output: np.ndarray

    def importance(self) -> pd.Series:
        return shap_importance(self.values)

    def top_feature_share(self) -> float:
        """Share of all mean |SHAP| held by the most important feature (1 = one feature decides)."""
        imp = self.importance()
        return float(imp.iloc[0] / imp.sum()) if imp.sum() > 0 else float("nan")


def tree_shap(booster, x: pd.DataFrame, num_iteration: int | None = None) -> TreeAttributions:
    """Exact SHAP values of a LightGBM ``Booster`` on the rows ``x`` (raw output).

    ``num_iteration`` is the model whose raw output is reported (LightGBM 4 keeps only the best
    iteration's trees after early stopping, and shap explains the trees the booster holds).
    """
    import shap

    explainer = shap.TreeExplainer(booster)
    with warnings.catch_warnings():  # "output has changed to a list of ndarray": handled below
        warnings.simplefilter("ignore", UserWarning)
        values = np.asarray(explainer.shap_values(x))
    if values.ndim == 3:  # some shap versions return one matrix per class
        values = values[..., -1]
    base = float(np.ravel(explainer.expected_value)[-1])
    output = np.asarray(
        booster.predict(x, raw_score=True, num_iteration=num_iteration), dtype=np.float64
    )
    return TreeAttributions(pd.DataFrame(values, index=x.index, columns=x.columns), x, base, output)


def lightgbm_shap(
    model, examples, n: int = 2000, seed: int = 42, mask: np.ndarray | None = None
) -> TreeAttributions:
    """SHAP of a purchase-intent ``HandmadeLightGBM`` on up to ``n`` prefixes of ``examples``
    (drawn with ``seed`` among ``mask``, default all); the index is the prefix row number."""
    rows = np.flatnonzero(np.ones(len(examples.prefixes), bool) if mask is None else mask)
    if len(rows) > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n, replace=False))
    x = model.matrix(examples).iloc[rows]
    return tree_shap(model.booster, x, model.info.get("best_iteration"))


def shap_importance(values: pd.DataFrame) -> pd.Series:
    """Mean |SHAP| per feature, largest first: how much a feature moves predictions on average."""
    return values.abs().mean().sort_values(ascending=False)


def group_values(values: pd.DataFrame, groups: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """SHAP values summed within each group of features (SHAP values add up, so a group's sum is
    its contribution); features in no group go to ``other`` (dropped when there are none)."""
    out = {}
    used: set[str] = set()
    for name, cols in groups.items():
        present = [c for c in cols if c in values.columns]
        used.update(present)
        out[name] = values[present].sum(axis=1) if present else pd.Series(0.0, index=values.index)
    rest = [c for c in values.columns if c not in used]
    if rest:
        out["other"] = values[rest].sum(axis=1)
    return pd.DataFrame(out, index=values.index)


@dataclass
class GroupComparison:
    """Two or more models' group attributions side by side.

    ``table``: one row per group, each model's mean |attribution| as a share of its total, and
    (for two models) ``per_session_r``: the Pearson correlation of the two models' values of
    that group over the sessions both explained. ``rank_correlation``: Spearman's rho between
    the first two models' group importances over the groups both have.
    """

    table: pd.DataFrame
    rank_correlation: float


def compare_groups(values: dict[str, pd.DataFrame]) -> GroupComparison:
    """Compare group attributions of models (``{model: DataFrame sessions × groups}``, indexed by
    session id; a group a model lacks counts as absent, not as zero importance)."""
    from scipy.stats import pearsonr, spearmanr

    names = list(values)
    imp = pd.DataFrame({m: v.abs().mean() for m, v in values.items()})
    table = imp / imp.sum()
    rho = float("nan")
    if len(names) >= 2:
        a, b = (values[n] for n in names[:2])
        shared = [g for g in a.columns if g in b.columns]
        if len(shared) >= 3:
            rho = float(spearmanr(imp.loc[shared, names[0]], imp.loc[shared, names[1]]).statistic)
        common = a.index.intersection(b.index)
        r = {}
        for g in shared:
            x, y = a.loc[common, g].to_numpy(), b.loc[common, g].to_numpy()
            varies = len(common) > 2 and np.ptp(x) > 1e-9 and np.ptp(y) > 1e-9
            r[g] = float(pearsonr(x, y).statistic) if varies else np.nan
        table["per_session_r"] = pd.Series(r)
    return GroupComparison(table, rho)


def purchase_faithfulness(
    model,
    attributions: TreeAttributions,
    train,
    n_rows: int = 200,
    ks=(1, 2, 3),
    n_random: int = 20,
    seed: int = 42,
    n_background: int = 30,
) -> pd.DataFrame:
    """Deletion check of a purchase ``HandmadeLightGBM``'s SHAP values on ``n_rows`` of the
    explained rows: features removed take the values of ``n_background`` training prefixes
    (averaged), output in raw log-odds. See ``shopintent.explain.faithfulness``."""
    from shopintent.explain import faithfulness

    rng = np.random.default_rng(seed)
    rows = np.sort(
        rng.choice(len(attributions.values), min(n_rows, len(attributions.values)), replace=False)
    )
    background = (
        model.matrix(train)
        .sample(min(n_background, len(train.prefixes)), random_state=seed)
        .to_numpy()
    )

    def predict(x):
        return model.booster.predict(
            x, raw_score=True, num_iteration=model.info.get("best_iteration")
        )

    x = attributions.features.to_numpy()
    fns = [faithfulness.tabular_value_fn(predict, x[r], background) for r in rows]
    return faithfulness.deletion_table(
        fns,
        attributions.values.to_numpy()[rows],
        ks,
        n_random,
        seed,
        names=attributions.values.index[rows],
    )
