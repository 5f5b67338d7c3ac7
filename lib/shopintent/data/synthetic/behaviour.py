"""Users and sessions of the synthetic shop: who shops, when, with which intent, for what,
and whether the session ends in a purchase.

The funnel is causal: a session can only buy what it put in the cart, so a session
without a cart has purchase probability 0. Given at least one cart, the purchase
probability is an explicit logistic function (``purchase_logit``) of the session's intent,
the target item's price fit to the user and its quality, the number of carts, dwell, the
user's propensity, and a latent session factor; the latent factor also drives how many
items are viewed and carted (so it is partly observable) while an independent noise term
is not observable at all. All arrays are vectorised over sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopintent.data.synthetic.catalog import BRAND_NAMES, LEAVES, TOPS, Catalog
from shopintent.data.synthetic.vocabulary import COMPLEMENTS, INTENTS

INTENT_SHARE = np.array([0.25, 0.35, 0.20, 0.20])  # population mix of INTENTS
MEAN_VIEWS = np.array([2.0, 8.0, 5.0, 3.0])  # per intent
MEAN_EXTRA_QUERIES = np.array([0.1, 0.8, 0.8, 0.2])  # Poisson; all but exploratory add 1
DWELL_MEDIAN_S = np.array([40.0, 25.0, 60.0, 35.0])  # seconds on a product page
CART_RATE = np.array([0.25, 0.10, 0.20, 0.50])  # Poisson mean of carts at average latents
#: coefficients of the purchase logit (see purchase_logit)
BETA = {
    "intercept": -2.8,
    "intent": np.array([0.3, -0.9, -0.3, 0.9]),
    "price_fit": 0.8,
    "quality": 0.6,
    "carts": 0.9,
    "dwell": 0.5,
    "latent": 0.6,
    "propensity": 0.5,
    "noise": 0.8,
}
CANDIDATES = 12  # items a session considers, drawn from the target leaf by popularity
COMPLEMENT_RATE = 0.35  # share of buyers (of a leaf with complements) who add a complement


@dataclass
class Users:
    activity: np.ndarray  # relative number of sessions
    top_pref: np.ndarray  # (n, n_tops) category preference, Dirichlet
    brand_aff: np.ndarray  # (n, n_brands) brand affinity
    price_pos: np.ndarray  # preferred price position (budget < 0 < premium)
    price_sens: np.ndarray  # how much price fit matters
    propensity: np.ndarray  # conversion propensity (logit scale)
    intent_mix: np.ndarray  # (n, 4) intent probabilities

    def __len__(self) -> int:
        return len(self.activity)


def make_users(n_users: int, rng: np.random.Generator) -> Users:
    return Users(
        activity=rng.lognormal(0, 0.9, n_users),
        top_pref=rng.dirichlet(np.full(len(TOPS), 0.35), size=n_users),
        brand_aff=rng.normal(0, 0.8, (n_users, len(BRAND_NAMES))),
        price_pos=rng.normal(0, 1, n_users),
        price_sens=rng.lognormal(0, 0.3, n_users),
        propensity=rng.normal(0, 0.6, n_users),
        intent_mix=rng.dirichlet(8 * INTENT_SHARE, size=n_users),
    )


def expected_events_per_session() -> float:
    queries = INTENT_SHARE @ (MEAN_EXTRA_QUERIES + np.array([1, 0, 1, 1]))
    return float(INTENT_SHARE @ MEAN_VIEWS + queries + 0.45)


@dataclass
class Sessions:
    """One row per session, sorted by user then start time."""

    user: np.ndarray
    intent: np.ndarray  # index into INTENTS
    leaf: np.ndarray
    candidates: np.ndarray  # (n, CANDIDATES) item indices
    utility: np.ndarray  # (n, CANDIDATES) the user's utility of each candidate
    target: np.ndarray  # item index the session is about (bought if it converts)
    other: np.ndarray  # a competing candidate (what comparisons compare with)
    latent: np.ndarray  # latent session factor (partly observable)
    noise: np.ndarray  # unobservable purchase noise
    n_views: np.ndarray
    n_queries: np.ndarray
    dwell: np.ndarray  # typical seconds per product page
    carts: np.ndarray  # cart events (a purchase needs at least one)
    purchase_prob: np.ndarray
    purchased: np.ndarray
    complement: np.ndarray  # item index bought with the target (cross-sell), -1 if none

    def __len__(self) -> int:
        return len(self.user)


def _categorical_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix."""
    u = rng.random(len(probs))[:, None]
    return np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), probs.shape[1] - 1)


