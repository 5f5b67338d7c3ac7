"""The simulator: rebuilds the generator's world, is deterministic by seed, and its exact
probabilities agree with the generator's own purchase mechanism and with Monte Carlo draws."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from shopintent.data.store import ShopData
from shopintent.experiments import simulator


@pytest.fixture(scope="module")
def world(smoke_shop):
    return simulator.world_from_shop(smoke_shop)


def test_world_matches_the_shops_truth(world, smoke_shop):
    truth = smoke_shop.extras["user_truth"]
    assert np.allclose(world.users.price_sens, truth["price_sensitivity"])
    assert np.allclose(world.users.propensity, truth["propensity"])
    items = smoke_shop.extras["item_truth"]
    assert np.allclose(world.cat.quality, items["quality"]) and np.allclose(
        world.cat.popularity, items["popularity"]
    )
    assert (world.cat.leaf >= 0).all() and (world.cat.brand >= 0).all()
    assert world.sessions_per_day == pytest.approx(len(smoke_shop.extras["session_truth"]) / 56)


def test_only_the_synthetic_shop_is_simulated(smoke_shop):
    assert simulator.unsupported_reason(smoke_shop) is None
    views = smoke_shop.events[smoke_shop.events["event_type"] == "view"].head(50)
    real = ShopData.from_tables(
        events=views, items=smoke_shop.items, meta={"dataset": "rees46", "source": "x.csv"}
    )
    reason = simulator.unsupported_reason(real)
    assert "rees46" in reason and "no simulator" in reason
    with pytest.raises(ValueError, match="no simulator"):
        simulator.world_from_shop(real)
    other_seed = dataclasses.replace(smoke_shop, meta={**smoke_shop.meta, "seed": 7})
    with pytest.raises(ValueError, match="does not match the generator"):
        simulator.world_from_shop(other_seed)


def test_traffic_is_deterministic_by_seed(world):
    a, b, c = (simulator.traffic(world, 400, s) for s in (3, 3, 4))
    for field in ("user", "intent", "target", "latent", "noise", "purchase_prob"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert not np.array_equal(a.target, c.target)
    probs = [
        simulator.slate_probs(world, a, np.tile(np.arange(5), (len(a), 1))).buy for _ in range(2)
    ]
    assert np.array_equal(*probs)


def test_buy_given_click_integrates_the_generators_purchase_mechanism(world):
    """For the generator's own target item, E[purchase_prob] is our exact value.

    The expectation is over the item's Poisson carts.
    """
    sess = simulator.traffic(world, 40_000, 11)
    keep = (
        sess.n_views >= 2
    )  # the generator caps carts at the views; the logit caps them at 2 anyway
    exact = simulator.buy_given_click(world, sess, sess.target[:, None])[:, 0][keep]
    drawn = sess.purchase_prob[keep]
    se = (drawn - exact).std() / np.sqrt(keep.sum())
    assert abs(drawn.mean() - exact.mean()) < 4 * se
    assert abs(sess.purchased[keep].mean() - exact.mean()) < 4 * np.sqrt(exact.mean() / keep.sum())
    assert np.corrcoef(exact, drawn)[0, 1] > 0.5


def test_slate_probabilities_follow_the_cascade(world):
    sess = simulator.traffic(world, 300, 5)
    slates = np.random.default_rng(0).integers(0, len(world.item_ids), (300, 5))
    p = simulator.slate_probs(world, sess, slates)
    attract = simulator.attraction(world, sess, slates)
    assert p.click[:, 0] == pytest.approx(attract[:, 0])  # the top position is always examined
    exam = np.arange(1, 6) ** -simulator.EXAMINATION_DECAY
    assert p.click[:, 1] == pytest.approx((1 - attract[:, 0]) * exam[1] * attract[:, 1])
    assert (p.p_click <= 1).all() and (p.buy <= p.click + 1e-15).all() and (p.buy >= 0).all()
    assert p.revenue(world.prices) == pytest.approx((p.buy * world.prices[slates]).sum(axis=1))
    with pytest.raises(ValueError, match="rows"):
        simulator.slate_probs(world, sess, slates[:10])


def test_drawn_slate_purchases_match_the_probabilities(world):
    sess = simulator.traffic(world, 1, 2)
    sess = dataclasses.replace(
        sess,
        **{f.name: np.repeat(getattr(sess, f.name), 1, axis=0) for f in dataclasses.fields(sess)},
    )
    slates = np.array([[1, 2, 3, 4, 5]])
    p = simulator.slate_probs(world, sess, slates)
    p = dataclasses.replace(
        p, buy=np.minimum(p.buy * 20, 0.19)
    )  # inflate so that draws are informative
    pos = simulator.draw_slate_purchases(p, np.random.default_rng(1), reps=200_000)[:, 0]
    freq = np.bincount(pos + 1, minlength=6)[1:] / len(pos)
    assert freq == pytest.approx(p.buy[0], abs=0.004)


def test_organic_frame(world):
    sess = simulator.traffic(world, 50, 1)
    frame = simulator.organic_frame(world, sess)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 50
    assert frame["price_organic"].to_numpy() == pytest.approx(world.prices[sess.target])


@pytest.mark.parametrize("column", ["category", "brand"])
def test_items_without_category_or_brand_are_not_simulated(smoke_shop, column):
    """Issue 18 (no_categories / no_brands): a null leaf or brand used to become int64's minimum
    in the world's catalogue; now the simulator says why it cannot run."""
    items = smoke_shop.items.assign(**{column: None})
    shop = dataclasses.replace(smoke_shop, items=items)
    reason = simulator.unsupported_reason(shop)
    assert reason is not None and f"items without a {column}" in reason
    with pytest.raises(ValueError, match=f"without a {column}"):
        simulator.world_from_shop(shop)
