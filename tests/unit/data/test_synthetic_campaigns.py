"""The synthetic shop's e-mail campaign: randomised, and its observed effect is the true one."""

import numpy as np
import pandas as pd

from shopintent.config import rng
from shopintent.data.synthetic.behaviour import make_users
from shopintent.data.synthetic.campaigns import SEGMENTS, make_campaign


def _user_truth(n: int, seed: int) -> pd.DataFrame:
    u = make_users(n, rng(seed, "users"))
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "activity": u.activity,
            "price_position": u.price_pos,
            "price_sensitivity": u.price_sens,
            "propensity": u.propensity,
        }
    )


def test_campaign_is_randomised_and_its_observed_effect_is_the_truth():
    users = _user_truth(60_000, 3)
    out = make_campaign(users, rng(3, "campaign"))
    c, t = out["campaign"], out["campaign_truth"]
    assert abs(c["treated"].mean() - 0.5) < 0.01
    # assignment is independent of the traits
    assert (
        abs(
            users.loc[c["treated"], "propensity"].mean()
            - users.loc[~c["treated"], "propensity"].mean()
        )
        < 0.02
    )
    assert not (c["purchased"] & ~c["visited"]).any()
    for outcome, uplift in (("purchased", "uplift_purchase"), ("visited", "uplift_visit")):
        y = c[outcome].to_numpy(float)
        diff = y[c["treated"]].mean() - y[~c["treated"]].mean()
        se = np.sqrt(
            y[c["treated"]].var() / c["treated"].sum()
            + y[~c["treated"]].var() / (~c["treated"]).sum()
        )
        assert abs(diff - t[uplift].mean()) < 3 * se
    # heterogeneous: persuadables gain, sleeping dogs lose, and both are common
    assert set(t["segment"]) == set(SEGMENTS)
    by = t.groupby("segment")["uplift_purchase"].mean()
    assert by["persuadable"] > 0.03 and by["sleeping dog"] < 0
    assert (t["segment"] == "sleeping dog").mean() > 0.05


def test_campaign_is_in_the_shop_and_seeded(smoke_shop):
    c = smoke_shop.extras["campaign"]
    assert c["user_id"].tolist() == smoke_shop.extras["user_truth"]["user_id"].tolist()
    again = make_campaign(smoke_shop.extras["user_truth"], rng(42, "campaign"))["campaign"]
    pd.testing.assert_frame_equal(c.reset_index(drop=True), again)
