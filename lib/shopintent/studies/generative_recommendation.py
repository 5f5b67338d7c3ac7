"""Notebook 13's steps: semantic IDs of the catalogue, the generative recommender next to
notebook 08's models under its leave-last-out protocol, cold items, and the random-ID ablation.

The baselines (popularity, item-kNN, LSTM, self-attention) are notebook 08's, fitted by its
``sequential_recommender.fit_models`` and scored by ``session_models.evaluate_leave_last_out``
(same lists, same metrics, same intervals). The LSTM and self-attention read item ids only
here (``text_vectors=None``): they are the id-based models that the cold-item section contrasts
with, and notebook 08 reports them with MiniLM vectors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from shopintent.config import artefact_dir, rng
from shopintent.evaluation.bootstrap import bootstrap_mean_ci, paired_bootstrap_diff
from shopintent.evaluation.ranking import ranking_per_user
from shopintent.models.recommenders.generative import semantic_ids as sid
from shopintent.models.recommenders.sequential.data import NextItems, Sequences, SequenceSplit
from shopintent.studies.settings import StudySettings

COLOURS = {
    "popularity": "#8c8c8c",
    "item_knn": "#2a9d8f",
    "lstm": "#e76f51",
    "self_attention": "#6a4c93",
    "generative": "#1d3557",
    "generative_random_ids": "#a8dadc",
}


@dataclass(frozen=True)
class Settings(StudySettings):
    """``levels`` k-means levels (codes per level by ``semantic_ids.codebook_size`` unless
    ``codes``); the GPT's sizes; ``max_len`` most recent items read; ``epochs`` limit with
    ``patience`` (validation loss); ``beams`` (>= 20: a top-20 list); ``cold_frac`` of the
    trained items held out for the cold-item section (notebook 07's rule)."""

    levels: int
    codes: int | None
    hidden_dim: int
    num_layers: int
    num_heads: int
    intermediate_dim: int
    max_len: int
    epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    beams: int
    cold_frac: float
    behaviour_weight: float  # behaviour vector joined to MiniLM for the codes (0: content only)
    dropout: float
    warmup: float  # share of the training steps that warm the learning rate up
    jit_compile: bool
    recent_only: bool  # train on each sequence's most recent max_len + 1 items only (budget)
    # at most this many test sequences scored (a seeded sample, the same for every model): beam
    # search costs tens of ms per sequence and model on 2 cores; None: all
    test_limit: int | None
    baseline_epochs: int | None  # LSTM / self-attention epoch limit; None: notebook 08's profile

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {
            "levels": 3,
            "codes": None,
            "hidden_dim": 32,
            "num_layers": 1,
            "num_heads": 2,
            "intermediate_dim": 64,
            "max_len": 10,
            "epochs": 2,
            "patience": 1,
            "batch_size": 16,
            "learning_rate": 5e-3,
            "beams": 20,
            "cold_frac": 0.1,
            "behaviour_weight": 1.0,
            "dropout": 0.0,
            "warmup": 0.05,
            "jit_compile": False,
            "recent_only": False,
            "baseline_epochs": 1,
            "test_limit": None,
        },
        "default": {
            "levels": 3,
            "codes": None,
            "hidden_dim": 64,
            "num_layers": 2,
            "num_heads": 2,
            "intermediate_dim": 128,
            "max_len": 20,
            "epochs": 3,
            "patience": 2,
            # batches of 32: twice the updates of 64 for the same tokens and CPU (the cost is per
            # token, not per step); on validation (600 rows) Recall@20 0.238 -> 0.283, loss
            # per code 2.23 -> 1.95; 16 gave 0.287 / 1.81 at +10% CPU, 128 at 6e-3 0.100
            "batch_size": 32,
            "learning_rate": 3e-3,
            "beams": 20,
            "cold_frac": 0.1,
            "behaviour_weight": 1.0,
            "dropout": 0.0,
            "warmup": 0.05,
            "jit_compile": True,
            # every window, 3 epochs (~890 steps of 32): the most the 10-minute budget allows;
            # 2 epochs of the last windows only (155 steps) left the model below popularity
            "recent_only": False,
            "baseline_epochs": None,
            "test_limit": 1_500,
        },
        "full": {
            "levels": 3,
            "codes": None,
            "hidden_dim": 128,
            "num_layers": 4,
            "num_heads": 4,
            "intermediate_dim": 512,
            "max_len": 50,
            "epochs": 40,
            "patience": 3,
            "batch_size": 128,
            "learning_rate": 1e-3,
            "beams": 50,
            "cold_frac": 0.1,
            "behaviour_weight": 1.0,
            "dropout": 0.1,
            "warmup": 0.05,
            "jit_compile": True,
            "recent_only": False,
            "baseline_epochs": None,
            "test_limit": None,
        },
    }

    def model_params(self) -> dict:
        keys = (
            "hidden_dim",
            "num_layers",
            "num_heads",
            "intermediate_dim",
            "max_len",
            "epochs",
            "patience",
            "batch_size",
            "learning_rate",
            "beams",
            "jit_compile",
            "recent_only",
            "dropout",
            "warmup",
        )
        return {k: getattr(self, k) for k in keys}