def _sample_within_leaf(
    rng: np.random.Generator, cat: Catalog, leaf: np.ndarray, k: int
) -> np.ndarray:
    """(len(leaf), k) items drawn from each row's leaf with probability ∝ popularity."""
    order = np.argsort(cat.leaf, kind="stable")
    cum = np.cumsum(cat.popularity[order])
    counts = np.bincount(cat.leaf, minlength=len(LEAVES))
    ends = np.cumsum(counts)
    hi = cum[ends - 1]
    lo = np.where(ends - counts > 0, cum[np.maximum(ends - counts - 1, 0)], 0.0)
    u = lo[leaf][:, None] + rng.random((len(leaf), k)) * (hi - lo)[leaf][:, None]
    pos = np.searchsorted(cum, u, side="right")
    pos = np.clip(pos, (ends - counts)[leaf][:, None], (ends - 1)[leaf][:, None])
    return order[pos]


def price_fit(users: Users, user: np.ndarray, cat: Catalog, item: np.ndarray) -> np.ndarray:
    """How well an item's price position suits the user (0 = perfect, negative = worse)."""
    return -0.5 * (cat.price_pos[item] - users.price_pos[user]) ** 2


def utility(users: Users, user: np.ndarray, cat: Catalog, item: np.ndarray) -> np.ndarray:
    """A user's utility of items (``user`` broadcast against ``item``, e.g. ``(n, 1)`` and
    ``(n, k)``): brand affinity + price sensitivity × price fit + half the item's quality. A
    session's target is the argmax of utility + Gumbel noise over its candidates."""
    return (
        users.brand_aff[user, cat.brand[item]]
        + users.price_sens[user] * price_fit(users, user, cat, item)
        + 0.5 * cat.quality[item]
    )


def complement_options(cat: Catalog) -> list[list[int]]:
    """Per leaf (index into LEAVES): the leaves of its COMPLEMENTS that hold items."""
    names = [name for _, name in LEAVES]
    return [
        [names.index(c) for c in COMPLEMENTS.get(name, ()) if (cat.leaf == names.index(c)).any()]
        for name in names
    ]


def purchase_logit(
    intent, price_fit_term, quality, carts, dwell_z, latent, propensity, noise
) -> np.ndarray:
    """The generator's true purchase logit; ``price_fit_term`` is price fit × price sensitivity."""
    b = BETA
    return (
        b["intercept"]
        + b["intent"][intent]
        + b["price_fit"] * price_fit_term
        + b["quality"] * quality
        + b["carts"] * np.minimum(carts, 2)
        + b["dwell"] * dwell_z
        + b["latent"] * latent
        + b["propensity"] * propensity
        + b["noise"] * noise
    )


def make_sessions(
    n_sessions: int, users: Users, cat: Catalog, rng: np.random.Generator
) -> Sessions:
    """``n_sessions`` sessions, each user's share ∝ activity (sorted by user)."""
    user = np.sort(rng.choice(len(users), size=n_sessions, p=users.activity / users.activity.sum()))
    return sessions_of(user, users, cat, rng)


