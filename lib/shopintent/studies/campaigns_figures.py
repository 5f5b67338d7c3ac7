"""Plotly figures of notebook 15: each answers one question about whom a campaign moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

COLOURS = {
    "response": "#e76f51",
    "t_learner": "#2a9d8f",
    "x_learner": "#8ab17d",
    "causal_forest": "#264653",
    "random": "#b5b5b5",
    "oracle": "#e9c46a",
}


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def qini_figure(curves: dict, title: str) -> go.Figure:
    """Which ranking collects the campaign's incremental outcomes fastest? Qini curves (per user)
    with 95% bootstrap bands; the random ranking is the diagonal's noisy twin."""
    fig = go.Figure()
    for model, rep in curves.items():
        x = 100 * rep["grid"]
        point, low, high = rep["curve"]
        colour = COLOURS.get(model, "#6a4c93")
        fig.add_scatter(
            x=np.r_[x, x[::-1]],
            y=np.r_[high, low[::-1]],
            fill="toself",
            line={"width": 0},
            fillcolor=_rgba(colour, 0.15),
            hoverinfo="skip",
            showlegend=False,
        )
        fig.add_scatter(x=x, y=point, mode="lines", name=model, line={"color": colour})
    fig.update_layout(
        title=title,
        xaxis_title="users targeted, % (highest score first)",
        yaxis_title="incremental outcomes per user (Qini)",
        height=430,
    )
    return fig


def share_figure(table: pd.DataFrame, title: str, frac: float = 0.3) -> go.Figure:
    """What share of the campaign's incremental outcomes does mailing the top 30% capture?"""
    fig = go.Figure()
    est = table["incremental_share"]
    fig.add_bar(
        x=table.index,
        y=100 * est,
        marker={"color": [COLOURS.get(m, "#6a4c93") for m in table.index]},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": 100 * (table["incremental_share_high"] - est),
            "arrayminus": 100 * (est - table["incremental_share_low"]),
        },
    )
    fig.add_hline(y=100 * frac, line={"dash": "dot", "color": "#888"}, annotation_text="random")
    fig.update_layout(title=title, yaxis_title="% of incremental outcomes captured", height=400)
    return fig
