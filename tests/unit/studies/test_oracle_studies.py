"""The oracle steps of notebooks 06, 07 (recommender_baselines) and 08 (sequential_recommender):
built on the synthetic shop, absent with the reason elsewhere, and each model's share of it."""

from dataclasses import replace

import numpy as np
import pytest

from shopintent.data.splits import temporal_split
from shopintent.models.recommenders.sequential.data import sequence_split
from shopintent.studies import recommender_baselines as baselines
from shopintent.studies import sequential_recommender as sequential


def test_user_oracle_step_and_shares(smoke_shop):
    events = smoke_shop.events[smoke_shop.events["item_id"].notna()]
    split = temporal_split(events, test_frac=0.2)
    model, note = baselines.oracle_model(smoke_shop, split.train, seed=1)
    assert model.name == "oracle" and "latent tastes" in note
    users = np.sort(split.test["user_id"].unique())[:10]
    lists = model.recommend(users, 10)
    seen = model.data_.seen(users)
    assert not any(seen[r, lists.index[r]].sum() for r in range(len(users)))  # seen items removed
    rows = [
        {"model": "oracle", "ndcg@10": 0.2, "recall@20": 0.4},
        {"model": "ease", "ndcg@10": 0.15, "recall@20": 0.3},
        {"model": "popularity", "ndcg@10": 0.1, "recall@20": 0.35},
    ]
    shares = baselines.oracle_shares(rows)
    assert shares == pytest.approx(
        {
            "recs/ease/share_of_oracle/ndcg@10": 0.75,
            "recs/ease/share_of_oracle/recall@20": 0.75,
            "recs/popularity/share_of_oracle/ndcg@10": 0.5,
            "recs/popularity/share_of_oracle/recall@20": 0.875,
        }
    )
    table = baselines.oracle_share_table(rows)
    assert list(table.index) == ["ease", "popularity"]
    assert list(table.columns) == ["ndcg@10 / oracle", "recall@20 / oracle"]
    assert baselines.oracle_shares(rows[1:]) == {}  # no oracle row: no shares


def test_no_oracle_steps_without_truth(smoke_shop):
    bare = replace(smoke_shop, extras={}, meta={**smoke_shop.meta, "dataset": "myshop"})
    model, why = baselines.oracle_model(bare, bare.events)
    assert model is None and why.startswith("myshop: the oracle") and "user_truth" in why
    split = sequence_split(bare.events, bare.items, by="user")
    model, why = sequential.oracle_model(bare, split)
    assert model is None and "session_truth" in why


def test_sequence_oracle_step(smoke_shop):
    split = sequence_split(smoke_shop.events, smoke_shop.items, by="session")
    model, note = sequential.oracle_model(smoke_shop, split)
    assert model.by == "session" and "grouped by session" in note
    p = model.score_sequences(split.test.inputs.take(np.arange(20)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
