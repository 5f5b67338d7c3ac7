"""Sponsored-product ads drawn from the smoke shop's latent world: seeded, leaving the shop's
own tables alone, with the click model's position bias and truth kept apart."""

import numpy as np
import pandas as pd
import pytest

from shopintent.data.synthetic import ads, generate


@pytest.fixture(scope="module")
def shop():
    return generate("smoke", seed=7)


@pytest.fixture(scope="module")
def tables(shop):
    return ads.simulate_ads(shop, 1500)


def test_same_seed_same_ads_and_shop_untouched(shop, tables):
    before = {name: df.copy() for name, df in shop.tables().items()}
    again = ads.simulate_ads(shop, 1500)
    for name in ads.FILES:
        pd.testing.assert_frame_equal(tables[name], again[name])
    for name, df in shop.tables().items():  # drawing ads reads the shop, never changes it
        pd.testing.assert_frame_equal(df, before[name])
    other = ads.simulate_ads(shop, 1500, seed=8)
    assert not other["ad_candidates"]["click"].equals(tables["ad_candidates"]["click"])


def test_shape_truth_apart_and_position_bias(tables):
    c, truth = tables["ad_candidates"], tables["ad_truth"]
    assert len(c) == 1500 * ads.CANDIDATES and c["request_id"].nunique() == 1500
    assert not {"relevance_prob", "click_prob"} & set(c.columns)  # truth is not a feature
    shown = c["position"] > 0
    assert (c[shown].groupby("request_id").size() == ads.SLOTS).all()
    assert (c.loc[~shown, "click"] == 0).all() and (truth.loc[~shown, "click_prob"] == 0).all()
    # clicks follow the truth: observed CTR within noise of the mean true click probability
    assert c.loc[shown, "click"].mean() == pytest.approx(
        truth.loc[shown, "click_prob"].mean(), abs=0.02
    )
    by_pos = pd.DataFrame(
        {"pos": c["position"], "click": c["click"], "rel": truth["relevance_prob"]}
    )[shown]
    rates = by_pos.groupby("pos")[["click", "rel"]].mean()
    # the slot's bias, not the ads' appeal, makes position 1 clicked more than position 4
    assert rates.loc[1, "click"] > 2 * rates.loc[4, "click"]
    assert rates.loc[1, "rel"] == pytest.approx(rates.loc[4, "rel"], abs=0.08)
    np.testing.assert_allclose(
        truth.loc[shown, "click_prob"],
        truth.loc[shown, "relevance_prob"] * ads.EXAMINE[c.loc[shown, "position"] - 1],
    )


def test_ads_written_and_read_back(tables, tmp_path):
    ads.write_ads(tables, ads.ads_dir(tmp_path))
    back = ads.read_ads(ads.ads_dir(tmp_path))
    pd.testing.assert_frame_equal(back["ad_truth"], tables["ad_truth"])
    assert ads.read_ads(tmp_path / "nothing") is None
