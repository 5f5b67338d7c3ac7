"""Recommender arms for experiments: simple policies fitted on the shop's past events.

An arm turns user indices into slates of item indices. Three are learnt from the log
(popularity, the user's favourite categories, top-rated items) and one is random; any model
with the ``models.recommenders.base.Recommender`` interface can be wrapped too. They are
deliberately simple: the point of notebook 11 is measuring the difference between arms, and
simple arms with clearly different quality make that difference large and known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.data.synthetic.catalog import TOPS
from shopintent.experiments.simulator import SLATE_K, World
from shopintent.models.recommenders.base import build_interactions

TASTE_PRIOR = 5.0  # pseudo-events pulling a user's category shares towards the shop's
RATING_PRIOR = 5.0  # pseudo-reviews at the shop's mean rating (Bayesian average)


@dataclass(frozen=True)
class Arm:
    """A slate policy: ``table`` (n_users, k) item indices per world user, or random if None."""

    name: str
    table: np.ndarray | None
    n_items: int
    k: int = SLATE_K

    def slates(self, users: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        """(len(users), k) item indices for the user indices (random: k distinct uniform items)."""
        users = np.asarray(users, dtype=np.int64)
        if self.table is not None:
            return self.table[users]
        out = gen.integers(0, self.n_items, (len(users), self.k))
        while True:  # redraw the rare rows with a repeated item
            s = np.sort(out, axis=1)
            dup = (s[:, 1:] == s[:, :-1]).any(axis=1)
            if not dup.any():
                return out
            out[dup] = gen.integers(0, self.n_items, (int(dup.sum()), self.k))


def interactions(world: World, events: pd.DataFrame) -> sp.csr_matrix:
    """(n_users, n_items) weighted event counts (views 1, carts 3, purchases 5) in world order."""
    return build_interactions(events, world.item_ids, user_ids=world.user_ids).matrix


def popularity_arm(world: World, matrix: sp.csr_matrix, k: int = SLATE_K) -> Arm:
    """The same k most popular items for everyone."""
    top = np.argsort(-_popularity(matrix), kind="stable")[:k]
    return Arm("popularity", np.tile(top, (len(world.user_ids), 1)), len(world.item_ids), k)


def _popularity(matrix: sp.csr_matrix) -> np.ndarray:
    return np.asarray(matrix.sum(axis=0)).ravel()


def category_shares(world: World, matrix: sp.csr_matrix) -> np.ndarray:
    """(n_users, n_tops) share of each user's weighted events per top category, shrunk towards
    the shop's shares by ``TASTE_PRIOR`` pseudo-events (a user without events gets the shop's)."""
    m = matrix
    top = world.cat.top
    onehot = np.zeros((len(top), len(TOPS)))
    onehot[np.arange(len(top)), top] = 1.0
    counts = np.asarray(m @ onehot)
    shop = counts.sum(axis=0) / max(counts.sum(), 1e-12)
    return (counts + TASTE_PRIOR * shop) / (counts.sum(axis=1, keepdims=True) + TASTE_PRIOR)


def missing_prices(world: World) -> str | None:
    """Why the arms that need item prices (budget, premium) cannot be built, or None if they can."""
    prices = world.prices
    ok = np.isfinite(prices) & (prices > 0)
    if ok.all():
        return None
    what = "no item prices" if not ok.any() else f"{int((~ok).sum()):,} items without a price"
    return f"{what}: the budget and premium arms (priced within their category) are left out"


def price_position(world: World) -> np.ndarray:
    """Each item's standardised log price in its category (budget < 0 < premium), from prices
    (NaN for an item without a price)."""
    logp = np.log(world.prices)
    frame = pd.DataFrame({"logp": logp, "category": world.cat.items["category"].to_numpy()})
    grouped = frame.groupby("category")["logp"]
    return (
        (logp - grouped.transform("mean")) / grouped.transform("std", ddof=0).replace(0.0, 1.0)
    ).to_numpy()


def personal_arm(
    world: World, matrix: sp.csr_matrix, k: int = SLATE_K, price: str | None = None
) -> Arm:
    """Popular items of the user's favourite categories: score = log share(top) + log popularity,
    top-k per user over a pool of each category's k most popular items; ``price`` = "budget" or
    "premium" keeps only items priced below −0.3 or above +0.3 within their category."""
    if price is not None and (why := missing_prices(world)) is not None:
        raise ValueError(f"personal arm ({price}) needs item prices: {why}")
    pop = _popularity(matrix) + 1.0
    top = world.cat.top
    keep = {
        None: np.ones(len(top), bool),
        "budget": price_position(world) < -0.3,
        "premium": price_position(world) > 0.3,
    }[price]
    pool = np.concatenate(
        [
            np.flatnonzero((top == t) & keep)[
                np.argsort(-pop[(top == t) & keep], kind="stable")[:k]
            ]
            for t in range(len(TOPS))
        ]
    )
    if len(pool) < k:
        raise ValueError(
            f"personal arm ({price or 'any price'}): only {len(pool)} candidate items "
            f"for a slate of {k}"
        )
    score = np.log(category_shares(world, matrix)[:, top[pool]]) + np.log(pop[pool])[None, :]
    best = np.argsort(-score, axis=1, kind="stable")[:, :k]
    return Arm(
        "personal" if price is None else f"personal_{price}", pool[best], len(world.item_ids), k
    )


def top_rated_arm(
    world: World, reviews: pd.DataFrame, matrix: sp.csr_matrix, k: int = SLATE_K
) -> Arm:
    """The k items with the best Bayesian-average rating (ties and unrated items by popularity)."""
    idx = pd.Index(world.item_ids).get_indexer(reviews["item_id"])
    ok = idx >= 0
    n = np.bincount(idx[ok], minlength=len(world.item_ids))
    total = np.bincount(
        idx[ok], weights=reviews["rating"].to_numpy(float)[ok], minlength=len(world.item_ids)
    )
    mean = total.sum() / max(n.sum(), 1)
    score = (total + RATING_PRIOR * mean) / (n + RATING_PRIOR)
    order = np.lexsort((-_popularity(matrix), -score))[:k]
    return Arm("top_rated", np.tile(order, (len(world.user_ids), 1)), len(world.item_ids), k)


def random_arm(world: World, k: int = SLATE_K) -> Arm:
    """k distinct catalogue items drawn uniformly for every impression."""
    return Arm("random", None, len(world.item_ids), k)


def recommender_arm(name: str, model, world: World, k: int = SLATE_K) -> Arm:
    """Wrap a fitted ``Recommender`` (e.g. EASE from ``models.recommenders``): its top-k per user,
    already-seen items allowed (a slate may remind a user of an item)."""
    rec = model.recommend(list(world.user_ids), k=k, exclude_seen=False)
    if (rec.index < 0).any():
        raise ValueError(f"{name}: the recommender returned fewer than {k} items for some users")
    return Arm(name, rec.index.astype(np.int64), len(world.item_ids), k)


def standard_arms(
    world: World, matrix: sp.csr_matrix, reviews: pd.DataFrame, k: int = SLATE_K
) -> dict[str, Arm]:
    """The arms of notebook 11, fitted on the pre-period log (``interactions(world, events)``);
    the budget and premium arms only where every item has a price (``missing_prices`` says why
    they are left out)."""
    m = matrix
    priced = missing_prices(world) is None
    arms = [
        popularity_arm(world, m, k),
        personal_arm(world, m, k),
        *([personal_arm(world, m, k, "budget")] if priced else []),
        *([personal_arm(world, m, k, "premium")] if priced else []),
        top_rated_arm(world, reviews, m, k),
        random_arm(world, k),
    ]
    return {a.name: a for a in arms}


def describe(
    world: World, arms: dict[str, Arm], user: int, gen: np.random.Generator
) -> pd.DataFrame:
    """The slate each arm shows one user: title, category and price by position (for reading)."""
    items = world.cat.items
    rows = []
    for name, arm in arms.items():
        for pos, i in enumerate(arm.slates(np.array([user]), gen)[0]):
            rows.append(
                {
                    "arm": name,
                    "position": pos + 1,
                    "title": items["title"].iat[i],
                    "category": items["category"].iat[i],
                    "price": items["price"].iat[i],
                }
            )
    return pd.DataFrame(rows).set_index(["arm", "position"])
