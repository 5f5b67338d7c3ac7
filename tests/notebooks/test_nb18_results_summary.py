"""Notebook 18 through `shopintent run --only 18` on a run folder holding fixture metrics."""

import json

import pytest

from shopintent.cli import main

pytestmark = pytest.mark.notebook

FIXTURES = {
    "05_purchase_intent": {
        "purchase_intent/logreg/roc_auc": 0.70,
        "purchase_intent/lightgbm/roc_auc": 0.80,
        "purchase_intent/lightgbm/roc_auc_low": 0.78,
        "purchase_intent/lightgbm/roc_auc_high": 0.82,
        "purchase_intent/oracle/roc_auc": 0.95,
    },
    "06_recommender_baselines": {
        "movielens-100k/msr_protocol/popularity/ndcg@10": 0.25,
        "movielens-100k/msr_protocol/ease/ndcg@10": 0.49,
        "recs/popularity/ndcg@10": 0.05,
        "recs/ease/ndcg@10": 0.09,
    },
}


def test_notebook_18_builds_the_leaderboards_and_is_linked(workspace):
    out = workspace / "reports" / "synthetic-smoke"
    for stem, metrics in FIXTURES.items():
        path = out / "metrics" / f"{stem}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {"notebook": stem, "status": "passed", "duration_s": 30.0, "metrics": metrics}
            )
        )
    assert main(["run", "--profile", "smoke", "--dataset", "synthetic", "--only", "18"]) == 0
    recorded = json.loads((out / "metrics" / "18_results_summary.json").read_text())["metrics"]
    assert recorded["summary/notebooks_passed"] == 2
    assert (
        recorded["summary/leaderboards"] == 3
    )  # purchase intent, MSR protocol, baselines (temporal)
    html = (out / "html" / "18_results_summary.html").read_text()
    assert "BiVAE (published)" in html and "lightgbm" in html
    summary = json.loads((out / "run.json").read_text())
    assert summary["summary_html"] == "html/18_results_summary.html"
    assert 'href="html/18_results_summary.html"' in (out / "index.html").read_text()
    assert (
        "synthetic-smoke/html/18_results_summary.html"
        in (workspace / "reports" / "index.html").read_text()
    )
