"""Notebook 08's steps: fit the four next-item models by profile, the text vectors they may read,
the figures, example lists and the recorded metrics.

Sizes by profile (``Settings``) are chosen for 2 CPU cores: the smoke run trains a few epochs
of small models in about a minute, the default run both neural models in a few minutes on
the default synthetic shop; epochs are limits, early stopping on validation NDCG@10 decides.
The learning rates were chosen on validation NDCG@10 of the default synthetic shop, a few
runs by hand, not a grid: the LSTM at 2e-3 with a zero output bias stayed near popularity
for 8 epochs (0.051); at 5e-3 with the bias started at log popularity it reached 0.134 by
epoch 4 (two changes at once); self-attention at 2e-3 reached 0.129 after 8 epochs, at 3e-3
0.131 after 5.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from shopintent.config import artefact_dir
from shopintent.models.recommenders import registry
from shopintent.models.recommenders.evaluate import metric_keys
from shopintent.models.recommenders.oracle import unavailable_reason
from shopintent.models.recommenders.sequential.base import (
    MODEL_NAMES,
    SequenceRecommender,
    SessionItemKNN,
)
from shopintent.models.recommenders.sequential.data import SequenceSplit
from shopintent.models.recommenders.sequential.oracle import SequenceOracle
from shopintent.studies.settings import StudySettings

LEARNING_RATES = {"lstm": 5e-3, "self_attention": 3e-3}
#: the notebook's model names -> their registered names (``models.recommenders.registry``)
REGISTERED = {
    "popularity": "sequence_popularity",
    "item_knn": "session_item_knn",
    "lstm": "lstm",
    "self_attention": "self_attention",
}
COLOURS = {
    "popularity": "#8c8c8c",
    "item_knn": "#2a9d8f",
    "lstm": "#e76f51",
    "self_attention": "#6a4c93",
}


@dataclass(frozen=True)
class Settings(StudySettings):
    """The neural models' sizes: embedding ``dim``, the ``max_len`` most recent items read, the
    ``epochs`` limit and early-stopping ``patience`` (on validation NDCG@10)."""

    dim: int
    max_len: int
    epochs: int
    patience: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {"dim": 32, "max_len": 20, "epochs": 4, "patience": 2},
        # default: both models peaked at epoch 5 of 7 run
        "default": {"dim": 64, "max_len": 50, "epochs": 6, "patience": 2},
        "full": {"dim": 128, "max_len": 100, "epochs": 40, "patience": 3},
    }


def text_vectors(
    shop, dataset: str, profile: str, mode: str = "auto", encode_limit: int = 1000
) -> tuple[np.ndarray | None, str]:
    """MiniLM title vectors, one row per catalogue item, and a sentence saying where they come
    from (``embeddings.item_text_vectors``' rule; no fallback: without MiniLM the models read item
    ids only); None when not asked for or not available."""
    if mode not in ("auto", "minilm", "none"):
        raise ValueError(f"unknown text vector mode {mode!r}: auto, minilm or none")
    if mode != "none" and not shop.items["title"].notna().any():
        return (
            None,
            "no text vectors: this dataset has no item titles, so the models read item ids only",
        )
    from shopintent.features.text import embeddings

    found = embeddings.item_text_vectors(shop, dataset, profile, mode, encode_limit)
    if not found.minilm:
        return None, f"{found.note}: the models read item ids only"
    vectors = found.aligned("items", shop.items["item_id"])
    return vectors, f"{found.note} ({len(vectors):,} items)"


def fit_models(
    split: SequenceSplit,
    settings: Settings,
    item_vectors: np.ndarray | None = None,
    seed: int = 42,
    names=MODEL_NAMES,
    log=print,
) -> dict[str, SequenceRecommender]:
    """Fit each named model on ``split.train``, early-stopped / tuned on ``split.val``."""
    cfg = asdict(settings)
    models: dict[str, SequenceRecommender] = {}
    for name in names:
        start = time.perf_counter()
        neural = name in LEARNING_RATES
        params = {"learning_rate": LEARNING_RATES[name], "seed": seed, **cfg} if neural else {}
        model = registry.create(REGISTERED[name], **params)
        kwargs = {"item_vectors": item_vectors, "log": log} if name in LEARNING_RATES else {}
        models[name] = model.fit(split.train, split.val, **kwargs)
        if log:
            log(f"{name}: fitted in {time.perf_counter() - start:.1f} s")
    return models


def results_figure(table: pd.DataFrame, title: str) -> go.Figure:
    """NDCG@10 per model with its 95% bootstrap interval, and Recall@20 beside it."""
    t = table.reset_index()
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("NDCG@10 (95% bootstrap interval)", "Recall@20")
    )
    colours = [COLOURS.get(m, "#555555") for m in t["model"]]
    fig.add_bar(
        x=t["model"],
        y=t["ndcg@10"],
        marker_color=colours,
        showlegend=False,
        row=1,
        col=1,
        error_y={
            "type": "data",
            "symmetric": False,
            "array": t["ndcg@10_high"] - t["ndcg@10"],
            "arrayminus": t["ndcg@10"] - t["ndcg@10_low"],
        },
    )
    fig.add_bar(
        x=t["model"], y=t["recall@20"], marker_color=colours, showlegend=False, row=1, col=2
    )
    fig.update_layout(title=title, height=380)
    return fig


def training_figure(models: dict[str, SequenceRecommender]) -> go.Figure:
    """Training loss and validation NDCG@10 per epoch of the neural models (best epoch marked)."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("training loss (cross-entropy)", "validation NDCG@10")
    )
    for name, model in models.items():
        history = getattr(model, "history", None)
        if not history:
            continue
        epochs = np.arange(1, len(history["loss"]) + 1)
        colour = COLOURS.get(name, "#555555")
        fig.add_scatter(x=epochs, y=history["loss"], name=name, line_color=colour, row=1, col=1)
        fig.add_scatter(
            x=epochs[: len(history["val_ndcg@10"])],
            y=history["val_ndcg@10"],
            name=name,
            line_color=colour,
            showlegend=False,
            row=1,
            col=2,
        )
        best = model.info.get("best_epoch")
        if best:
            fig.add_scatter(
                x=[best],
                y=[history["val_ndcg@10"][best - 1]],
                mode="markers",
                showlegend=False,
                marker={"color": colour, "size": 11, "symbol": "star"},
                row=1,
                col=2,
            )
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(height=360)
    return fig


