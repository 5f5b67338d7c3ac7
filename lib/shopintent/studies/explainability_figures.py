"""Plotly figures of explanations: each answers one question about why a model decides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from shopintent.explain.tabular import shap_importance

UP, DOWN = "#2a9d8f", "#e76f51"


def shap_importance_figure(values: pd.DataFrame, top: int = 15, title: str = "") -> go.Figure:
    """Which features move the model's predictions most (mean |SHAP|)."""
    imp = shap_importance(values).head(top)[::-1]
    fig = go.Figure(go.Bar(x=imp.to_numpy(), y=imp.index, orientation="h", marker_color=UP))
    fig.update_layout(
        title=title or "LightGBM: global importance (mean |SHAP|, log-odds)",
        xaxis_title="mean |SHAP value|",
        height=max(320, 24 * len(imp) + 120),
        margin={"l": 180},
    )
    return fig


def shap_beeswarm_figure(
    values: pd.DataFrame, features: pd.DataFrame, top: int = 12, seed: int = 0, title: str = ""
) -> go.Figure:
    """Beeswarm: each dot a row, placed by its SHAP value, coloured by the feature's value
    (quantile within the feature: blue low, red high); shows the direction of each effect."""
    names = shap_importance(values).head(top).index[::-1]
    rng = np.random.default_rng(seed)
    fig = go.Figure()
    for i, f in enumerate(names):
        v = features[f]
        rank = v.rank(pct=True).fillna(0.5).to_numpy()
        fig.add_scatter(
            x=values[f].to_numpy(),
            y=i + rng.uniform(-0.3, 0.3, len(v)),
            mode="markers",
            marker={
                "size": 4,
                "color": rank,
                "colorscale": "RdBu_r",
                "cmin": 0,
                "cmax": 1,
                "showscale": i == 0,
                "colorbar": {"title": "feature<br>quantile"},
            },
            name=f,
            showlegend=False,
            customdata=v.to_numpy(),
            hovertemplate=f"{f} = %{{customdata:.3g}}<br>SHAP %{{x:.3f}}<extra></extra>",
        )
    fig.update_layout(
        title=title or "LightGBM: SHAP beeswarm (log-odds)",
        xaxis_title="SHAP value",
        yaxis={"tickvals": list(range(len(names))), "ticktext": list(names)},
        height=max(360, 30 * len(names) + 120),
        margin={"l": 180},
    )
    return fig


def dependence_figure(
    values: pd.DataFrame, features: pd.DataFrame, names, colour_by: str | None = None
) -> go.Figure:
    """How each top feature's value maps to its SHAP value (one panel per feature; colour: the
    feature it interacts with most, by default the most important other one)."""
    names = list(names)
    fig = make_subplots(
        1, len(names), subplot_titles=names, shared_yaxes=True, horizontal_spacing=0.04
    )
    for i, f in enumerate(names):
        other = colour_by or next((c for c in shap_importance(values).index if c != f), f)
        c = features[other].rank(pct=True).fillna(0.5).to_numpy()
        fig.add_scatter(
            x=features[f].to_numpy(),
            y=values[f].to_numpy(),
            mode="markers",
            showlegend=False,
            marker={
                "size": 4,
                "color": c,
                "colorscale": "RdBu_r",
                "cmin": 0,
                "cmax": 1,
                "showscale": i == 0,
                "colorbar": {"title": f"{other}<br>quantile"},
            },
            customdata=features[other].to_numpy(),
            hovertemplate=f"{f} = %{{x:.3g}}<br>SHAP %{{y:.3f}}<br>{other} = %{{customdata:.3g}}"
            "<extra></extra>",
            row=1,
            col=i + 1,
        )
        fig.update_xaxes(title_text="feature value", row=1, col=i + 1)
    fig.update_yaxes(title_text="SHAP value (log-odds)", row=1, col=1)
    fig.update_layout(
        title="Dependence: the top features' values against their SHAP values", height=400
    )
    return fig


