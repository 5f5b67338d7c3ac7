"""Hyper-parameter search: validation is carved from training only, the best validation point is
chosen and refitted on all of training, folds are averaged, score-only parameters share a fit."""

import numpy as np
import pandas as pd
import pytest

from shopintent.evaluation.ranking import ndcg_at_k
from shopintent.models.recommenders import tune
from shopintent.models.recommenders.baselines import EASE


@pytest.fixture(scope="module")
def shop(smoke_shop):
    ev = smoke_shop.events
    return ev[ev["item_id"].notna()], smoke_shop.items


def test_temporal_validation_is_the_end_of_training(shop):
    events, _ = shop
    inner = tune.validation_split(events, "temporal", frac=0.25)
    assert len(inner.train) + len(inner.val) == len(events) and inner.test.empty
    assert inner.train["ts"].max() < inner.val["ts"].min()
    assert abs(len(inner.val) / len(events) - 0.25) < 0.01
    assert inner.protocol == "validation-temporal-global-cutoff"


def test_stratified_validation_takes_a_share_of_each_user(shop):
    events, _ = shop
    inner = tune.validation_split(events, "stratified", frac=0.25, seed=1)
    per_user = inner.val.groupby("user_id").size() / events.groupby("user_id").size()
    assert per_user.dropna().between(0.1, 0.4).mean() > 0.9
    other = tune.validation_split(events, "stratified", frac=0.25, seed=2)
    assert not inner.val.index.equals(other.val.index)
    with pytest.raises(ValueError, match="repeats must be 1 for a temporal"):
        tune.validation_folds(events, shop[1], "temporal", repeats=2)
    with pytest.raises(ValueError, match="validation must be one of"):
        tune.validation_split(events, "random")


def test_tune_chooses_the_best_validation_point_and_refits_on_all_training(shop):
    events, items = shop
    folds = tune.validation_folds(events, items, "temporal", 0.2)
    grid = {"l2": [1.0, 100.0, 10_000.0]}
    result = tune.tune("ease", grid, events, items, folds=folds)
    fit_events, task = folds[0]
    by_hand = {}
    for l2 in grid["l2"]:  # the same numbers, computed directly
        recs = EASE(l2=l2).fit(fit_events, items).recommend(task.users, 10).index
        by_hand[l2] = ndcg_at_k(recs, task.truth, 10)
    assert np.allclose(
        result.table.set_index("l2")["ndcg@10"].loc[grid["l2"]], [by_hand[x] for x in grid["l2"]]
    )
    assert result.params == {"l2": max(by_hand, key=by_hand.get)}
    assert result.model.data_.n_users == events["user_id"].nunique()  # refitted on everything
    assert result.val_score == max(by_hand.values())


def test_repeated_folds_are_averaged_and_score_params_share_a_fit(shop):
    events, items = shop
    folds = tune.validation_folds(events, items, "stratified", 0.25, seed=3, repeats=2)
    result = tune.tune(
        "bpr",
        {"pop_weight": [0.0, 2.0], "factors": [8], "iterations": [5]},
        events,
        items,
        folds=folds,
        refit=False,
    )
    assert result.model is None and len(result.table) == 2 and "x2" in result.protocol
    assert result.table["fit_s"].nunique() == 1  # one fit per fold, shared by both pop_weights
    from shopintent.models.recommenders.factorization import BPR

    per_fold = []
    for fit_events, task in folds:
        model = BPR(factors=8, iterations=5, seed=tune.DEFAULT_SEED, pop_weight=2.0).fit(
            fit_events, items
        )
        per_fold.append(ndcg_at_k(model.recommend(task.users, 10).index, task.truth, 10))
    row = result.table[result.table["pop_weight"] == 2.0].iloc[0]
    assert np.isclose(row["ndcg@10"], np.mean(per_fold))


def test_tune_all_and_the_tuning_table(shop):
    events, items = shop
    grids = {"popularity": {}, "recent_popularity": {"half_life_days": [1.0, 30.0]}}
    lines = []
    tuned = tune.tune_all(grids, events, items, echo=lines.append)
    table = tune.tuning_table(tuned)
    assert list(table.index) == ["popularity", "recent_popularity"] and len(lines) == 2
    assert table.loc["recent_popularity", "grid_points"] == 2
    assert table.loc["popularity", "params"] == {}
    # every grid-searched model is one of tune's (tune lists every registered recommender)
    assert set(tune.search_space("smoke")) == set(tune.search_space("default")) < set(tune.MODELS)
    assert isinstance(table.loc["popularity", "val_ndcg@10"], float | np.floating)
    assert pd.notna(table["refit_s"]).all()
