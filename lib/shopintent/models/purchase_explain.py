"""Why a purchase-intent model says what it says.

LightGBM: SHAP values from ``shap.TreeExplainer`` (exact for trees), in log-odds of the raw,
class-weighted model (calibration is monotone, so it changes no ranking of contributions).
Sequence models: event occlusion, the whole-session probability with one event removed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from shopintent.features.sessions import SessionExamples


def lightgbm_shap(model, examples: SessionExamples, n: int = 2000, seed: int = 42,
                  mask: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """SHAP values of up to ``n`` prefixes (drawn with ``seed`` among ``mask``, default all).

    Returns (shap values, feature values) as DataFrames with the same index (prefix rows)
    and columns (features), and the explainer's base value (log-odds).
    """
    import shap

    rows = np.flatnonzero(np.ones(len(examples.prefixes), bool) if mask is None else mask)
    if len(rows) > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n, replace=False))
    x = model.matrix(examples).iloc[rows]
    explainer = shap.TreeExplainer(model.booster)
    with warnings.catch_warnings():  # "output has changed to a list of ndarray": handled below
        warnings.simplefilter("ignore", UserWarning)
        values = np.asarray(explainer.shap_values(x))
    if values.ndim == 3:  # some shap versions return one matrix per class
        values = values[..., -1]
    base = np.ravel(explainer.expected_value)[-1]
    return pd.DataFrame(values, index=x.index, columns=x.columns), x, float(base)


def shap_importance(values: pd.DataFrame) -> pd.Series:
    """Mean |SHAP| per feature, largest first: how much each feature moves predictions on average."""
    return values.abs().mean().sort_values(ascending=False)


def shap_importance_figure(values: pd.DataFrame, top: int = 15) -> go.Figure:
    """Which hand-made features move LightGBM's predictions most (mean |SHAP|)."""
    imp = shap_importance(values).head(top)[::-1]
    fig = go.Figure(go.Bar(x=imp.to_numpy(), y=imp.index, orientation="h", marker_color="#2a9d8f"))
    fig.update_layout(title="LightGBM: global importance (mean |SHAP|, log-odds)", xaxis_title="mean |SHAP value|",
                      height=max(320, 24 * len(imp) + 120), margin={"l": 180})
    return fig


def shap_beeswarm_figure(values: pd.DataFrame, features: pd.DataFrame, top: int = 12, seed: int = 0) -> go.Figure:
    """Beeswarm: each dot a prefix, placed by its SHAP value, coloured by the feature's value
    (quantile within the feature: blue low, red high); shows the direction of each effect."""
    names = shap_importance(values).head(top).index[::-1]
    rng = np.random.default_rng(seed)
    fig = go.Figure()
    for i, f in enumerate(names):
        v = features[f]
        rank = v.rank(pct=True).fillna(0.5).to_numpy()
        fig.add_scatter(x=values[f].to_numpy(), y=i + rng.uniform(-0.3, 0.3, len(v)), mode="markers",
                        marker={"size": 4, "color": rank, "colorscale": "RdBu_r", "cmin": 0, "cmax": 1,
                                "showscale": i == 0, "colorbar": {"title": "feature<br>quantile"}},
                        name=f, showlegend=False, customdata=v.to_numpy(),
                        hovertemplate=f"{f} = %{{customdata:.3g}}<br>SHAP %{{x:.3f}}<extra></extra>")
    fig.update_layout(title="LightGBM: SHAP beeswarm (log-odds)", xaxis_title="SHAP value",
                      yaxis={"tickvals": list(range(len(names))), "ticktext": list(names)},
                      height=max(360, 30 * len(names) + 120), margin={"l": 180})
    return fig


def shap_local_figure(values: pd.DataFrame, features: pd.DataFrame, row, base: float, top: int = 10) -> go.Figure:
    """One prefix's explanation as a waterfall: from the base log-odds to its score, feature by feature."""
    v = values.loc[row]
    order = v.abs().sort_values(ascending=False).index
    shown, rest = order[:top], order[top:]
    labels = [f"{f} = {features.loc[row, f]:.3g}" for f in shown] + ([f"{len(rest)} other features"] if len(rest) else [])
    deltas = list(v[shown].to_numpy()) + ([float(v[rest].sum())] if len(rest) else [])
    fig = go.Figure(go.Waterfall(orientation="h", y=["base value", *labels, "score"],
                                 x=[base, *deltas, 0.0], measure=["absolute"] + ["relative"] * len(deltas) + ["total"]))
    fig.update_layout(title=f"LightGBM: why this prefix scores {1 / (1 + np.exp(-(base + v.sum()))):.2f} "
                            "(raw, before calibration)", xaxis_title="log-odds", height=420,
                      yaxis={"autorange": "reversed"}, margin={"l": 240})
    return fig


def occlusion(model, examples: SessionExamples, session_id: str, text=None) -> pd.DataFrame:
    """How much each event moved a sequence model's whole-session score: the session scored
    with that one event removed (the next event's time gap absorbs its time) against the
    full session, in log-odds of the raw model (as SHAP; calibration steps would hide it).

    Returns one row per event: ``k, event_type, item_id, query_id``, ``p_full`` (calibrated
    probability of the whole session), ``logit_full``, ``logit_without`` and ``effect`` (their
    difference: positive, the event made a purchase look likelier).
    """
    one = examples.subset([session_id]).prefixes
    n = len(one)
    gaps = np.expm1(5 * one["ev_log_gap"].to_numpy())  # ev_log_gap = log1p(seconds) / 5
    copies = [one.assign(session_id=f"{session_id}#full")]
    for j in range(n):
        rest = one.drop(index=j).copy()
        if j + 1 < n:
            rest.loc[j + 1, "ev_log_gap"] = np.log1p(gaps[j] + gaps[j + 1]) / 5 if j > 0 else 0.0
        copies.append(rest.assign(session_id=f"{session_id}#{j}"))
    frame = pd.concat(copies, ignore_index=True)
    frame["k"] = frame.groupby("session_id", sort=False).cumcount() + 1
    frame["n_events"] = frame.groupby("session_id", sort=False)["k"].transform("max")
    frame["is_full"] = frame["k"] == frame["n_events"]
    probe = SessionExamples(pd.DataFrame({"session_id": frame["session_id"].unique()}), frame)
    raw = np.clip(model.raw_scores(probe, text)[frame["is_full"].to_numpy()], 1e-7, 1 - 1e-7)
    logit = np.log(raw / (1 - raw))
    out = one[["k", "event_type", "item_id", "query_id"]].copy()
    out["p_full"] = float(model.calibrator(raw[:1])[0])
    out["logit_full"] = logit[0]
    out["logit_without"] = logit[1:] if n > 1 else np.nan
    out["effect"] = out["logit_full"] - out["logit_without"]
    return out.reset_index(drop=True)


def occlusion_figure(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Which events made the sequence model expect a purchase (bars up) or not (down)."""
    label = table["event_type"] + " " + table["item_id"].fillna(table["query_id"]).fillna("").astype(str)
    colours = np.where(table["effect"] >= 0, "#2a9d8f", "#e76f51")
    fig = go.Figure(go.Bar(x=[f"{k}. {t}" for k, t in zip(table["k"], label, strict=True)], y=table["effect"],
                           marker_color=colours))
    p = float(table["p_full"].iloc[0]) if len(table) else float("nan")
    fig.update_layout(title=title or f"Event occlusion: whole-session probability {p:.2f}; bar = drop without the event",
                      yaxis_title="log-odds: full − without the event", height=380)
    return fig