# -- content vectors and codes ---------------------------------------------------------------


def sample_test(split: SequenceSplit, limit: int | None, seed: int = 42) -> SequenceSplit:
    """The split with at most ``limit`` test sequences: a seeded sample in the split's order,
    its task rows cut alike, so every model is scored on the same rows (None: unchanged)."""
    if limit is None or len(split.test) <= limit:
        return split
    rows = np.sort(
        rng(seed, "generative_test_sample").choice(len(split.test), limit, replace=False)
    )
    test = NextItems(split.test.inputs.take(rows), split.test.targets[rows])
    task = replace(
        split.task,
        users=split.task.users[rows],
        truth=split.task.truth[rows],
        seen=split.task.seen[rows],
    )
    counts = {**split.counts, "test_sequences_scored": limit}
    return replace(split, test=test, task=task, counts=counts)


def behaviour_vectors(train: Sequences, items: pd.DataFrame, dim: int = 32, seed: int = 0):
    """Items as the training sequences they occur in, joined with their category path
    (one-hot per level, where the catalogue has categories), reduced by ``TruncatedSVD`` to
    ``dim``: the content vector of a catalogue without titles (an item never trained keeps its
    category part only)."""
    import scipy.sparse as sp
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    rows = np.repeat(np.arange(len(train)), train.lengths)
    seq = sp.csr_matrix(
        (np.ones(len(rows)), (train.items, rows)), shape=(train.n_items, max(len(train), 1))
    )
    parts = [normalize(seq)]
    if "category" in items and items["category"].notna().any():
        cat = items["category"].astype("string").fillna("")
        levels = cat.str.split(".").apply(lambda p: [".".join(p[: i + 1]) for i in range(len(p))])
        codes = pd.Series(levels.explode().to_numpy())
        owner = np.repeat(np.arange(len(items)), levels.str.len().to_numpy())
        keep = codes.to_numpy() != ""
        col = pd.factorize(codes[keep])[0]
        onehot = sp.csr_matrix(
            (np.ones(keep.sum()), (owner[keep], col)),
            shape=(len(items), col.max() + 1 if len(col) else 1),
        )
        parts.append(normalize(onehot))
    x = sp.hstack(parts).tocsr()
    k = max(1, min(dim, x.shape[1] - 1, x.shape[0] - 1))
    return TruncatedSVD(k, random_state=seed).fit_transform(x)


