"""Scoring purchase-intent models: metrics with bootstrap intervals, the paired difference of
two models, calibration, the early-prediction curve, lift and gain, and the oracle's share of
achievable lift.

The bootstrap is vectorised: a replicate is a vector of resampling counts per session, and
ROC-AUC, average precision, log loss and ECE are computed as count-weighted sums over one
shared sort (``classification.roc_auc`` and the ``weighted_*`` metrics), so 1,000 replicates of
15,000 sessions take about a second rather than a minute. With unit weights each equals
scikit-learn's (and ``binary_report``'s) number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, rng
from shopintent.evaluation.bootstrap import Interval, paired_bootstrap_diff, resample_counts
from shopintent.evaluation.classification import (
    binary_report,
    roc_auc,
    weighted_average_precision,
    weighted_ece,
    weighted_log_loss,
)

METRICS = ("roc_auc", "pr_auc", "log_loss", "ece")
# The name models/purchase_intent/sequence.py imports (rewritten on the training-loop branch).
weighted_roc_auc = roc_auc


_FUNCS = {"roc_auc": roc_auc, "pr_auc": weighted_average_precision, "log_loss": weighted_log_loss,
          "ece": weighted_ece}


def metrics_with_intervals(y, p, n_boot: int = 1000, alpha: float = 0.05, seed: int = DEFAULT_SEED,
                           metrics=METRICS) -> dict[str, Interval]:
    """Each metric on (y, p) with its percentile bootstrap interval over resampled rows (sessions).

    Replicates where a metric is undefined (one class only) are left out of its interval.
    """
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="mergesort")  # sorted once: the metrics then need no gathers
    y, p = np.asarray(y, dtype=np.float64)[order], p[order]
    n = len(y)
    point = {m: float(_FUNCS[m](y, p, np.ones(n))[0]) for m in metrics}
    stats = {m: np.empty(n_boot) for m in metrics}
    for lo, w in resample_counts(rng(seed, "purchase_bootstrap"), n, n_boot):
        for m in metrics:
            stats[m][lo:lo + len(w)] = _FUNCS[m](y, p, w)
    out = {}
    for m in metrics:
        s = stats[m][np.isfinite(stats[m])]
        low, high = np.quantile(s, [alpha / 2, 1 - alpha / 2]) if len(s) else (np.nan, np.nan)
        out[m] = Interval(point[m], float(low), float(high))
    return out


def comparison_table(y, probabilities: dict[str, np.ndarray], n_boot: int = 1000, seed: int = DEFAULT_SEED,
                     oracle_auc: float | None = None) -> pd.DataFrame:
    """One row per model: each metric with its 95% interval (``<metric>``, ``_low``, ``_high``),
    and with an oracle, the share of achievable lift (AUC − 0.5) / (oracle AUC − 0.5)."""
    rows = []
    for name, p in probabilities.items():
        ci = metrics_with_intervals(y, p, n_boot=n_boot, seed=seed)
        row = {"model": name}
        for m, iv in ci.items():
            row |= {m: iv.point, f"{m}_low": iv.low, f"{m}_high": iv.high}
        if oracle_auc is not None:
            row |= {f"lift_share{s}": share_of_lift(row[f"roc_auc{s}"], oracle_auc) for s in ("", "_low", "_high")}
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def paired_difference(y, p_a, p_b, metric: str = "roc_auc", n_boot: int = 1000, alpha: float = 0.05,
                      seed: int = DEFAULT_SEED) -> Interval:
    """metric(a) − metric(b) on the same sessions, with a paired bootstrap interval (each
    replicate resamples the sessions once and scores both models on it)."""
    a, b = np.asarray(p_a, dtype=np.float64), np.asarray(p_b, dtype=np.float64)
    return paired_bootstrap_diff(a, b, _FUNCS[metric], truth=np.asarray(y, dtype=np.float64),
                                 weighted=True, n_boot=n_boot, alpha=alpha,
                                 seed=rng(seed, "purchase_paired_bootstrap"))


def share_of_lift(auc: float, oracle_auc: float) -> float:
    """How much of the lift over chance that the best possible model achieves this one achieves."""
    return float((auc - 0.5) / (oracle_auc - 0.5)) if oracle_auc > 0.5 else float("nan")


def calibration_table(y, raw: dict[str, np.ndarray], calibrated: dict[str, np.ndarray]) -> pd.DataFrame:
    """Log loss, Brier score and ECE of each model's raw (class-weighted) and calibrated scores."""
    rows = []
    for name in raw:
        for stage, p in (("raw", raw[name]), ("calibrated", calibrated[name])):
            r = binary_report(y, np.clip(p, 0, 1))
            rows.append({"model": name, "stage": stage, "log_loss": r["log_loss"], "brier": r["brier"],
                         "ece": r["ece"], "mean_p": float(np.mean(p)), "positive_rate": r["positive_rate"]})
    return pd.DataFrame(rows)


def early_curve(examples, probabilities: dict[str, np.ndarray], max_k: int = 10) -> pd.DataFrame:
    """ROC-AUC after at most k events, k = 1 … ``max_k``: every test session scored on its first
    min(k, n) events (same sessions at every k, so the curve shows what more events buy)."""
    y = examples.labels
    rows = []
    for k in range(1, max_k + 1):
        mask = examples.capped_mask(k)
        ones = np.ones(int(mask.sum()))
        for name, p in probabilities.items():
            auc = roc_auc(y[mask].astype(np.float64), np.asarray(p)[mask], ones)[0]
            rows.append({"k": k, "model": name, "roc_auc": float(auc), "sessions": int(mask.sum()),
                         "still_running": int((examples.prefixes["n_events"].to_numpy()[mask] > k).sum())})
    return pd.DataFrame(rows)


