"""One block of the synthetic shop: users, their sessions, events, queries, reviews and truth,
drawn against a shared catalogue from the block's own seeded streams.

``generate`` builds the whole shop as a single block; ``shards`` builds many, so that memory is
bounded by one block and any block can be drawn again alone. ``Ids`` says how a block spells its
users, sessions, queries and reviews: the in-memory shop keeps its short ids (``u0001``), the
sharded one gets ids that are unique across blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.config import rng
from shopintent.data.synthetic.behaviour import intent_names, make_sessions, make_users
from shopintent.data.synthetic.catalog import TOPS, Catalog
from shopintent.data.synthetic.events import START, lay_out, make_queries, make_reviews

__all__ = ["Ids", "Streams", "draw_block", "numbered"]


def numbered(prefix: str, n: int, width: int | None = None, first: int = 1) -> np.ndarray:
    """``n`` ids ``<prefix><number>`` from ``first``, zero-padded to ``width`` (default: as wide
    as the largest number) so that they sort as their numbers do."""
    width = width or len(str(max(first + n - 1, 1)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(first, first + n)], dtype=object)


@dataclass(frozen=True)
class Ids:
    """How a block names its rows: each function takes a count and gives that many ids, in order
    (sessions are numbered by start time, queries and reviews by their order of drawing)."""

    users: Callable[[int], np.ndarray]
    sessions: Callable[[int], np.ndarray]
    queries: Callable[[int], np.ndarray]
    reviews: Callable[[int], np.ndarray]

    @classmethod
    def plain(cls) -> Ids:
        """The in-memory shop's ids: ``u1..``, ``s1..``, ``q1..``, ``r1..`` zero-padded."""
        return cls(*(lambda n, p=p: numbered(p, n) for p in "usqr"))


@dataclass(frozen=True)
class Streams:
    """The independent random streams of one block; ``text_seed`` seeds the ``random.Random`` of
    query and review texts."""

    users: np.random.Generator
    sessions: np.random.Generator
    events: np.random.Generator
    reviews: np.random.Generator
    text_seed: int

    @classmethod
    def of(cls, seed: int, *block: int) -> Streams:
        """The streams of ``seed`` (the in-memory shop) or of one block of it (``block`` given):
        a block's streams are sub-streams, so a block never shifts when another one changes."""
        text_seed = int(rng(seed, "text", *block).integers(2**63)) if block else seed
        return cls(
            *(rng(seed, name, *block) for name in ("users", "sessions", "events", "reviews")),
            text_seed=text_seed,
        )


def _ts(seconds: np.ndarray) -> pd.Series:
    return pd.Series(START + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us, UTC]")


def draw_block(
    cat: Catalog,
    n_users: int,
    n_sessions: int,
    days: int,
    streams: Streams,
    ids: Ids,
    progress: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """``n_users`` users and ``n_sessions`` of their sessions over ``days`` days, laid out as the
    tables ``events`` (sorted by time, then session), ``queries``, ``reviews``, ``session_truth``
    (in session id order) and ``user_truth``; not yet conformed to the canonical schema."""
    step = progress or (lambda stage: None)
    step("users")
    users = make_users(n_users, streams.users)
    step("sessions")
    sess = make_sessions(n_sessions, users, cat, streams.sessions)
    step("events")
    log = lay_out(sess, users, cat, days, streams.events)

    # Sessions get ids in order of start time; events are sorted by time.
    by_start = np.lexsort((np.arange(len(sess)), log["start"]))
    session_rank = np.empty(len(sess), dtype=np.int64)
    session_rank[by_start] = np.arange(len(sess))
    session_ids = ids.sessions(len(sess))[session_rank]
    user_ids = ids.users(len(users))
    item_ids = cat.items["item_id"].to_numpy()

    step("queries")
    queries = make_queries(sess, cat, log["query_session"], streams.text_seed)
    query_ids = ids.queries(len(queries))
    queries.insert(0, "query_id", query_ids)

    ev_order = np.lexsort((np.arange(len(log["ts"])), session_rank[log["session"]], log["ts"]))
    s, item, q = log["session"][ev_order], log["item"][ev_order], log["query"][ev_order]
    etype = log["type"][ev_order]
    events = pd.DataFrame(
        {
            "user_id": user_ids[sess.user[s]],
            "session_id": session_ids[s],
            "ts": _ts(log["ts"][ev_order]),
            "event_type": etype,
            "item_id": np.where(item >= 0, item_ids[np.maximum(item, 0)], None),
            "query_id": np.where(q >= 0, query_ids[np.maximum(q, 0)], None),
            "price": np.where(
                item >= 0, cat.items["price"].to_numpy()[np.maximum(item, 0)], np.nan
            ),
        }
    )

    step("reviews")
    purchase_ts = log["end"]  # the purchase is the session's last event; its end is just after it
    rev = make_reviews(
        sess, users, cat, purchase_ts[sess.purchased], streams.reviews, streams.text_seed
    )
    reviews = pd.DataFrame(
        {
            "review_id": ids.reviews(len(rev)),
            "user_id": user_ids[sess.user[rev["session"]]],
            "item_id": item_ids[rev["item"]],
            "ts": _ts(rev["ts"].to_numpy()),
            "rating": rev["rating"],
            "text": rev["text"],
            "sentiment": rev["sentiment"],
        }
    )

    order = np.argsort(session_rank)
    session_truth = pd.DataFrame(
        {
            "session_id": session_ids[order],
            "user_id": user_ids[sess.user[order]],
            "start": _ts(log["start"][order]),
            "intent": intent_names(sess.intent[order]),
            "target_item_id": item_ids[sess.target[order]],
            "purchase_prob": sess.purchase_prob[order],
            "complement_item_id": np.where(
                sess.complement[order] >= 0, item_ids[np.maximum(sess.complement[order], 0)], None
            ),
            "purchased": sess.purchased[order],
            "latent": sess.latent[order],
        }
    )
    user_truth = pd.DataFrame(
        {
            "user_id": user_ids,
            "activity": users.activity,
            "price_position": users.price_pos,
            "price_sensitivity": users.price_sens,
            "propensity": users.propensity,
            "favourite_category": np.array(TOPS)[users.top_pref.argmax(axis=1)],
        }
    )
    return {
        "events": events,
        "queries": queries,
        "reviews": reviews,
        "session_truth": session_truth,
        "user_truth": user_truth,
    }
