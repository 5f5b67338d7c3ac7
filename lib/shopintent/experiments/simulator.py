"""A simulator of the synthetic shop in which recommendations have a known effect.

The generator's world is rebuilt from a prepared synthetic shop: users' latent preferences
(``make_users`` with the shop's profile and seed, checked against ``user_truth``) and the
catalogue's latent quality, popularity and price position (``item_truth``). New traffic is
drawn with the generator's own ``make_sessions``: each session has its intent, need (leaf),
organic target, latent factor, noise, carts and purchase probability, as in the logs.

What this module adds is a recommendation slate of ``k`` items shown at the start of a
session. The user scans it top-down (examination falls with position) and clicks at most
one item; attraction is a logistic function of the generator's utility (brand affinity,
price fit × sensitivity, quality), the user's taste for the item's top category, whether the
item is in the leaf the session is about, and the intent. A clicked item is bought through
the generator's mechanism: carts ~ Poisson(``CART_RATE`` × exp(...)) and the purchase logit
``purchase_logit`` with the session's own latent factor, dwell and noise (an item outside the
session's need is an impulse buy: its cart rate is multiplied by ``IMPULSE``). The slate adds
a purchase opportunity; the organic session goes on as generated. Every probability is
computed exactly given the session's state, so the truth behind an A/B test or a bandit's
regret is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.config import get_profile, rng
from shopintent.data.synthetic.behaviour import (
    CART_RATE,
    DWELL_MEDIAN_S,
    Sessions,
    Users,
    make_sessions,
    price_fit,
    purchase_logit,
)
from shopintent.data.synthetic.catalog import TOPS, Catalog
from shopintent.data.synthetic.world import latent_catalogue, latent_users

SLATE_K = 5
EXAMINATION_DECAY = 0.7  # P(examine position r) = (r + 1) ** -decay, r = 0 at the top
#: coefficients of the click (attraction) logit; "taste" multiplies log(n_tops × top_pref)
ATTRACTION = {
    "intercept": -2.2,
    "intent": np.array([-0.8, 0.6, 0.2, 0.0]),
    "utility": 0.8,
    "taste": 0.5,
    "need": 1.5,
}
IMPULSE = 0.35  # cart-rate multiplier of a clicked item outside the session's need leaf


@dataclass(frozen=True)
class World:
    """The synthetic shop's latent world: users, catalogue, ids and traffic rate."""

    users: Users
    cat: Catalog
    user_ids: np.ndarray
    item_ids: np.ndarray
    sessions_per_day: float
    profile: str
    seed: int

    @property
    def prices(self) -> np.ndarray:
        return self.cat.items["price"].to_numpy(dtype=float)


def unsupported_reason(shop) -> str | None:
    """Why ``shop`` cannot be simulated (None if it can).

    Only the synthetic shop has a known world, and its behaviour model needs every item's
    category (leaf) and brand.
    """
    missing = [t for t in ("user_truth", "item_truth", "session_truth") if t not in shop.extras]
    name = shop.meta.get("dataset", "this dataset")
    if shop.meta.get("source") != "shopintent.data.synthetic" or missing:
        return (
            f"{name}: no simulator exists for it — A/B tests and bandits need the behaviour model "
            "behind the data (users' latent preferences and purchase mechanism), which only the "
            "synthetic shop has" + (f" (missing tables: {', '.join(missing)})" if missing else "")
        )
    lacking = [c for c in ("category", "brand") if shop.items[c].isna().any()]
    if lacking:
        return (
            f"{name}: the simulator's behaviour model needs every item's category and brand; "
            + ", ".join(f"{int(shop.items[c].isna().sum()):,} items without a {c}" for c in lacking)
        )
    return None


def world_from_shop(shop) -> World:
    """Rebuild the generator's latent world from a prepared synthetic shop.

    Users are redrawn with the generator's seeded stream (their Dirichlet category tastes and
    brand affinities are not stored) and checked against ``user_truth``; the catalogue comes
    from ``items`` and ``item_truth``.
    """
    reason = unsupported_reason(shop)
    if reason:
        raise ValueError(reason)
    profile, seed = shop.meta.get("profile"), shop.meta.get("seed")
    truth = shop.extras["user_truth"]
    users = latent_users(shop)
    cat = latent_catalogue(shop)
    items = cat.items
    n_sessions = len(shop.extras["session_truth"])
    return World(
        users=users,
        cat=cat,
        user_ids=truth["user_id"].to_numpy(),
        item_ids=items["item_id"].to_numpy(),
        sessions_per_day=n_sessions / get_profile(profile).days,
        profile=profile,
        seed=int(seed),
    )


def traffic(world: World, n_sessions: int, seed: int | np.random.Generator) -> Sessions:
    """``n_sessions`` new sessions from the generator (users drawn by activity, sorted by user)."""
    gen = (
        seed if isinstance(seed, np.random.Generator) else rng(int(seed), "experiments", "traffic")
    )
    return make_sessions(int(n_sessions), world.users, world.cat, gen)


