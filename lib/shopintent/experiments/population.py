"""An A/B experiment's population on the simulated shop, with its known truth.

``Experiment.build`` draws the experiment period's traffic (``days`` of sessions at the
shop's rate, after the logged pre-period), shows each session the slate of arm A and of
arm B, and keeps per session the exact probability of each purchase under each arm. The
unit of analysis is the *visiting user*: converted (any purchase in the period) and revenue
(organic purchases of each session's target item plus slate purchases; the generator's
after-checkout cross-sell is left out of both arms alike).
Because the probabilities are stored, any number of replicates — a random split of the users
plus Bernoulli draws of every purchase — is a few array operations, and the true value of each
metric under each arm (the mean over the same users of their expected outcome) is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.config import rng
from shopintent.experiments.arms import Arm
from shopintent.experiments.simulator import (
    World,
    organic_frame,
    purchase_positions,
    slate_probs,
    traffic,
)

METRICS = ("conversion", "revenue")
_CHUNK = 40  # replicates drawn at once (memory: chunk × sessions × k)


@dataclass(frozen=True)
class Outcomes:
    """Per replicate and user: ``converted`` (0/1), ``revenue`` and ``orders``; ``treated`` is the
    assignment (True = arm B). Arrays are (reps, n_users)."""

    treated: np.ndarray
    converted: np.ndarray
    revenue: np.ndarray
    orders: np.ndarray

    def metric(self, name: str) -> np.ndarray:
        return {"conversion": self.converted, "revenue": self.revenue}[name]

    def frame(self, rep: int = 0) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "group": np.where(self.treated[rep], "B", "A"),
                "converted": self.converted[rep],
                "revenue": self.revenue[rep],
                "orders": self.orders[rep],
            }
        )


@dataclass(frozen=True)
class Experiment:
    """Experiment-period sessions and each one's purchase probabilities under arms A and B."""

    arm_names: tuple[str, str]
    users: np.ndarray  # world indices of the visiting users
    user_ids: np.ndarray
    session_user: np.ndarray  # (n_sessions,) position of each session's user in ``users``
    p_organic: np.ndarray
    price_organic: np.ndarray
    buy: tuple[np.ndarray, np.ndarray]  # per arm (n_sessions, k): P(click r and buy)
    price: tuple[np.ndarray, np.ndarray]  # per arm (n_sessions, k): price of the item at r
    pre: pd.DataFrame  # pre-period behaviour of each visiting user (CUPED covariates)

    @classmethod
    def build(
        cls, world: World, arm_a: Arm, arm_b: Arm, pre: pd.DataFrame, days: float, seed: int
    ) -> Experiment:
        """``days`` of new traffic; ``pre`` has one row per world user, in world order
        (``contexts.user_history``: revenue, purchases, sessions of the pre-period log)."""
        gen = rng(seed, "experiments", "population")
        sess = traffic(world, max(1, round(world.sessions_per_day * days)), gen)
        organic = organic_frame(world, sess)
        users, pos = np.unique(sess.user, return_inverse=True)
        buy, price = [], []
        for arm in (arm_a, arm_b):
            probs = slate_probs(world, sess, arm.slates(sess.user, gen))
            buy.append(probs.buy)
            price.append(world.prices[probs.items])
        return cls(
            arm_names=(arm_a.name, arm_b.name),
            users=users,
            user_ids=world.user_ids[users],
            session_user=pos,
            p_organic=organic["p_organic"].to_numpy(),
            price_organic=organic["price_organic"].to_numpy(),
            buy=tuple(buy),
            price=tuple(price),
            pre=pre.iloc[users].reset_index(drop=True),
        )

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_sessions(self) -> int:
        return len(self.session_user)

    def _per_user(self, per_session: np.ndarray) -> np.ndarray:
        return np.bincount(self.session_user, weights=per_session, minlength=self.n_users)

    def truth(self, arm: int) -> dict[str, float]:
        """Exact mean conversion and revenue per visiting user if everyone got arm ``arm``.

        ``arm``: 0 = A, 1 = B.
        """
        p_rec = self.buy[arm].sum(axis=1)
        log_none = np.log1p(-self.p_organic) + np.log1p(-np.minimum(p_rec, 1 - 1e-12))
        conv = 1.0 - np.exp(self._per_user(log_none))
        revenue = self._per_user(
            self.p_organic * self.price_organic + (self.buy[arm] * self.price[arm]).sum(axis=1)
        )
        return {"conversion": float(conv.mean()), "revenue": float(revenue.mean())}

    def true_effects(self) -> pd.DataFrame:
        """Per metric: true value under A and B, difference B − A and relative lift B / A − 1."""
        a, b = self.truth(0), self.truth(1)
        rows = [
            {
                "metric": m,
                "true_a": a[m],
                "true_b": b[m],
                "true_diff": b[m] - a[m],
                "true_lift": b[m] / a[m] - 1,
            }
            for m in METRICS
        ]
        return pd.DataFrame(rows).set_index("metric")

    def assign(self, gen: np.random.Generator, reps: int = 1) -> np.ndarray:
        """(reps, n_users) random halves: exactly ⌊n/2⌋ users get arm B in every replicate."""
        keys = gen.random((reps, self.n_users))
        return np.argsort(np.argsort(keys, axis=1), axis=1) < self.n_users // 2

    def draw(self, treated: np.ndarray, gen: np.random.Generator) -> Outcomes:
        """Bernoulli draws of all organic and slate purchases, each session under its user's arm."""
        treated = np.atleast_2d(treated)
        to_user = sp.csr_matrix(
            (np.ones(self.n_sessions), (np.arange(self.n_sessions), self.session_user)),
            shape=(self.n_sessions, self.n_users),
        )
        orders, revenue = [], []
        for start in range(0, len(treated), _CHUNK):
            t = treated[start : start + _CHUNK][:, self.session_user]  # (c, n_sessions)
            organic = gen.random(t.shape) < self.p_organic
            u = gen.random(
                t.shape
            )  # one uniform per session decides its slate purchase under either arm
            pos = np.where(
                t, purchase_positions(self.buy[1], u), purchase_positions(self.buy[0], u)
            )
            slate_price = np.where(t[..., None], self.price[1], self.price[0])
            got = pos >= 0
            rec_price = np.take_along_axis(slate_price, np.maximum(pos, 0)[..., None], axis=-1)[
                ..., 0
            ]
            rev = organic * self.price_organic + got * rec_price
            orders.append(np.asarray(to_user.T @ (organic.astype(float) + got).T).T)
            revenue.append(np.asarray(to_user.T @ rev.T).T)
        orders_arr = np.vstack(orders)
        return Outcomes(
            treated=treated,
            converted=(orders_arr > 0).astype(float),
            revenue=np.vstack(revenue),
            orders=orders_arr,
        )

    def replicate(self, reps: int, seed: int, aa: bool = False) -> Outcomes:
        """``reps`` independent experiments (new split and draws); ``aa``: both halves get arm A."""
        gen = rng(seed, "experiments", "aa" if aa else "ab")
        treated = self.assign(gen, reps)
        out = self.draw(np.zeros_like(treated) if aa else treated, gen)
        return Outcomes(
            treated=treated, converted=out.converted, revenue=out.revenue, orders=out.orders
        )
