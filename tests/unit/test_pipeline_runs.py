"""Merging a partial run into its folder's index (``pipeline.merge_results``), without papermill."""

from dataclasses import asdict

from shopintent.pipeline import NotebookResult, merge_results, run_status, write_run

OLD = {"run_started": "2026-01-01T00:00:00+00:00", "git_commit": "aaa", "seed": 1}
NEW = {"run_started": "2026-02-01T00:00:00+00:00", "git_commit": "bbb", "seed": 2}
PRESENT = ["01_a", "05_b", "08_c", "18_results_summary"]


def _earlier(*results: NotebookResult) -> dict:
    return {"started": OLD["run_started"], "notebooks": [asdict(r) for r in results]}


def test_a_partial_run_keeps_the_other_notebooks_entries_and_replaces_its_own():
    earlier = _earlier(
        NotebookResult("05_b", "failed", 3.0, "ValueError: x", **OLD),
        NotebookResult(
            "08_c", "passed", 9.0, metrics={"recs/a/b": 1}, html="html/08_c.html", **OLD
        ),
    )
    merged = merge_results(earlier, [NotebookResult("05_b", "passed", 4.0, **NEW)], PRESENT)
    assert [(r.notebook, r.status, r.run_started) for r in merged] == [
        ("05_b", "passed", NEW["run_started"]),
        ("08_c", "passed", OLD["run_started"]),
    ]
    kept = merged[1]
    assert kept.metrics == {"recs/a/b": 1} and kept.html == "html/08_c.html"
    assert (kept.git_commit, kept.seed) == ("aaa", 1)
    assert merged[0].error is None and run_status(merged) == "passed"


def test_the_run_status_is_over_every_listed_notebook():
    earlier = _earlier(NotebookResult("08_c", "failed", 1.0, "boom", **OLD))
    merged = merge_results(earlier, [NotebookResult("01_a", "passed", **NEW)], PRESENT)
    assert run_status(merged) == "failed"
    earlier = _earlier(NotebookResult("08_c", "interrupted", 1.0, "stopped by SIGINT", **OLD))
    assert run_status(merge_results(earlier, [], PRESENT)) == "interrupted"


def test_entries_of_notebooks_that_no_longer_exist_drop_out():
    earlier = _earlier(
        NotebookResult("03_gone", "passed", **OLD), NotebookResult("08_c", "passed", **OLD)
    )
    merged = merge_results(earlier, [], PRESENT)
    assert [r.notebook for r in merged] == ["08_c"]


def test_a_notebook_not_reached_keeps_its_earlier_entry_else_says_not_run():
    earlier = _earlier(NotebookResult("08_c", "passed", **OLD))
    now = [
        NotebookResult("05_b", "failed", 1.0, "boom", **NEW),
        NotebookResult("08_c", "not run", error="an earlier notebook failed", **NEW),
        NotebookResult("18_results_summary", "not run", error="an earlier notebook failed", **NEW),
    ]
    merged = merge_results(earlier, now, PRESENT)
    assert [(r.notebook, r.status, r.run_started) for r in merged] == [
        ("05_b", "failed", NEW["run_started"]),
        ("08_c", "passed", OLD["run_started"]),
        ("18_results_summary", "not run", NEW["run_started"]),
    ]


def test_entries_written_before_they_named_their_run_take_the_runs_stamp():
    earlier = {
        "started": "2025-12-01T00:00:00+00:00",
        "git_commit": "ccc",
        "seed": 42,
        "notebooks": [
            {
                "notebook": "08_c",
                "status": "passed",
                "duration_s": 2.0,
                "error": None,
                "metrics": {},
                "headline": {},
                "html": None,
                "unknown_field": 1,
            },
            "not an entry",
        ],
    }
    [kept] = merge_results(earlier, [], PRESENT)
    assert (kept.run_started, kept.git_commit, kept.seed) == (
        "2025-12-01T00:00:00+00:00",
        "ccc",
        42,
    )
    assert merge_results([], [], PRESENT) == [] and merge_results({}, [], PRESENT) == []


def test_the_run_page_names_each_entrys_run(tmp_path):
    from datetime import datetime

    entries = [
        NotebookResult("05_b", "passed", 1.0, **NEW),
        NotebookResult("08_c", "passed", 1.0, **OLD),
    ]
    write_run(
        tmp_path, "synthetic", "smoke", 2, datetime.fromisoformat(NEW["run_started"]), entries
    )
    page = (tmp_path / "index.html").read_text()
    assert page.count('<i class="reason">earlier run</i>') == 1  # 08_c's row only
    assert (
        "1 of 2 notebooks come from an earlier run" in page and "<code>aaa</code> · seed 1" in page
    )
