"""Notebook 06 via `shopintent run --only 06`, smoke profile: synthetic shop and MovieLens-100K."""

import json

import numpy as np
import pandas as pd
import pytest
from nbrun import run_notebook

from shopintent.models.recommenders.persist import load_recommender
from shopintent.studies.recommender_baselines import model_dir

pytestmark = pytest.mark.notebook
MODELS = ("popularity", "recent_popularity", "item_knn", "ease", "als", "bpr")
LEARNED = ("item_knn", "ease", "als", "bpr")
KEYS = tuple(
    f"recs/{m}/{k}"
    for m in MODELS
    for k in ("ndcg@10", "recall@20", "mrr@20", "coverage", "ndcg@10_low", "ndcg@10_high")
)
MSR_KEYS = tuple(
    f"movielens-100k/msr_protocol/{m}/{k}"
    for m in ("popularity", "ease", "als", "bpr")
    for k in ("ndcg@10", "precision@10", "recall@10", "map@10")
)


def _run_06(workspace, dataset, source=None):
    run_notebook(workspace, "06", dataset, source)
    out = workspace / "reports" / f"{dataset}-smoke"
    assert (out / "html" / "06_recommender_baselines.html").stat().st_size > 50_000
    metrics = json.loads((out / "metrics" / "06_recommender_baselines.json").read_text())["metrics"]
    assert set(KEYS) <= metrics.keys()
    for key, value in metrics.items():  # every rate in [0, 1]; the interval around its estimate
        if key.split("/")[-1].split("@")[0] in (
            "ndcg",
            "recall",
            "mrr",
            "coverage",
            "precision",
            "map",
        ):
            assert 0 <= value <= 1, key
    for m in MODELS:
        assert (
            metrics[f"recs/{m}/ndcg@10_low"]
            <= metrics[f"recs/{m}/ndcg@10"]
            <= metrics[f"recs/{m}/ndcg@10_high"]
        )
    return metrics


def _check_saved(workspace, dataset):
    folder = (
        workspace
        / "data"
        / "processed"
        / (f"{dataset}-smoke" if dataset == "synthetic" else dataset)
    )
    lists = pd.read_parquet(folder / "recs_ease.parquet")
    assert list(lists.columns) == ["user_id", "rank", "item_id", "score", "model", "protocol"]
    assert lists.groupby("user_id")["item_id"].nunique().eq(50).all()  # SAVE_K distinct items each
    ease = load_recommender(
        model_dir(dataset, "smoke") / "ease.npz"
    )  # the saved state gives the same lists
    users = lists["user_id"].drop_duplicates().to_numpy()[:20]
    again = ease.recommend(users, 50).to_frame(users)
    mine = lists[lists["user_id"].isin(users)]
    assert np.array_equal(again["item_id"].to_numpy(), mine["item_id"].to_numpy())


def test_notebook_06_on_the_synthetic_shop(synthetic_run):
    m = _run_06(synthetic_run, "synthetic")
    for model in LEARNED:  # what users did before says something the global list does not
        assert m[f"recs/{model}/ndcg@10"] > m["recs/popularity/ndcg@10"], model
    assert m["recs/ease/coverage"] > 2 * m["recs/popularity/coverage"]
    assert m["recs/data/test_users"] > 100 and m["recs/data/cold_users"] > 0
    assert m["tuning/ease/val_ndcg@10"] > m["tuning/popularity/val_ndcg@10"]
    # the ceiling: the shop's own probabilities, above every model, each model a share of it
    for model in MODELS:
        assert m["recs/oracle/ndcg@10"] > m[f"recs/{model}/ndcg@10_high"], model
        share = m[f"recs/{model}/share_of_oracle/ndcg@10"]
        assert share == pytest.approx(m[f"recs/{model}/ndcg@10"] / m["recs/oracle/ndcg@10"])
        assert 0 < m[f"recs/{model}/share_of_oracle/recall@20"] < 1, model
    _check_saved(synthetic_run, "synthetic")


def _check_msr(m):
    """Section 5: MovieLens-100K under the MSR protocol, whatever the run's dataset."""
    assert set(MSR_KEYS) <= m.keys()
    # MovieLens has no truth tables: no oracle among its keys (the synthetic run has its own)
    assert not [k for k in m if k.startswith("movielens-100k/") and "oracle" in k]
    assert (
        0.22 < m["movielens-100k/msr_protocol/popularity/ndcg@10"] < 0.28
    )  # as published protocols measure it
    assert 0.44 < m["movielens-100k/msr_protocol/ease/ndcg@10"] < 0.52
    assert (
        m["movielens-100k/msr_protocol/ease/ndcg@10_low"]
        > m["movielens-100k/msr_protocol/popularity/ndcg@10"] + 0.15
    )
    for model in ("als", "bpr"):
        assert (
            m[f"movielens-100k/msr_protocol/{model}/ndcg@10"]
            > m["movielens-100k/msr_protocol/popularity/ndcg@10"] + 0.1
        ), model
    # the legacy MAP (divided by all relevant items) is below MAP@10 (divided by at most 10)
    assert (
        m["movielens-100k/msr_protocol/ease/map_legacy@10"]
        < m["movielens-100k/msr_protocol/ease/map@10"]
    )


def test_notebook_06_msr_protocol_in_the_synthetic_run(synthetic_run, shared_data):
    """Section 5 runs on MovieLens-100K (read from ../shared/data) in the smoke run-all on the
    synthetic shop: the published protocol is checked there, in the fast tier."""
    _check_msr(_run_06(synthetic_run, "synthetic"))


@pytest.mark.slow  # real sample: make test-all (its section 5 is checked in the synthetic run)
def test_notebook_06_on_movielens(workspace, shared_data):
    m = _run_06(workspace, "movielens-100k", shared_data / "movielens-100k-recbole")
    _check_msr(m)
    assert not [k for k in m if "oracle" in k]  # no truth tables, no oracle anywhere
    _check_saved(workspace, "movielens-100k")
