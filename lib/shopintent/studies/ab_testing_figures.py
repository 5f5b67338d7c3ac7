"""Plotly figures of notebook 11: each answers one question about an experiment or a bandit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLOURS = {
    "linucb": "#264653",
    "thompson": "#2a9d8f",
    "thompson_beta": "#8ab17d",
    "random": "#b5b5b5",
    "best_fixed": "#e76f51",
    "truth": "#e9c46a",
}


def _colour(name: str, i: int) -> str:
    return COLOURS.get(name, ["#6a4c93", "#1982c4", "#8ac926", "#ff595e", "#f4a261"][i % 5])


def lift_figure(table: pd.DataFrame, truth: pd.DataFrame) -> go.Figure:
    """Does each test's 95% interval for the lift B / A − 1 cover the true lift (known here)?"""
    fig = go.Figure()
    for i, row in enumerate(table.itertuples()):
        label = f"{row.metric} · {row.method}"
        fig.add_scatter(
            x=[row.lift * 100],
            y=[label],
            mode="markers",
            marker={"size": 10, "color": _colour("", i)},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [(row.lift_high - row.lift) * 100],
                "arrayminus": [(row.lift - row.lift_low) * 100],
            },
            showlegend=False,
        )
        true = truth.loc[row.metric.removesuffix("_cuped"), "true_lift"] * 100
        fig.add_scatter(
            x=[true],
            y=[label],
            mode="markers",
            marker={"symbol": "x", "size": 12, "color": "black"},
            name="true lift",
            showlegend=i == 0,
        )
    fig.add_vline(x=0, line={"color": "#ccc", "dash": "dot"})
    fig.update_layout(
        title="Estimated lift of B over A (95% interval) and the true lift (×)",
        xaxis_title="lift, %",
        height=160 + 60 * len(table),
    )
    return fig


def pvalue_figure(pvalues: dict[str, np.ndarray], alpha: float = 0.05) -> go.Figure:
    """Under A/A (no difference) p-values should be uniform: about alpha of them fall below it."""
    fig = go.Figure()
    for i, (name, p) in enumerate(pvalues.items()):
        rate = float(np.mean(np.asarray(p) < alpha))
        fig.add_histogram(
            x=p,
            xbins={"start": 0, "end": 1, "size": 0.05},
            name=f"{name} (p < {alpha}: {rate:.1%})",
            opacity=0.6,
            marker_color=_colour(name, i),
        )
    n = len(next(iter(pvalues.values())))
    fig.add_hline(y=n * 0.05, line={"color": "#888", "dash": "dash"}, annotation_text="uniform")
    fig.update_layout(
        barmode="overlay",
        title=f"A/A tests: p-values of {n} simulated experiments",
        xaxis_title="p-value",
        yaxis_title="experiments",
        height=400,
    )
    return fig


def power_figure(
    sizes: np.ndarray,
    closed: np.ndarray,
    sim_sizes: np.ndarray,
    simulated: np.ndarray,
    n_actual: int,
    n_needed: int,
) -> go.Figure:
    """How many users per group the true lift needs: closed-form power, checked by simulation."""
    fig = go.Figure()
    fig.add_scatter(x=sizes, y=closed, mode="lines", name="closed form", line={"color": "#264653"})
    fig.add_scatter(
        x=sim_sizes,
        y=simulated,
        mode="markers",
        name="simulated (scipy.stats.power)",
        marker={"color": "#e76f51", "size": 9},
    )
    fig.add_hline(y=0.8, line={"color": "#ccc", "dash": "dot"})
    fig.add_vline(
        x=n_actual,
        line={"color": "#2a9d8f", "dash": "dash"},
        annotation_text=f"this test: {n_actual:,}",
    )
    fig.add_vline(
        x=n_needed,
        line={"color": "#e9c46a", "dash": "dash"},
        annotation_text=f"80% power: {n_needed:,}",
        annotation_position="bottom right",
    )
    fig.update_layout(
        title="Power of the conversion z-test at the true lift",
        xaxis_title="users per group",
        yaxis_title="power",
        xaxis_type="log",
        height=420,
    )
    return fig


