"""What a bandit may see when a session starts: the user's profile, purchase intent, query intent.

User features come from the pre-period log (events before the experiment): activity, purchases,
revenue and the share of each top category in the user's events. The user's purchase intent
is the mean predicted probability of notebook 05 over the user's past sessions
(``purchase_intent.parquet``) when that file exists, else the user's observed purchases per
session. Two session features have no model to come from for *new* simulated sessions, so
they are observable proxies built from the generator, and named as such:

- ``intent_proxy``: the session's purchase probability as known at its start — the generator's
  mechanism with the unobservable noise term set to 0 — blurred by N(0, ``INTENT_PROXY_SD``²)
  on the logit, standing for an intent model's estimation error;
- ``query_intent``: the session's intent (one-hot) when it has a search, as a query-intent
  classifier (notebook 03) would label its first query; all zeros plus ``no_query`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.data.synthetic.behaviour import Sessions
from shopintent.data.synthetic.catalog import TOPS
from shopintent.data.synthetic.vocabulary import INTENTS
from shopintent.experiments.arms import price_position
from shopintent.experiments.simulator import World, buy_given_click

INTENT_PROXY_SD = 0.5


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def user_history(
    world: World, events: pd.DataFrame, purchase_intent: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per world user (world order):
    ``sessions, events, purchases, revenue, price_position`` (mean over the user's item events)
    and ``intent_history`` (see the module docstring), all from the pre-period ``events``."""
    users = pd.Index(world.user_ids, name="user_id")
    grouped = events.groupby("user_id")
    buys = events[events["event_type"] == "purchase"].groupby("user_id")
    out = (
        pd.DataFrame(
            {
                "sessions": grouped["session_id"].nunique(),
                "events": grouped.size(),
                "purchases": buys.size(),
                "revenue": buys["price"].sum(),
            }
        )
        .reindex(users)
        .fillna(0.0)
    )
    ev = events[events["item_id"].notna()]
    pos = pd.Series(price_position(world), index=world.item_ids)
    out["price_position"] = (
        pos.reindex(ev["item_id"])
        .groupby(ev["user_id"].to_numpy())
        .mean()
        .reindex(users)
        .fillna(0.0)
    )
    rate = (out["purchases"] + 0.1) / (out["sessions"] + 1.0)
    out["intent_history"] = rate
    out["intent_source"] = "purchases_per_session"
    cols = [
        c
        for c in ("p_hybrid", "p_lightgbm")
        if purchase_intent is not None and c in purchase_intent
    ]
    if cols:
        full = purchase_intent[purchase_intent["is_full"].astype(bool)]
        mean = full.groupby("user_id")[cols[0]].mean().reindex(users)
        out["intent_history"] = mean.fillna(rate)
        out["intent_source"] = np.where(
            mean.notna(), f"purchase_model_{cols[0]}", "purchases_per_session"
        )
    return out


def intent_proxy(
    world: World, sess: Sessions, gen: np.random.Generator, sd: float = INTENT_PROXY_SD
) -> np.ndarray:
    """Start-of-session purchase probability of the organic target (noise term 0), logit-blurred."""
    p = buy_given_click(world, sess, sess.target[:, None], noise=np.zeros(len(sess)))[:, 0]
    return 1.0 / (1.0 + np.exp(-(_logit(p) + gen.normal(0.0, sd, len(sess)))))


@dataclass(frozen=True)
class ContextSpace:
    """Turns users and sessions into context vectors; scaling is fixed on the pre-period users."""

    shares: np.ndarray  # (n_users, n_tops) category shares
    history: pd.DataFrame  # user_history(...)
    names: tuple[str, ...]

    @classmethod
    def fit(cls, shares: np.ndarray, history: pd.DataFrame) -> ContextSpace:
        names = (
            "bias",
            *(f"share_{t}" for t in TOPS),
            "log_sessions",
            "log_purchases",
            "cold",
            "price_position",
            "intent_history",
            "intent_proxy",
            *(f"query_{i}" for i in INTENTS),
            "no_query",
        )
        return cls(shares=shares, history=history, names=names)

    def _user_part(self, users: np.ndarray) -> np.ndarray:
        h = self.history
        cols = [np.log1p(h["sessions"].to_numpy()), np.log1p(h["purchases"].to_numpy())]
        scaled = [(c - c.mean()) / (c.std() or 1.0) for c in cols]
        hist = _logit(h["intent_history"].to_numpy())
        hist = (hist - hist.mean()) / (hist.std() or 1.0)
        table = np.c_[
            self.shares,
            scaled[0],
            scaled[1],
            (h["sessions"].to_numpy() == 0),
            h["price_position"],
            hist,
        ]
        return table[users]

    def transform(self, sess: Sessions, proxy: np.ndarray) -> np.ndarray:
        """(n, d) contexts: bias, user part, intent proxy, query-intent one-hot, no_query.

        The intent proxy enters as its logit / 2.
        """
        has_query = sess.n_queries > 0
        query = np.zeros((len(sess), len(INTENTS)))
        query[np.flatnonzero(has_query), sess.intent[has_query]] = 1.0
        return np.c_[
            np.ones(len(sess)), self._user_part(sess.user), _logit(proxy) / 2.0, query, ~has_query
        ]

    @property
    def dim(self) -> int:
        return len(self.names)

    n_bins = (len(INTENTS) + 1) * 3

    def bins(self, X: np.ndarray) -> np.ndarray:
        """Coarse context cells for tabular policies: query intent (or none) × user price band
        (budget < −0.3 ≤ mid ≤ 0.3 < premium)."""
        cols = [self.names.index(f"query_{i}") for i in INTENTS] + [self.names.index("no_query")]
        price = X[:, self.names.index("price_position")]
        return (
            X[:, cols].argmax(axis=1) * 3 + (price >= -0.3).astype(int) + (price > 0.3).astype(int)
        )
