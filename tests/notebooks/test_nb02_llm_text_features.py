"""Notebook 02 via `shopintent run --only 02`, smoke profile: synthetic shop and Home Depot."""

import json

import pytest
from nbrun import run_notebook

pytestmark = pytest.mark.notebook
MODELS = (
    "tfidf_word",
    "tfidf_char",
    "shopbert",
    "shopbert_contrastive",
    "minilm",
    "hybrid",
    "hybrid_shopbert",
    "minilm_finetuned",
)


def _run_02(workspace, dataset, source=None):
    run_notebook(workspace, "02", dataset, source)
    out = workspace / "reports" / f"{dataset}-smoke"
    assert (out / "html" / "02_llm_text_features.html").is_file()
    metrics = json.loads((out / "metrics" / "02_llm_text_features.json").read_text())["metrics"]
    for model in MODELS:
        for metric in ("recall@10", "ndcg@10"):
            assert 0 <= metrics[f"search/{model}/{metric}"] <= 1
    assert (
        metrics["encode/minilm/texts_per_s"] > 0 and 0 < metrics["mlm/shopbert/masked_accuracy"] < 1
    )
    assert metrics["contrastive/shopbert_contrastive/pairs"] >= 2
    assert metrics["mlm/shopbert/steps"] > 0
    # domain-adapted MiniLM: off on smoke (settings.domain_adaptation), so none of its keys
    assert not any("minilm_adapted" in k or k.startswith("mlm_minilm/") for k in metrics)
    if dataset == "synthetic":  # titles name the product type: both probes clear the majority class
        for name in ("minilm", "tfidf"):
            assert (
                metrics[f"probe/{name}/category_accuracy"]
                > metrics["probe/majority/category_accuracy"] + 0.2
            )
    return metrics


def test_notebook_02_on_the_synthetic_shop(synthetic_run):
    m = _run_02(synthetic_run, "synthetic")
    models = ("shopgpt", "prefix_frequency", "blend")
    assert {f"autocomplete/{model}/mrr@5" for model in models} <= m.keys()
    for task in ("autocomplete", "autocomplete_tail"):
        for model in models:
            assert m[f"{task}/{model}/mrr@5_low"] <= m[f"{task}/{model}/mrr@5"]
            assert m[f"{task}/{model}/mrr@5"] <= m[f"{task}/{model}/mrr@5_high"]
        # a gain is the paired difference to frequency: the baseline itself has none
        assert (
            "autocomplete/blend/mrr@5_gain" in m
            and "autocomplete/prefix_frequency/mrr@5_gain" not in m
        )
    emb = synthetic_run / "data" / "processed" / "synthetic-smoke" / "embeddings" / "minilm"
    assert {p.name for p in emb.iterdir()} == {
        "items.parquet",
        "queries.parquet",
        "reviews.parquet",
    }


@pytest.mark.slow  # real sample: make test-all (CI keeps the smoke run-all under budget)
def test_notebook_02_on_home_depot(workspace, shared_data):
    m = _run_02(workspace, "homedepot", shared_data / "homedepot-search-relevance")
    assert 0.5 < m["rerank/random_order/ndcg@10"] < 1 and "rerank/minilm/ndcg@10" in m
