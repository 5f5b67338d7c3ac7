"""Plotly figures of notebook 05: each answers one question about the purchase-intent models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from shopintent.studies.figures import add_diagonal, reliability_figure

COLOURS = {
    "logreg": "#8c8c8c",
    "lightgbm": "#2a9d8f",
    "lstm": "#e76f51",
    "hybrid": "#264653",
    "oracle": "#e9c46a",
    "random": "#cccccc",
    "perfect": "#b5b5b5",
}


def _colour(name: str, i: int) -> str:
    return COLOURS.get(name, ["#6a4c93", "#1982c4", "#8ac926", "#ff595e"][i % 4])


def roc_pr_figure(y, probabilities: dict[str, np.ndarray]) -> go.Figure:
    """Which model ranks buyers above non-buyers best (ROC); how precise its top scores are (PR)."""
    from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

    y = np.asarray(y)
    fig = make_subplots(1, 2, subplot_titles=("ROC", "Precision–recall"), horizontal_spacing=0.1)
    if len(np.unique(y)) < 2:
        return fig.update_layout(title="No curves: the test sessions hold one class only")
    for i, (name, p) in enumerate(probabilities.items()):
        fpr, tpr, _ = roc_curve(y, p)
        prec, rec, _ = precision_recall_curve(y, p)
        dash = "dash" if name == "oracle" else None
        label = f"{name} (AUC {roc_auc_score(y, p):.3f})"
        fig.add_scatter(
            x=fpr,
            y=tpr,
            name=label,
            legendgroup=name,
            line={"color": _colour(name, i), "dash": dash},
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=rec,
            y=prec,
            name=name,
            legendgroup=name,
            showlegend=False,
            line={"color": _colour(name, i), "dash": dash},
            row=1,
            col=2,
        )
    add_diagonal(fig, row=1, col=1)
    fig.add_hline(y=float(y.mean()), line={"color": "#ccc", "dash": "dot"}, row=1, col=2)
    fig.update_xaxes(title_text="false positive rate", row=1, col=1)
    fig.update_yaxes(title_text="true positive rate", row=1, col=1)
    fig.update_xaxes(title_text="recall", row=1, col=2)
    fig.update_yaxes(title_text="precision", row=1, col=2)
    fig.update_layout(title="Whole sessions before the purchase, test period", height=460)
    return fig


def early_curve_figure(curve: pd.DataFrame, oracle_auc: float | None = None) -> go.Figure:
    """How early can intent be read: ROC-AUC after at most k events (same sessions at every k)."""
    fig = go.Figure()
    for i, (name, g) in enumerate(curve.groupby("model", sort=False)):
        fig.add_scatter(
            x=g["k"],
            y=g["roc_auc"],
            mode="lines+markers",
            name=name,
            line={"color": _colour(name, i)},
        )
    if oracle_auc is not None:
        fig.add_hline(
            y=oracle_auc,
            line={"color": COLOURS["oracle"], "dash": "dash"},
            annotation_text=f"oracle, whole session ({oracle_auc:.3f})",
        )
    fig.update_layout(
        title="Early prediction: ROC-AUC after at most k events",
        xaxis_title="events seen (k)",
        yaxis_title="ROC-AUC",
        height=420,
    )
    return fig


def calibration_figure(
    y, raw: dict[str, np.ndarray], calibrated: dict[str, np.ndarray], n_bins: int = 10
) -> go.Figure:
    """Do the scores mean what they say? Observed purchase rate per score bin, before and after
    calibration."""
    return reliability_figure(
        {
            "raw (class-weighted training)": {m: (y, p) for m, p in raw.items()},
            "calibrated on validation": {m: (y, p) for m, p in calibrated.items()},
        },
        "Reliability: points on the diagonal are calibrated",
        "mean predicted probability",
        "observed purchase rate",
        "sessions",
        colour=_colour,
        n_bins=n_bins,
    )


def gain_figure(gain: pd.DataFrame, mark: float = 0.1) -> go.Figure:
    """What share of purchases the top x% of scored sessions hold (cumulative gain)."""
    fig = go.Figure()
    for i, (name, g) in enumerate(gain.groupby("model", sort=False)):
        dash = "dot" if name in ("random", "perfect") else None
        fig.add_scatter(
            x=g["top_share"],
            y=g["purchase_share"],
            mode="lines",
            name=name,
            line={"color": _colour(name, i), "dash": dash},
        )
    fig.add_vline(x=mark, line={"color": "#999", "dash": "dash"}, annotation_text=f"top {mark:.0%}")
    fig.update_layout(
        title="Cumulative gain: purchases captured by targeting the top-scored sessions",
        xaxis_title="share of sessions targeted (highest scores first)",
        yaxis_title="share of all purchases",
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
        height=420,
    )
    return fig


def prefix_balance_figure(prefixes: pd.DataFrame, max_k: int = 20) -> go.Figure:
    """Label balance by prefix length: the share of prefixes of k events whose session buys."""
    g = (
        prefixes.assign(k=prefixes["k"].clip(upper=max_k))
        .groupby("k")["label"]
        .agg(["mean", "size"])
    )
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=g.index, y=g["size"], name="prefixes", marker_color="#ddd", secondary_y=False)
    fig.add_scatter(
        x=g.index,
        y=g["mean"],
        name="purchase rate",
        mode="lines+markers",
        line={"color": COLOURS["hybrid"]},
        secondary_y=True,
    )
    fig.update_layout(
        title=f"Prefixes and their purchase rate by events seen (k ≥ {max_k} pooled)",
        height=380,
        xaxis_title="events seen (k)",
    )
    fig.update_yaxes(title_text="prefixes", secondary_y=False)
    fig.update_yaxes(title_text="purchase rate", tickformat=".0%", secondary_y=True)
    return fig


def training_curve_figure(histories: dict[str, dict]) -> go.Figure:
    """Did sequence models converge or overfit: weighted loss per epoch, train and validation."""
    fig = go.Figure()
    for i, (name, h) in enumerate(histories.items()):
        for key, dash in (("loss", None), ("val_loss", "dash")):
            if key in h:
                fig.add_scatter(
                    x=np.arange(1, len(h[key]) + 1),
                    y=h[key],
                    name=f"{name} {key}",
                    line={"color": _colour(name, i), "dash": dash},
                )
    fig.update_layout(
        title="Sequence models: class-weighted loss per epoch",
        xaxis_title="epoch",
        yaxis_title="loss",
        height=360,
    )
    return fig
