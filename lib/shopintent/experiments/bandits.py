"""Contextual bandits choosing which recommender arm to show, run against known expected rewards.

Policies: ``LinUCB`` (disjoint ridge regression per arm plus an upper-confidence bonus, Li,
Chu, Langford & Schapire, WWW 2010), ``LinearThompson`` (the same per-arm Bayesian ridge
posterior, sampled, Agrawal & Goyal, ICML 2013), ``BetaThompson`` (Beta-Bernoulli per arm and
context bin), ``UniformRandom`` and ``FixedArm``. Models are refreshed every ``batch`` rounds,
as a served model would be, which also lets each batch be scored in one matrix product.

``run`` plays a policy over T rounds whose true expected rewards ``expected`` (T, K) are known
(the simulator computes them): the policy sees only the context and the drawn reward of the
arm it chose, and the regret is measured against the truth, never against the draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.config import rng


class _Ridge:
    """Per-arm ridge statistics A = λI + ΣxxT, b = Σrx and their solution, refreshed per batch."""

    def __init__(self, n_arms: int, dim: int, ridge: float = 1.0):
        self.A = np.tile(ridge * np.eye(dim), (n_arms, 1, 1))
        self.b = np.zeros((n_arms, dim))
        self._refresh()

    def _refresh(self) -> None:
        self.A_inv = np.linalg.inv(self.A)
        self.theta = np.einsum("kij,kj->ki", self.A_inv, self.b)

    def update(self, X: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> None:
        for a in np.unique(actions):
            m = actions == a
            self.A[a] += X[m].T @ X[m]
            self.b[a] += X[m].T @ rewards[m]
        self._refresh()


class LinUCB(_Ridge):
    """Disjoint LinUCB: arm = argmax θ_aᵀx + α √(xᵀA_a⁻¹x); α = 0 is the greedy ridge policy."""

    name = "linucb"

    def __init__(self, n_arms: int, dim: int, alpha: float = 0.1, ridge: float = 1.0):
        super().__init__(n_arms, dim, ridge)
        self.alpha = alpha

    def scores(self, X: np.ndarray) -> np.ndarray:
        mean = X @ self.theta.T
        width = np.sqrt(np.maximum(np.einsum("ni,kij,nj->nk", X, self.A_inv, X), 0.0))
        return mean + self.alpha * width

    def choose(self, X: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        s = self.scores(X)
        return np.argmax(s + 1e-12 * gen.random(s.shape), axis=1)  # random tie-break


class LinearThompson(_Ridge):
    """Thompson sampling with a Gaussian posterior N(θ_a, v² A_a⁻¹) per arm, one draw per round."""

    name = "thompson"

    def __init__(self, n_arms: int, dim: int, v: float = 0.1, ridge: float = 1.0):
        super().__init__(n_arms, dim, ridge)
        self.v = v

    def _refresh(self) -> None:
        super()._refresh()
        self.chol = np.linalg.cholesky((self.A_inv + self.A_inv.transpose(0, 2, 1)) / 2)

    def choose(self, X: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        z = gen.standard_normal((len(X), *self.theta.shape))  # (n, K, d)
        draws = self.theta[None] + self.v * np.einsum("kij,nkj->nki", self.chol, z)
        return np.argmax(np.einsum("nd,nkd->nk", X, draws), axis=1)


class BetaThompson:
    """Beta(1 + successes, 1 + failures) per (context bin, arm).

    ``bins(X)`` maps contexts to bins.
    """

    name = "thompson_beta"

    def __init__(self, n_arms: int, n_bins: int, bins):
        self.alpha = np.ones((n_bins, n_arms))
        self.beta = np.ones((n_bins, n_arms))
        self.bins = bins

    def choose(self, X: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        b = self.bins(X)
        return np.argmax(gen.beta(self.alpha[b], self.beta[b]), axis=1)

    def update(self, X: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> None:
        cell = self.bins(X) * self.alpha.shape[1] + actions
        size = self.alpha.size
        self.alpha += np.bincount(cell, weights=rewards, minlength=size).reshape(self.alpha.shape)
        self.beta += np.bincount(cell, weights=1.0 - rewards, minlength=size).reshape(
            self.beta.shape
        )


@dataclass
class UniformRandom:
    n_arms: int
    name: str = "random"

    def choose(self, X: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        return gen.integers(0, self.n_arms, len(X))

    def update(self, X, actions, rewards) -> None:
        pass


@dataclass
class FixedArm:
    arm: int
    name: str = "fixed"

    def choose(self, X: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        return np.full(len(X), self.arm)

    def update(self, X, actions, rewards) -> None:
        pass


@dataclass(frozen=True)
class BanditRun:
    """One policy's play: chosen arms, drawn rewards, and per-round regret against the best arm."""

    name: str
    actions: np.ndarray
    rewards: np.ndarray
    regret: np.ndarray  # max_a E[r | x_t, a] − E[r | x_t, a_t]

    @property
    def cumulative_regret(self) -> np.ndarray:
        return np.cumsum(self.regret)


