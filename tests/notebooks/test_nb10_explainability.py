"""Notebook 10, smoke profile: in the shared synthetic run-all (after notebooks 03-05 saved their
models) and alone on DIGINETICA (`shopintent run --only 10`)."""

import importlib.util

import pytest
from nbrun import run_notebook

pytestmark = pytest.mark.notebook
FAITHFUL = ("purchase_lightgbm", "purchase_hybrid")


def _run_10(workspace, dataset, source=None):
    metrics = run_notebook(workspace, "10", dataset, source)["metrics"]
    html = (
        workspace / "reports" / f"{dataset}-smoke" / "html" / "10_explainability.html"
    ).read_text()
    return metrics, html


def _faithful(m, model, min_examples=10):
    top, rand = (m[f"explain/faithfulness/{model}/{k}"] for k in ("topk_drop", "random_drop"))
    assert m[f"explain/faithfulness/{model}/examples"] >= min_examples
    assert m[f"explain/faithfulness/{model}/seed"] == 42
    assert top > rand >= 0, model  # removing what the explanation ranks first moves the output more


def test_notebook_10_on_the_synthetic_shop(synthetic_run):
    m, html = _run_10(synthetic_run, "synthetic")
    assert (
        0.05 < m["explain/purchase_lightgbm/top_feature_share"] < 0.6
    )  # no single feature decides
    assert -1 <= m["explain/purchase_compare/group_rank_correlation"] <= 1
    for model in FAITHFUL:
        _faithful(m, model)
        assert m[f"explain/faithfulness/{model}/difference_low"] > 0, (
            model
        )  # beyond its bootstrap interval
    low, ndcg, high = (m[f"explain/lightgbm_reranker/ndcg@10{s}"] for s in ("_low", "", "_high"))
    assert 0 < low <= ndcg <= high
    assert "why (re-ranker SHAP)" in html and "lightgbm_reranker" in html
    texts = [
        k
        for k in m
        if k.startswith("explain/faithfulness/")
        and k.endswith("/topk_drop")
        and not k.startswith("explain/faithfulness/purchase_")
    ]
    if importlib.util.find_spec("shopintent.models.text.classifiers"):  # notebooks 03/04's library
        _faithful(m, "query_intent", min_examples=5)
        assert (
            "(inputs)</text>" in html and "np.float64" not in html
        )  # shap's text plot, coloured, inline
    else:
        assert "shopintent.models.text.classifiers" in html and not texts
    if importlib.util.find_spec("shopintent.kg.explain"):
        assert "kg path" in html


@pytest.mark.slow  # real sample: make test-all (CI keeps the smoke run-all under budget)
def test_notebook_10_on_diginetica(workspace, shared_data):
    m, html = _run_10(workspace, "diginetica", shared_data / "diginetica-sample-srgnn")
    assert 0 < m["explain/purchase_lightgbm/top_feature_share"] < 1
    _faithful(m, "purchase_lightgbm")
    assert "explain/faithfulness/purchase_hybrid/topk_drop" in m
    assert not [
        k for k in m if "intent" in k or "sentiment" in k
    ]  # no labelled queries or reviews: skipped
    assert (
        "0 queries with an intent label" in html and "0 reviews with a sentiment or rating" in html
    )
