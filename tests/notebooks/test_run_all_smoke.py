"""The smoke run-all on the synthetic shop: every numbered notebook passes, in order, and the
run's pages link each report and the results summary."""

import json

import pytest

from shopintent.pipeline import discover

pytestmark = pytest.mark.notebook


def test_every_notebook_passes_on_the_synthetic_shop(synthetic_run):
    out = synthetic_run / "reports" / "synthetic-smoke"
    summary = json.loads((out / "run.json").read_text())
    ran = [(nb["notebook"], nb["status"], nb["error"]) for nb in summary["notebooks"]]
    assert [name for name, _, _ in ran] == [p.stem for p in discover()]
    assert [r for r in ran if r[1] != "passed"] == []
    assert summary["status"] == "passed"
    assert summary["summary_html"] == "html/18_results_summary.html"
    index = (out / "index.html").read_text()
    assert all(f'href="html/{p.stem}.html"' in index for p in discover())
    summary_metrics = json.loads((out / "metrics" / "18_results_summary.json").read_text())[
        "metrics"
    ]
    assert summary_metrics["summary/notebooks_passed"] == len(discover()) - 1  # all but itself
