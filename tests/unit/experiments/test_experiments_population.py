"""Arms, contexts and the A/B population on the smoke shop: counts by hand, the known ordering of
the arms, truth equal to the mean of simulated experiments, and A/A tests that reject about 5%."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from shopintent.experiments import ab, arms, contexts, environment, population, simulator
from shopintent.models.recommenders.base import Recommender


@pytest.fixture(scope="module")
def setup(smoke_shop):
    world = simulator.world_from_shop(smoke_shop)
    matrix = arms.interactions(world, smoke_shop.events)
    return (
        world,
        matrix,
        arms.standard_arms(world, matrix, smoke_shop.reviews),
        contexts.user_history(world, smoke_shop.events),
    )


def test_popularity_is_the_weighted_event_count(setup, smoke_shop):
    world, _, arm_set, _ = setup
    ev = smoke_shop.events.dropna(subset=["item_id"])
    weight = ev["event_type"].map({"view": 1.0, "cart": 3.0, "purchase": 5.0}).fillna(1.0)
    counts = weight.groupby(ev["item_id"]).sum().reindex(world.item_ids).fillna(0).to_numpy()
    table = arm_set["popularity"].table
    assert (table == table[0]).all()  # the same slate for everyone
    assert sorted(counts[table[0]]) == sorted(np.sort(counts)[-5:])


def test_personal_arms_follow_taste_and_price(setup):
    world, matrix, arm_set, _ = setup
    shares = arms.category_shares(world, matrix)
    assert shares.sum(axis=1) == pytest.approx(1.0)
    top = world.cat.top
    rows = np.arange(len(shares))[:, None]
    taste = {
        name: shares[rows, top[arm_set[name].table]].mean() for name in ("personal", "popularity")
    }
    assert taste["personal"] > 2 * taste["popularity"]
    price = arms.price_position(world)
    assert (price[arm_set["personal_budget"].table] < -0.3).all()
    assert (price[arm_set["personal_premium"].table] > 0.3).all()
    assert price == pytest.approx(
        world.cat.price_pos
    )  # observable prices give the generator's position


def test_random_arm_draws_distinct_items_reproducibly(setup):
    world, _, arm_set, _ = setup
    users = np.zeros(2000, dtype=int)
    a = arm_set["random"].slates(users, np.random.default_rng(1))
    assert a.shape == (2000, 5) and (np.diff(np.sort(a, axis=1), axis=1) > 0).all()
    assert np.array_equal(a, arm_set["random"].slates(users, np.random.default_rng(1)))


def test_recommender_arm_wraps_the_shared_interface(setup, smoke_shop):
    world, _, _, _ = setup

    class Cheapest(Recommender):
        name = "cheapest"

        def _fit(self, data, items, **kwargs):
            self.scores_ = -items["price"].to_numpy()

        def _score(self, rows):
            return np.tile(self.scores_, (len(rows), 1))

    arm = arms.recommender_arm(
        "cheapest", Cheapest().fit(smoke_shop.events, smoke_shop.items), world
    )
    cheapest = np.argsort(world.prices, kind="stable")[:5]
    assert sorted(world.prices[arm.table[0]]) == pytest.approx(sorted(world.prices[cheapest]))


def test_the_arms_true_ordering(setup):
    """Known by construction: taste-matched slates outsell popular ones, random sells least."""
    world, _, arm_set, history = setup
    space = contexts.ContextSpace.fit(arms.category_shares(world, setup[1]), history)
    problem = environment.bandit_problem(world, arm_set, space, 20_000, seed=1)
    rate = environment.arm_table(problem)["purchase_rate"]
    assert rate["personal"] > 1.5 * rate["popularity"] > 1.5 * rate["random"]
    assert (
        problem.X.shape == (20_000, space.dim)
        and ((problem.expected >= 0) & (problem.expected < 1)).all()
    )
    again = environment.bandit_problem(world, arm_set, space, 20_000, seed=1)
    assert np.array_equal(problem.expected, again.expected) and np.array_equal(problem.X, again.X)


def test_user_history_by_hand(setup):
    world = setup[0]
    u = world.user_ids
    items = world.item_ids
    events = pd.DataFrame(
        {
            "user_id": [u[0], u[0], u[0], u[1]],
            "session_id": ["s1", "s1", "s2", "s3"],
            "event_type": ["view", "purchase", "view", "view"],
            "item_id": [items[0], items[0], items[1], items[2]],
            "price": [10.0, 10.0, 20.0, 5.0],
        }
    )
    h = contexts.user_history(world, events)
    assert h.loc[u[0], ["sessions", "events", "purchases", "revenue"]].tolist() == [2, 3, 1, 10.0]
    pos = arms.price_position(world)
    assert h.loc[u[0], "price_position"] == pytest.approx((2 * pos[0] + pos[1]) / 3)
    assert h.loc[u[2], "sessions"] == 0 and h.loc[u[0], "intent_source"] == "purchases_per_session"
    predictions = pd.DataFrame(
        {"user_id": [u[0], u[0], u[0]], "is_full": [True, True, False], "p_hybrid": [0.2, 0.4, 0.9]}
    )
    h = contexts.user_history(world, events, predictions)
    assert h.loc[u[0], "intent_history"] == pytest.approx(0.3)
    assert h.loc[u[0], "intent_source"] == "purchase_model_p_hybrid"
    assert h.loc[u[1], "intent_source"] == "purchases_per_session"  # no prediction for this user


def test_contexts_and_bins(setup):
    world, matrix, _, history = setup
    space = contexts.ContextSpace.fit(arms.category_shares(world, matrix), history)
    sess = simulator.traffic(world, 3000, 2)
    proxy = contexts.intent_proxy(world, sess, np.random.default_rng(0))
    X = space.transform(sess, proxy)
    assert X.shape == (3000, space.dim) and (X[:, 0] == 1).all()
    query = X[
        :, [space.names.index(n) for n in space.names if n.startswith("query_") or n == "no_query"]
    ]
    assert (query.sum(axis=1) == 1).all()
    assert (X[sess.n_queries == 0, space.names.index("no_query")] == 1).all()
    bins = space.bins(X)
    assert bins.min() >= 0 and bins.max() < space.n_bins
    # the proxy carries the session's real purchase chances, blurred
    assert roc_auc_score(sess.purchased, proxy) > 0.65


def test_experiment_truth_is_the_mean_of_simulated_experiments(setup):
    world, _, arm_set, history = setup
    exp = population.Experiment.build(
        world, arm_set["popularity"], arm_set["personal"], history, 28, seed=3
    )
    out = exp.replicate(300, seed=3)
    assert (out.treated.sum(axis=1) == exp.n_users // 2).all()
    for arm, mask in ((0, ~out.treated), (1, out.treated)):
        truth = exp.truth(arm)
        for metric in ("conversion", "revenue"):
            per_rep = (out.metric(metric) * mask).sum(axis=1) / mask.sum(axis=1)
            assert abs(per_rep.mean() - truth[metric]) < 4 * per_rep.std(ddof=1) / np.sqrt(300), (
                arm,
                metric,
            )
    effects = exp.true_effects()
    assert effects.loc["conversion", "true_lift"] > 0  # personal beats popularity, known here
    assert np.array_equal(
        population.Experiment.build(
            world, arm_set["popularity"], arm_set["personal"], history, 28, seed=3
        ).buy[1],
        exp.buy[1],
    )


def test_aa_false_positive_rate_on_the_simulator(setup):
    """≥ 200 seeded A/A experiments on the simulated shop: about 5% come out significant."""
    world, _, arm_set, history = setup
    exp = population.Experiment.build(
        world, arm_set["popularity"], arm_set["personal"], history, 28, seed=5
    )
    aa = exp.replicate(400, seed=5, aa=True)
    for p in (ab.ztest_pvalues(aa.converted, aa.treated), ab.welch_pvalues(aa.revenue, aa.treated)):
        rate = ab.rejection_rate(p)[0]
        assert 0.02 <= rate <= 0.09


def test_price_arms_are_left_out_without_prices(smoke_shop):
    """A shop without item prices (issue 18: the no_prices variant) gets every arm but the two
    priced within their category, and says why; asking for one of those names the reason."""
    items = smoke_shop.items.assign(price=pd.Series([None] * len(smoke_shop.items), dtype=object))
    world = simulator.world_from_shop(smoke_shop)
    world = dataclasses.replace(world, cat=dataclasses.replace(world.cat, items=items))
    matrix = arms.interactions(world, smoke_shop.events)
    assert "no item prices" in arms.missing_prices(world)
    arm_set = arms.standard_arms(world, matrix, smoke_shop.reviews)
    assert set(arm_set) == {"popularity", "personal", "top_rated", "random"}
    with pytest.raises(ValueError, match="needs item prices"):
        arms.personal_arm(world, matrix, price="budget")
