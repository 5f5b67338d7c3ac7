"""Customer covariates: the price level as a standard score within each category, by hand."""

import numpy as np
import pandas as pd
import pytest

from shopintent.features.customers import user_covariates


def test_price_scores_by_hand():
    # category "a" holds prices 1, e and e^2 (log mean 1, sd 1), "b" two of one price (sd 0)
    items = pd.DataFrame({"item_id": ["x", "y", "z", "w"], "category": ["a", "a", "a", "b"]})
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    e = np.e
    events = pd.DataFrame(
        {
            "user_id": ["u", "u", "u", "v", "v"],
            "session_id": ["s1", "s1", "s1", "s2", "s2"],
            "ts": [ts + pd.Timedelta(minutes=k) for k in range(5)],
            "event_type": ["view", "view", "purchase", "view", "view"],
            "item_id": ["x", "z", "z", "y", "w"],
            "price": [1.0, e**2, e**2, e, 5.0],
        }
    )
    got = user_covariates(events, items, ["u", "v", "nobody"])
    # log prices of category "a" over the log: 0, 2, 2, 1 -> mean 1.25, sd (ddof 1) 0.957
    logs = np.array([0.0, 2.0, 2.0, 1.0])
    z = (logs - logs.mean()) / logs.std(ddof=1)
    assert got.loc["u", "viewed_price_z"] == pytest.approx((z[0] + z[1]) / 2)
    assert got.loc["u", "bought_price_z"] == pytest.approx(z[2])
    assert got.loc["u", "viewed_price_z_spread"] == pytest.approx(np.std(z[:2], ddof=1))
    # "b" has one price: its score is 0, not a division by zero
    assert got.loc["v", "viewed_price_z"] == pytest.approx(z[3] / 2)
    assert (got.loc["nobody"] == 0).loc[["viewed_price_z", "carted_price_z"]].all()
    assert not got.isna().any().any()
