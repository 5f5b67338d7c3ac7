"""Elasticity estimators: DML recovers the synthetic truth where the naive fit cannot; the
naive fit equals a hand-computed within-item slope; real order lines become a weekly panel."""

import numpy as np
import pandas as pd
import pytest

from shopintent.config import rng
from shopintent.data.synthetic.catalog import make_catalog
from shopintent.data.synthetic.pricing import make_price_history
from shopintent.models.pricing import elasticity
from shopintent.models.pricing.panel import demand_panel, weekly_orders, well_priced


def test_naive_is_the_within_item_slope():
    # two items, prices and units chosen so that the within-item slope is exactly -2
    t = np.log([1.0, 0.8, 1.0, 0.9])
    panel = pd.DataFrame(
        {
            "item_id": ["a", "a", "b", "b"],
            "category": "c",
            "t": t,
            "y": [3.0, 3.0 - 2 * t[1], 5.0, 5.0 - 2 * t[3]],
        }
    )
    got = elasticity.naive(panel)
    assert got.loc["c", "estimate"] == pytest.approx(-2.0)


@pytest.mark.slow  # ~15 s idle: two LightGBM cross-fits (benchmarks/bench_pricing_coverage.py
# measures coverage over seeds on the default profile)
def test_dml_recovers_the_truth_the_naive_fit_misses():
    cat = make_catalog(800, rng(11, "catalog"))
    out = make_price_history(cat, 26, rng(11, "pricing"))
    panel = demand_panel(out["price_history"])
    truth = out["elasticity_truth"]
    table = elasticity.against_truth(
        pd.concat(
            {
                "dml": elasticity.dml(panel, seed=0, n_estimators=40),
                "naive": elasticity.naive(panel),
            },
            names=["method"],
        ).reset_index(),
        truth,
    )
    dml, naive = table[table["method"] == "dml"], table[table["method"] == "naive"]
    assert dml["relative_error"].abs().mean() < 0.1
    assert naive["relative_error"].mean() > 0.1  # towards zero, in most categories
    assert naive["relative_error"].abs().mean() > 2 * dml["relative_error"].abs().mean()


def test_weekly_orders_weights_the_price_by_quantity():
    ts = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-09"], utc=True)
    events = pd.DataFrame(
        {
            "item_id": ["a", "a", "a"],
            "ts": ts,
            "event_type": "purchase",
            "price": [2.0, 1.0, 2.0],
            "quantity": [1.0, 3.0, 2.0],
        }
    )
    w = weekly_orders(events)
    assert w["units"].tolist() == [4.0, 2.0]
    assert w["price"].tolist() == pytest.approx([(2 + 3) / 4, 2.0])
    assert w["mean_line_quantity"].tolist() == [2.0, 2.0]
    panel = demand_panel(w)
    assert "log_line_quantity" in panel and (panel["log_list_ratio"] == 0).all()
    assert len(well_priced(panel, min_weeks=1, min_prices=2)) == 0  # one row: one price
    with pytest.raises(ValueError, match="missing column.*quantity"):
        weekly_orders(events.drop(columns="quantity"))
