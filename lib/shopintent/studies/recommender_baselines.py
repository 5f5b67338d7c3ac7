"""Notebook 06's comparison: score tuned models under one protocol, set them next to published
numbers, draw the figures and write what later notebooks reuse.

Protocols: ``temporal-global-cutoff`` (ours, on any dataset) and ``msr-stratified-75-25``
(Microsoft Recommenders' MovieLens benchmark, only to compare with its published table).
Outputs: fitted states as ``.npz`` in ``models/<dataset>-<profile>/recommenders/`` (load with
``registry.load(name, path)``) and top-k lists as ``recs_<model>.parquet`` beside the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import scipy.sparse as sp

from shopintent.config import artefact_dir
from shopintent.evaluation.ranking import map_at_k
from shopintent.models.recommenders import oracle
from shopintent.models.recommenders.base import Recommender
from shopintent.models.recommenders.evaluate import RecTask, evaluate_recs, metric_keys
from shopintent.models.recommenders.tune import Tuned
from shopintent.studies.settings import StudySettings

MOVIELENS = "movielens-100k"
#: Sections 5 of notebook 06 and 8 of notebook 07 read MovieLens-100K whatever the run's dataset:
#: their metric keys start with its name (see ``reporting``), in every run, its own included.
MSR_PROTOCOL = f"{MOVIELENS}/msr_protocol"
MSR_TUNING = f"{MOVIELENS}/msr_tuning"
MSR_METRICS = (
    "ndcg@10",
    "ndcg@10_low",
    "ndcg@10_high",
    "precision@10",
    "recall@10",
    "map@10",
    "map_legacy@10",
)
#: Microsoft Recommenders' MovieLens-100K benchmark (stratified 75/25, k=10, seen items removed),
#: as quoted in issue 8 and ../shared/data/README.md; their MAP predates MAP@k
#: (see ``legacy_map_at_k``)
MSR_PUBLISHED = pd.DataFrame(
    [
        {"model": "BiVAE", "ndcg@10": 0.475},
        {
            "model": "BPR (cornac)",
            "ndcg@10": 0.442,
            "precision@10": 0.388,
            "recall@10": 0.213,
            "map_legacy@10": 0.133,
        },
        {"model": "NCF", "ndcg@10": 0.396},
        {"model": "SAR", "ndcg@10": 0.383},
    ]
).set_index("model")


@dataclass(frozen=True)
class Settings(StudySettings):
    """``msr_val_repeats``: random validation folds averaged when tuning under the MSR protocol
    (section 5). The models' search spaces by profile belong to the registry
    (``tune.search_space``)."""

    msr_val_repeats: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {"msr_val_repeats": 1},
        "default": {"msr_val_repeats": 2},
        "full": {"msr_val_repeats": 2},
    }


#: the ceiling's name in tables and keys (``recs/oracle/...``), and the metrics read as its shares
ORACLE = "oracle"
ORACLE_SHARES = ("ndcg@10", "recall@20")

COLOURS = {
    "oracle": "#d4a017",
    "popularity": "#8c8c8c",
    "recent_popularity": "#b5b5b5",
    "item_knn": "#2a9d8f",
    "ease": "#264653",
    "als": "#e76f51",
    "bpr": "#f4a261",
}


def legacy_map_at_k(recs, truth, k: int = 10) -> float:
    """MAP as Microsoft Recommenders computed it before 1.2: AP@k divided by the user's number of
    relevant items, not min(k, n_relevant); the published "MAP" column uses it, so it runs lower
    than ``map@10`` whenever users hold more than k relevant items."""
    truth = sp.csr_matrix(truth)
    n_rel = np.diff(truth.indptr)
    ap = map_at_k(recs, truth, k, per_user=True)
    return float(np.nanmean(ap * np.minimum(k, n_rel) / np.maximum(n_rel, 1)))


def evaluate_models(
    models: dict[str, Recommender], task: RecTask, *, n_boot: int = 1000, seed: int = 0, k: int = 20
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Each model's top-``k`` for the task's users (seen items removed) and its ``evaluate_recs``
    row, plus ``map_legacy@10``; returns the rows and the top-k index per model."""
    rows, recs = [], {}
    for name, model in models.items():
        recs[name] = model.recommend(task.users, k).index
        row = evaluate_recs(name, recs[name], task, n_boot=n_boot, seed=seed)
        row["map_legacy@10"] = legacy_map_at_k(recs[name], task.truth, 10)
        rows.append(row)
    return rows, recs


