"""The ceiling on the synthetic shop: a recommender that ranks by the generator's own probabilities.

``UserOracle`` scores every catalogue item by the probability that one session of the user
interacts with it (views, carts and purchases all follow a view), given the user's latent
tastes, computed with the generator's own draws and formulas:

- a session's need, intent, candidates and their utilities, the number of views, the carts and
  the purchase probability are drawn with ``behaviour.sessions_of`` (the generator's session
  step) for the user — Monte Carlo over what a session's latents can be, about
  ``sessions_per_user`` of them per user, stratified over the top category (summed exactly
  with the user's taste as weights, ``stratified_tops``);
- given those latents the rest is exact (Rao-Blackwellised): the target is candidate slot j
  with probability softmax(utility)_j (argmax of utility + Gumbel); one view is the target,
  each other view is the target with probability ``REVISIT[intent]``, a popular distraction
  (∝ popularity) with ``DISTRACTION``, else a candidate picked with softmax(``pick_logits``);
  so item i appears among n views with probability τ_i + (1 − τ_i)(1 − (1 − a_i)^(n−1)),
  a_i being its chance in one non-target view; a buyer (probability ``purchase_prob``) of a leaf
  with complements adds one with ``COMPLEMENT_RATE``, drawn as the generator draws it.

A user's sessions are independent given the user's latents, so the chance of interacting with
i at least once in N future sessions is 1 − (1 − p_i)^N: the same order for every N, and the
same whatever the user did before (the training history adds nothing once the latents are
known). The scores are that per-session p (each in [0, 1]; a row sums to the expected number of
distinct items one session of the user touches). It is an oracle *given the kept truth*: the
users' category tastes and brand affinities are not stored in ``user_truth`` and are redrawn
from the shop's seed and checked against it (``data.synthetic.world``); the Monte Carlo over
session latents leaves some noise: with the default 400 sessions per user, measured between two
seeds on the smoke shop, a median relative standard error of 6% on probabilities above 0.1
and 83% of the top 10 shared (the noise costs the oracle about 0.005 NDCG@10 against 2,000
sessions per user). It is a ceiling in expectation, not a bound on every sample: a model can
beat it on one test period by luck.

Without the truth tables (any real dataset) ``unavailable_reason`` says why there is no oracle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.config import rng as seeded_rng
from shopintent.data.capabilities import TRUTH_TABLES, Capabilities
from shopintent.data.synthetic.behaviour import (
    CANDIDATES,
    COMPLEMENT_RATE,
    Sessions,
    Users,
    _sample_within_leaf,
    complement_options,
    sessions_of,
    utility,
)
from shopintent.data.synthetic.catalog import Catalog
from shopintent.data.synthetic.events import DISTRACTION, REVISIT, pick_logits
from shopintent.data.synthetic.world import latent_catalogue, latent_users
from shopintent.models.recommenders.base import Recommender

#: simulated sessions per user (Monte Carlo over session latents) and per batch of the draw
SESSIONS_PER_USER = 400
BATCH_SESSIONS = 200_000


def unavailable_reason(shop) -> str | None:
    """None when ``shop`` holds the generator's truth (and it rebuilds the latents), else why
    there is no oracle, as a sentence."""
    caps = Capabilities.of(shop)
    why = caps.skip_reason("the oracle (the generator's own probabilities)", *TRUTH_TABLES)
    if why is not None:
        return why
    try:
        latent_users(shop)
        latent_catalogue(shop)
    except (KeyError, TypeError, ValueError) as err:
        return (
            f"{caps.dataset}: the oracle skipped: its truth tables do not rebuild the generator's "
            f"latents ({err})"
        )
    return None


def slot_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(n, k)`` logits (-inf = never): the chance that argmax(logits +
    Gumbel) is each slot."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def merge_slots(items: np.ndarray, n_items: int, *probs: np.ndarray):
    """Per (row, distinct item) of ``(n, k)`` slot ``items``: the row, the item and each of
    ``probs`` (same shape) summed over the slots holding that item."""
    key = (np.arange(len(items))[:, None] * n_items + items).ravel()
    uniq, inv = np.unique(key, return_inverse=True)
    sums = [np.bincount(inv, weights=p.ravel(), minlength=len(uniq)) for p in probs]
    return (uniq // n_items, uniq % n_items, *sums)


def distraction_inclusion(cat: Catalog, n_views, item=None) -> np.ndarray:
    """The chance that an item is among a session's n − 1 non-target views as a distraction alone,
    1 − (1 − DISTRACTION × popularity)^(n − 1): ``(len(n_views), n_items)``, or per pair when
    ``item`` is given (same length as ``n_views``)."""
    n = np.asarray(n_views)
    if item is not None:
        return 1.0 - (1.0 - DISTRACTION * cat.popularity[item]) ** (n - 1)
    return 1.0 - (1.0 - DISTRACTION * cat.popularity)[None, :] ** (n[:, None] - 1)


def candidate_inclusion(sess: Sessions, cat: Catalog):
    """Per (session, distinct candidate): row, item, τ (chance it is the target), a (its chance in
    one view when it is not the target) and the chance it is among the session's views."""
    n_items = len(cat.popularity)
    target = slot_softmax(sess.utility)
    pick = slot_softmax(pick_logits(sess))
    row, item, tau, pk = merge_slots(sess.candidates, n_items, target, pick)
    # the target's own view is certain; given a target other than i, the other n - 1 views are
    # independent, each i with chance a (a pick of i or a distraction by i)
    a = (1.0 - REVISIT[sess.intent[row]] - DISTRACTION) * pk + DISTRACTION * cat.popularity[item]
    p = tau + (1.0 - tau) * (1.0 - (1.0 - a) ** (sess.n_views[row] - 1))
    return row, item, tau, a, p


