"""Sample size and power: textbook values, consistency between formulas, and a simulation check."""

import math

import pytest

from shopintent.experiments import power


def test_sample_size_two_proportions_textbook_values():
    # JMP's documented example (Sample Size > Two Sample Proportions): 0.08 vs 0.06, two-sided
    # alpha 0.05, power 0.80 -> 2554 per group
    assert power.sample_size_two_proportions(0.08, 0.06) == 2554
    # Zar, Biostatistical Analysis (1999), example 24.26: 0.45 vs 0.25, power 0.90, with the
    # continuity correction -> n = 127.23 per group (118 without it)
    assert power.sample_size_two_proportions(0.45, 0.25, power=0.9, continuity=True) == 128
    assert power.sample_size_two_proportions(0.45, 0.25, power=0.9) == 118
    # the common 10% vs 15% example: 685.6 -> 686 per group; direction does not matter
    assert (
        power.sample_size_two_proportions(0.10, 0.15)
        == power.sample_size_two_proportions(0.15, 0.10)
        == 686
    )
    assert power.sample_size_two_proportions(0.10, 0.15, power=0.9) > 686
    # unequal groups: with twice as many in B, A needs fewer users and the total grows
    n_a = power.sample_size_two_proportions(0.10, 0.15, ratio=2.0)
    assert n_a < 686 and 3 * n_a > 2 * 686


def test_sample_size_means_textbook_value():
    # Cohen's d = 0.5, alpha 0.05 two-sided, power 0.80:
    # 2 (1.96 + 0.8416)² / 0.25 = 62.8 -> 63 per group
    # (Cohen's t-test table gives 64; the normal approximation is one less)
    assert power.sample_size_means(0.5, 1.0) == 63
    assert power.sample_size_means(5.0, 10.0) == 63


def test_power_and_sample_size_are_consistent():
    n = power.sample_size_two_proportions(0.10, 0.15)
    assert power.power_two_proportions(0.10, 0.15, n) == pytest.approx(0.80, abs=0.002)
    assert (
        power.power_two_proportions(0.10, 0.15, n - 50)
        < 0.8
        < power.power_two_proportions(0.10, 0.15, n + 50)
    )
    assert power.power_two_proportions(0.10, 0.10, 1000) == pytest.approx(
        0.05, abs=1e-9
    )  # no effect: the size
    mde = power.minimum_detectable_lift(0.10, n)
    assert mde == pytest.approx(0.5, abs=0.01)  # 0.10 -> 0.15 is a lift of 0.5


def test_closed_form_power_matches_simulation():
    closed = power.power_two_proportions(0.10, 0.15, 400)
    simulated = power.simulated_power(0.10, 0.15, 400, n_sims=4000, seed=0)
    se = math.sqrt(closed * (1 - closed) / 4000)
    assert abs(simulated - closed) < 3.5 * se
    assert power.simulated_power(0.10, 0.15, 400, n_sims=500, seed=3) == power.simulated_power(
        0.10, 0.15, 400, n_sims=500, seed=3
    )


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="no difference"):
        power.sample_size_two_proportions(0.1, 0.1)
    with pytest.raises(ValueError, match="alpha and power"):
        power.sample_size_two_proportions(0.1, 0.2, power=1.2)
