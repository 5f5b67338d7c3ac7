"""Tree SHAP wrappers: right shapes, values that add up to the raw score, groups, comparison."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from shopintent.explain import tabular


@pytest.fixture(scope="module")
def tiny_booster():
    r = np.random.default_rng(0)
    x = pd.DataFrame(r.normal(size=(400, 5)), columns=[f"f{i}" for i in range(5)])
    logit = 3 * x["f0"] + 0.5 * x["f1"]  # f0 dominates, f2..f4 are noise
    y = (r.random(400) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {
        "objective": "binary",
        "verbose": -1,
        "num_threads": 1,
        "seed": 0,
        "min_data_in_leaf": 10,
    }
    booster = lgb.train(params, lgb.Dataset(x, y), 40)
    return booster, x


def test_tree_shap_adds_up_to_the_raw_score(tiny_booster):
    booster, x = tiny_booster
    att = tabular.tree_shap(booster, x.iloc[:50])
    assert att.values.shape == (50, 5) and list(att.values.columns) == list(x.columns)
    assert att.values.index.equals(x.index[:50])
    raw = booster.predict(x.iloc[:50], raw_score=True)
    np.testing.assert_allclose(att.values.sum(axis=1) + att.base, raw, atol=1e-6)
    np.testing.assert_allclose(att.output, raw)
    assert att.importance().index[0] == "f0"
    assert 0.5 < att.top_feature_share() <= 1.0  # f0 carries most of the attribution


def test_tree_shap_of_an_early_stopped_booster(tiny_booster):
    _, x = tiny_booster
    y = (x["f0"] > 0).astype(int)
    params = {
        "objective": "binary",
        "verbose": -1,
        "num_threads": 1,
        "seed": 0,
        "learning_rate": 0.5,
    }
    booster = lgb.train(
        params,
        lgb.Dataset(x.iloc[:300], y.iloc[:300]),
        300,
        valid_sets=[lgb.Dataset(x.iloc[300:], y.iloc[300:])],
        callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    assert 0 < booster.best_iteration < 300
    att = tabular.tree_shap(booster, x.iloc[300:], num_iteration=booster.best_iteration)
    np.testing.assert_allclose(att.values.sum(axis=1) + att.base, att.output, atol=1e-6)


def test_purchase_lightgbm_shap_on_the_smoke_shop(smoke_shop):
    from shopintent.features import sessions
    from shopintent.models.purchase_intent import base as purchase

    split = purchase.split_examples(sessions.build_examples(smoke_shop.events, smoke_shop.items))
    model = purchase.HandmadeLightGBM(seed=1, num_boost_round=60).fit(split.train, split.val)
    full = split.test.full_mask()
    att = tabular.lightgbm_shap(model, split.test, n=100, seed=3, mask=full)
    assert att.values.shape == (100, len(model.features)) and full[att.values.index].all()
    np.testing.assert_allclose(att.values.sum(axis=1) + att.base, att.output, atol=1e-6)
    np.testing.assert_allclose(
        1 / (1 + np.exp(-att.output)), model.raw_scores(split.test)[att.values.index], atol=1e-9
    )
    # every hand-made feature sits in exactly one group
    grouped = [f for cols in tabular.PURCHASE_FEATURE_GROUPS.values() for f in cols]
    assert sorted(grouped) == sorted(model.features)
    table = tabular.purchase_faithfulness(
        model, att, split.train, n_rows=20, ks=(1, 3), n_random=5, seed=0
    )
    assert len(table) == 40 and (table["topk_drop"] >= 0).all()


def test_group_values_sum_within_groups():
    values = pd.DataFrame({"a": [1.0, -2.0], "b": [0.5, 0.5], "c": [3.0, 0.0]})
    g = tabular.group_values(values, {"ab": ("a", "b"), "none": ("zzz",)})
    assert list(g.columns) == ["ab", "none", "other"]
    np.testing.assert_allclose(g["ab"], [1.5, -1.5])
    np.testing.assert_allclose(g["none"], [0.0, 0.0])
    np.testing.assert_allclose(g["other"], [3.0, 0.0])
    np.testing.assert_allclose(g.sum(axis=1), values.sum(axis=1))


def test_compare_groups():
    idx = pd.Index([f"s{i}" for i in range(6)])
    a = pd.DataFrame(
        {"x": [3, -3, 3, -3, 3, -3], "y": [1, 2, 1, 2, 1, 2], "z": [0.1] * 6},
        index=idx,
        dtype=float,
    )
    b = pd.DataFrame(
        {
            "x": [2, -2, 2, -2, 2, -2],
            "y": [0.5, 1, 0.5, 1, 0.5, 1],
            "z": [0.0, 0.1] * 3,
            "t": [1.0] * 6,
        },
        index=idx,
    )
    c = tabular.compare_groups({"a": a, "b": b})
    assert c.rank_correlation == pytest.approx(1.0)  # same order x > y > z
    assert c.table.loc["x", "per_session_r"] == pytest.approx(1.0)
    assert np.isnan(c.table.loc["t", "a"])  # a group a model lacks is absent, not zero
    np.testing.assert_allclose(c.table[["a", "b"]].sum(), [1.0, 1.0])
