"""Figures several notebooks draw alike (plotly). A notebook's own figures live in its study's
``*_figures`` module; what is here is drawn one way everywhere."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

#: one panel: model -> (outcome, probability) as ``evaluation.reliability_table`` takes them (0/1
#: and P(1), or class indices and an (n, classes) matrix for top-label calibration)
Panel = Mapping[str, tuple]


def add_diagonal(fig, row: int = 1, col: int = 1):
    """The y = x reference line on [0, 1] (calibrated scores, a random ROC curve)."""
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"color": "#ccc", "dash": "dot"},
        showlegend=False,
        hoverinfo="skip",
        row=row,
        col=col,
    )
    return fig


def reliability_figure(
    panels: Mapping[str, Panel],
    title: str,
    x_title: str = "mean predicted probability",
    y_title: str = "observed frequency",
    unit: str = "rows",
    colour: Callable[[str, int], str] | None = None,
    n_bins: int = 10,
):
    """Reliability diagram, one panel per entry of ``panels`` (panel title -> model ->
    (outcome, probability)): observed frequency against mean predicted probability per
    equal-width bin, the diagonal for reference (points on it are calibrated); empty bins are
    left out and each point's hover gives its count of ``unit``. A model keeps its colour and
    one legend entry across panels."""
    from plotly.subplots import make_subplots

    from shopintent.evaluation import reliability_table

    titles = list(panels)
    fig = make_subplots(1, len(titles), subplot_titles=titles, shared_yaxes=True)
    hover = f"predicted %{{x:.3f}}<br>observed %{{y:.3f}}<br>%{{customdata}} {unit}"
    shown: set[str] = set()
    for col, panel in enumerate(panels.values(), start=1):
        for i, (name, (outcome, prob)) in enumerate(panel.items()):
            prob = np.asarray(prob, dtype=np.float64)
            t = reliability_table(np.asarray(outcome), np.clip(prob, 0, 1), n_bins)
            t = t[t["count"] > 0]
            fig.add_scatter(
                x=t["mean_predicted"],
                y=t["fraction_positive"],
                mode="lines+markers",
                name=name,
                legendgroup=name,
                showlegend=name not in shown,
                line={"color": colour(name, i)} if colour else None,
                customdata=t["count"],
                hovertemplate=hover,
                row=1,
                col=col,
            )
            shown.add(name)
        add_diagonal(fig, row=1, col=col)
        fig.update_xaxes(title_text=x_title, range=[0, 1], row=1, col=col)
    fig.update_yaxes(title_text=y_title, range=[0, 1], row=1, col=1)
    fig.update_layout(title=title, height=440)
    return fig


__all__ = ["Panel", "add_diagonal", "reliability_figure"]