def sessions_of(
    user: np.ndarray,
    users: Users,
    cat: Catalog,
    rng: np.random.Generator,
    top: np.ndarray | None = None,
) -> Sessions:
    """One session per entry of ``user`` (user indices, sorted), drawn from that user's latents:
    what ``make_sessions`` does once it has drawn who shops (the same draws in the same order).
    ``top``: each session's top category (index into TOPS) given rather than drawn from the
    user's taste (for stratified sampling)."""
    n_sessions = len(user)
    intent = _categorical_rows(rng, users.intent_mix[user])
    if top is None:
        top = _categorical_rows(rng, users.top_pref[user])
    leaf = _leaf_within_top(rng, cat, top)

    cand = _sample_within_leaf(rng, cat, leaf, CANDIDATES)
    util = utility(users, user[:, None], cat, cand)
    noisy = util + rng.gumbel(size=util.shape)
    rows = np.arange(n_sessions)
    best = noisy.argmax(axis=1)
    target = cand[rows, best]
    # The competitor: the next best candidate, preferring another brand.
    rival = (
        noisy
        - 100.0 * (cand == target[:, None])
        - 5.0 * (cat.brand[cand] == cat.brand[target][:, None])
    )
    other = cand[rows, rival.argmax(axis=1)]

    latent = rng.normal(0, 1, n_sessions)
    noise = rng.normal(0, 1, n_sessions)
    mean_views = (MEAN_VIEWS[intent] - 1) * np.exp(0.25 * latent)
    n_views = 1 + rng.negative_binomial(2, 2 / (2 + mean_views))
    n_queries = (intent != 1).astype(np.int64) + rng.poisson(MEAN_EXTRA_QUERIES[intent])
    n_queries = np.minimum(n_queries, 4)
    dwell_z = 0.7 * latent + 0.7 * rng.normal(0, 1, n_sessions)
    dwell = DWELL_MEDIAN_S[intent] * np.exp(0.45 * dwell_z)

    fit = users.price_sens[user] * price_fit(users, user, cat, target)
    q = cat.quality[target]
    prop = users.propensity[user]
    cart_mean = CART_RATE[intent] * np.exp(0.5 * latent + 0.3 * q + 0.3 * fit + 0.4 * prop)
    carts = np.minimum(rng.poisson(cart_mean), n_views)
    p = (carts > 0) / (
        1 + np.exp(-purchase_logit(intent, fit, q, carts, dwell_z, latent, prop, noise))
    )
    purchased = rng.random(n_sessions) < p
    complement = _complements(rng, users, cat, user, leaf, purchased)
    return Sessions(
        user=user,
        intent=intent,
        leaf=leaf,
        candidates=cand,
        utility=util,
        target=target,
        other=other,
        latent=latent,
        noise=noise,
        n_views=n_views,
        n_queries=n_queries,
        dwell=dwell,
        carts=carts,
        purchase_prob=p,
        purchased=purchased,
        complement=complement,
    )


def _complements(
    rng: np.random.Generator,
    users: Users,
    cat: Catalog,
    user: np.ndarray,
    leaf: np.ndarray,
    purchased: np.ndarray,
) -> np.ndarray:
    """A complementary item for some buyers: a leaf from COMPLEMENTS, the item the user likes best
    among popular ones there (brand affinity carries over, so brands co-occur in baskets)."""
    out = np.full(len(leaf), -1, dtype=np.int64)
    options = complement_options(cat)
    has = np.array([len(o) > 0 for o in options])
    chosen = np.flatnonzero(purchased & has[leaf] & (rng.random(len(leaf)) < COMPLEMENT_RATE))
    if len(chosen) == 0:
        return out
    pick = rng.random(len(chosen))
    comp_leaf = np.array(
        [options[lf][int(u * len(options[lf]))] for lf, u in zip(leaf[chosen], pick, strict=True)]
    )
    cand = _sample_within_leaf(rng, cat, comp_leaf, CANDIDATES)
    u = user[chosen][:, None]
    util = utility(users, u, cat, cand) + rng.gumbel(size=cand.shape)
    out[chosen] = cand[np.arange(len(chosen)), util.argmax(axis=1)]
    return out


def _leaf_within_top(rng: np.random.Generator, cat: Catalog, top: np.ndarray) -> np.ndarray:
    """A leaf of each session's top category, ∝ the leaf's total item popularity."""
    leaf_pop = np.bincount(cat.leaf, weights=cat.popularity, minlength=len(LEAVES))
    leaf_top = np.array([TOPS.index(t) for t, _ in LEAVES])
    out = np.empty(len(top), dtype=np.int64)
    for t in range(len(TOPS)):
        m = top == t
        cands = np.flatnonzero((leaf_top == t) & (leaf_pop > 0))
        if not m.any():
            continue
        if len(cands) == 0:  # a tiny catalogue may lack a whole category: fall back to any leaf
            cands = np.flatnonzero(leaf_pop > 0)
        out[m] = rng.choice(cands, size=m.sum(), p=leaf_pop[cands] / leaf_pop[cands].sum())
    return out


def intent_names(intent: np.ndarray) -> np.ndarray:
    return np.array(INTENTS)[intent]