def cooccurrence_vectors(train: Sequences, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Items as the training sequences they occur in (rows L2-normalised), reduced by
    ``TruncatedSVD`` to ``dim``: items bought by the same shoppers get close vectors (an
    item2vec-like behaviour vector from training interactions only; zero for an item never
    trained)."""
    import scipy.sparse as sp
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    rows = np.repeat(np.arange(len(train)), train.lengths)
    seq = sp.csr_matrix(
        (np.ones(len(rows)), (train.items, rows)), shape=(train.n_items, max(len(train), 1))
    )
    from threadpoolctl import threadpool_limits

    k = max(1, min(dim, seq.shape[1] - 1, seq.shape[0] - 1))
    with threadpool_limits(1):  # small: threads only spin-wait on a loaded machine
        return TruncatedSVD(k, random_state=seed).fit_transform(normalize(seq))


def joined_vectors(
    content: np.ndarray, train: Sequences, weight: float = 1.0, neighbours: int = 10, seed: int = 0
) -> np.ndarray:
    """The content vector joined with a behaviour vector (``cooccurrence_vectors``), each
    L2-normalised, the behaviour part scaled by ``weight``. An item without a training
    interaction (a cold item) borrows the mean behaviour vector of its ``neighbours`` most
    similar trained items by content (cosine), so its codes still follow its text."""
    from sklearn.preprocessing import normalize

    content = normalize(np.asarray(content, dtype=np.float64))
    behaviour = normalize(cooccurrence_vectors(train, seed=seed))
    trained = np.bincount(train.items, minlength=train.n_items) > 0
    cold = np.flatnonzero(~trained)
    if len(cold) and trained.any():
        warm = np.flatnonzero(trained)
        sim = content[cold] @ content[warm].T
        k = min(neighbours, len(warm))
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        behaviour[cold] = normalize(behaviour[warm[top]].mean(axis=1))
    return np.hstack([content, weight * behaviour])


def content_vectors(
    shop,
    dataset: str,
    profile: str,
    train: Sequences,
    mode: str = "auto",
    encode_limit: int = 5000,
    seed: int = 0,
) -> tuple[np.ndarray, str, str]:
    """The vector each item's codes come from, what it is (a sentence) and its kind:
    ``minilm`` (notebook 08's ``text_vectors``: MiniLM titles, notebook 02's saved vectors or
    encoded now) where the catalogue has titles, else ``behaviour`` (``behaviour_vectors``)."""
    from shopintent.studies.sequential_recommender import text_vectors

    vectors, note = text_vectors(shop, dataset, profile, mode, encode_limit)
    if vectors is not None:
        return vectors, note, "minilm"
    return (
        behaviour_vectors(train, shop.items, seed=seed),
        f"{note}; codes from behaviour instead: training sequences joined with the category "
        "path, TruncatedSVD to 32 dimensions",
        "behaviour",
    )


def build_ids(
    vectors: np.ndarray,
    items: pd.DataFrame,
    settings: Settings,
    seed: int = 42,
    train: Sequences | None = None,
    kind: str = "minilm",
) -> sid.SemanticIds:
    """Residual k-means semantic IDs of the catalogue (``semantic_ids.semantic_ids``). With
    ``train``: MiniLM vectors (``kind``) are joined with the training behaviour vector
    (``joined_vectors``, weight ``settings.behaviour_weight``; 0: content only), and the
    disambiguation code numbers a collision group by training popularity (0: the most
    bought); behaviour vectors (a catalogue without titles) are used as they are."""
    priority = None
    if train is not None:
        priority = np.bincount(train.items, minlength=train.n_items)
        if kind == "minilm" and settings.behaviour_weight > 0:
            vectors = joined_vectors(vectors, train, settings.behaviour_weight, seed=seed)
    return sid.semantic_ids(
        vectors, items["item_id"], settings.levels, settings.codes, seed, priority
    )


def code_source(kind: str, settings: Settings) -> str:
    """What the codes are clustered from, in words."""
    if kind != "minilm":
        return "behaviour vectors (no titles)"
    if settings.behaviour_weight > 0:
        return (
            "MiniLM title vectors joined with training co-occurrence vectors "
            f"(weight {settings.behaviour_weight:g}; cold items borrow their text neighbours')"
        )
    return "MiniLM title vectors"


def ids_dir(dataset: str, profile: str) -> Path:
    """``models/<dataset>-<profile>/generative/``: the codes saved with the catalogue."""
    return artefact_dir(dataset, profile, "generative")


def code_summary(ids: sid.SemanticIds) -> dict:
    """Levels, codes per position, collision rate, largest collision group, items."""
    return {
        "items": len(ids.item_ids),
        "levels": ids.levels,
        "codes_per_level": ids.sizes[:-1],
        "dedup_codes": ids.sizes[-1],
        "collision_rate": ids.collision_rate(),
        "distinct_first_codes": int(len(np.unique(ids.codes[:, 0]))),
    }


def sharing_table(ids_by_kind: dict[str, sid.SemanticIds], items: pd.DataFrame) -> pd.DataFrame:
    """Prefix sharing (``semantic_ids.prefix_sharing``) of same-brand and same-category pairs,
    at depth 1 and 2, for each kind of codes; labels the catalogue lacks are left out."""
    rows = []
    for label in ("brand", "category"):
        if label not in items or not items[label].notna().any():
            continue
        for kind, ids in ids_by_kind.items():
            for depth in (1, 2):
                s = sid.prefix_sharing(ids, items[label], depth)
                rows.append({"codes": kind, "same": label, **s})
    return pd.DataFrame(rows)


def examples_by_prefix(ids: sid.SemanticIds, items: pd.DataFrame, n: int = 3, per: int = 4):
    """A few first-code groups with some of their items' titles (or ids): what a code means."""
    label = items["title"] if items["title"].notna().any() else items["item_id"]
    frame = pd.DataFrame({"code": [tuple(c) for c in ids.codes], "item": label.to_numpy()})
    frame["first"] = ids.codes[:, 0]
    biggest = frame["first"].value_counts().index[:n]
    return (
        frame[frame["first"].isin(biggest)]
        .groupby("first", sort=False)
        .head(per)
        .sort_values(["first", "code"])
        .reset_index(drop=True)
    )


# -- models -----------------------------------------------------------------------------------


def fit_generative(
    split_train: Sequences,
    val: NextItems,
    ids,
    settings: Settings,
    seed=42,
    name: str = "generative",
    log=print,
):
    """The generative recommender on ``ids`` (semantic or random codes), fitted and timed."""
    from shopintent.models.recommenders.generative.model import GenerativeRecommender

    model = GenerativeRecommender(ids, seed=seed, name=name, **settings.model_params())
    return model.fit(split_train, val, log=log)


def fit_baselines(split: SequenceSplit, profile: str, seed: int, seconds: dict, names, epochs=None):
    """Notebook 08's models by its own ``fit_models`` (id-only, no text vectors), timed."""
    from functools import partial

    from shopintent.studies import sequential_recommender as seq
    from shopintent.studies.session_models import fit_timed

    settings = seq.Settings.for_profile(profile, epochs=epochs)
    return fit_timed(partial(seq.fit_models, split, settings, None, seed=seed), names, seconds)


def model_facts(models: dict) -> pd.DataFrame:
    """Parameters, epochs, training seconds of the neural models."""
    rows = {}
    for name, m in models.items():
        info = getattr(m, "info", {}) or {}
        params = info.get("parameters")
        if params is None and hasattr(m, "network"):
            params = int(m.network.count_params())
        rows[name] = {
            "parameters": params,
            "epochs": info.get("epochs"),
            "best_epoch": info.get("best_epoch"),
            "train_seconds": info.get("train_seconds"),
        }
    return pd.DataFrame(rows).T


# -- cold items -------------------------------------------------------------------------------


def drop_items(seqs: Sequences, drop: np.ndarray) -> Sequences:
    """``seqs`` without the items where ``drop`` (boolean over the catalogue) is True."""
    keep = ~drop[seqs.items]
    kept = np.r_[0, np.cumsum(keep)]
    lengths = kept[seqs.indptr[1:]] - kept[seqs.indptr[:-1]]
    return Sequences(
        seqs.groups,
        np.r_[0, np.cumsum(lengths)],
        seqs.items[keep],
        seqs.sessions[keep],
        seqs.item_ids,
    )


def cold_split(split: SequenceSplit, items: pd.DataFrame, frac: float, seed: int = 42):
    """Notebook 07's cold items (``two_tower_retrieval.cold_item_holdout``: a seeded ``frac`` of
    the trained items loses every training interaction) applied to the sequences: training and
    validation inputs without them, validation rows whose target is cold dropped. Returns
    ``(train, val, cold mask over the catalogue)``; test prefixes are unchanged (the cold items
    have launched by then)."""
    from shopintent.models.recommenders.sequential.base import sequence_events
    from shopintent.studies.two_tower_retrieval import cold_item_holdout

    _, cold = cold_item_holdout(sequence_events(split.train), items, frac, seed)
    train = drop_items(split.train, cold)
    keep = ~cold[split.val.targets]
    val_inputs = drop_items(split.val.inputs.take(np.flatnonzero(keep)), cold)
    return train, NextItems(val_inputs, split.val.targets[keep]), cold


def cold_recall(
    models: dict,
    split: SequenceSplit,
    cold: np.ndarray,
    k: int = 20,
    n_boot: int = 1000,
    seed: int = 42,
) -> pd.DataFrame:
    """Recall@k of the test rows whose target is a cold item (one target per row: hit rate),
    with a 95% bootstrap interval over those rows, per model."""
    rows = np.flatnonzero(cold[split.test.targets])
    out = {}
    if not len(rows):
        return pd.DataFrame(columns=["recall@20", "recall@20_low", "recall@20_high", "n"])
    inputs = split.test.inputs.take(rows)
    truth = split.test.truth()[rows]
    for name, model in models.items():
        index = model.recommend_sequences(inputs, k, exclude=True).index
        hits = ranking_per_user(index, truth, (k,))[f"recall@{k}"].to_numpy()
        ci = bootstrap_mean_ci(hits, n_boot=n_boot, seed=seed)
        out[name] = {
            f"recall@{k}": float(hits.mean()),
            f"recall@{k}_low": ci.low,
            f"recall@{k}_high": ci.high,
            "n": len(rows),
        }
    return pd.DataFrame(out).T


# -- the ablation and the comparison --------------------------------------------------------


def per_row_recall(recs, split: SequenceSplit, k: int = 20) -> np.ndarray:
    return ranking_per_user(recs.index, split.task.truth, (k,))[f"recall@{k}"].to_numpy()


def paired_difference(a: np.ndarray, b: np.ndarray, n_boot: int = 1000, seed: int = 42) -> dict:
    """Mean of ``a - b`` over the same test rows with its paired 95% bootstrap interval."""
    d = paired_bootstrap_diff(a, b, n_boot=n_boot, seed=seed)
    return {"difference": d.point, "low": d.low, "high": d.high}


def verdict(
    table: pd.DataFrame,
    metric: str = "recall@20",
    model: str = "generative",
    versus: str = "self_attention",
) -> str:
    """Whether ``model`` reaches ``versus`` on ``metric``: above it, inside its interval, or
    below it (with the numbers)."""
    if model not in table.index or versus not in table.index:
        return f"{model} or {versus} missing: no comparison"
    g, s = table.loc[model, metric], table.loc[versus, metric]
    lo, hi = table.loc[versus, f"{metric}_low"], table.loc[versus, f"{metric}_high"]
    where = (
        "at or above it"
        if g >= s
        else f"below it but inside its 95% interval [{lo:.4f}, {hi:.4f}]"
        if g >= lo
        else f"below its 95% interval [{lo:.4f}, {hi:.4f}] by {lo - g:.4f}"
    )
    return f"{metric}: {model} {g:.4f} against {versus} {s:.4f}: {where}."


def results_figure(table: pd.DataFrame, title: str) -> go.Figure:
    """Recall@20 per model with its 95% interval, and the generation / prediction time."""
    t = table.reset_index()
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Recall@20 (95% bootstrap interval)", "ms per test sequence (top-20 list)"),
    )
    colours = [COLOURS.get(m, "#555555") for m in t["model"]]
    fig.add_bar(
        x=t["model"],
        y=t["recall@20"],
        marker_color=colours,
        showlegend=False,
        row=1,
        col=1,
        error_y={
            "type": "data",
            "symmetric": False,
            "array": t["recall@20_high"] - t["recall@20"],
            "arrayminus": t["recall@20"] - t["recall@20_low"],
        },
    )
    fig.add_bar(
        x=t["model"], y=t["predict_ms"], marker_color=colours, showlegend=False, row=1, col=2
    )
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(title=title, height=380)
    return fig