def oracle_model(shop, train: pd.DataFrame, seed: int = 0) -> tuple[Recommender | None, str]:
    """The ceiling: ``oracle.UserOracle`` (the generator's own chance that one session of the user
    touches each item, given the user's latent tastes) fitted on ``train`` — only to exclude
    each user's seen items, as for every model — and a sentence saying what it is; or None and
    why there is none (no truth tables: any real dataset)."""
    why = oracle.unavailable_reason(shop)
    if why is not None:
        return None, why
    model = oracle.UserOracle(shop, seed=seed).fit(train, shop.items)
    return model, (
        "the synthetic shop's own chance that a session of the user touches each item, given the "
        f"user's latent tastes ({model.sessions_per_user} simulated session latents per user, "
        "exact given them)"
    )


def oracle_shares(rows: list[dict], metrics=ORACLE_SHARES, prefix: str = "recs") -> dict:
    """``<prefix>/<model>/share_of_oracle/<metric>``: each model's score over the oracle's on the
    same test rows (1 = the achievable in expectation); empty when no row is the oracle's."""
    by_name = {row["model"]: row for row in rows}
    if ORACLE not in by_name:
        return {}
    top = by_name[ORACLE]
    return {
        f"{prefix}/{name}/share_of_oracle/{m}": oracle.share_of_oracle(row[m], top[m])
        for name, row in by_name.items()
        if name != ORACLE
        for m in metrics
    }


def oracle_share_table(rows: list[dict], metrics=ORACLE_SHARES) -> pd.DataFrame:
    """One row per model: its ``metrics`` as shares of the oracle's, best first (empty without
    an oracle row)."""
    shares = oracle_shares(rows, metrics)
    table = pd.DataFrame(
        [
            {"model": name, **{m: shares[f"recs/{name}/share_of_oracle/{m}"] for m in metrics}}
            for name in dict.fromkeys(k.split("/")[1] for k in shares)
        ],
        columns=["model", *metrics],
    ).set_index("model")
    return table.rename(columns={m: f"{m} / oracle" for m in metrics}).sort_values(
        f"{metrics[0]} / oracle", ascending=False
    )


def msr_comparison(rows: list[dict]) -> pd.DataFrame:
    """Our models (MSR protocol) stacked over the published table (``source`` says which)."""
    ours = (
        pd.DataFrame(rows)
        .set_index("model")[[c for c in MSR_METRICS if c != "ndcg@10_low" and c != "ndcg@10_high"]]
        .assign(source="measured here")
    )
    theirs = MSR_PUBLISHED.assign(source="published (Microsoft Recommenders)")
    return pd.concat([ours, theirs]).sort_values("ndcg@10", ascending=False)


def metrics_dict(
    rows: list[dict],
    tuned: dict[str, Tuned],
    msr_rows: list[dict] | None = None,
    msr_tuned: dict[str, Tuned] | None = None,
    counts: dict | None = None,
) -> dict:
    """The flat keys notebook 06 records: ``recs/<model>/...`` (``evaluate.metric_keys``), each
    model's validation NDCG@10 and chosen numeric parameters (``tuning/<model>/...``), and under
    the MSR protocol on MovieLens-100K ``movielens-100k/msr_protocol/<model>/<metric>`` for
    ``MSR_METRICS`` (its tuning under ``movielens-100k/msr_tuning/...``)."""
    out: dict = {}
    for row in rows:
        out.update(metric_keys(row))
        out[f"recs/{row['model']}/precision@10"] = float(row["precision@10"])
    for prefix, group in (("tuning", tuned), (MSR_TUNING, msr_tuned or {})):
        for name, t in group.items():
            out[f"{prefix}/{name}/val_ndcg@10"] = t.val_score
            out.update(
                {
                    f"{prefix}/{name}/{p}": float(v)
                    for p, v in t.params.items()
                    if isinstance(v, (int, float))
                    and not isinstance(v, bool)
                    and p not in ("seed", "threads")
                }
            )
    for row in msr_rows or []:
        out.update({f"{MSR_PROTOCOL}/{row['model']}/{m}": float(row[m]) for m in MSR_METRICS})
    out.update({f"recs/data/{k}": v for k, v in (counts or {}).items()})
    return out


def task_counts(task: RecTask, prefix: str = "") -> dict[str, int]:
    """How many users a task scores, how many of them are cold, and the catalogue size."""
    evaluated = np.diff(task.truth.indptr) > 0
    return {
        f"{prefix}test_users": int(evaluated.sum()),
        f"{prefix}cold_users": int((task.cold_users & evaluated).sum()),
        f"{prefix}train_users": int(task.train.n_users),
        f"{prefix}items": int(task.train.n_items),
    }


def best_by_validation(tuned: dict[str, Tuned], exclude=("popularity", "recent_popularity")) -> str:
    """The learned model with the best validation NDCG@10: chosen without looking at the test."""
    return max((n for n in tuned if n not in exclude), key=lambda n: tuned[n].val_score)


