"""Off-policy evaluation: a policy's value estimated from another policy's logs.

The log comes from a uniform-random logging policy (propensity 1/K, known). Three estimators
of a deterministic target policy π's mean reward:

- replay (Li, Chu, Langford & Wang, WSDM 2011): the mean reward of the logged rounds where
  the logged arm equals π's choice — unbiased for uniform logging, uses ~1/K of the rounds;
- IPS: mean of r · 1[a = π(x)] / p(a | x) over all rounds — unbiased for any known propensity;
- self-normalised IPS: Σ r w / Σ w — a little biased, usually less variable.

The online truth of π is its mean *expected* reward on an independent stream of rounds, which
only a simulator can give.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.config import rng


@dataclass(frozen=True)
class Log:
    """Logged rounds: contexts, logged arms, their propensities and the drawn rewards."""

    X: np.ndarray
    actions: np.ndarray
    propensity: np.ndarray
    rewards: np.ndarray


def log_uniform(X: np.ndarray, expected: np.ndarray, seed: int) -> Log:
    """Log a uniform-random policy over K arms on these rounds (rewards drawn from ``expected``)."""
    gen = rng(seed, "experiments", "logging")
    T, K = expected.shape
    actions = gen.integers(0, K, T)
    rewards = (gen.random(T) < expected[np.arange(T), actions]).astype(float)
    return Log(X, actions, np.full(T, 1.0 / K), rewards)


def replay(log: Log, target: np.ndarray) -> tuple[float, int]:
    """Replay estimate and the number of rounds it used (nan if none matched)."""
    match = log.actions == target
    return (float(log.rewards[match].mean()) if match.any() else float("nan")), int(match.sum())


def ips(log: Log, target: np.ndarray) -> float:
    return float(np.mean(log.rewards * (log.actions == target) / log.propensity))


def snips(log: Log, target: np.ndarray) -> float:
    w = (log.actions == target) / log.propensity
    return float((log.rewards * w).sum() / w.sum()) if w.sum() > 0 else float("nan")


def ips_interval(log: Log, target: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """Normal-approximation interval of IPS (its terms are i.i.d. over rounds)."""
    terms = log.rewards * (log.actions == target) / log.propensity
    half = z * terms.std(ddof=1) / np.sqrt(len(terms))
    return float(terms.mean() - half), float(terms.mean() + half)


def evaluate(log: Log, targets: dict[str, np.ndarray], truth: dict[str, float]) -> pd.DataFrame:
    """Per target policy: replay, IPS (with interval), SNIPS estimates next to the online truth."""
    rows = []
    for name, target in targets.items():
        value, used = replay(log, target)
        low, high = ips_interval(log, target)
        rows.append(
            {
                "policy": name,
                "truth": truth[name],
                "replay": value,
                "replay_rounds": used,
                "ips": ips(log, target),
                "ips_low": low,
                "ips_high": high,
                "snips": snips(log, target),
            }
        )
    out = pd.DataFrame(rows).set_index("policy")
    for est in ("replay", "ips", "snips"):
        out[f"{est}_error"] = out[est] - out["truth"]
    out["ips_covers_truth"] = (out["ips_low"] <= out["truth"]) & (out["truth"] <= out["ips_high"])
    return out


def target_actions(
    X: np.ndarray, arm_names, learned: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Arms chosen on contexts ``X`` by every fixed-arm policy and by greedy linear policies
    (``learned``: name → (K, d) coefficients, e.g. a trained LinUCB's ``theta``)."""
    out = {name: np.full(len(X), i) for i, name in enumerate(arm_names)}
    for name, theta in (learned or {}).items():
        out[name] = np.argmax(X @ np.asarray(theta).T, axis=1)
    return out


def true_values(expected: np.ndarray, actions: dict[str, np.ndarray]) -> dict[str, float]:
    """Each policy's online truth: the mean expected reward of its choices on independent rounds."""
    rows = np.arange(len(expected))
    return {name: float(expected[rows, a].mean()) for name, a in actions.items()}
