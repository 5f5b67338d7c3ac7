"""Routing samples and answer-retrieval ranks: known answers worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.service import answers, routing
from shopintent.normalise import near_duplicate_key


def test_per_intent_sample_is_capped_seeded_and_nested():
    table = pd.DataFrame({"text": [f"t{i}" for i in range(30)], "intent": ["a"] * 20 + ["b"] * 10})
    five = routing.per_intent_sample(table, 5, seed=1)
    ten = routing.per_intent_sample(table, 10, seed=1)
    assert five["intent"].value_counts().to_dict() == {"a": 5, "b": 5}
    assert ten["intent"].value_counts().to_dict() == {"a": 10, "b": 10}
    assert set(five.index) <= set(ten.index)  # a curve adds examples, never swaps them
    assert five.index.equals(routing.per_intent_sample(table, 5, seed=1).index)
    assert routing.per_intent_sample(table, None) is table
    with pytest.raises(ValueError, match="at least 1"):
        routing.per_intent_sample(table, 0)


def test_routing_scores_known_values():
    y = ["a", "a", "b", "b"]
    scores = routing.routing_scores(y, {"m": ["a", "b", "b", "b"]}, ["a", "b"], n_boot=50)
    assert scores.loc["m", "accuracy"] == 0.75
    # F1(a) = 2/3 (precision 1, recall 1/2), F1(b) = 0.8 (precision 2/3, recall 1)
    assert scores.loc["m", "macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert scores.loc["m", "accuracy_low"] <= 0.75 <= scores.loc["m", "accuracy_high"]


def test_answer_ranks_count_ties_against_the_truth():
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.2, 0.1], [0.3, 0.8, 0.8]])
    ranks = answers.answer_ranks(scores, np.array([0, 1, 2]))
    assert ranks.tolist() == [1, 2, 2]  # row 1 ties with column 0, row 2 with column 1
    table = answers.retrieval_scores({"m": ranks}, {"m": np.array([True, False, True])}, n_boot=20)
    assert table.loc["m", "recall@1"] == pytest.approx(1 / 3)
    assert table.loc["m", "recall@5"] == 1.0
    assert table.loc["m", "mrr"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert table.loc["m", "intent_hit@1"] == pytest.approx(2 / 3)


def test_tfidf_and_encoder_scores_find_the_matching_response():
    responses = [
        "to cancel an order open orders",
        "your refund arrives in five days",
        "track the parcel",
    ]
    messages = ["how do I cancel an order", "when will my refund arrive", "where is my parcel"]
    ranks = answers.answer_ranks(answers.tfidf_scores(messages, responses), np.arange(3))
    assert ranks.tolist() == [1, 1, 1]
    v = np.eye(3)[[2, 0, 1]] * 3.0  # vectors of any length: cosine only
    assert answers.answer_ranks(
        answers.encoder_scores(np.eye(3), v), np.array([1, 2, 0])
    ).tolist() == [1, 1, 1]


def test_near_duplicate_key_folds_numbers_and_punctuation():
    keys = near_duplicate_key(
        ["Cancel order 113542617735902?", "cancel  order 7322!", "cancel order"]
    )
    assert keys[0] == keys[1] == "cancel order 0" and keys[2] == "cancel order"
    assert near_duplicate_key([None])[0] is None
