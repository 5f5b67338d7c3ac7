"""Notebook 05's reading of the models: counts, session lines, the sessions and errors it shows and
the flat metrics it records (studies/purchase_intent.py)."""

import numpy as np
import pandas as pd
import pytest

from shopintent.evaluation import Interval
from shopintent.features import sessions as fs
from shopintent.models.purchase_intent import base as pm
from shopintent.studies import purchase_intent as study


@pytest.fixture(scope="module")
def split(smoke_shop):
    ex = fs.build_examples(smoke_shop.events, smoke_shop.items)
    return pm.split_examples(ex, test_frac=0.2, val_frac=0.1)


def test_describe_sessions_by_hand():
    prefixes = pd.DataFrame(
        {
            "session_id": ["s1", "s1", "s1", "s2"],
            "event_type": ["search", "view", "cart", "view"],
            "item_id": [None, "i12", "i12", "i3"],
            "query_id": ["q7", None, None, None],
        }
    )
    lines = study.describe_sessions(prefixes, ["s2", "s1", "s9"], max_events=2)
    assert lines.tolist()[:2] == ["view i3", "search q7 → view i12 … (+1)"]
    assert pd.isna(lines.iloc[2])  # an unknown session has no line


def test_counts_sessions_and_errors(split):
    counts = study.purchase_counts(split)
    assert counts["test_sessions"] == len(split.test.sessions)
    assert counts["train_purchases"] == int(split.train.sessions["label"].sum())
    test = split.test
    p = np.random.default_rng(0).random(len(test.prefixes))
    buyer, non_buyer = study.example_sessions(test, p)
    labels = test.sessions.set_index("session_id")["label"]
    assert labels[buyer] == 1 and labels[non_buyer] == 0
    errors = study.errors_worth_reading(test, p, n=3)
    alarms = errors[errors["error"] == "false alarm"]
    full = test.prefixes[test.full_mask()].assign(p=p[test.full_mask()])
    assert alarms["p"].tolist() == full[full["label"] == 0]["p"].nlargest(3).tolist()
    assert errors["events"].str.len().gt(0).all()


def test_metrics_dict_records_none_when_unreliable():
    table = pd.DataFrame(
        {"roc_auc": [0.7], "roc_auc_low": [0.6]}, index=pd.Index(["lightgbm"], name="model")
    )
    diff = Interval(0.02, -0.01, 0.05)
    out = study.metrics_dict(
        table, {"test_sessions": 10}, True, difference=diff, speed={"train_s": 1.5}
    )
    assert out["purchase_intent/data/test_sessions"] == 10
    assert out["purchase_intent/lightgbm/roc_auc"] == 0.7
    assert out["purchase_intent/hybrid_minus_lightgbm/roc_auc_high"] == 0.05
    assert out["purchase_intent/lstm/train_s"] == 1.5
    unreliable = study.metrics_dict(table, {"test_sessions": 10}, False, difference=diff)
    assert unreliable["purchase_intent/data/test_sessions"] == 10
    assert unreliable["purchase_intent/lightgbm/roc_auc"] is None
