"""The bandit's world: rounds of simulated sessions, their contexts, and every arm's true reward.

A round is one new session of the simulated shop. Its context is what ``ContextSpace`` lets a
policy see; its expected reward under each arm is the exact probability that the session buys
an item of that arm's slate (``simulator.slate_probs``), also kept as expected revenue. The
bandit only ever sees a draw of the arm it chose; the regret uses these expectations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.config import rng
from shopintent.experiments.arms import Arm
from shopintent.experiments.contexts import ContextSpace, intent_proxy
from shopintent.experiments.simulator import World, slate_probs, traffic


@dataclass(frozen=True)
class BanditProblem:
    """``X`` (T, d) contexts; ``expected`` (T, K) P(purchase from the slate); ``revenue`` (T, K)."""

    X: np.ndarray
    expected: np.ndarray
    revenue: np.ndarray
    arm_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    intent: np.ndarray  # the sessions' true intents (for slicing results, never a feature)

    def __len__(self) -> int:
        return len(self.X)


def bandit_problem(
    world: World,
    arms: dict[str, Arm],
    space: ContextSpace,
    n_rounds: int,
    seed: int,
    stream: str = "online",
) -> BanditProblem:
    """``n_rounds`` sessions; ``stream`` names an independent draw.

    Streams: online, validation, log, truth.
    """
    gen = rng(seed, "experiments", "bandit", stream)
    sess = traffic(world, n_rounds, gen)
    order = gen.permutation(
        len(sess)
    )  # traffic comes sorted by user; rounds arrive in random order
    sess = type(sess)(**{k: v[order] for k, v in vars(sess).items()})
    X = space.transform(sess, intent_proxy(world, sess, gen))
    probs = [slate_probs(world, sess, arm.slates(sess.user, gen)) for arm in arms.values()]
    return BanditProblem(
        X=X,
        expected=np.column_stack([p.p_buy for p in probs]),
        revenue=np.column_stack([p.revenue(world.prices) for p in probs]),
        arm_names=tuple(arms),
        feature_names=space.names,
        intent=sess.intent,
    )


def arm_table(problem: BanditProblem) -> pd.DataFrame:
    """Each arm's true mean purchase probability and revenue per session, overall and by true intent
    (for reading only: a policy never sees the intent), and how often it is the best arm."""
    from shopintent.data.synthetic.vocabulary import INTENTS

    best = np.bincount(problem.expected.argmax(axis=1), minlength=len(problem.arm_names)) / len(
        problem
    )
    table = pd.DataFrame(
        {
            "purchase_rate": problem.expected.mean(axis=0),
            "revenue": problem.revenue.mean(axis=0),
            "best_share": best,
        },
        index=pd.Index(problem.arm_names, name="arm"),
    )
    for i, name in enumerate(INTENTS):
        table[f"purchase_rate_{name}"] = problem.expected[problem.intent == i].mean(axis=0)
    return table