def gain_table(y, probabilities: dict[str, np.ndarray], points: int = 100) -> pd.DataFrame:
    """Cumulative gain: the share of all purchases among the top x% of sessions by score, and the
    lift (that share / x). One row per model and percentile (plus the random and perfect lines)."""
    y = np.asarray(y, dtype=np.float64)
    n, total = len(y), y.sum()
    frac = np.linspace(0, 1, points + 1)[1:]
    top = np.maximum(np.round(frac * n).astype(int), 1)
    rows = []
    for name, p in {**probabilities, "perfect": y}.items():
        order = np.argsort(-np.asarray(p), kind="mergesort")
        gain = np.cumsum(y[order])[top - 1] / max(total, 1)
        rows.append(pd.DataFrame({"model": name, "top_share": frac, "purchase_share": gain, "lift": gain / frac}))
    rows.append(pd.DataFrame({"model": "random", "top_share": frac, "purchase_share": frac, "lift": 1.0}))
    return pd.concat(rows, ignore_index=True)


def top_share(y, p, fraction: float = 0.1) -> float:
    """Share of all purchases held by the ``fraction`` of sessions with the highest scores."""
    y = np.asarray(y, dtype=np.float64)
    k = max(int(round(fraction * len(y))), 1)
    return float(y[np.argsort(-np.asarray(p), kind="mergesort")[:k]].sum() / max(y.sum(), 1))


def describe_sessions(prefixes: pd.DataFrame, session_ids, max_events: int = 14) -> pd.Series:
    """A readable line per session: ``search → view i12 → cart i12 …`` over its observable events."""
    p = prefixes[prefixes["session_id"].isin(pd.Index(session_ids))]
    token = p["event_type"].str.cat(p["item_id"].fillna(p["query_id"]).fillna("").astype(str), sep=" ").str.strip()
    lines = token.groupby(p["session_id"], sort=False).agg(
        lambda s: " → ".join(s.iloc[:max_events]) + (f" … (+{len(s) - max_events})" if len(s) > max_events else ""))
    return lines.reindex(pd.Index(session_ids))


def errors_worth_reading(examples, p: np.ndarray, n: int = 5, oracle: pd.Series | None = None) -> pd.DataFrame:
    """The most confident mistakes on whole sessions: ``n`` non-buyers scored highest (false
    alarms) and ``n`` buyers scored lowest (misses), with their event sequences (and the
    generator's true probability where known: a high truth means the model missed evidence,
    a low one means the outcome was luck)."""
    full = examples.full_mask()
    f = examples.prefixes.loc[full, ["session_id", "label", "n_events", "n_cart"]].assign(p=np.asarray(p)[full])
    if oracle is not None:
        f["true_p"] = f["session_id"].map(oracle)
    alarms = f[f["label"] == 0].nlargest(n, "p").assign(error="false alarm")
    misses = f[f["label"] == 1].nsmallest(n, "p").assign(error="miss")
    out = pd.concat([alarms, misses], ignore_index=True)
    out["events"] = describe_sessions(examples.prefixes, out["session_id"]).to_numpy()
    return out


def purchase_counts(split) -> dict[str, int]:
    """Sessions and purchases per part: what a reader needs to judge whether an AUC means anything."""
    out = {}
    for part, ex in split.parts().items():
        out[f"{part}_sessions"] = len(ex.sessions)
        out[f"{part}_purchases"] = int(ex.sessions["label"].sum())
    return out


def example_sessions(examples, p: np.ndarray, min_events: int = 4, max_events: int = 12) -> list[str]:
    """Two sessions worth explaining: the highest-scored buyer and the highest-scored non-buyer
    (a confident false alarm) among whole sessions of ``min_events``–``max_events`` events."""
    f = examples.prefixes[examples.full_mask()].assign(p=np.asarray(p)[examples.full_mask()])
    mid = f[(f["n_events"] >= min_events) & (f["n_events"] <= max_events)]
    f = mid if mid["label"].nunique() == 2 else f
    out = [f[f["label"] == lab].nlargest(1, "p")["session_id"] for lab in (1, 0)]
    return [s.iloc[0] for s in out if len(s)]


def metrics_dict(table: pd.DataFrame, counts: dict, reliable: bool, curve: pd.DataFrame | None = None,
                 calibration: pd.DataFrame | None = None, top10: dict | None = None,
                 oracle: pd.DataFrame | None = None, difference: Interval | None = None,
                 speed: dict | None = None, ks=(1, 3, 5), calibration_all: pd.DataFrame | None = None) -> dict:
    """The flat ``purchase_intent/...`` metrics of notebook 05. Model scores are None when the
    test period has too few purchases (``reliable`` False); the counts are always recorded."""
    out = {f"purchase_intent/data/{k}": v for k, v in counts.items()}

    def put(key, value):
        out[f"purchase_intent/{key}"] = (float(value) if value is not None and np.isfinite(value) else None) \
            if reliable else None

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