# ---- figures -------------------------------------------------------------------------------------


def ndcg_figure(
    table: pd.DataFrame, title: str, reference: dict[str, float] | None = None
) -> go.Figure:
    """Which model ranks held-out items highest, and is the gap larger than bootstrap noise?"""
    t = table.sort_values("ndcg@10")
    fig = go.Figure(
        go.Bar(
            x=t["ndcg@10"],
            y=t.index,
            orientation="h",
            marker_color=[COLOURS.get(m, "#6a4c93") for m in t.index],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": t["ndcg@10_high"] - t["ndcg@10"],
                "arrayminus": t["ndcg@10"] - t["ndcg@10_low"],
            },
        )
    )
    for i, (label, value) in enumerate((reference or {}).items()):
        fig.add_vline(
            x=value,
            line={"dash": "dot", "color": "#999"},
            annotation_text=label,
            annotation_position="top" if i % 2 == 0 else "bottom",
        )
    fig.update_layout(
        title=title, xaxis_title="NDCG@10 (95% bootstrap interval over users)", height=380
    )
    return fig


def tradeoff_figure(table: pd.DataFrame) -> go.Figure:
    """Accuracy against breadth: does a model buy its NDCG by recommending the same few items?"""
    fig = go.Figure()
    for name, row in table.iterrows():
        fig.add_scatter(
            x=[row["coverage"]],
            y=[row["ndcg@10"]],
            mode="markers+text",
            text=[name],
            textposition="top center",
            name=name,
            marker={
                "size": 8 + 2 * row.get("novelty@10", 0),
                "color": COLOURS.get(name, "#6a4c93"),
            },
        )
    fig.update_layout(
        title="NDCG@10 against catalogue coverage of the top-10 lists (marker size: novelty)",
        xaxis_title="catalogue coverage@10",
        yaxis_title="NDCG@10",
        showlegend=False,
        height=420,
    )
    return fig


def tuning_figure(tuned: Tuned, param: str, by: str | None = None) -> go.Figure:
    """How sensitive is a model to its main parameter on validation (log x axis)?"""
    t = tuned.table.sort_values(param)
    fig = go.Figure()
    for key, g in t.groupby(by, sort=True) if by and by in t else [(None, t)]:
        fig.add_scatter(
            x=g[param],
            y=g["ndcg@10"],
            mode="lines+markers",
            name=f"{by}={key}" if by else tuned.name,
        )
    fig.update_xaxes(type="log", title_text=param)
    fig.update_layout(
        title=f"{tuned.name}: validation NDCG@10 against {param} ({tuned.protocol})",
        yaxis_title="validation NDCG@10",
        height=360,
    )
    return fig


# ---- outputs -------------------------------------------------------------------------------------


def model_dir(dataset: str, profile: str) -> Path:
    """``models/<dataset>-<profile>/recommenders/``: where notebook 06 saves fitted states."""

    return artefact_dir(dataset, profile, "recommenders")


def recs_frame(model: Recommender, users, k: int, protocol: str) -> pd.DataFrame:
    """Long table ``user_id, rank, item_id, score, model, protocol`` of ``model``'s top-k."""
    frame = model.recommend(users, k).to_frame(users).rename(columns={"query": "user_id"})
    return frame.assign(model=model.name, protocol=protocol)


def movielens_for_msr(dataset: str, shop, source: str | Path | None):
    """MovieLens-100K for the MSR-protocol section, and where it came from: the notebook's own
    dataset when it was read from MovieLens-100K files (``meta["format"]``), else the prepared
    copy, else read (not saved) from ``source`` (a relative path is taken from the repository
    root); ``(None, reason)`` when none of them exists."""
    from shopintent.config import PROJECT_ROOT
    from shopintent.data import registry

    if shop.meta.get("format") == MOVIELENS:  # the source layout, whatever it was prepared as
        return shop, f"the notebook's own dataset ({dataset})"
    if registry.is_prepared(MOVIELENS):
        return registry.load(MOVIELENS), f"prepared at {registry.dataset_dir(MOVIELENS)}"
    if source:
        path = (Path(source) if Path(source).is_absolute() else PROJECT_ROOT / source).resolve()
        if path.exists():
            from shopintent.data.sources import movielens

            return movielens.load(path), f"read from {path} (in memory, not saved)"
        return (
            None,
            f"MovieLens-100K is not prepared and MOVIELENS_SOURCE={source} does not exist ({path})",
        )
    return None, "MovieLens-100K is not prepared and MOVIELENS_SOURCE is empty"
