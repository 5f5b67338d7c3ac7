"""Sponsored products on the synthetic shop: ad requests, the candidates an auction saw, the ads
a logging policy showed, their clicks, and the true click model behind them.

Drawn from a prepared synthetic shop with a seeded stream of its own (``rng(seed, "ads")``), so
the shop's own tables are untouched (same bytes with or without ads). One request per sampled
session: a search results page (more likely when the session's latent intent searches) or a
category page, whose context category is the session's target leaf. ``CANDIDATES`` ads compete
(advertised items, most from the context leaf, a bid each); a logging policy shows ``SLOTS`` of
them, ranked by bid times a noisy popularity score (so positions vary for the same ad and
position bias can be told apart from appeal).

The click model (position-based): P(click) = ``EXAMINE[position]`` x sigmoid(relevance), where
relevance adds the user's latent brand affinity, their latent taste for the ad's top category,
their price fit to the ad, the ad's latent quality, whether the ad matches the page's category
(leaf and top level) and how the session's latent intent changes that match (a purchase-ready
shopper clicks matching ads more, an exploratory one less), and a page-type effect. The intent,
tastes and quality are latent: a model sees ids, categories, prices, page type and position.
``ad_truth`` keeps ``relevance_prob`` (P(click | examined)) and ``click_prob``; it is an answer,
never a feature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import rng
from shopintent.data.synthetic.behaviour import price_fit
from shopintent.data.synthetic.catalog import LEAVES, TOPS
from shopintent.data.synthetic.vocabulary import INTENTS

CANDIDATES = 8  # ads competing for one page
SLOTS = 4  # sponsored positions on a page
EXAMINE = np.array([1.0, 0.62, 0.42, 0.3])  # P(a shopper looks at position 1..4)
AD_SHARE = 0.4  # share of the catalogue that advertises
SAME_LEAF_SHARE = 0.65  # candidates drawn from the page's own leaf (the rest: any ad)
#: relevance logit coefficients (see module docstring)
RELEVANCE = {
    "intercept": -2.0,
    "brand": 0.7,
    "taste": 0.6,
    "price_fit": 0.5,
    "quality": 0.5,
    "same_leaf": 1.0,
    "same_top": 0.4,
    "search": 0.3,
}
#: per INTENTS: added to the same-leaf effect (navigational, exploratory, comparison, purchase)
INTENT_MATCH = {"navigational": 0.6, "exploratory": -0.5, "comparison": 0.2, "purchase_ready": 0.8}
SEARCH_SHARE = {"navigational": 0.8, "exploratory": 0.3, "comparison": 0.7, "purchase_ready": 0.7}
FILES = ("ad_candidates", "ad_truth")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def simulate_ads(shop, n_requests: int, seed: int | None = None) -> dict[str, pd.DataFrame]:
    """``ad_candidates`` (one row per request x candidate: ``request_id``, ``session_id``,
    ``user_id``, ``ts``, ``page_type``, ``context_category``, ``item_id``, ``bid``, ``price``,
    ``position`` (1..SLOTS, 0 if not shown), ``click`` (0/1, 0 if not shown)) and ``ad_truth``
    (``request_id``, ``item_id``, ``relevance_prob``, ``click_prob``), for ``n_requests``
    sessions drawn at random (seeded) from a synthetic shop."""
    from shopintent.data.synthetic.world import latent_catalogue, latent_users

    seed = int(shop.meta.get("seed") if seed is None else seed)
    r = rng(seed, "ads")
    users, cat = latent_users(shop), latent_catalogue(shop)
    user_row = {u: i for i, u in enumerate(shop.extras["user_truth"]["user_id"])}
    item_row = {it: i for i, it in enumerate(cat.items["item_id"])}
    truth = shop.extras["session_truth"].sort_values("session_id", kind="stable")
    pick = np.sort(r.choice(len(truth), size=min(n_requests, len(truth)), replace=False))
    sess = truth.iloc[pick].reset_index(drop=True)
    n = len(sess)
    u = sess["user_id"].map(user_row).to_numpy()
    leaf = cat.leaf[sess["target_item_id"].map(item_row).to_numpy()]
    intent = sess["intent"].map({k: i for i, k in enumerate(INTENTS)}).to_numpy()
    search = r.random(n) < np.array([SEARCH_SHARE[k] for k in INTENTS])[intent]

    # the ad pool and its bids (cost per click, rising with the item's price)
    advertiser = np.flatnonzero(r.random(len(cat.items)) < AD_SHARE)
    price = cat.items["price"].to_numpy(float)
    bid_of = np.zeros(len(price))
    bid_of[advertiser] = 0.05 * np.sqrt(price[advertiser]) * r.lognormal(0, 0.5, len(advertiser))
    by_leaf = [advertiser[cat.leaf[advertiser] == j] for j in range(len(LEAVES))]
    ads = r.choice(advertiser, size=(n, CANDIDATES))  # any ad
    same = r.random((n, CANDIDATES)) < SAME_LEAF_SHARE
    for j in np.unique(leaf):
        pool = by_leaf[j]
        rows = np.flatnonzero(leaf == j)
        if len(pool) == 0:
            continue
        draw = pool[r.integers(0, len(pool), (len(rows), CANDIDATES))]
        ads[rows] = np.where(same[rows], draw, ads[rows])

    # true relevance: the latents a model does not see
    top_of_leaf = np.array([TOPS.index(t) for t, _ in LEAVES])
    ad_leaf, ad_top = cat.leaf[ads], top_of_leaf[cat.leaf[ads]]
    uu = np.repeat(u[:, None], CANDIDATES, axis=1)
    same_leaf = (ad_leaf == leaf[:, None]).astype(float)
    same_top = (ad_top == top_of_leaf[leaf][:, None]).astype(float)
    taste = np.log(users.top_pref[uu, ad_top] * len(TOPS) + 0.05)
    b = RELEVANCE
    logit = (
        b["intercept"]
        + b["brand"] * users.brand_aff[uu, cat.brand[ads]]
        + b["taste"] * taste / 3
        + b["price_fit"] * users.price_sens[uu] * price_fit(users, uu, cat, ads)
        + b["quality"] * cat.quality[ads]
        + (b["same_leaf"] + np.array([INTENT_MATCH[k] for k in INTENTS])[intent][:, None])
        * same_leaf
        + b["same_top"] * same_top
        + b["search"] * search[:, None]
    )
    relevance = _sigmoid(logit)

    # the logging policy: bid x noisy popularity, top SLOTS shown
    score = bid_of[ads] * cat.popularity[ads] ** 0.5 * r.lognormal(0, 1.0, (n, CANDIDATES))
    order = np.argsort(-score, axis=1, kind="stable")
    position = np.zeros((n, CANDIDATES), dtype=np.int64)
    rows = np.arange(n)[:, None]
    position[rows, order[:, :SLOTS]] = np.arange(1, SLOTS + 1)
    shown = position > 0
    click_prob = np.where(shown, relevance * EXAMINE[np.maximum(position, 1) - 1], 0.0)
    click = (r.random((n, CANDIDATES)) < click_prob).astype(np.int8)

    item_ids = cat.items["item_id"].to_numpy()
    request = np.repeat(np.array([f"ad{seed % 1000:03d}-{i:07d}" for i in range(n)]), CANDIDATES)
    leaf_names = np.array([f"{t}.{lf}" for t, lf in LEAVES])
    candidates = pd.DataFrame(
        {
            "request_id": request,
            "session_id": np.repeat(sess["session_id"].to_numpy(), CANDIDATES),
            "user_id": np.repeat(sess["user_id"].to_numpy(), CANDIDATES),
            "ts": np.repeat(sess["start"].to_numpy(), CANDIDATES),
            "page_type": np.repeat(np.where(search, "search", "category"), CANDIDATES),
            "context_category": np.repeat(leaf_names[leaf], CANDIDATES),
            "item_id": item_ids[ads].ravel(),
            "bid": bid_of[ads].ravel().round(4),
            "price": price[ads].ravel(),
            "position": position.ravel(),
            "click": click.ravel(),
        }
    )
    ad_truth = pd.DataFrame(
        {
            "request_id": request,
            "item_id": item_ids[ads].ravel(),
            "relevance_prob": relevance.ravel(),
            "click_prob": click_prob.ravel(),
        }
    )
    return {"ad_candidates": candidates, "ad_truth": ad_truth}


def ads_dir(shop_dir: str | Path) -> Path:
    """Where a prepared shop's ad tables live: ``<shop folder>/ads/`` (outside the shop's own
    tables, which stay as prepared)."""
    return Path(shop_dir) / "ads"


def write_ads(tables: dict[str, pd.DataFrame], folder: str | Path) -> dict[str, Path]:
    """Each table as ``<folder>/<name>.parquet`` (through a temp file)."""
    from shopintent.io import write_parquet

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {name: write_parquet(tables[name], folder / f"{name}.parquet") for name in FILES}


def read_ads(folder: str | Path) -> dict[str, pd.DataFrame] | None:
    """The tables ``write_ads`` wrote, or None if any is missing."""
    folder = Path(folder)
    paths = {name: folder / f"{name}.parquet" for name in FILES}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {name: pd.read_parquet(p) for name, p in paths.items()}


__all__ = ["EXAMINE", "SLOTS", "ads_dir", "read_ads", "simulate_ads", "write_ads"]
