"""Price recommendation under a constant-elasticity curve: the Lerner rule, by hand."""

import numpy as np
import pytest

from shopintent.models.pricing.recommend import price_multiplier


def test_profit_price_is_the_lerner_rule_within_bounds():
    # e = -3: p* = c * 3 / 2 = 0.9 of a list price of 100 with cost 60; e = -1.5: 180 -> bound
    m = price_multiplier(np.array([-3.0, -1.5, -0.5]), np.full(3, 100.0), np.full(3, 60.0))
    assert m == pytest.approx([0.9, 1.2, 1.2])
    # profit is highest at the Lerner price: check against a grid
    grid = np.linspace(0.8, 1.2, 401)
    profit = (100 * grid - 60) * grid**-3.0
    assert grid[profit.argmax()] == pytest.approx(0.9, abs=1e-3)


def test_revenue_price_sits_on_a_bound():
    m = price_multiplier(np.array([-2.0, -0.5]), np.ones(2), np.zeros(2), objective="revenue")
    assert m.tolist() == [0.8, 1.2]
    with pytest.raises(ValueError, match="objective 'margin'"):
        price_multiplier(np.array([-2.0]), np.ones(1), np.zeros(1), objective="margin")
