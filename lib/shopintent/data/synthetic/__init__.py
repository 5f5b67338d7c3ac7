"""The seeded synthetic shop: the embedded default dataset, with ground truth.

``generate(profile, seed)`` returns a ``ShopData`` whose canonical tables look like a real
shop's logs and whose extra tables hold what a real shop never knows:

- ``session_truth``: each session's latent intent, target item, true purchase probability
  (the oracle) and outcome, and the complementary item bought with the target (cross-sell);
- ``user_truth``: each user's latent price position, sensitivity, propensity, activity;
- ``item_truth``: each item's latent quality, popularity weight and price position.

``queries`` carries each query's intent and entity spans (and a ``has_typo`` flag),
``reviews`` the sentiment implied by the rating, ``items`` the model name. Tables named
``*_truth`` are answers, never features. Same profile and seed give byte-identical files.
``world`` rebuilds the latents the truth tables do not keep (users' tastes, the sessions' own
draws) from a prepared shop's profile and seed, checked against them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, get_profile, rng
from shopintent.data.store import ShopData
from shopintent.data.synthetic.behaviour import (
    expected_events_per_session,
    intent_names,
    make_sessions,
    make_users,
)
from shopintent.data.synthetic.catalog import TOPS, make_catalog
from shopintent.data.synthetic.events import START, lay_out, make_queries, make_reviews

__all__ = ["generate"]


def _ids(prefix: str, n: int) -> np.ndarray:
    width = len(str(max(n, 1)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _ts(seconds: np.ndarray) -> pd.Series:
    return pd.Series(START + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us, UTC]")


def generate(profile: str = "default", seed: int = DEFAULT_SEED, progress=None) -> ShopData:
    """The synthetic shop sized by ``profile`` (smoke / default / full).

    ``progress``, if given, is called with a short stage name as generation advances.
    """
    prof = get_profile(profile)
    step = progress or (lambda stage: None)

    step("catalogue")
    cat = make_catalog(prof.n_items, rng(seed, "catalog"))
    step("users")
    users = make_users(prof.n_users, rng(seed, "users"))
    step("sessions")
    n_sessions = max(1, round(prof.n_events / expected_events_per_session()))
    sess = make_sessions(n_sessions, users, cat, rng(seed, "sessions"))
    step("events")
    log = lay_out(sess, users, cat, prof.days, rng(seed, "events"))

    # Sessions get ids in order of start time; events are sorted by time.
    by_start = np.lexsort((np.arange(len(sess)), log["start"]))
    session_rank = np.empty(len(sess), dtype=np.int64)
    session_rank[by_start] = np.arange(len(sess))
    session_ids = _ids("s", len(sess))[session_rank]
    user_ids = _ids("u", len(users))
    item_ids = cat.items["item_id"].to_numpy()

    step("queries")
    queries = make_queries(sess, cat, log["query_session"], seed)
    query_ids = _ids("q", len(queries))
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
    rev = make_reviews(sess, users, cat, purchase_ts[sess.purchased], rng(seed, "reviews"), seed)
    reviews = pd.DataFrame(
        {
            "review_id": _ids("r", len(rev)),
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

    step("validate")
    return ShopData.from_tables(
        events=events,
        items=cat.items,
        queries=queries,
        reviews=reviews,
        extras={
            "session_truth": session_truth,
            "user_truth": user_truth,
            "item_truth": cat.truth(),
        },
        meta={
            "dataset": "synthetic",
            "profile": profile,
            "seed": seed,
            "source": "shopintent.data.synthetic",
        },
    )
