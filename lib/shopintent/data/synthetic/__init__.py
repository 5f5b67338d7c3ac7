"""The seeded synthetic shop: the embedded default dataset, with ground truth.

``generate(profile, seed)`` returns a ``ShopData`` whose canonical tables look like a real
shop's logs and whose extra tables hold what a real shop never knows:

- ``session_truth``: each session's latent intent, target item, true purchase probability
  (the oracle) and outcome, and the complementary item bought with the target (cross-sell);
- ``user_truth``: each user's latent price position, sensitivity, propensity, activity;
- ``item_truth``: each item's latent quality, popularity weight and price position;
- ``elasticity_truth`` and ``demand_truth``: the true price elasticity per category and the
  latent weekly demand behind ``price_history`` (prices, promotions, price tests, units sold;
  ``pricing``);
- ``campaign_truth``: each user's probabilities and true uplift behind ``campaign``, a randomised
  e-mail campaign (``campaigns``).

``queries`` carries each query's intent and entity spans (and a ``has_typo`` flag),
``reviews`` the sentiment implied by the rating, ``items`` the model name. Tables named
``*_truth`` are answers, never features. Same profile and seed give byte-identical files.
``world`` rebuilds the latents the truth tables do not keep (users' tastes, the sessions' own
draws) from a prepared shop's profile and seed, checked against them.
"""

from __future__ import annotations

from shopintent.config import DEFAULT_SEED, get_profile, rng
from shopintent.data.store import ShopData
from shopintent.data.synthetic.behaviour import expected_events_per_session
from shopintent.data.synthetic.block import Ids, Streams, draw_block
from shopintent.data.synthetic.campaigns import make_campaign
from shopintent.data.synthetic.catalog import make_catalog
from shopintent.data.synthetic.pricing import WEEKS, make_price_history

__all__ = ["generate"]


def generate(profile: str = "default", seed: int = DEFAULT_SEED, progress=None) -> ShopData:
    """The synthetic shop sized by ``profile`` (smoke / default / full), drawn as one block.

    ``progress``, if given, is called with a short stage name as generation advances. For a shop
    too large for memory, ``shards.generate_shards`` writes it block by block.
    """
    prof = get_profile(profile)
    step = progress or (lambda stage: None)

    step("catalogue")
    cat = make_catalog(prof.n_items, rng(seed, "catalog"))
    n_sessions = max(1, round(prof.n_events / expected_events_per_session()))
    tables = draw_block(
        cat, prof.n_users, n_sessions, prof.days, Streams.of(seed), Ids.plain(), step
    )

    # The price history and the campaign draw from streams of their own: the tables above are
    # the same with or without them.
    step("prices")
    tables.update(make_price_history(cat, WEEKS.get(profile, 52), rng(seed, "pricing")))
    step("campaign")
    tables.update(make_campaign(tables["user_truth"], rng(seed, "campaign")))

    step("validate")
    return ShopData.from_tables(
        events=tables.pop("events"),
        items=cat.items,
        queries=tables.pop("queries"),
        reviews=tables.pop("reviews"),
        extras={**tables, "item_truth": cat.truth()},
        meta={
            "dataset": "synthetic",
            "profile": profile,
            "seed": seed,
            "source": "shopintent.data.synthetic",
        },
    )
