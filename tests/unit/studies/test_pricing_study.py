"""Notebook 14's steps: accuracy per method by hand, policies from the right category, keys."""

import numpy as np
import pandas as pd
import pytest

from shopintent.experiments import pricing as simulator
from shopintent.studies import pricing as study


def _table():
    est = pd.DataFrame(
        {
            "method": ["dml", "dml", "naive", "naive"],
            "category": ["a", "b", "a", "b"],
            "estimate": [-2.05, -1.5, -1.5, -1.0],
            "se": [0.05, 0.05, 0.05, 0.05],
            "low": [-2.15, -1.6, -1.6, -1.1],
            "high": [-1.95, -1.4, -1.4, -0.9],
            "n": [10, 10, 10, 10],
        }
    )
    truth = pd.DataFrame({"category": ["a", "b"], "elasticity": [-2.0, -2.0]})
    from shopintent.models.pricing.elasticity import against_truth

    return against_truth(est, truth)


def test_accuracy_by_hand():
    acc = study.accuracy(_table())
    # dml: a is 2.5% off and covered; b is 25% off and not covered
    assert acc.loc["dml", "share_within_10pct"] == 0.5 and acc.loc["dml", "coverage"] == 0.5
    assert acc.loc["dml", "mean_bias"] == pytest.approx((-0.05 + 0.5) / 2)
    assert acc.loc["naive", "share_within_10pct"] == 0
    m = study.metrics(_table(), None, None, None)
    assert m["pricing/dml/coverage"] == 0.5
    assert m["pricing/truth/elasticity/a"] == -2.0
    assert m["pricing/naive/elasticity/b_high"] == -0.9


def test_policies_use_each_items_category(smoke_shop):
    world = simulator.world_from_shop(smoke_shop)
    truth = smoke_shop.extras["elasticity_truth"]
    table = pd.DataFrame(
        {
            "method": np.repeat(["dml", "naive"], len(truth)),
            "category": np.tile(truth["category"], 2),
            "estimate": np.tile(truth["elasticity"], 2),
        }
    )
    pol = study.policies(world, table)
    # estimates equal to the truth: the DML policy is the true-elasticity policy
    np.testing.assert_allclose(pol["dml_profit"], pol["true_profit"])
    assert set(np.unique(pol["dml_revenue"])) <= {0.8, 1.2}
    rec = study.recommendation_table(world, pol)
    assert set(rec.index) == set(truth["category"])
