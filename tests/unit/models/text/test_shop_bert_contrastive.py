"""The contrastive stage's pairs, by hand: weak labels from sessions (training period only,
held-out queries dropped, strongest event kept), item text pairs, the task's pairs as the
fallback, and the sampling order. Training it is tested with the pretrained tiny shop BERT in
test_shop_bert.py (one model for both files' checks)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from shopintent.models.text import shop_bert_contrastive as sbc

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def _events(rows):
    return pd.DataFrame(
        [
            {"session_id": s, "ts": T0 + pd.Timedelta(minutes=m), "event_type": e, "item_id": i}
            | {"query_id": q}
            for s, m, e, i, q in rows
        ]
    )


@pytest.fixture
def shop():
    events = _events(
        [
            ("s1", 0, "search", None, "q1"),
            ("s1", 1, "view", "i1", None),
            ("s1", 2, "cart", "i2", None),
            ("s1", 3, "search", None, "q2"),
            ("s1", 4, "view", "i2", None),
            ("s1", 5, "purchase", "i2", None),
            ("s2", 0, "view", "i3", None),  # no search before it: no pair
            ("s2", 1, "search", None, "q1"),
            ("s2", 2, "view", "i1", None),  # q1 -> i1 again: kept once
            ("s2", 3, "purchase", "i1", None),  # ... under its strongest event
            ("s3", 0, "search", None, "q3"),  # q3 is held out
            ("s3", 1, "view", "i3", None),
            ("s4", 60, "search", None, "q1"),  # after `until`: evaluation period
            ("s4", 61, "purchase", "i3", None),
        ]
    )
    items = pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3"],
            "title": ["Kelvo Kettle", "Arden Lamp", "Terra Planter"],
            "description": ["A kettle that boils fast.", "", None],
            "attributes": [{"colour": "red"}, {"colour": "ivory", "size": "M"}, None],
        }
    )
    queries = pd.DataFrame(
        {"query_id": ["q1", "q2", "q3"], "text": ["kettle", "Lamp  Ivory", "planter"]}
    )
    return SimpleNamespace(events=events, items=items, queries=queries)


def _texts(shop):
    return pd.Series(shop.items["title"].to_numpy(), index=shop.items["item_id"])


def test_session_pairs_known_answer(shop):
    pairs = sbc.session_pairs(
        shop, _texts(shop), until=T0 + pd.Timedelta(minutes=30), exclude={"planter"}
    )
    got = {(q, i): s for q, i, s in pairs[["query", "item_id", "source"]].itertuples(index=False)}
    assert got == {
        ("kettle", "i1"): "purchase",
        ("kettle", "i2"): "cart",
        ("Lamp  Ivory", "i2"): "purchase",
    }
    assert pairs.set_index("item_id")["item_text"].to_dict() == {
        "i1": "Kelvo Kettle",
        "i2": "Arden Lamp",
    }
    # no `until`: the later session counts too; excluding by folded text ("lamp ivory")
    later = sbc.session_pairs(shop, _texts(shop), exclude={"lamp ivory"})
    assert set(zip(later["query"], later["item_id"], strict=True)) == {
        ("kettle", "i1"),
        ("kettle", "i2"),
        ("kettle", "i3"),
        ("planter", "i3"),
    }


def test_item_pairs_prefer_the_description_then_attributes(shop):
    pairs = sbc.item_pairs(shop.items, _texts(shop))
    assert pairs[["query", "item_id", "item_text"]].values.tolist() == [
        ["A kettle that boils fast.", "i1", "Kelvo Kettle"],
        ["colour: ivory; size: M", "i2", "Arden Lamp"],
    ]  # i3 has neither
    assert (pairs["source"] == "item").all()


def test_without_a_session_log_the_task_pairs_are_used(shop):
    no_log = SimpleNamespace(events=shop.events.iloc[:0], items=shop.items, queries=shop.queries)
    task = SimpleNamespace(
        item_ids=np.array(["i1", "i2", "i3"], dtype=object),
        item_texts=["Kelvo Kettle", "Arden Lamp", "Terra Planter"],
        train_pairs=pd.DataFrame(
            {"query": ["red kettle"], "item_id": ["i1"], "item_text": ["Kelvo Kettle"]}
        ),
    )
    pairs = sbc.training_pairs(no_log, task)
    assert pairs["source"].tolist() == ["task", "item", "item"]
    assert pairs["query"].iloc[0] == "red kettle"
    logged = sbc.training_pairs(shop, task, until=T0 + pd.Timedelta(minutes=30))
    assert "task" not in set(logged["source"]) and {"view", "item"} <= set(logged["source"])


def test_sample_pairs_takes_stronger_sources_first():
    pairs = pd.DataFrame(
        {
            "query": [f"q{i}" for i in range(10)],
            "item_id": range(10),
            "item_text": "x",
            "source": ["view"] * 4 + ["item"] * 3 + ["purchase"] * 2 + ["cart"],
        }
    )
    got = sbc.sample_pairs(pairs, 5, seed=1)
    assert sorted(got["source"]) == ["cart", "item", "item", "purchase", "purchase"]
    assert got.equals(sbc.sample_pairs(pairs, 5, seed=1))
    assert len(sbc.sample_pairs(pairs, 50)) == 10


def test_too_few_pairs_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2 training pairs"):
        sbc.train_contrastive(None, pd.DataFrame({"query": ["a"], "item_text": ["b"]}))