def run(
    policy,
    X: np.ndarray,
    expected: np.ndarray,
    uniforms: np.ndarray,
    gen: np.random.Generator,
    batch: int = 50,
) -> BanditRun:
    """Play ``policy`` over the rounds; reward_t = 1[u_t < E[r | x_t, a_t]].

    Sharing ``uniforms`` across policies gives them common random numbers: a round rewards
    every policy that chose the same arm alike, which makes their comparison less noisy.
    """
    T, K = expected.shape
    if X.shape[0] != T or uniforms.shape != (T,):
        raise ValueError(
            f"contexts {X.shape}, expected rewards {expected.shape} and uniforms {uniforms.shape} "
            "must have one row per round"
        )
    actions = np.empty(T, dtype=np.int64)
    for start in range(0, T, batch):
        sl = np.arange(start, min(start + batch, T))
        actions[sl] = policy.choose(X[sl], gen)
        policy.update(X[sl], actions[sl], (uniforms[sl] < expected[sl, actions[sl]]).astype(float))
    rows = np.arange(T)
    rewards = (uniforms < expected[rows, actions]).astype(float)
    return BanditRun(policy.name, actions, rewards, expected.max(axis=1) - expected[rows, actions])


def play_all(
    policies, X: np.ndarray, expected: np.ndarray, seed: int, batch: int = 50
) -> list[BanditRun]:
    """Every policy on the same rounds with the same reward uniforms (common random numbers)."""
    uniforms = rng(seed, "experiments", "rewards").random(len(X))
    return [
        run(p, X, expected, uniforms, rng(seed, "experiments", "policy", p.name), batch)
        for p in policies
    ]


def best_fixed_arm(expected: np.ndarray) -> int:
    """The arm with the highest mean expected reward over the rounds (the best in hindsight)."""
    return int(np.argmax(expected.mean(axis=0)))


def summary(runs: list[BanditRun], arm_names: list[str], expected: np.ndarray) -> pd.DataFrame:
    """Per policy: cumulative regret (vs the per-round best arm), reward and regret relative to the
    best fixed arm, and how often each arm was chosen."""
    fixed = expected[:, best_fixed_arm(expected)].sum()
    rows = []
    for r in runs:
        mean_reward = float(expected[np.arange(len(r.actions)), r.actions].sum())
        shares = np.bincount(r.actions, minlength=len(arm_names)) / len(r.actions)
        rows.append(
            {
                "policy": r.name,
                "cumulative_regret": float(r.regret.sum()),
                "regret_vs_best_fixed": fixed - mean_reward,
                "expected_reward": mean_reward,
                "drawn_reward": float(r.rewards.sum()),
                **{f"share_{a}": s for a, s in zip(arm_names, shares, strict=True)},
            }
        )
    return pd.DataFrame(rows).set_index("policy")


def tune(
    make_policy, grid, X: np.ndarray, expected: np.ndarray, seed: int, batch: int = 50
) -> tuple[float, pd.Series]:
    """Pick the hyper-parameter with the least cumulative regret on a *validation* stream (its own
    contexts and rewards, never the evaluation rounds). Returns the value and every value's
    regret."""
    regrets = {}
    for value in grid:
        gen = rng(seed, "experiments", "tune")
        uniforms = gen.random(len(X))
        regrets[value] = float(
            run(make_policy(value), X, expected, uniforms, gen, batch).regret.sum()
        )
    table = pd.Series(regrets, name="cumulative_regret").rename_axis("value")
    return float(table.idxmin()), table