def dwell_z(sess: Sessions) -> np.ndarray:
    """The standardised dwell term of the purchase logit, recovered from the session's dwell."""
    return np.log(sess.dwell / DWELL_MEDIAN_S[sess.intent]) / 0.45


@dataclass(frozen=True)
class SlateProbs:
    """Per session and slate position: P(click there) and P(click there and buy that item)."""

    click: np.ndarray  # (n, k)
    buy: np.ndarray  # (n, k)
    items: np.ndarray  # (n, k) item indices shown

    @property
    def p_click(self) -> np.ndarray:
        return self.click.sum(axis=1)

    @property
    def p_buy(self) -> np.ndarray:
        return self.buy.sum(axis=1)

    def revenue(self, prices: np.ndarray) -> np.ndarray:
        """Expected revenue from the slate per session."""
        return (self.buy * prices[self.items]).sum(axis=1)


def attraction(world: World, sess: Sessions, items: np.ndarray) -> np.ndarray:
    """(n, k) probability that the session's user clicks each item if they look at it."""
    u, cat, a = sess.user[:, None], world.cat, ATTRACTION
    utility = (
        world.users.brand_aff[u, cat.brand[items]]
        + world.users.price_sens[u] * price_fit(world.users, u, cat, items)
        + 0.5 * cat.quality[items]
    )
    taste = np.log(len(TOPS) * world.users.top_pref[u, cat.top[items]] + 1e-6)
    need = cat.leaf[items] == sess.leaf[:, None]
    logit = (
        a["intercept"]
        + a["intent"][sess.intent][:, None]
        + a["utility"] * utility
        + a["taste"] * taste
        + a["need"] * need
    )
    return 1.0 / (1.0 + np.exp(-logit))


def buy_given_click(
    world: World, sess: Sessions, items: np.ndarray, noise: np.ndarray | None = None
) -> np.ndarray:
    """(n, k) P(buy | clicked): the generator's cart and purchase mechanism with the item as target,
    integrated exactly over the Poisson number of carts (0 → no purchase; the logit caps carts
    at 2). ``noise`` replaces the session's unobservable noise term (e.g. 0 for what is
    knowable)."""
    u, cat = sess.user[:, None], world.cat
    fit = world.users.price_sens[u] * price_fit(world.users, u, cat, items)
    q, prop = cat.quality[items], world.users.propensity[u]
    latent = sess.latent[:, None]
    mean = CART_RATE[sess.intent][:, None] * np.exp(0.5 * latent + 0.3 * q + 0.3 * fit + 0.4 * prop)
    mean = mean * np.where(cat.leaf[items] == sess.leaf[:, None], 1.0, IMPULSE)
    p0, p1 = np.exp(-mean), mean * np.exp(-mean)
    args = (sess.intent[:, None], fit, q)
    rest = (dwell_z(sess)[:, None], latent, prop, (sess.noise if noise is None else noise)[:, None])
    sig = [1.0 / (1.0 + np.exp(-purchase_logit(*args, c, *rest))) for c in (1, 2)]
    return p1 * sig[0] + (1.0 - p0 - p1) * sig[1]


def slate_probs(world: World, sess: Sessions, slates: np.ndarray) -> SlateProbs:
    """Exact click and purchase probabilities of showing ``slates`` (n, k) to the sessions
    (cascade: the first examined-and-attractive item is clicked, the rest are not)."""
    slates = np.asarray(slates, dtype=np.int64)
    if slates.shape[0] != len(sess):
        raise ValueError(f"slates has {slates.shape[0]} rows for {len(sess)} sessions")
    k = slates.shape[1]
    p = (np.arange(1, k + 1) ** -EXAMINATION_DECAY)[None, :] * attraction(world, sess, slates)
    reach = np.cumprod(np.c_[np.ones(len(sess)), 1.0 - p[:, :-1]], axis=1)  # nothing clicked above
    click = reach * p
    return SlateProbs(click=click, buy=click * buy_given_click(world, sess, slates), items=slates)


def purchase_positions(buy: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The slate position bought given uniforms ``u`` (one per session, any leading shape), -1 for
    none: position r where cumsum(buy)[r-1] <= u < cumsum(buy)[r]."""
    pos = (u[..., None] >= np.cumsum(buy, axis=-1)).sum(axis=-1)
    return np.where(pos < buy.shape[-1], pos, -1)


def draw_slate_purchases(
    probs: SlateProbs, gen: np.random.Generator, reps: int | None = None
) -> np.ndarray:
    """Which slate position each session bought from (-1: none); shape (n,) or (reps, n)."""
    return purchase_positions(
        probs.buy, gen.random((len(probs.buy),) if reps is None else (reps, len(probs.buy)))
    )


def organic_frame(world: World, sess: Sessions) -> pd.DataFrame:
    """Each session's organic side: user index, its true purchase probability and target price."""
    return pd.DataFrame(
        {
            "user": sess.user,
            "intent": sess.intent,
            "p_organic": sess.purchase_prob,
            "price_organic": world.prices[sess.target],
            "purchased_organic": sess.purchased,
        }
    )
