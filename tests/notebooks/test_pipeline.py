"""The run-all on fixture notebooks: pass, fail, skip, continue-on-error, pages and metrics."""

import json
import re
import shutil
import time
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


def _entries(workspace) -> dict:
    summary = json.loads((workspace / "reports" / "synthetic-smoke" / "run.json").read_text())
    return summary, {nb["notebook"]: nb for nb in summary["notebooks"]}


# five papermill runs (107 s of the fast tier's 1,152 s, serial at load 4-5): make test-all. The
# fast tier keeps the same code paths: merge_results, run_status and the run page in
# tests/unit/test_pipeline_runs.py, and a second run_all merging into a folder's earlier
# run.json in test_a_rerun_that_fails_before_writing_leaves_no_earlier_result_behind below
@pytest.mark.slow
def test_partial_runs_merge_into_the_run_folders_index(workspace, tmp_path):
    assert _run("--only", "01") == 0
    _, first = _entries(workspace)
    assert _run("--only", "04", "--seed", "7") == 0
    summary, entries = _entries(workspace)
    assert list(entries) == ["01_records", "04_after"]  # 01 kept, in notebook order
    assert entries["01_records"] == first["01_records"]  # untouched: status, metrics, page, run
    assert entries["01_records"]["metrics"] == {
        "fixture/answer/value": 42,
        "fixture/answer/ratio": 0.5,
    }
    assert (entries["01_records"]["seed"], entries["04_after"]["seed"]) == (42, 7)
    assert entries["04_after"]["run_started"] == summary["started"] and summary["seed"] == 7
    assert entries["01_records"]["run_started"] <= summary["started"]
    assert summary["status"] == "passed"
    index = (workspace / "reports" / "synthetic-smoke" / "index.html").read_text()
    assert 'href="html/01_records.html"' in index and 'href="html/04_after.html"' in index
    assert "fixture/answer/value" in index and "seed 7" in index and "seed 42" in index

    assert _run("--only", "02", "--continue-on-error") == 1  # a failure joins the listed ones
    summary, entries = _entries(workspace)
    assert list(entries) == ["01_records", "02_fails", "04_after"]
    assert summary["status"] == "failed"

    time.sleep(1.1)  # a new second: the re-run's stamp differs
    assert _run("--only", "01") == 0  # a re-run replaces its entry
    summary, entries = _entries(workspace)
    assert (
        entries["01_records"]["run_started"]
        == summary["started"]
        != first["01_records"]["run_started"]
    )
    assert summary["status"] == "failed"  # 02's earlier failure is still listed

    fewer = tmp_path / "fewer"  # 02 and 03 deleted: their entries drop out
    fewer.mkdir()
    for name in ("01_records.ipynb", "04_after.ipynb"):
        shutil.copy(FIXTURES / name, fewer / name)
    assert main(["run", "--profile", "smoke", "--notebooks", str(fewer), "--only", "04"]) == 0
    summary, entries = _entries(workspace)
    assert list(entries) == ["01_records", "04_after"] and summary["status"] == "passed"


def test_a_rerun_that_fails_before_writing_leaves_no_earlier_result_behind(workspace, tmp_path):
    assert _run("--only", "01") == 0
    out = workspace / "reports" / "synthetic-smoke"
    broken = tmp_path / "broken"  # 01 now fails before papermill writes anything
    broken.mkdir()
    (broken / "01_records.ipynb").write_text("not a notebook")
    assert main(["run", "--profile", "smoke", "--notebooks", str(broken)]) == 1
    _, entries = _entries(workspace)
    assert entries["01_records"]["status"] == "failed" and entries["01_records"]["html"] is None
    assert not (out / "metrics" / "01_records.json").exists()
    assert not (out / "html" / "01_records.html").exists()
    assert not (out / "executed" / "01_records.ipynb").exists()
