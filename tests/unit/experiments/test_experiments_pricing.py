"""The demand simulator: the same prices give no difference, and a uniform price change moves
expected revenue exactly as the constant-elasticity curve says."""

import numpy as np
import pytest

from shopintent.experiments import pricing as simulator


def test_simulator_matches_the_demand_curve(smoke_shop):
    world = simulator.world_from_shop(smoke_shop)
    ones = np.ones(len(world.base))
    a, b = simulator.simulate(world, ones, 4, 0), simulator.simulate(world, ones, 4, 0)
    np.testing.assert_array_equal(a.revenue, b.revenue)
    up = simulator.simulate(world, np.full(len(ones), 1.1), 4, 0)
    # same shocks: expected revenue per item scales by 1.1 ** (1 + e)
    np.testing.assert_allclose(
        up.expected_revenue / a.expected_revenue, 1.1 ** (1 + world.elasticity), rtol=1e-9
    )
    table = simulator.compare(world, {"same": ones, "up": 1.1 * ones}, ones, 4, 0, n_boot=200)
    assert table.loc["same", "revenue_change_pct"] == 0
    true = table.loc["up", "revenue_true_change_pct"]
    lo, hi = table.loc["up", ["revenue_change_pct_low", "revenue_change_pct_high"]]
    assert true < 0 and lo < true < hi  # demand is elastic: a rise loses revenue


def test_a_shop_without_a_price_history_is_refused(smoke_shop):
    from shopintent.data.store import ShopData

    bare = ShopData(smoke_shop.events, smoke_shop.items, smoke_shop.queries, smoke_shop.reviews)
    assert "missing tables: price_history" in simulator.unsupported_reason(bare)
    with pytest.raises(ValueError, match="no demand simulator"):
        simulator.world_from_shop(bare)
