"""Plotly figures of notebook 14: each answers one question about prices and demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLOURS = {"naive": "#e76f51", "randomised": "#8ab17d", "dml": "#264653"}


def demand_curve_figure(curve: pd.DataFrame, truth: pd.DataFrame | None = None) -> go.Figure:
    """How do units fall as price rises within an item, per category? Binned deviations from the
    item's mean (log scale); the dashed line has the true elasticity as its slope."""
    cats = sorted(curve["category"].unique())
    cols = min(5, len(cats))
    rows = int(np.ceil(len(cats) / cols))
    fig = make_subplots(rows, cols, subplot_titles=cats, shared_yaxes=True)
    true = None if truth is None else truth.set_index("category")["elasticity"]
    for i, c in enumerate(cats):
        s = curve[curve["category"] == c]
        r, k = i // cols + 1, i % cols + 1
        fig.add_scatter(
            x=s["log_price"],
            y=s["log_units"],
            mode="markers+lines",
            row=r,
            col=k,
            marker={"color": COLOURS["naive"]},
            name="observed (binned)",
            showlegend=i == 0,
        )
        if true is not None and c in true:
            x = np.array([s["log_price"].min(), s["log_price"].max()])
            fig.add_scatter(
                x=x,
                y=true[c] * x,
                mode="lines",
                row=r,
                col=k,
                name="true elasticity",
                line={"dash": "dash", "color": "black"},
                showlegend=i == 0,
            )
    fig.update_layout(
        title="Demand curves within items: log units against log price (deviations from the "
        "item's mean)",
        height=260 * rows + 80,
    )
    return fig


def elasticity_figure(table: pd.DataFrame) -> go.Figure:
    """Which estimator's 95% interval covers the true elasticity (×) in each category?"""
    fig = go.Figure()
    methods = [m for m in ("naive", "randomised", "dml") if m in set(table["method"])]
    offsets = dict(zip(methods, np.linspace(-0.25, 0.25, len(methods)), strict=True))
    cats = sorted(table["category"].unique())
    pos = {c: i for i, c in enumerate(cats)}
    for m in methods:
        s = table[table["method"] == m]
        fig.add_scatter(
            x=s["estimate"],
            y=[pos[c] + offsets[m] for c in s["category"]],
            mode="markers",
            name=m,
            marker={"color": COLOURS[m], "size": 8},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": s["high"] - s["estimate"],
                "arrayminus": s["estimate"] - s["low"],
            },
        )
    if "true" in table:
        t = table.drop_duplicates("category")
        fig.add_scatter(
            x=t["true"],
            y=[pos[c] for c in t["category"]],
            mode="markers",
            name="truth",
            marker={"symbol": "x", "size": 12, "color": "black"},
        )
    fig.update_layout(
        title="Own-price elasticity per category: estimates with 95% intervals",
        xaxis_title="elasticity (% change in units per 1% price change)",
        yaxis={"tickvals": list(pos.values()), "ticktext": cats},
        height=120 + 45 * len(cats),
    )
    return fig


def policy_figure(sims: pd.DataFrame) -> go.Figure:
    """Do the recommended prices raise simulated revenue and profit against the current prices?"""
    fig = make_subplots(1, 2, subplot_titles=["revenue change, %", "profit change, %"])
    for k, metric in enumerate(("revenue", "profit"), start=1):
        est = sims[f"{metric}_change_pct"]
        fig.add_bar(
            x=sims.index,
            y=est,
            row=1,
            col=k,
            showlegend=False,
            marker={"color": "#2a9d8f"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": sims[f"{metric}_change_pct_high"] - est,
                "arrayminus": est - sims[f"{metric}_change_pct_low"],
            },
        )
        fig.add_scatter(
            x=sims.index,
            y=sims[f"{metric}_true_change_pct"],
            mode="markers",
            row=1,
            col=k,
            marker={"symbol": "x", "size": 11, "color": "black"},
            name="true change",
            showlegend=k == 1,
        )
    fig.update_layout(
        title="Simulated change against current prices (95% paired bootstrap interval over items)",
        height=420,
    )
    return fig
