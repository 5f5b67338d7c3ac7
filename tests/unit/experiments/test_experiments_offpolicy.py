"""Off-policy estimators: by hand on a tiny log; unbiased on uniform logging of a known problem."""

import numpy as np
import pytest

from shopintent.experiments import offpolicy


def test_estimators_by_hand():
    log = offpolicy.Log(
        X=np.zeros((4, 1)),
        actions=np.array([0, 1, 0, 1]),
        propensity=np.full(4, 0.5),
        rewards=np.array([1.0, 0.0, 0.0, 1.0]),
    )
    target = np.array([0, 0, 0, 1])  # matches rounds 0, 2, 3
    assert offpolicy.replay(log, target) == (pytest.approx(2 / 3), 3)
    assert offpolicy.ips(log, target) == pytest.approx((1 / 0.5 + 0 + 0 + 1 / 0.5) / 4)
    assert offpolicy.snips(log, target) == pytest.approx(2 / 3)  # Σ r w / Σ w = 4 / 6
    assert np.isnan(offpolicy.replay(log, np.full(4, 2))[0])


def _known_problem(T, seed):
    gen = np.random.default_rng(seed)
    X = np.c_[np.ones(T), gen.random(T)]
    expected = np.c_[0.2 + 0.0 * X[:, 1], 0.05 + 0.4 * X[:, 1], 0.1 + 0.1 * X[:, 1]]
    return X, expected


def test_ips_is_unbiased_on_uniform_logging():
    """The mean IPS estimate over 300 independent logs lands on each policy's true value."""
    truth_X, truth_expected = _known_problem(200_000, seed=99)
    learned = {
        "greedy": np.array([[0.2, 0.0], [0.05, 0.4], [0.1, 0.1]])
    }  # picks arm 1 where x > 0.375
    truth = offpolicy.true_values(
        truth_expected, offpolicy.target_actions(truth_X, ["a", "b", "c"], learned)
    )
    assert truth["greedy"] > max(truth["a"], truth["b"], truth["c"])
    estimates = {name: [] for name in truth}
    covered = []
    for rep in range(300):
        X, expected = _known_problem(1500, seed=rep)
        log = offpolicy.log_uniform(X, expected, seed=rep)
        assert np.allclose(log.propensity, 1 / 3)
        for name, target in offpolicy.target_actions(X, ["a", "b", "c"], learned).items():
            estimates[name].append(offpolicy.ips(log, target))
            low, high = offpolicy.ips_interval(log, target)
            covered.append(low <= truth[name] <= high)
    for name, values in estimates.items():
        values = np.array(values)
        assert abs(values.mean() - truth[name]) < 3 * values.std(ddof=1) / np.sqrt(len(values)), (
            name
        )
    assert 0.9 < np.mean(covered) < 0.98  # nominal 95% intervals


def test_evaluate_reports_errors_against_the_truth():
    X, expected = _known_problem(30_000, seed=1)
    log = offpolicy.log_uniform(X, expected, seed=1)
    targets = offpolicy.target_actions(X, ["a", "b", "c"])
    table = offpolicy.evaluate(log, targets, {"a": 0.2, "b": 0.25, "c": 0.15})
    assert set(table.index) == {"a", "b", "c"}
    assert table["ips_error"].abs().max() < 0.02 and table["replay_error"].abs().max() < 0.02
    assert (table["replay_rounds"] > 9000).all()
    assert table.loc["a", "ips_error"] == pytest.approx(table.loc["a", "ips"] - 0.2)