def prefix_length_figure(table: pd.DataFrame) -> go.Figure:
    """NDCG@10 by the test prefix's length (``sequential.ndcg_by_prefix_length``)."""
    fig = go.Figure()
    for name, g in table.groupby("model", sort=False):
        fig.add_scatter(
            x=g["prefix_length"],
            y=g["ndcg@10"],
            name=name,
            mode="lines+markers",
            line_color=COLOURS.get(name, "#555555"),
            customdata=g["prefixes"],
            hovertemplate="%{x}: %{y:.3f} (%{customdata} prefixes)",
        )
    fig.update_layout(
        xaxis_title="items in the prefix (before the target)", yaxis_title="NDCG@10", height=360
    )
    return fig


def example_lists(
    split: SequenceSplit, recs: dict, items: pd.DataFrame, row: int = 0, k: int = 5, last: int = 5
) -> pd.DataFrame:
    """One test prefix's last items, its target and each model's top k, as titles when the
    catalogue has them (else item ids): a reader's check that the lists make sense."""
    label = items.set_index("item_id")["title"] if items["title"].notna().any() else None

    def name(item_id):
        return f"{item_id}: {label.get(item_id)}" if label is not None else str(item_id)

    seq = split.test.inputs.sequence(row)[-last:]
    ids = np.asarray(split.test.inputs.item_ids, dtype=object)
    columns = {
        "prefix (most recent last)": [name(i) for i in ids[seq]],
        "target": [name(ids[split.test.targets[row]])],
    }
    for model, r in recs.items():
        columns[model] = [
            ("✓ " if i == ids[split.test.targets[row]] else "") + name(i)
            for i in r.item_ids[row, :k]
        ]
    width = max(len(v) for v in columns.values())
    return pd.DataFrame({c: v + [""] * (width - len(v)) for c, v in columns.items()})


def metrics_dict(
    rows: list[dict], split: SequenceSplit, models: dict[str, SequenceRecommender]
) -> dict:
    """``recs/<model>/<metric>`` of each model, the protocol, the data counts and training facts."""
    out: dict = {f"recs/protocol/leave-last-out-{split.by}": 1}
    for row in rows:
        out.update(metric_keys(row))
    counts = split.counts
    for key in (
        "train_sequences",
        "train_items",
        "test_sequences",
        "catalogue_items",
        "items_in_training",
        "test_targets_unseen_in_training",
    ):
        out[f"recs/data/{key}"] = counts[key]
    for name, model in models.items():
        info = getattr(model, "info", {})
        for key in ("epochs", "best_epoch", "steps_per_s", "train_seconds", "text_dim"):
            if info.get(key) is not None:
                out[f"recs/{name}/{key}"] = info[key]
        if isinstance(model, SessionItemKNN):
            out[f"recs/{name}/decay"] = model.decay_
    return out


def model_dir(dataset: str, profile: str) -> Path:
    """``models/<dataset>-<profile>/sequential/``: where the neural models are saved."""
    return artefact_dir(dataset, profile, "sequential")


def save_models(models: dict[str, SequenceRecommender], folder: str | Path) -> dict[str, Path]:
    """Save the neural models (``.keras``); the baselines refit in seconds, so are not kept."""
    return {
        name: m.save(Path(folder) / name) for name, m in models.items() if name in LEARNING_RATES
    }


def oracle_model(shop, split: SequenceSplit, seed: int = 0):
    """The ceiling on the synthetic shop: ``sequential.oracle.SequenceOracle`` (the generator's
    own chance of each item being the next new one, given the latent state of the prefix's
    session) fitted on ``split.train``, with a sentence saying what it is; ``(None, why)``
    without the generator's truth tables (any real dataset). Scored like every model with
    ``sequential.evaluate_sequences``; shares with ``recommender_baselines.oracle_shares``."""
    why = unavailable_reason(shop)
    if why is not None:
        return None, why
    model = SequenceOracle(shop, by=split.by, seed=seed).fit(split.train, split.val)
    return model, (
        "the synthetic shop's own chance of each item being the next new one, given the latent "
        f"state of the session of the prefix's last item (grouped by {split.by})"
    )
