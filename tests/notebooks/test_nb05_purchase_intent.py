"""Notebook 05 via `shopintent run --only 05`, smoke profile: synthetic shop and DIGINETICA."""

import json

import pandas as pd
import pytest
from nbrun import run_notebook

pytestmark = pytest.mark.notebook
MODELS = ("logreg", "lightgbm", "lstm", "hybrid")
KEYS = (
    *(f"purchase_intent/{m}/{k}" for m in MODELS for k in ("roc_auc", "pr_auc", "log_loss", "ece")),
    "purchase_intent/hybrid/roc_auc_at_3_events",
    "purchase_intent/data/test_purchases",
)


def _run_05(workspace, dataset, source=None):
    run_notebook(workspace, "05", dataset, source)
    out = workspace / "reports" / f"{dataset}-smoke"
    assert (out / "html" / "05_purchase_intent.html").stat().st_size > 100_000
    metrics = json.loads((out / "metrics" / "05_purchase_intent.json").read_text())["metrics"]
    assert set(KEYS) <= metrics.keys()
    folder = (
        workspace
        / "data"
        / "processed"
        / (f"{dataset}-smoke" if dataset == "synthetic" else dataset)
    )
    predictions = pd.read_parquet(folder / "purchase_intent.parquet")
    assert {f"p_{m}" for m in MODELS} <= set(predictions.columns)
    assert predictions.groupby("session_id")["is_full"].sum().eq(1).all()
    return metrics


def test_notebook_05_on_the_synthetic_shop(synthetic_run):
    m = _run_05(synthetic_run, "synthetic")
    oracle = m["purchase_intent/oracle/roc_auc"]
    assert 0.9 < oracle < 1.0
    for model in MODELS:  # every model well above chance, none above the truth's own score
        assert 0.75 < m[f"purchase_intent/{model}/roc_auc"] < oracle, model
        assert 0 <= m[f"purchase_intent/{model}/ece"] < 0.1
        assert (
            m[f"purchase_intent/{model}/ece_raw"] > m[f"purchase_intent/{model}/ece"]
        )  # calibration helps
    assert m["purchase_intent/data/test_purchases"] > 20


@pytest.mark.slow  # a real sample through notebook 05: make test-all (the fast tier's time)
def test_notebook_05_on_diginetica(workspace, shared_data):
    m = _run_05(workspace, "diginetica", shared_data / "diginetica-sample-srgnn")
    assert m["purchase_intent/data/test_purchases"] >= 10  # enough to report, with wide intervals
    for model in MODELS:
        auc, low, high = (m[f"purchase_intent/{model}/roc_auc{s}"] for s in ("", "_low", "_high"))
        assert low <= auc <= high and high - low > 0.05, model
    assert "purchase_intent/oracle/roc_auc" not in m