def cuped_figure(plain: np.ndarray, adjusted: np.ndarray, true_diff: float) -> go.Figure:
    """Same experiments, two estimators: CUPED is centred on the truth too, with narrower spread."""
    fig = go.Figure()
    for name, v, c in (("plain difference", plain, "#b5b5b5"), ("CUPED", adjusted, "#264653")):
        fig.add_histogram(
            x=v,
            name=f"{name} (mean {v.mean():.2f}, sd {v.std(ddof=1):.2f})",
            opacity=0.6,
            marker_color=c,
            nbinsx=40,
        )
    fig.add_vline(
        x=true_diff,
        line={"color": "black", "dash": "dash"},
        annotation_text=f"truth {true_diff:.2f}",
    )
    fig.update_layout(
        barmode="overlay",
        title=f"Revenue per user, B − A, over {len(plain)} simulated experiments",
        xaxis_title="estimated difference",
        yaxis_title="experiments",
        height=400,
    )
    return fig


def regret_figure(runs, every: int = 100) -> go.Figure:
    """Which policy loses least against the best arm of every round, as rounds accumulate?"""
    fig = go.Figure()
    for i, r in enumerate(runs):
        c = r.cumulative_regret
        idx = np.r_[np.arange(0, len(c), every), len(c) - 1]
        fig.add_scatter(
            x=idx + 1, y=c[idx], mode="lines", name=r.name, line={"color": _colour(r.name, i)}
        )
    fig.update_layout(
        title="Cumulative regret against the best arm of each round (true expected purchases)",
        xaxis_title="round (session)",
        yaxis_title="cumulative regret (purchases)",
        height=440,
    )
    return fig


def arm_share_figure(runs, arm_names, window: int = 2000) -> go.Figure:
    """What each learning policy shows over time: the share of each arm in a moving window."""
    learners = [r for r in runs if r.name not in ("random", "best_fixed")]
    fig = make_subplots(
        1, len(learners), shared_yaxes=True, subplot_titles=[r.name for r in learners]
    )
    for j, r in enumerate(learners, start=1):
        blocks = len(r.actions) // window
        for i, arm in enumerate(arm_names):
            share = (r.actions[: blocks * window].reshape(blocks, window) == i).mean(axis=1)
            fig.add_scatter(
                x=(np.arange(blocks) + 1) * window,
                y=share,
                mode="lines",
                name=arm,
                legendgroup=arm,
                showlegend=j == 1,
                line={"color": _colour(arm, i)},
                row=1,
                col=j,
            )
    fig.update_yaxes(title_text="share of rounds", row=1, col=1)
    fig.update_layout(title=f"Arms chosen per {window:,} rounds", height=380)
    return fig


def offpolicy_figure(table: pd.DataFrame) -> go.Figure:
    """Do the offline estimates from the uniform log land on each policy's online truth?"""
    fig = go.Figure()
    y = table.index.tolist()
    fig.add_scatter(
        x=table["ips"],
        y=y,
        mode="markers",
        name="IPS (95% interval)",
        marker={"color": "#264653", "size": 9},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": table["ips_high"] - table["ips"],
            "arrayminus": table["ips"] - table["ips_low"],
        },
    )
    fig.add_scatter(
        x=table["replay"],
        y=y,
        mode="markers",
        name="replay",
        marker={"color": "#2a9d8f", "symbol": "diamond"},
    )
    fig.add_scatter(
        x=table["snips"],
        y=y,
        mode="markers",
        name="SNIPS",
        marker={"color": "#8ab17d", "symbol": "square"},
    )
    fig.add_scatter(
        x=table["truth"],
        y=y,
        mode="markers",
        name="online truth",
        marker={"color": "black", "symbol": "x", "size": 12},
    )
    fig.update_layout(
        title="Off-policy estimates of each policy's purchase rate vs the online truth",
        xaxis_title="purchases from the slate per session",
        height=140 + 45 * len(table),
    )
    return fig
