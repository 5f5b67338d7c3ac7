"""Lay the sessions out as an event log: when each session starts, its searches, views,
carts and purchase in order with their timestamps, the query texts and the reviews.

Each session's events go: query 1, the views it led to (carts right after the carted
views), query 2, its views, ..., then the purchase, then (for some buyers) the cross-sell
item's view, cart and purchase. Views are split evenly between the
session's queries; a session without a query browsed in from a category page.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from shopintent.data.synthetic import text
from shopintent.data.synthetic.behaviour import Sessions, Users
from shopintent.data.synthetic.catalog import LEAVES, Catalog
from shopintent.data.synthetic.vocabulary import CATEGORY_TREE, INTENTS

START = pd.Timestamp("2025-01-06", tz="UTC")  # a Monday
#: relative traffic by hour of day (UTC, shop time) and by weekday (Mon..Sun)
HOURLY = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.4,
        0.8,
        1.5,
        2.2,
        2.6,
        2.8,
        3,
        3.4,
        3.2,
        2.8,
        2.7,
        2.8,
        3.1,
        3.6,
        4.3,
        4.8,
        4.4,
        3.2,
        1.8,
    ]
)
WEEKLY = np.array([0.95, 0.9, 0.9, 0.95, 1.0, 1.2, 1.15])
REVISIT = np.array([0.5, 0.1, 0.25, 0.4])  # share of extra views that go back to the target
COMPARE_SET = np.array([12, 12, 3, 6])  # candidates a session's other views come from
TEMPERATURE = np.array([0.7, 1.6, 0.7, 0.8])
DISTRACTION = 0.07  # views of an unrelated popular item
SESSION_GAP_S = 1800  # a user's sessions are at least 30 minutes apart
TYPO_RATE = 0.12


def session_starts(sess: Sessions, days: int, rng: np.random.Generator) -> np.ndarray:
    """Start times (seconds since START) with weekly and daily cycles, a user's sessions apart."""
    n = len(sess)
    day_w = WEEKLY[np.arange(days) % 7]
    day = rng.choice(days, size=n, p=day_w / day_w.sum())
    hour = rng.choice(24, size=n, p=HOURLY / HOURLY.sum())
    start = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    order = np.lexsort((start, sess.user))  # sessions are user-sorted; sort each user's by start
    return start[order]


def separate(start: np.ndarray, duration: np.ndarray, user: np.ndarray) -> np.ndarray:
    """Push each session to start at least SESSION_GAP_S after the same user's previous one ends."""
    start = start.copy()
    first = np.r_[True, user[1:] != user[:-1]]
    rank = np.arange(len(user)) - np.maximum.accumulate(np.where(first, np.arange(len(user)), 0))
    for k in range(1, int(rank.max(initial=0)) + 1):
        idx = np.flatnonzero(rank == k)
        start[idx] = np.maximum(start[idx], start[idx - 1] + duration[idx - 1] + SESSION_GAP_S)
    return start


