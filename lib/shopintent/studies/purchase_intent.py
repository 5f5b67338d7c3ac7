"""Notebook 05's settings by profile (the sequence models' epoch limit) and its reading of the
purchase-intent models (notebook 10 reuses the session lines): the data counts it records,
sessions as readable event lines, the sessions worth explaining and the errors worth reading,
and the flat ``purchase_intent/...`` metrics it records. The metrics themselves live in
``shopintent.evaluation.purchase``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.evaluation.bootstrap import Interval
from shopintent.studies.settings import StudySettings


@dataclass(frozen=True)
class Settings(StudySettings):
    """``epochs``: the LSTM and hybrid's epoch limit (early stopping on validation decides)."""

    epochs: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {"epochs": 6},
        "default": {"epochs": 8},
        "full": {"epochs": 20},
    }


def describe_sessions(prefixes: pd.DataFrame, session_ids, max_events: int = 14) -> pd.Series:
    """A readable line per session: ``search → view i12 → cart i12 …`` over its observable
    events (the first ``max_events``, then how many more)."""
    p = prefixes[prefixes["session_id"].isin(pd.Index(session_ids))]
    what = p["item_id"].fillna(p["query_id"]).fillna("").astype(str)
    token = p["event_type"].str.cat(what, sep=" ").str.strip()
    lines = token.groupby(p["session_id"], sort=False).agg(
        lambda s: (
            " → ".join(s.iloc[:max_events])
            + (f" … (+{len(s) - max_events})" if len(s) > max_events else "")
        )
    )
    return lines.reindex(pd.Index(session_ids))


def errors_worth_reading(
    examples, p: np.ndarray, n: int = 5, oracle: pd.Series | None = None
) -> pd.DataFrame:
    """The most confident mistakes on whole sessions: ``n`` non-buyers scored highest (false
    alarms) and ``n`` buyers scored lowest (misses), with their event sequences (and the
    generator's true probability where known: a high truth means the model missed evidence,
    a low one means the outcome was luck)."""
    full = examples.full_mask()
    f = examples.prefixes.loc[full, ["session_id", "label", "n_events", "n_cart"]]
    f = f.assign(p=np.asarray(p)[full])
    if oracle is not None:
        f["true_p"] = f["session_id"].map(oracle)
    alarms = f[f["label"] == 0].nlargest(n, "p").assign(error="false alarm")
    misses = f[f["label"] == 1].nsmallest(n, "p").assign(error="miss")
    out = pd.concat([alarms, misses], ignore_index=True)
    out["events"] = describe_sessions(examples.prefixes, out["session_id"]).to_numpy()
    return out


def purchase_counts(split) -> dict[str, int]:
    """Sessions and purchases per part: what a reader needs to judge whether an AUC means
    anything."""
    out = {}
    for part, ex in split.parts().items():
        out[f"{part}_sessions"] = len(ex.sessions)
        out[f"{part}_purchases"] = int(ex.sessions["label"].sum())
    return out


def example_sessions(
    examples, p: np.ndarray, min_events: int = 4, max_events: int = 12
) -> list[str]:
    """Two sessions worth explaining: the highest-scored buyer and the highest-scored non-buyer
    (a confident false alarm) among whole sessions of ``min_events``–``max_events`` events."""
    f = examples.prefixes[examples.full_mask()].assign(p=np.asarray(p)[examples.full_mask()])
    mid = f[(f["n_events"] >= min_events) & (f["n_events"] <= max_events)]
    f = mid if mid["label"].nunique() == 2 else f
    out = [f[f["label"] == lab].nlargest(1, "p")["session_id"] for lab in (1, 0)]
    return [s.iloc[0] for s in out if len(s)]


def metrics_dict(
    table: pd.DataFrame,
    counts: dict,
    reliable: bool,
    curve: pd.DataFrame | None = None,
    calibration: pd.DataFrame | None = None,
    top10: dict | None = None,
    oracle: pd.DataFrame | None = None,
    difference: Interval | None = None,
    speed: dict | None = None,
    ks=(1, 3, 5),
    calibration_all: pd.DataFrame | None = None,
) -> dict:
    """The flat ``purchase_intent/...`` metrics of notebook 05. Model scores are None when the
    test period has too few purchases (``reliable`` False); the counts are always recorded."""
    out = {f"purchase_intent/data/{k}": v for k, v in counts.items()}

    def put(key, value):
        if not reliable or value is None or not np.isfinite(value):
            value = None
        out[f"purchase_intent/{key}"] = None if value is None else float(value)

    for model, row in table.iterrows():
        for col, value in row.items():
            put(f"{model}/{col}", value)
    if oracle is not None:
        for col in ("roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc"):
            put(f"oracle/{col}", oracle.loc["oracle", col])
    if curve is not None:
        for (model, k), auc in curve.set_index(["model", "k"])["roc_auc"].items():
            if k in ks:
                put(f"{model}/roc_auc_at_{k}_events", auc)
    if calibration is not None:
        raw = calibration[calibration["stage"] == "raw"].set_index("model")
        for model, row in raw.iterrows():
            put(f"{model}/ece_raw", row["ece"])
            put(f"{model}/log_loss_raw", row["log_loss"])
    if calibration_all is not None:  # every prefix, not only whole sessions
        done = calibration_all[calibration_all["stage"] == "calibrated"].set_index("model")
        for model, row in done.iterrows():
            put(f"{model}/ece_all_prefixes", row["ece"])
    for model, share in (top10 or {}).items():
        put(f"{model}/top10_purchase_share", share)
    if difference is not None:
        for name, value in zip(("roc_auc", "roc_auc_low", "roc_auc_high"), difference, strict=True):
            put(f"hybrid_minus_lightgbm/{name}", value)
    for key, value in (speed or {}).items():
        out[f"purchase_intent/lstm/{key}"] = value
    return out
