"""The synthetic shop's price history: promotions really are confounded with demand, and the
truth is recoverable in principle (the randomised price tests find it; the naive fit does not)."""

import numpy as np
import pandas as pd
import pytest

from shopintent.config import rng
from shopintent.data.synthetic.catalog import make_catalog
from shopintent.data.synthetic.pricing import ELASTICITY_RANGE, make_price_history
from shopintent.models.pricing import elasticity
from shopintent.models.pricing.panel import demand_panel


@pytest.fixture(scope="module")
def large():
    """A larger draw than the smoke shop's (3,000 items, a year of weeks), still < 1 s."""
    cat = make_catalog(3000, rng(7, "catalog"))
    out = make_price_history(cat, 52, rng(7, "pricing"))
    return out, demand_panel(out["price_history"])


def test_tables_are_consistent(smoke_shop):
    h, truth = smoke_shop.extras["price_history"], smoke_shop.extras["demand_truth"]
    el = smoke_shop.extras["elasticity_truth"]
    assert len(h) == len(truth) == 26 * len(smoke_shop.items)
    assert (
        (el["elasticity"] >= ELASTICITY_RANGE[0]) & (el["elasticity"] <= ELASTICITY_RANGE[1])
    ).all()
    assert not (h["promotion"] & h["price_test"]).any()
    promo = h[h["promotion"]]
    cut = 1 - promo["price"] / promo["list_price"]
    assert cut.between(0.09, 0.31).all()
    # the truth is the demand equation: expected units with the category's elasticity
    e = h["category"].map(el.set_index("category")["elasticity"])
    ref = h.groupby("item_id")["list_price"].transform("first")
    want = truth["base_units"] * truth["season"] * (h["price"] / ref) ** e * np.exp(truth["shock"])
    np.testing.assert_allclose(truth["expected_units"], want, rtol=1e-9)


def test_promotions_chase_slow_sellers(large):
    _, panel = large
    h = large[0]["price_history"].sort_values(["item_id", "week"]).reset_index(drop=True)
    panel = panel.assign(promotion=h.loc[h["week"] > 0, "promotion"].to_numpy())
    slow = panel["log_lag_units"] < panel["log_trailing_units"] - 0.2
    assert panel.loc[slow, "promotion"].mean() > 2 * panel.loc[~slow, "promotion"].mean()


def test_randomised_tests_recover_the_truth_and_the_naive_fit_is_biased(large):
    out, panel = large
    truth = out["elasticity_truth"].set_index("category")["elasticity"]
    rct = elasticity.randomised(panel)
    err = rct["estimate"] - truth.loc[rct.index]
    assert (err.abs() < 3.5 * rct["se"]).all()
    assert err.abs().mean() < 0.15
    naive = elasticity.naive(panel)
    rel = (naive["estimate"] - truth.loc[naive.index]) / truth.loc[naive.index].abs()
    # promotions meet low latent demand: the naive slope is pulled towards zero, far outside noise
    assert (rel > 0.1).mean() >= 0.8
    assert ((naive["estimate"] - truth.loc[naive.index]) > 3 * naive["se"]).mean() >= 0.8


def test_panel_names_a_missing_column():
    with pytest.raises(ValueError, match="missing column.*units"):
        demand_panel(pd.DataFrame({"item_id": ["a"], "week": [0], "price": [1.0]}))
    with pytest.raises(ValueError, match="non-positive price"):
        demand_panel(pd.DataFrame({"item_id": ["a"], "week": [0], "price": [0.0], "units": [1]}))