def _within(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows repeated ``counts`` times: the owning row and the position within it."""
    owner = np.repeat(np.arange(len(counts)), counts)
    offsets = np.cumsum(counts) - counts
    return owner, np.arange(counts.sum()) - offsets[owner]


def pick_logits(sess: Sessions) -> np.ndarray:
    """``(n, CANDIDATES)`` logits of what a session's other views show, over its candidate slots:
    utility / the intent's TEMPERATURE among its COMPARE_SET best candidates by utility, -inf
    elsewhere. A view picks argmax(logits + Gumbel): slot j with probability softmax(logits)_j."""
    util = sess.utility / TEMPERATURE[sess.intent][:, None]
    rank = np.argsort(np.argsort(-sess.utility, axis=1), axis=1)
    return np.where(rank < COMPARE_SET[sess.intent][:, None], util, -np.inf)


def lay_out(
    sess: Sessions, users: Users, cat: Catalog, days: int, rng: np.random.Generator
) -> dict:
    """The events table (as arrays, sorted by time) plus per-session start/end seconds."""
    # Views and the items they show.
    vs, vk = _within(sess.n_views)
    intent = sess.intent[vs]
    target_pos = np.where(
        sess.intent == 0, 0, (rng.random(len(sess)) * sess.n_views).astype(np.int64)
    )
    util = pick_logits(sess)[vs]
    pick = sess.candidates[vs, (util + rng.gumbel(size=util.shape)).argmax(axis=1)]
    r = rng.random(len(vs))
    distract = rng.choice(len(cat.popularity), size=len(vs), p=cat.popularity)
    is_target = (vk == target_pos[vs]) | (r < REVISIT[intent])
    item = np.where(is_target, sess.target[vs], np.where(r > 1 - DISTRACTION, distract, pick))
    block = np.where(sess.n_queries[vs] > 0, vk * sess.n_queries[vs] // sess.n_views[vs], 0)

    # Carts: the first view of the target first, then other first views at random.
    seen_before = pd.DataFrame({"s": vs, "i": item}).duplicated().to_numpy()
    key = rng.random(len(vs)) + 10.0 * (item == sess.target[vs]) - 100.0 * seen_before
    order = np.lexsort((-key, vs))
    cart_rank = np.empty(len(vs), dtype=np.int64)
    cart_rank[order] = _within(sess.n_views)[1]
    carted = cart_rank < sess.carts[vs]

    qs, qk = _within(sess.n_queries)
    bought = np.flatnonzero(sess.purchased)
    # Cross-sell happens after checkout ("bought together" offer): the complement is viewed,
    # carted and bought after the target's purchase, so nothing before the purchase reveals it.
    extra = np.flatnonzero(sess.complement >= 0)
    n_extra = len(extra)
    big = 10**6
    ev_session = np.concatenate([qs, vs, vs[carted], extra, extra, bought, extra])
    ev_type = np.concatenate(
        [
            np.full(len(qs), "search"),
            np.full(len(vs), "view"),
            np.full(carted.sum(), "cart"),
            np.full(n_extra, "view"),
            np.full(n_extra, "cart"),
            np.full(len(bought), "purchase"),
            np.full(n_extra, "purchase"),
        ]
    )
    comp = sess.complement[extra]
    ev_item = np.concatenate(
        [np.full(len(qs), -1), item, item[carted], comp, comp, sess.target[bought], comp]
    )
    ev_block = np.concatenate(
        [qk, block, block[carted], np.full(2 * n_extra + len(bought) + n_extra, big)]
    )
    ev_sub = np.concatenate(
        [
            np.full(len(qs), -1.0),
            vk,
            vk[carted] + 0.5,
            np.ones(n_extra),
            np.full(n_extra, 1.5),
            np.zeros(len(bought)),
            np.full(n_extra, 2.0),
        ]
    )
    ev_query = np.concatenate([np.arange(len(qs)), np.full(len(ev_session) - len(qs), -1)])
    order = np.lexsort((ev_sub, ev_block, ev_session))
    ev_session, ev_type, ev_item, ev_query = (
        a[order] for a in (ev_session, ev_type, ev_item, ev_query)
    )

    # Time spent on each event; the next event starts after it.
    scale = {"search": (0.3, 0.5), "view": (1.0, 0.6), "cart": (0.25, 0.4), "purchase": (3.0, 0.3)}
    duration = np.empty(len(ev_type))
    for t, (mult, sd) in scale.items():
        m = ev_type == t
        duration[m] = mult * sess.dwell[ev_session[m]] * rng.lognormal(0, sd, m.sum())
    duration = np.maximum(np.ceil(duration), 1.0).astype(np.int64)
    per_session = np.bincount(ev_session, weights=duration, minlength=len(sess)).astype(np.int64)
    start = separate(session_starts(sess, days, rng), per_session, sess.user)
    offset = np.cumsum(duration) - duration
    first_offset = offset[np.searchsorted(ev_session, np.arange(len(sess)))]
    ev_ts = start[ev_session] + offset - first_offset[ev_session]
    return {
        "session": ev_session,
        "type": ev_type,
        "item": ev_item,
        "query": ev_query,
        "ts": ev_ts,
        "query_session": qs,
        "start": start,
        "end": start + per_session,
    }


def make_queries(
    sess: Sessions, cat: Catalog, query_session: np.ndarray, seed: int
) -> pd.DataFrame:
    """One query per search event: text, the session's intent, entity spans, typo flag."""
    r = random.Random(seed)
    items = cat.items
    brands, models = items["brand"].tolist(), items["model"].tolist()
    prices, attrs = items["price"].tolist(), items["attributes"].tolist()
    nouns = [CATEGORY_TREE[top][leaf][0] for top, leaf in LEAVES]

    def describe(i: int) -> dict:
        return {
            "brand": brands[i],
            "model": models[i],
            "nouns": nouns[cat.leaf[i]],
            "attrs": list(attrs[i].values()),
            "price": prices[i],
        }

    texts, entities, typos = [], [], []
    for s in query_session.tolist():
        intent = INTENTS[sess.intent[s]]
        t, e, typo = text.compose_query(
            r, intent, describe(sess.target[s]), describe(sess.other[s]), TYPO_RATE
        )
        texts.append(t)
        entities.append(e)
        typos.append(typo)
    return pd.DataFrame(
        {
            "text": texts,
            "intent": np.array(INTENTS)[sess.intent[query_session]],
            "entities": entities,
            "has_typo": typos,
        }
    )


def make_reviews(
    sess: Sessions,
    users: Users,
    cat: Catalog,
    purchase_ts: np.ndarray,
    rng: np.random.Generator,
    seed: int,
) -> pd.DataFrame:
    """Reviews of about a third of purchases; the rating follows quality and price fit."""
    bought = np.flatnonzero(sess.purchased)
    writes = rng.random(len(bought)) < 1 / (
        1 + np.exp(0.7 - 0.4 * users.propensity[sess.user[bought]])
    )
    s = bought[writes]
    item = sess.target[s]
    fit = -0.5 * (cat.price_pos[item] - users.price_pos[sess.user[s]]) ** 2
    rating = np.clip(
        np.rint(3.6 + 1.1 * cat.quality[item] + 0.5 * fit + rng.normal(0, 1.1, len(s))), 1, 5
    )
    rating = rating.astype(np.int64)
    sentiment = text.sentiment_of(rating)
    delay = 86400 * (1 + rng.exponential(4.0, len(s)))
    r = random.Random(seed)
    texts = []
    for i, sent in zip(item.tolist(), sentiment.tolist(), strict=True):
        top, leaf = LEAVES[cat.leaf[i]]
        texts.append(
            text.review_text(
                r, sent, top, CATEGORY_TREE[top][leaf][0][0], cat.items["brand"].iat[i]
            )
        )
    return pd.DataFrame(
        {
            "session": s,
            "item": item,
            "ts": purchase_ts[writes] + delay.astype(np.int64),
            "rating": rating,
            "text": texts,
            "sentiment": sentiment,
        }
    )
