"""Notebook 11's settings by profile, the purchase-intent scores it reads from notebook 05, and its
recorded metrics: flat ``ab/...`` and ``bandit/...`` keys, true values next to estimates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.studies.settings import StudySettings


@dataclass(frozen=True)
class Settings(StudySettings):
    """Simulated experiments for the A/A, power and CUPED checks (``n_reps``) and bandit rounds
    (``n_rounds``, one session each)."""

    n_reps: int
    n_rounds: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {"n_reps": 200, "n_rounds": 20_000},
        "default": {"n_reps": 500, "n_rounds": 100_000},
        "full": {"n_reps": 1000, "n_rounds": 300_000},
    }


def load_purchase_intent(folder) -> pd.DataFrame | None:
    """Notebook 05's ``purchase_intent.parquet`` in a dataset folder; None if it was not written."""
    path = Path(folder) / "purchase_intent.parquet"
    if not path.is_file():
        return None
    table = pd.read_parquet(path)
    missing = {"user_id", "is_full"} - set(table.columns)
    if missing:
        raise ValueError(
            f"{path}: expected columns user_id, is_full and p_<model>; "
            f"missing {', '.join(sorted(missing))}"
        )
    return table


def ab_metrics(
    table: pd.DataFrame, truth: pd.DataFrame, n_users: int, n_sessions: int
) -> dict[str, float]:
    """``ab/<metric>/{lift,lift_low,lift_high,diff,diff_low,diff_high,p_value,true_lift,true_diff}``
    from ``ab.ab_table`` (z-test for conversion, Welch for revenue, plus the revenue bootstrap
    interval)."""
    out: dict[str, float] = {"ab/data/users": n_users, "ab/data/sessions": n_sessions}
    for row in table.itertuples():
        if row.method.startswith("bootstrap"):
            out[f"ab/{row.metric}/bootstrap_diff_low"] = row.diff_low
            out[f"ab/{row.metric}/bootstrap_diff_high"] = row.diff_high
            continue
        prefix = f"ab/{row.metric}"
        out.update(
            {
                f"{prefix}/mean_a": row.mean_a,
                f"{prefix}/mean_b": row.mean_b,
                f"{prefix}/lift": row.lift,
                f"{prefix}/lift_low": row.lift_low,
                f"{prefix}/lift_high": row.lift_high,
                f"{prefix}/diff": row.diff,
                f"{prefix}/diff_low": row.diff_low,
                f"{prefix}/diff_high": row.diff_high,
                f"{prefix}/p_value": row.p_value,
            }
        )
        if row.metric in truth.index:
            out[f"{prefix}/true_lift"] = truth.loc[row.metric, "true_lift"]
            out[f"{prefix}/true_diff"] = truth.loc[row.metric, "true_diff"]
    return out


def bandit_metrics(
    summary: pd.DataFrame, offline: pd.DataFrame, rounds: int, oracle_reward: float
) -> dict[str, float]:
    """Per policy cumulative regret (vs the per-round best arm) and regret vs the best fixed arm;
    off-policy estimates per target policy, and each estimator's mean absolute error."""
    out: dict[str, float] = {
        "bandit/data/rounds": rounds,
        "bandit/oracle/mean_reward": oracle_reward,
    }
    for policy, row in summary.iterrows():
        out[f"bandit/{policy}/cumulative_regret"] = row["cumulative_regret"]
        out[f"bandit/{policy}/regret_vs_best_fixed"] = row["regret_vs_best_fixed"]
        out[f"bandit/{policy}/mean_reward"] = row["expected_reward"] / rounds
    for policy, row in offline.iterrows():
        out[f"bandit/truth/{policy}/value"] = row["truth"]
        for est in ("replay", "ips", "snips"):
            out[f"bandit/{est}/{policy}/value"] = row[est]
    for est in ("replay", "ips", "snips"):
        out[f"bandit/{est}/estimate_error"] = float(np.abs(offline[f"{est}_error"]).mean())
        out[f"bandit/{est}/relative_error"] = float(
            (np.abs(offline[f"{est}_error"]) / offline["truth"]).mean()
        )
    out["bandit/ips/interval_coverage"] = float(offline["ips_covers_truth"].mean())
    return out
