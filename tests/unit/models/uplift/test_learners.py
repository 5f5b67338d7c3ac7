"""Uplift learners find a known heterogeneous effect; the response model ranks buyers instead."""

import numpy as np
import pytest

from shopintent.evaluation.uplift import qini_coefficient
from shopintent.models.uplift.learners import LEARNERS, cross_fit


def _data(n=6000, seed=0):
    gen = np.random.default_rng(seed)
    X = gen.normal(size=(n, 3))
    t = gen.random(n) < 0.5
    base = 1 / (1 + np.exp(-(-2 + 1.5 * X[:, 1])))  # x1: who buys anyway
    uplift = 0.15 * (X[:, 0] > 0.5)  # x0: who is persuaded
    y = (gen.random(n) < base + t * uplift).astype(float)
    return X, t, y, uplift


@pytest.mark.parametrize("name", ["t_learner", "x_learner"])
def test_uplift_learners_beat_the_response_model(name):
    X, t, y, uplift = _data()
    oracle = qini_coefficient(None, None, uplift, uplift=uplift)
    learned = qini_coefficient(None, None, cross_fit(name, X, t, y, n_estimators=60), uplift=uplift)
    response = qini_coefficient(
        None, None, cross_fit("response", X, t, y, n_estimators=60), uplift=uplift
    )
    assert learned > 0.6 * oracle
    assert learned > response + 0.2 * oracle


def test_cross_fit_names_an_unknown_learner():
    X, t, y, _ = _data(100)
    with pytest.raises(ValueError, match="unknown uplift learner 'forest'.*causal_forest"):
        cross_fit("forest", X, t, y)
    assert set(LEARNERS) == {"response", "t_learner", "x_learner", "causal_forest"}