def training_figure(models: dict) -> go.Figure:
    """Training and validation loss per epoch of the generative models (nats per code)."""
    fig = go.Figure()
    for name, m in models.items():
        h = getattr(m, "history", {}) or {}
        for key, dash in (("loss", "solid"), ("val_loss", "dot")):
            if key in h:
                fig.add_scatter(
                    x=np.arange(1, len(h[key]) + 1),
                    y=h[key],
                    name=f"{name} {key}",
                    line={"color": COLOURS.get(name, "#555"), "dash": dash},
                )
    fig.update_layout(xaxis_title="epoch", yaxis_title="cross-entropy per code token", height=340)
    return fig


def training_sentence(model, limit: int) -> str:
    """A generative model's validation loss by epoch and whether the epoch limit stopped it
    while the loss was still falling (then more epochs, not another model, is the next step)."""
    losses = [round(v, 3) for v in model.history.get("val_loss", [])]
    best, epochs = model.info.get("best_epoch"), model.info.get("epochs")
    text = f"{model.name}: validation loss by epoch {losses}, best epoch {best} of {epochs}"
    if best is not None and best == epochs == limit:
        text += f" (still falling at the limit of {limit} epochs: the budget stopped it)"
    return text + "."


def timed(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), wall seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def metrics_dict(
    rows: list[dict],
    split: SequenceSplit,
    models: dict,
    ids,
    cold_table,
    ablation: dict,
    sharing: pd.DataFrame,
) -> dict:
    """``recs/<model>/...`` of every model (notebook 08's keys), the generative models' size,
    epochs, training seconds and generation ms; cold-item recall with interval; the ablation's
    paired difference; the codes' collision rate and prefix sharing."""
    from shopintent.studies.sequential_recommender import metrics_dict as nb08_metrics
    from shopintent.studies.session_models import Fitted, leave_last_out_metrics

    out = nb08_metrics(rows, split, models) | leave_last_out_metrics(rows, Fitted())
    for name, m in models.items():
        info = getattr(m, "info", {}) or {}
        if info.get("parameters") is not None:
            out[f"recs/{name}/parameters"] = float(info["parameters"])
    for name, r in cold_table.iterrows():
        for key in ("recall@20", "recall@20_low", "recall@20_high"):
            out[f"recs/{name}/cold_item_{key}"] = float(r[key])
    if len(cold_table):
        out["recs/data/cold_item_test_rows"] = float(cold_table["n"].iloc[0])
    for key, value in ablation.items():
        suffix = {"difference": "", "low": "_low", "high": "_high"}[key]
        out[f"recs/generative/semantic_minus_random/recall@20{suffix}"] = float(value)
    out["recs/generative/codes/collision_rate"] = ids.collision_rate()
    out["recs/generative/codes/levels"] = float(ids.levels)
    out["recs/generative/codes/codes_per_level"] = float(ids.sizes[0])
    for _, r in sharing[sharing["codes"] == "semantic"].iterrows():
        out[f"recs/generative/codes/same_{r['same']}_prefix{r['depth']}_lift"] = float(r["lift"])
    return out
