"""Notebook 05 through `shopintent run --only 05`, smoke profile, on the synthetic shop and DIGINETICA."""

import json

import pandas as pd
import pytest

from shopintent.cli import main

pytestmark = pytest.mark.notebook
MODELS = ("logreg", "lightgbm", "lstm", "hybrid")
KEYS = (*(f"purchase_intent/{m}/{k}" for m in MODELS for k in ("roc_auc", "pr_auc", "log_loss", "ece")),
        "purchase_intent/hybrid/roc_auc_at_3_events", "purchase_intent/data/test_purchases")


def _run_05(workspace, dataset, source=None):
    args = ["run", "--profile", "smoke", "--dataset", dataset, "--only", "05"]
    assert main(args + (["--source", str(source)] if source else [])) == 0
    out = workspace / "reports" / f"{dataset}-smoke"
    summary = json.loads((out / "run.json").read_text())
    assert [(nb["notebook"], nb["status"]) for nb in summary["notebooks"]] == [("05_purchase_intent", "passed")]
    assert (out / "html" / "05_purchase_intent.html").stat().st_size > 100_000
    metrics = json.loads((out / "metrics" / "05_purchase_intent.json").read_text())["metrics"]
    assert set(KEYS) <= metrics.keys()
    folder = workspace / "data" / "processed" / (f"{dataset}-smoke" if dataset == "synthetic" else dataset)
    predictions = pd.read_parquet(folder / "purchase_intent.parquet")
    assert {f"p_{m}" for m in MODELS} <= set(predictions.columns)
    assert predictions.groupby("session_id")["is_full"].sum().eq(1).all()
    return metrics


def test_notebook_05_on_the_synthetic_shop(workspace):
    m = _run_05(workspace, "synthetic")
    oracle = m["purchase_intent/oracle/roc_auc"]
    assert 0.9 < oracle < 1.0
    for model in MODELS:  # every model well above chance, none above the truth's own score
        assert 0.75 < m[f"purchase_intent/{model}/roc_auc"] < oracle, model
        assert 0 <= m[f"purchase_intent/{model}/ece"] < 0.1
        assert m[f"purchase_intent/{model}/ece_raw"] > m[f"purchase_intent/{model}/ece"]  # calibration helps
    assert m["purchase_intent/data/test_purchases"] > 20


def test_notebook_05_on_diginetica(workspace, shared_data):
    m = _run_05(workspace, "diginetica", shared_data / "diginetica-sample-srgnn")
    assert m["purchase_intent/data/test_purchases"] >= 10  # enough to report, with wide intervals
    for model in MODELS:
        auc, low, high = (m[f"purchase_intent/{model}/roc_auc{s}"] for s in ("", "_low", "_high"))
        assert low <= auc <= high and high - low > 0.05, model
    assert "purchase_intent/oracle/roc_auc" not in m
