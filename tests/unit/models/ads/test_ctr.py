"""CTR models: hashed crosses are deterministic, codes map the rare to 0, and a planted
interaction is recovered by the models that can represent it."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.ads import ctr


def _planted(n, seed):
    """Clicks depend on the cross of two fields only (a XOR-like interaction)."""
    r = np.random.default_rng(seed)
    a, b = r.integers(0, 6, n), r.integers(0, 6, n)
    logit = np.where((a + b) % 2 == 0, 1.0, -1.5)
    p = 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {"a": a.astype(str), "b": b.astype(str), "click": (r.random(n) < p).astype(int), "p": p}
    )


FIELDS = ctr.Fields(categorical=("a", "b"), crosses=(("a", "b"),))


def test_hashed_crosses_are_deterministic():
    frame = _planted(50, 0)
    assert ctr._tokens(frame, FIELDS)[0] == [
        f"a={frame.a[0]}",
        f"b={frame.b[0]}",
        f"a={frame.a[0]}|b={frame.b[0]}",
    ]
    m = ctr.HashedCrossLR(FIELDS, bits=12)
    m.mean_, m.std_ = 0, 1
    x1, x2 = m._x(frame), m._x(frame.copy())
    assert (x1 != x2).nnz == 0 and x1.shape == (50, 4096) and x1.sum() == 150


def test_field_codes_send_rare_and_unseen_values_to_zero():
    train = pd.DataFrame({"a": ["x", "x", "y"], "click": [0, 1, 0]})
    codes = ctr.FieldCodes(ctr.Fields(("a",)), min_count=2).fit(train)
    assert codes.transform(pd.DataFrame({"a": ["x", "y", "z"]}))["codes"].ravel().tolist() == [
        1,
        0,
        0,
    ]
    assert codes.sizes == [2]


def test_cross_recovers_a_planted_interaction():
    from sklearn.metrics import roc_auc_score

    train, val, test = _planted(3000, 1), _planted(500, 2), _planted(2000, 3)
    oracle = roc_auc_score(test["click"], test["p"])
    with_cross = ctr.HashedCrossLR(FIELDS, bits=12, c_grid=(1.0,)).fit(train, val).predict(test)
    without = (
        ctr.HashedCrossLR(ctr.Fields(("a", "b")), bits=12, c_grid=(1.0,))
        .fit(train, val)
        .predict(test)
    )
    gbdt = ctr.LightGBMCTR(ctr.Fields(("a", "b")), n_estimators=60).fit(train, val).predict(test)
    assert roc_auc_score(test["click"], with_cross) == pytest.approx(oracle, abs=0.01)
    assert roc_auc_score(test["click"], without) < 0.6  # no main effects to find
    assert roc_auc_score(test["click"], gbdt) == pytest.approx(oracle, abs=0.02)
    assert ctr.Fields(
        ("a", "b", "position"), crosses=(("a", "position"),), serve_as={"position": "1"}
    ).without("position") == ctr.Fields(("a", "b"))
