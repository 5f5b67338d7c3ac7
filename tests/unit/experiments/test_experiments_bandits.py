"""Bandits: the ridge statistics by hand, LinUCB and Thompson beat random on a simple contextual
problem, the per-bin Beta policy learns each bin's arm, and regret is measured against the truth."""

import numpy as np
import pytest

from shopintent.experiments import bandits


def _problem(T=6000, seed=0):
    """3 arms, 3 features (bias + 2), rewards in [0.05, 0.45].

    Arm k is best where feature k-1 is high.
    """
    gen = np.random.default_rng(seed)
    X = np.c_[np.ones(T), gen.random((T, 2))]
    theta = np.array([[0.25, 0.0, 0.0], [0.05, 0.4, 0.0], [0.05, 0.0, 0.4]])
    return X, X @ theta.T


def test_ridge_statistics_are_the_closed_form_solution():
    gen = np.random.default_rng(1)
    X, actions, rewards = gen.normal(size=(50, 4)), gen.integers(0, 2, 50), gen.random(50)
    policy = bandits.LinUCB(2, 4, alpha=0.0, ridge=2.0)
    policy.update(X[:20], actions[:20], rewards[:20])
    policy.update(X[20:], actions[20:], rewards[20:])
    for a in range(2):
        m = actions == a
        A = 2.0 * np.eye(4) + X[m].T @ X[m]
        assert policy.A_inv[a] == pytest.approx(np.linalg.inv(A))
        assert policy.theta[a] == pytest.approx(np.linalg.solve(A, X[m].T @ rewards[m]))


def test_linucb_score_is_mean_plus_alpha_width():
    policy = bandits.LinUCB(2, 2, alpha=0.5)
    policy.update(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0, 0]), np.array([1.0, 1.0]))
    x = np.array([[1.0, 0.0]])
    # arm 0: A = I + 2 e1e1ᵀ -> θ = (2/3, 0), width sqrt(1/3); arm 1 untouched: θ = 0, width 1
    assert policy.scores(x)[0] == pytest.approx([2 / 3 + 0.5 * np.sqrt(1 / 3), 0.5])


@pytest.mark.parametrize(
    "make",
    [lambda: bandits.LinUCB(3, 3, alpha=0.3), lambda: bandits.LinearThompson(3, 3, v=0.2)],
    ids=["linucb", "thompson"],
)
def test_learning_policies_beat_random_and_approach_the_oracle(make):
    X, expected = _problem()
    uniforms = np.random.default_rng(2).random(len(X))
    learner = bandits.run(make(), X, expected, uniforms, np.random.default_rng(3), batch=20)
    random = bandits.run(bandits.UniformRandom(3), X, expected, uniforms, np.random.default_rng(3))
    fixed = bandits.run(
        bandits.FixedArm(bandits.best_fixed_arm(expected)),
        X,
        expected,
        uniforms,
        np.random.default_rng(3),
    )
    assert learner.regret.sum() < 0.3 * random.regret.sum()
    assert (
        learner.regret.sum() < fixed.regret.sum()
    )  # context pays: no single arm is best everywhere
    late = learner.regret[-1000:].mean()
    assert late < 0.1 * random.regret[-1000:].mean()
    assert np.all(learner.regret >= 0) and learner.cumulative_regret[-1] == pytest.approx(
        learner.regret.sum()
    )


def test_beta_thompson_learns_each_bins_arm():
    T = 6000
    gen = np.random.default_rng(4)
    X = np.c_[np.ones(T), gen.integers(0, 2, T)]
    expected = np.where(X[:, [1]] == 1, [0.1, 0.5], [0.5, 0.1])  # bin 0 wants arm 0, bin 1 arm 1
    policy = bandits.BetaThompson(2, 2, lambda x: x[:, 1].astype(int))
    run = bandits.run(policy, X, expected, gen.random(T), gen)
    late = slice(T - 1000, T)
    assert (run.actions[late] == X[late, 1]).mean() > 0.95
    assert policy.alpha.sum() + policy.beta.sum() == pytest.approx(
        2 * 2 * 2 + T
    )  # one count per round + priors


def test_summary_and_play_all():
    X, expected = _problem(T=2000, seed=5)
    runs = bandits.play_all(
        [
            bandits.FixedArm(bandits.best_fixed_arm(expected), name="best_fixed"),
            bandits.UniformRandom(3),
        ],
        X,
        expected,
        seed=1,
    )
    table = bandits.summary(runs, ["a", "b", "c"], expected)
    assert table.loc["best_fixed", "regret_vs_best_fixed"] == pytest.approx(0.0)
    assert (
        table.loc["random", "cumulative_regret"] > table.loc["best_fixed", "cumulative_regret"] > 0
    )
    assert table.loc["random", ["share_a", "share_b", "share_c"]].sum() == pytest.approx(1.0)
    again = bandits.play_all([bandits.UniformRandom(3)], X, expected, seed=1)
    assert np.array_equal(again[0].actions, runs[1].actions)  # seeded


def test_tune_picks_the_value_with_least_validation_regret():
    X, expected = _problem(T=3000, seed=6)
    best, table = bandits.tune(
        lambda a: bandits.LinUCB(3, 3, alpha=a), (0.0, 0.3, 5.0), X, expected, seed=0
    )
    assert best == table.idxmin() and table[5.0] > table[best]  # huge bonuses keep exploring


def test_run_checks_shapes():
    X, expected = _problem(T=100)
    with pytest.raises(ValueError, match="one row per round"):
        bandits.run(
            bandits.UniformRandom(3), X[:50], expected, np.zeros(100), np.random.default_rng(0)
        )
