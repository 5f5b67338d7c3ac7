"""An e-mail coupon campaign sent to a randomised half of the synthetic shop's users, after its
log ends, with a known effect on each user's visit and purchase in the two weeks that follow.

Without the e-mail a user visits with probability ``sigmoid(-1.2 + 0.9 log activity)`` and, having
visited, buys with ``sigmoid(-1.6 + 2 propensity)``; both grow with traits the log shows (how
often the user shops, how often a session ends in a purchase). The e-mail shifts both logits by
an effect that depends on latent traits:

- a coupon appeals to budget users who care about price: the purchase logit moves by
  ``1.4 * price_sensitivity * (-price_position)`` (persuadables at one end, premium users mildly
  put off at the other);
- users who buy anyway (high propensity) gain little: their purchase probability is already
  near its ceiling (sure things);
- very active premium users are annoyed by a discount e-mail: both logits fall (sleeping dogs);
- everyone else visits a little more (+0.4 on the visit logit).

Observable: ``campaign`` (user, arm, visited, purchased). Truth: ``campaign_truth`` (each user's
probabilities under both arms, the true uplift on visit and purchase, and a segment label).
Drawn from its own seeded stream from ``user_truth``'s traits, so the rest of the shop is
unchanged by it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SEGMENTS", "make_campaign", "probabilities"]

TREATED_SHARE = 0.5
VISIT = {"intercept": -1.2, "activity": 0.9, "lift": 0.4, "dog": -1.2}
BUY = {"intercept": -1.6, "propensity": 2.0, "coupon": 1.4, "dog": -1.2}
#: sleeping dogs: premium (price position above this) and very active (log activity above this)
DOG_PRICE, DOG_ACTIVITY = 0.8, 0.5
SEGMENTS = ("persuadable", "sure thing", "lost cause", "sleeping dog")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def probabilities(users: pd.DataFrame, treated: bool) -> tuple[np.ndarray, np.ndarray]:
    """P(visit) and P(purchase) in the campaign window per row of ``user_truth``, under the
    e-mail (``treated``) or without it. A purchase needs a visit."""
    act = np.log(users["activity"].to_numpy(float))
    prop = users["propensity"].to_numpy(float)
    coupon = users["price_sensitivity"].to_numpy(float) * -users["price_position"].to_numpy(float)
    dog = (users["price_position"].to_numpy(float) > DOG_PRICE) & (act > DOG_ACTIVITY)
    v = VISIT["intercept"] + VISIT["activity"] * act
    b = BUY["intercept"] + BUY["propensity"] * prop
    if treated:
        v = v + VISIT["lift"] + VISIT["dog"] * dog
        b = b + BUY["coupon"] * coupon + BUY["dog"] * dog
    p_visit = _sigmoid(v)
    return p_visit, p_visit * _sigmoid(b)


def make_campaign(users: pd.DataFrame, gen: np.random.Generator) -> dict[str, pd.DataFrame]:
    """``campaign`` and ``campaign_truth`` for the users of ``user_truth`` (see the module
    docstring), drawn from ``gen``."""
    n = len(users)
    treated = gen.random(n) < TREATED_SHARE
    v0, b0 = probabilities(users, treated=False)
    v1, b1 = probabilities(users, treated=True)
    pv, pb = np.where(treated, v1, v0), np.where(treated, b1, b0)
    visited = gen.random(n) < pv
    # a purchase needs a visit: buy given a visit with P(purchase) / P(visit)
    purchased = visited & (gen.random(n) < pb / pv)
    uplift = b1 - b0
    segment = np.select(
        [uplift < -0.005, uplift >= 0.02, b0 >= 0.15],
        ["sleeping dog", "persuadable", "sure thing"],
        default="lost cause",
    )
    user_id = users["user_id"].to_numpy()
    return {
        "campaign": pd.DataFrame(
            {"user_id": user_id, "treated": treated, "visited": visited, "purchased": purchased}
        ),
        "campaign_truth": pd.DataFrame(
            {
                "user_id": user_id,
                "p_visit_control": v0,
                "p_visit_treated": v1,
                "p_purchase_control": b0,
                "p_purchase_treated": b1,
                "uplift_visit": v1 - v0,
                "uplift_purchase": uplift,
                "segment": segment.astype(object),
            }
        ),
    }