def shap_local_figure(
    values: pd.DataFrame, features: pd.DataFrame, row, base: float, top: int = 10, title: str = ""
) -> go.Figure:
    """One row's explanation as a waterfall: from base log-odds to its score, feature by feature."""
    v = values.loc[row]
    order = v.abs().sort_values(ascending=False).index
    shown, rest = order[:top], order[top:]
    labels = [f"{f} = {features.loc[row, f]:.3g}" for f in shown] + (
        [f"{len(rest)} other features"] if len(rest) else []
    )
    deltas = list(v[shown].to_numpy()) + ([float(v[rest].sum())] if len(rest) else [])
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=["base value", *labels, "score"],
            x=[base, *deltas, 0.0],
            measure=["absolute"] + ["relative"] * len(deltas) + ["total"],
        )
    )
    p = 1 / (1 + np.exp(-(base + v.sum())))
    fig.update_layout(
        title=title or f"LightGBM: why this prefix scores {p:.2f} (raw, before calibration)",
        xaxis_title="log-odds",
        height=420,
        yaxis={"autorange": "reversed"},
        margin={"l": 240},
    )
    return fig


def group_waterfall_figure(values: pd.Series, base: float, title: str = "") -> go.Figure:
    """One session's group Shapley values: from everything removed (base) to its score."""
    order = values.abs().sort_values(ascending=False).index
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=["all groups removed", *order, "score"],
            x=[base, *values[order].to_numpy(), 0.0],
            measure=["absolute"] + ["relative"] * len(order) + ["total"],
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="log-odds (raw model)",
        height=360,
        yaxis={"autorange": "reversed"},
        margin={"l": 160},
    )
    return fig


def group_comparison_figure(importance: pd.DataFrame, title: str = "") -> go.Figure:
    """Do two models rely on the same kinds of evidence? Each model's mean |attribution| per
    feature group, as a share of its total (columns: models, rows: groups)."""
    share = importance.div(importance.sum(axis=0), axis=1)
    fig = go.Figure()
    for i, model in enumerate(share.columns):
        fig.add_bar(
            x=share.index,
            y=share[model],
            name=model,
            marker_color=[UP, "#264653", DOWN, "#e9c46a"][i % 4],
        )
    fig.update_layout(
        title=title or "Share of attribution per feature group",
        yaxis_title="share of mean |attribution|",
        yaxis_tickformat=".0%",
        barmode="group",
        height=380,
    )
    return fig


def faithfulness_figure(summaries: dict[str, pd.DataFrame]) -> go.Figure:
    """Removing the top-k attributed features vs k random ones, per model and k (mean drop)."""
    fig = make_subplots(1, len(summaries), subplot_titles=list(summaries), horizontal_spacing=0.08)
    for i, s in enumerate(summaries.values()):
        for col, colour, label in (
            ("topk_drop", UP, "top-k attributed"),
            ("random_drop", "#bbbbbb", "k random"),
        ):
            fig.add_bar(
                x=[f"k={k}" for k in s.index],
                y=s[col],
                name=label,
                marker_color=colour,
                legendgroup=label,
                showlegend=i == 0,
                row=1,
                col=i + 1,
            )
    fig.update_yaxes(title_text="mean |change of output| (log-odds)", row=1, col=1)
    fig.update_layout(
        title="Faithfulness: removing what the explanation ranks first moves the prediction more",
        barmode="group",
        height=400,
    )
    return fig


def occlusion_figure(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Which events made the sequence model expect a purchase (bars up) or not (down)."""
    label = (
        table["event_type"]
        + " "
        + table["item_id"].fillna(table["query_id"]).fillna("").astype(str)
    )
    colours = np.where(table["effect"] >= 0, UP, DOWN)
    fig = go.Figure(
        go.Bar(
            x=[f"{k}. {t}" for k, t in zip(table["k"], label, strict=True)],
            y=table["effect"],
            marker_color=colours,
        )
    )
    p = float(table["p_full"].iloc[0]) if len(table) else float("nan")
    fig.update_layout(
        title=title
        or f"Event occlusion: whole-session probability {p:.2f}; bar = drop without the event",
        yaxis_title="log-odds: full − without the event",
        height=380,
    )
    return fig
