"""Figures of notebooks 03 and 04 (plotly): each answers one question named in its title."""

from __future__ import annotations

import numpy as np
import pandas as pd


def confusion_figure(conf: pd.DataFrame, title: str, normalise: bool = True):
    """Heat map of a confusion table (true rows, predicted columns); rows sum to 1 if normalised."""
    import plotly.express as px

    z = conf.div(conf.sum(axis=1).replace(0, np.nan), axis=0).fillna(0) if normalise else conf
    fig = px.imshow(
        z.round(3),
        text_auto=".2f" if normalise else True,
        color_continuous_scale="Blues",
        labels={"x": "predicted", "y": "true", "color": "share of row" if normalise else "count"},
        title=title,
        aspect="auto",
    )
    fig.update_layout(height=max(380, 28 * len(conf) + 160))
    return fig


def per_class_f1_figure(f1: pd.DataFrame, title: str):
    """Grouped bars: F1 per class (x) for each model (colour)."""
    import plotly.express as px

    long = (
        f1.rename_axis("class")
        .reset_index()
        .melt(id_vars="class", var_name="model", value_name="f1")
    )
    return px.bar(
        long, x="class", y="f1", color="model", barmode="group", title=title, range_y=[0, 1.02]
    )


def learning_curve_figure(
    curve: pd.DataFrame, title: str, reference: float | None = None, reference_name: str = ""
):
    """Test macro-F1 against the number of training queries, one line per model (log x)."""
    import plotly.express as px

    fig = px.line(
        curve, x="train_queries", y="macro_f1", color="model", markers=True, log_x=True, title=title
    )
    if reference is not None:
        fig.add_hline(y=reference, line_dash="dash", annotation_text=reference_name)
    return fig


def reliability_figure(
    y, predictions: dict[str, tuple], n_bins: int = 10, title: str = "Calibration"
):
    """Top-label reliability diagram: observed accuracy against mean confidence per bin;
    ``predictions``: model -> (its classes in column order, (n, classes) probabilities)."""
    from shopintent.studies.figures import reliability_figure as draw

    y = np.asarray(y).astype(str)
    panel = {}
    for name, (classes, proba) in predictions.items():
        index = {c: i for i, c in enumerate(np.asarray(classes).astype(str))}
        panel[name] = (np.array([index.get(c, -1) for c in y]), proba)
    return draw(
        {"test": panel}, title, "mean confidence of the top class", "share correct", n_bins=n_bins
    )


def share_figure(labels: dict[str, np.ndarray], title: str, order=None):
    """Share of each predicted label, one bar group per model."""
    import plotly.express as px

    rows = []
    for name, pred in labels.items():
        s = pd.Series(np.asarray(pred).astype(str)).value_counts(normalize=True)
        rows += [{"model": name, "label": k, "share": float(v)} for k, v in s.items()]
    df = pd.DataFrame(rows)
    return px.bar(
        df,
        x="label",
        y="share",
        color="model",
        barmode="group",
        title=title,
        category_orders={"label": list(order)} if order is not None else None,
    )


def entity_figure(table: pd.DataFrame, title: str):
    """Entity F1 per label and subset (x) for each tagger (colour)."""
    import plotly.express as px

    return px.bar(
        table,
        x="subset",
        y="f1",
        color="model",
        barmode="group",
        title=title,
        range_y=[0, 1.02],
        hover_data=["precision", "recall", "n_true"],
    )


def terms_figure(terms: pd.DataFrame, title: str):
    """Horizontal bars of each group's most negative-associated terms (z-scored log-odds)."""
    import plotly.express as px

    fig = px.bar(
        terms.iloc[::-1],
        x="z",
        y="term",
        color="group",
        orientation="h",
        facet_col="group",
        facet_col_wrap=3,
        title=title,
        hover_data=["negative_count", "other_count"],
    )
    fig.update_yaxes(matches=None, showticklabels=True)
    fig.update_layout(
        height=max(400, 160 * int(np.ceil(terms["group"].nunique() / 3)) + 120), showlegend=False
    )
    return fig


__all__ = [
    "confusion_figure",
    "entity_figure",
    "learning_curve_figure",
    "per_class_f1_figure",
    "reliability_figure",
    "share_figure",
    "terms_figure",
]
