"""The run-all on fixture notebooks: pass, fail, skip, continue-on-error, pages and metrics."""

import json
import re
from pathlib import Path

import pytest

from shopintent.cli import main
from shopintent.pipeline import discover

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.notebook


def _run(*args) -> int:
    return main(["run", "--profile", "smoke", "--notebooks", str(FIXTURES), *args])


def test_failures_are_reported_and_later_notebooks_run_with_continue_on_error(workspace, capsys):
    assert _run("--continue-on-error") == 1  # non-zero: a notebook failed
    out = workspace / "reports" / "synthetic-smoke"
    summary = json.loads((out / "run.json").read_text())
    status = {nb["notebook"]: nb["status"] for nb in summary["notebooks"]}
    assert status == {
        "01_records": "passed",
        "02_fails": "failed",
        "03_skips": "skipped",
        "04_after": "passed",
    }
    errors = {nb["notebook"]: nb["error"] for nb in summary["notebooks"]}
    assert errors["02_fails"].startswith(
        "ValueError: deliberate failure for the run-all test (In ["
    )
    assert errors["03_skips"] == "this fixture needs reviews"
    assert (
        summary["status"] == "failed"
        and summary["dataset"] == "synthetic"
        and summary["profile"] == "smoke"
    )

    recorded = json.loads((out / "metrics" / "01_records.json").read_text())
    assert recorded["metrics"] == {"fixture/answer/value": 42, "fixture/answer/ratio": 0.5}
    assert {
        "notebook",
        "dataset",
        "profile",
        "seed",
        "git_commit",
        "versions",
        "duration_s",
    } <= recorded.keys()
    assert recorded["versions"]["pandas"] and recorded["seed"] == 42

    index = (out / "index.html").read_text()
    assert "02_fails" in index and "deliberate failure for the run-all test" in index
    assert 'href="html/01_records.html"' in index and "fixture/answer/value" in index
    for page in (out / "html").glob("*.html"):  # offline: nothing loaded from elsewhere
        html = page.read_text()
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html), page.name
    figure_page = (out / "html" / "01_records.html").read_text()
    assert (
        "Plotly.newPlot" in figure_page and "plotly.js v" not in figure_page
    )  # not a copy of its own
    assert figure_page.count('<script charset="utf-8" src="../plotly.min.js"></script>') == 1
    assert (out / "plotly.min.js").read_text().count("plotly.js v") == 1
    assert "synthetic-smoke/index.html" in (workspace / "reports" / "index.html").read_text()
    lines = capsys.readouterr().out
    assert "[2/4] 02_fails: failed" in lines and "2 passed, 1 failed, 1 skipped" in lines


def test_a_failure_stops_the_run_without_continue_on_error(workspace):
    assert _run("--only", "02", "04") == 1
    summary = json.loads((workspace / "reports" / "synthetic-smoke" / "run.json").read_text())
    assert [nb["status"] for nb in summary["notebooks"]] == ["failed", "not run"]


def test_discover_orders_by_number_and_skips_the_template(tmp_path):
    for name in ("10_b.ipynb", "02_a.ipynb", "00_template.ipynb", "notes.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in discover(tmp_path)] == ["02_a.ipynb", "10_b.ipynb"]
    with pytest.raises(ValueError, match="no notebook matches 07"):
        discover(tmp_path, only=["07"])
