"""Notebook 17 in the session's synthetic smoke run-all: the synthetic shop writes no support
messages, so the notebook reads the Bitext sample as a fixed real dataset (skipped without
../shared/data)."""

import pytest
from nbrun import run_notebook

pytestmark = pytest.mark.notebook


def test_notebook_17_routes_and_answers_bitext_messages(synthetic_run, shared_data):
    payload = run_notebook(synthetic_run, "17", "synthetic")
    m = payload["metrics"]
    assert m["service/data/real"] == 1 and m["service/data/intents"] == 27
    assert m["service/data/messages"] == 405  # the smoke sample
    assert m["service/data/train"] + m["service/data/val"] + m["service/data/test"] == 405
    for prefix in ("service/routing", "service/routing_at_5"):
        majority = m[f"{prefix}/majority/macro_f1"]
        assert majority < 0.05  # one intent of 27
        for model in ("tfidf_lr", "minilm_lr"):
            key = f"{prefix}/{model}/macro_f1"
            assert m[f"{key}_low"] <= m[key] <= m[f"{key}_high"]
            assert m[key] > 0.6, (prefix, model)  # 27 intents: far above chance even at 5 each
    assert m["service/routing_at_5/tfidf_lr/n_train"] == 135
    for model in ("tfidf", "minilm"):
        key = f"service/answers/{model}"
        assert m[f"{key}/recall@1"] <= m[f"{key}/mrr"] <= m[f"{key}/recall@5"]
        assert m[f"{key}/recall@1"] > 0.2, model  # 405 candidates: chance is 0.25%
        assert m[f"{key}/intent_hit@1"] >= m[f"{key}/recall@1"]
