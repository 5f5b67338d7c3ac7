"""Notebook 14 in the shared smoke run-all: elasticities against the truth, the naive bias, the
price policies in the simulator, and the Online Retail II section."""

import pytest
from nbrun import run_notebook

pytestmark = pytest.mark.notebook


def test_notebook_14_on_the_synthetic_shop(synthetic_run):
    m = run_notebook(synthetic_run, "14", "synthetic")["metrics"]
    # the naive fit is biased towards zero and its intervals miss; DML is close on smoke data
    assert m["pricing/naive/mean_bias"] > 0.2 and m["pricing/naive/coverage"] <= 0.3
    assert m["pricing/dml/mean_abs_relative_error"] < 0.1
    assert (
        m["pricing/dml/mean_abs_relative_error"] < 0.5 * m["pricing/naive/mean_abs_relative_error"]
    )
    assert m["pricing/randomised/coverage"] >= 0.7
    # every category's truth and estimate are recorded with an interval
    cats = [k.rsplit("/", 1)[1] for k in m if k.startswith("pricing/truth/elasticity/")]
    assert len(cats) == 10
    for c in cats:
        assert m[f"pricing/dml/elasticity/{c}_low"] < m[f"pricing/dml/elasticity/{c}_high"]
    # the profit policy under the true elasticities raises profit; simulated vs true agree
    assert m["pricing/sim/true_profit/profit_change_pct_low"] > 0
    for p in ("dml_profit", "dml_revenue", "naive_profit", "true_profit"):
        lo, hi = (
            m[f"pricing/sim/{p}/revenue_change_pct_low"],
            m[f"pricing/sim/{p}/revenue_change_pct_high"],
        )
        assert lo <= m[f"pricing/sim/{p}/revenue_true_change_pct"] <= hi
    assert m["pricing/sim/dml_revenue/revenue_change_pct_low"] > 0
    # Online Retail II: order size and unit price move against each other (quantity tiers)
    if "online-retail/pricing/dml/elasticity" in m:
        assert m["online-retail/pricing/data/price_quantity_correlation"] < -0.2
