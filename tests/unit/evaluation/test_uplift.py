"""Uplift metrics against hand-computed values, and the oracle ranking gets the maximum."""

import numpy as np
import pytest

from shopintent.evaluation.uplift import (
    gain_curve,
    incremental_share,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_report,
)

# four users, listed in score order: treated buyer, control non-buyer, treated non-buyer,
# control buyer
Y = np.array([1, 0, 0, 1])
T = np.array([True, False, True, False])
S = np.array([4.0, 3.0, 2.0, 1.0])


def test_qini_curve_by_hand():
    # k=1: 1 treated buy, no control yet -> 1; k=2: 1 - 0 * 1/1 = 1; k=3: 1 - 0 * 2/1 = 1;
    # k=4: 1 - 1 * 2/2 = 0
    assert qini_curve(Y, T, S).tolist() == [0, 1, 1, 1, 0]
    # the random line ends at 0: the area is the trapezoids 0.5 + 1 + 1 + 0.5 over n² = 16
    assert qini_coefficient(Y, T, S) == pytest.approx(3 / 16)
    # reversed: control buyer, treated non-buyer, control non-buyer, treated buyer ->
    # k=1: 0 (no treated yet); k=2: 0 - 1 * 1/1 = -1; k=3: 0 - 1 * 1/2; k=4: 1 - 1 * 2/2
    assert qini_curve(Y, T, -S).tolist() == [0, 0, -1, -0.5, 0]
    assert uplift_at_k(Y, T, S, frac=0.5) == 1.0
    assert np.isnan(incremental_share(Y, T, S, frac=0.5))  # no effect in total


def test_gain_curve_and_shares_with_known_uplift():
    u = np.array([0.3, 0.1, -0.2, 0.0])
    assert gain_curve(u, S) == pytest.approx([0, 0.3, 0.4, 0.2, 0.2])
    # top half captures 0.4 of a total 0.2: twice the effect (the rest holds a sleeping dog)
    assert incremental_share(None, None, S, frac=0.5, uplift=u) == pytest.approx(2.0)


def test_the_oracle_ranking_gets_the_maximum():
    gen = np.random.default_rng(0)
    u = gen.normal(0.02, 0.05, 2000)
    oracle = qini_coefficient(None, None, u, uplift=u)
    others = [
        qini_coefficient(None, None, gen.normal(size=2000) + k * u, uplift=u) for k in (0, 5, 20)
    ]
    assert all(o < oracle for o in others)
    assert abs(others[0]) < 0.1 * oracle  # a random ranking is near zero
    # on sampled outcomes, the oracle's ranking beats a random one on a large randomised draw
    t = gen.random(2000) < 0.5
    y = gen.random(2000) < 0.1 + t * np.clip(u, -0.1, None)
    assert qini_coefficient(y, t, u) > qini_coefficient(y, t, gen.normal(size=2000))


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="one value per user"):
        qini_curve(Y, T, S[:3])
    with pytest.raises(ValueError, match="treated and control"):
        qini_curve(Y, np.ones(4, bool), S)


def test_bootstrap_intervals_equal_resampling_and_sorting_again():
    # the report reuses the score order for every replicate; with distinct scores that is the
    # same as drawing the users again and sorting the resample (the textbook bootstrap)
    gen = np.random.default_rng(1)
    n, n_boot = 500, 40
    s = gen.normal(size=n)
    t = gen.random(n) < 0.5
    y = (gen.random(n) < 0.1 + 0.1 * t * (s > 0)).astype(float)
    rep = uplift_report(y, t, s, frac=0.3, n_boot=n_boot, seed=7)
    draws = np.random.default_rng(7)
    ref = []
    for _ in range(n_boot):
        i = draws.integers(0, n, n)
        ref.append(
            [
                qini_coefficient(y[i], t[i], s[i]),
                uplift_at_k(y[i], t[i], s[i], 0.3),
                incremental_share(y[i], t[i], s[i], 0.3),
            ]
        )
    low, high = np.nanquantile(np.array(ref), [0.025, 0.975], axis=0)
    for j, name in enumerate(("qini", "uplift_at_k", "incremental_share")):
        assert rep[name][0] == pytest.approx(
            [qini_coefficient, uplift_at_k, incremental_share][j](y, t, s, *([0.3] if j else []))
        )
        assert rep[name][1:] == pytest.approx((low[j], high[j]))