def complement_draws(
    user: np.ndarray,
    leaf: np.ndarray,
    purchase_prob: np.ndarray,
    users: Users,
    cat: Catalog,
    gen: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (session, item): row, item and the chance that the session's cross-sell is that item:
    purchase probability × COMPLEMENT_RATE × (one complement leaf drawn as the generator draws it)
    × softmax of the user's utility over a candidate set drawn from that leaf (one draw each:
    Monte Carlo over the leaf and the candidates)."""
    options = complement_options(cat)
    has = np.array([len(o) > 0 for o in options])
    rows = np.flatnonzero(has[leaf] & (purchase_prob > 0))
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    pick = gen.random(len(rows))
    comp_leaf = np.array(
        [options[lf][int(u * len(options[lf]))] for lf, u in zip(leaf[rows], pick, strict=True)]
    )
    cand = _sample_within_leaf(gen, cat, comp_leaf, CANDIDATES)
    share = slot_softmax(utility(users, user[rows][:, None], cat, cand))
    share *= (COMPLEMENT_RATE * purchase_prob[rows])[:, None]
    r, item, p = merge_slots(cand, len(cat.popularity), share)
    return rows[r], item, p


def session_probabilities(
    users: Users,
    cat: Catalog,
    user_rows: np.ndarray | None = None,
    sessions_per_user: int = SESSIONS_PER_USER,
    seed: int = 0,
) -> np.ndarray:
    """``(len(user_rows), n_items)``: the chance that one session of each user (rows of the
    latent ``users``; None: all of them) interacts with each item (see the module docstring)."""
    user_rows = np.arange(len(users)) if user_rows is None else np.asarray(user_rows, np.int64)
    n_items, s = len(cat.popularity), int(sessions_per_user)
    out = np.empty((len(user_rows), n_items))
    gen = seeded_rng(seed, "oracle", "sessions")
    step = max(1, BATCH_SESSIONS // (s + users.top_pref.shape[1]))
    for start in range(0, len(user_rows), step):
        block_users = user_rows[start : start + step]
        owner, top, weight = stratified_tops(users.top_pref[block_users], s)
        sess = sessions_of(block_users[owner], users, cat, gen, top=top)
        # every item may be a distraction: per number of views, then summed per user
        counts, inv = np.unique(sess.n_views, return_inverse=True)
        hist = np.zeros((len(block_users), len(counts)))
        np.add.at(hist, (owner, inv), weight)
        block = hist @ distraction_inclusion(cat, counts)
        # candidates and cross-sells replace that term by their own chance of being viewed
        row, item, _, _, p = candidate_inclusion(sess, cat)
        base = distraction_inclusion(cat, sess.n_views[row], item)
        block += np.bincount(
            owner[row] * n_items + item, weights=(p - base) * weight[row], minlength=block.size
        ).reshape(block.shape)
        # a cross-sell comes from another leaf than the candidates: only distraction overlaps it
        crow, citem, cp = complement_draws(
            sess.user, sess.leaf, sess.purchase_prob, users, cat, gen
        )
        base = distraction_inclusion(cat, sess.n_views[crow], citem)
        block += np.bincount(
            owner[crow] * n_items + citem,
            weights=(1.0 - base) * cp * weight[crow],
            minlength=block.size,
        ).reshape(block.shape)
        out[start : start + len(block_users)] = block
    return out


def stratified_tops(top_pref: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """About ``s`` simulated sessions per user spread over the top categories in proportion to
    the user's taste, at least one per category (stratified sampling: the category, the largest
    source of Monte Carlo noise, is summed over exactly). Returns per session the user's row in
    ``top_pref``, the category and the weight (the taste over the category's sessions; a user's
    weights sum to 1)."""
    k = np.maximum(1, np.rint(s * top_pref)).astype(np.int64)
    n, t = top_pref.shape
    owner = np.repeat(np.repeat(np.arange(n), t), k.ravel())
    top = np.repeat(np.tile(np.arange(t), n), k.ravel())
    weight = np.repeat((top_pref / k).ravel(), k.ravel())
    return owner, top, weight


class UserOracle(Recommender):
    """The generator's own per-session interaction probabilities as a ``Recommender`` (module
    docstring): ``UserOracle(shop).fit(train, items)``; ``fit`` indexes the training
    interactions only to exclude seen items, as for every model; every user is scored from
    the latents, cold or not. Raises ``ValueError`` with ``unavailable_reason`` without truth."""

    name = "oracle"

    def __init__(self, shop, sessions_per_user: int = SESSIONS_PER_USER, seed: int = 0):
        why = unavailable_reason(shop)
        if why is not None:
            raise ValueError(why)
        self.shop, self.sessions_per_user, self.seed = shop, int(sessions_per_user), int(seed)

    def _fit(self, data, items, **kwargs) -> None:
        self.users_ = latent_users(self.shop)
        cat = latent_catalogue(self.shop)
        order = pd.Index(cat.items["item_id"]).get_indexer(items["item_id"])
        if (order < 0).any():
            raise ValueError("oracle: the items table names items the shop's catalogue lacks")
        self.cat_ = cat
        self.order_ = order  # catalogue positions in the order of the items fitted on
        self.user_rows_ = pd.Index(self.shop.extras["user_truth"]["user_id"])

    def probabilities(self, users) -> np.ndarray:
        """``(len(users), n_items)`` per-session interaction probabilities (items in fit order)."""
        self._check_fitted()
        rows = self.user_rows_.get_indexer(pd.Index(users))
        if (rows < 0).any():
            bad = np.asarray(users, dtype=object)[rows < 0][:3]
            raise ValueError(f"oracle: users missing from user_truth: {', '.join(map(str, bad))}")
        if not hasattr(self, "all_"):  # every user at once: a user's scores never depend on
            # which other users are asked for with it (one seeded Monte Carlo draw)
            self.all_ = session_probabilities(
                self.users_, self.cat_, None, self.sessions_per_user, self.seed
            )[:, self.order_]
        return self.all_[rows]

    def score(self, users) -> np.ndarray:
        return self.probabilities(list(users))


def share_of_oracle(value: float, oracle: float) -> float:
    """A model's metric as a share of the oracle's on the same test rows (NaN without one)."""
    return float(value / oracle) if oracle and np.isfinite(oracle) else float("nan")
