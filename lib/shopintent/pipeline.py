"""Run-all: execute every numbered notebook with papermill, render each to HTML, index the run.

    shopintent run --profile smoke --dataset taobao --only 01 --continue-on-error

Each notebook runs in its own papermill process on the project kernel ``shopintent``, with
``DATASET``, ``PROFILE``, ``SEED``, ``DATA_DIR`` and ``REPORT_DIR`` as parameters and a
time limit set by the profile. Results go to ``reports/<dataset>-<profile>/``:
``executed/`` notebooks, ``html/`` pages, ``metrics/`` JSON (written by the notebooks),
``logs/``, ``run.json``, ``index.html`` and one ``plotly.min.js`` that every page and figure
references; ``reports/index.html`` lists every run.

A run holds its report folder's lock (``reports/.<dataset>-<profile>.lock``): a second run into
the same folder stops at once with "... is in use by pid N". Each papermill process and the
kernel it starts are stopped with the run: on a time-out, on Ctrl-C (SIGINT) or SIGTERM the whole
process tree is terminated (then killed), the notebook and the run are recorded as
``interrupted`` in ``run.json`` and the index, and the interrupt is raised on to the caller.

A partial run (``--only``) merges into the run folder's index: a notebook run this time replaces
its entry, the others keep theirs (status, metrics, page) from the run they came from, and an
entry whose notebook no longer exists drops out. Each entry names its own run
(``run_started``, ``git_commit``, ``seed``); the run's ``status`` is over every listed notebook.
Before a notebook runs, its earlier metrics JSON, executed notebook and page are removed, so an
earlier result never passes for this run's; a notebook this run was asked for but did not reach
(``not run``) keeps an earlier entry where it has one, untouched.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from shopintent.config import DEFAULT_SEED, PROJECT_ROOT, data_root, get_profile, reports_dir
from shopintent.io import locked, recover, remove_temps, write_json, write_text
from shopintent.processes import die_with_parent, shielded, stop_tree
from shopintent.reporting import git_commit, package_versions, run_dir, run_name, write_plotlyjs

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
TEMPLATES = Path(__file__).parent / "templates"
KERNEL = "shopintent"
_NAME = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")
_HEADLINE_MAX = 6


@dataclass
class NotebookResult:
    notebook: str
    status: str  # passed / failed / skipped / interrupted / not run
    duration_s: float = 0.0
    error: str | None = None  # failed: the failing cell's error; skipped: the reason
    metrics: dict = field(default_factory=dict)
    headline: dict = field(default_factory=dict)
    html: str | None = None  # relative to the run folder
    # the run this entry comes from (a partial run keeps other notebooks' earlier entries)
    run_started: str | None = None
    git_commit: str | None = None
    seed: int | None = None

    @classmethod
    def from_entry(cls, entry: dict, run: dict | None = None) -> NotebookResult:
        """An entry of an earlier ``run.json``; one written before entries named their run
        takes the run's ``started``, ``git_commit`` and ``seed``."""
        names = {f.name for f in fields(cls)}
        result = cls(**{k: v for k, v in entry.items() if k in names})
        run = run or {}
        result.run_started = result.run_started or run.get("started")
        result.git_commit = result.git_commit or run.get("git_commit")
        result.seed = result.seed if result.seed is not None else run.get("seed")
        return result


def discover(notebooks_dir: Path = NOTEBOOKS_DIR, only: list[str] | None = None) -> list[Path]:
    """``NN_topic.ipynb`` in numeric order, without the template (00).

    ``only`` filters by NN or stem.
    """
    found = sorted(
        (p for p in Path(notebooks_dir).glob("*.ipynb") if _NAME.match(p.name)),
        key=lambda p: (int(p.name[:2]), p.name),
    )
    found = [p for p in found if not p.name.startswith("00_")]
    if only:
        wanted = set(only)
        found = [p for p in found if p.name[:2] in wanted or p.stem in wanted]
        unknown = wanted - {p.name[:2] for p in found} - {p.stem for p in found}
        if unknown:
            raise ValueError(f"no notebook matches {', '.join(sorted(unknown))} in {notebooks_dir}")
    return found


def _failing_cell(executed: Path) -> str | None:
    """'ename: evalue (In [n])' of the first error output in an executed notebook."""
    try:
        nb = json.loads(executed.read_text())
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return (
                    f"{out.get('ename')}: {out.get('evalue')} (In [{cell.get('execution_count')}])"
                )
    return None


def execute(
    notebook: Path, executed: Path, parameters: dict, timeout_s: int, log: Path
) -> tuple[str, str | None]:
    """Run one notebook with papermill in a child process; returns (status, error).

    An interrupt (KeyboardInterrupt, or the SIGTERM the command line turns into one) stops
    papermill and its kernel before it is raised on."""
    executed.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        str(notebook),
        str(executed),
        "-k",
        KERNEL,
        "-y",
        json.dumps(parameters),
        "--cwd",
        str(PROJECT_ROOT),
        "--no-progress-bar",
        "--log-level",
        "WARNING",
    ]
    env = {
        **os.environ,
        "SHOPINTENT_DATA": str(parameters["DATA_DIR"]),
        "TF_USE_LEGACY_KERAS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONHASHSEED": str(parameters["SEED"]),
    }
    with open(log, "w") as out:
        # its own session: a terminal's Ctrl-C reaches this process only, which then stops the tree
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
        )
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with shielded():
                stop_tree(proc)
            return "failed", f"timed out after {timeout_s} s (profile limit)"
        except BaseException:
            with shielded():
                stop_tree(proc)
            raise
    if code == 0:
        return "passed", None
    error = _failing_cell(executed)
    if error and error.startswith("NotebookSkipped"):
        return "skipped", error.split(": ", 1)[1].rsplit(" (In [", 1)[0]
    if error is None:
        tail = log.read_text().strip().splitlines()[-1:] or ["no output"]
        error = f"papermill exited with {code}: {tail[0]}"
    return "failed", error


def render_html(executed: Path, html: Path, parameters: dict | None = None) -> None:
    """nbconvert's lab look without CDN scripts; plotly outputs load the run folder's one
    ``plotly.min.js`` (offline). Local paths in the page (the injected ``DATA_DIR`` and
    ``REPORT_DIR``, paths a cell prints) are shown relative to the project, or as
    ``$SHOPINTENT_DATA/...`` and ``$SHOPINTENT_REPORTS/...``; the executed notebook keeps them."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    folders = [Path(v) for k, v in (parameters or {}).items() if k.endswith("_DIR")]
    if "REPORT_DIR" in (parameters or {}):
        folders.append(Path(parameters["REPORT_DIR"]).parent)
    _show_paths(nb, {str(p): display_path(p) for p in [*folders, PROJECT_ROOT]})
    exporter = HTMLExporter(
        template_name="offline", extra_template_basedirs=[str(TEMPLATES / "nbconvert")]
    )
    body, _ = exporter.from_notebook_node(nb)
    write_text(html, body)


def _show_paths(nb, shown: dict[str, str]) -> None:
    """Replace each absolute folder in ``shown`` (and paths below) in sources and text outputs."""
    pattern = re.compile(
        "|".join(re.escape(p) for p in sorted(shown, key=len, reverse=True)) + r"(?![\w.-])"
    )

    def sub(text):
        return pattern.sub(lambda m: shown[m.group(0)], text) if isinstance(text, str) else text

    for cell in nb.cells:
        cell.source = sub(cell.source)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = sub(out["text"])
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    out["data"][mime] = sub(value)
            if "traceback" in out:
                out["traceback"] = [sub(line) for line in out["traceback"]]


def display_path(path: str | Path) -> str:
    """``path`` relative to the project, else the data or reports root (named by its variable)."""
    path = Path(path)
    for root, name in (
        (PROJECT_ROOT, None),
        (data_root(), "$SHOPINTENT_DATA"),
        (reports_dir(), "$SHOPINTENT_REPORTS"),
    ):
        if path == root or root in path.parents:
            rel = path.relative_to(root).as_posix()
            if name is None:
                return rel
            return name if rel == "." else f"{name}/{rel}"
    return str(path)


def _read_metrics(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _headline(recorded: dict) -> dict:
    metrics = recorded.get("metrics", {})
    keys = recorded.get("headline") or list(metrics)[:_HEADLINE_MAX]
    return {k: metrics[k] for k in keys if k in metrics}


def run_all(
    dataset: str = "synthetic",
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    source: str | Path | None = None,
    only: list[str] | None = None,
    continue_on_error: bool = False,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    reports_root: Path | None = None,
    echo: Callable[[str], None] = print,
) -> list[NotebookResult]:
    """Prepare the dataset if needed, run the notebooks in order, write the run's pages.

    Holds the report folder's lock throughout (``InUseError`` if another run holds it). An
    interrupt marks the running notebook and the run ``interrupted``, writes ``run.json`` and
    the indexes, and is raised on."""
    from shopintent.data import registry

    prof = get_profile(profile)
    registry.check_dataset(dataset)
    notebooks = discover(notebooks_dir, only)
    root = reports_root or reports_dir()
    out = run_dir(dataset, profile, root)
    with locked(out):
        remove_temps(out)  # what a killed run left; no other writer can be here now
        started = datetime.now(UTC)
        stamp = {
            "run_started": started.isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "seed": seed,
        }
        earlier = _read_metrics(out / "run.json")
        present = [p.stem for p in discover(notebooks_dir)]
        results: list[NotebookResult] = []
        current: tuple[str, float] | None = None
        try:
            recover(registry.dataset_dir(dataset, profile))
            if not registry.is_prepared(dataset, profile):
                echo(f"preparing {dataset} ({profile}) ...")
                registry.prepare(dataset, profile=profile, seed=seed, source=source)
            write_plotlyjs(out)
            params = {
                "DATASET": dataset,
                "PROFILE": profile,
                "SEED": seed,
                "DATA_DIR": str(data_root()),
                "REPORT_DIR": str(out),
            }
            stop = False
            for i, nb in enumerate(notebooks, start=1):
                tag = f"[{i}/{len(notebooks)}] {nb.stem}"
                if stop:
                    results.append(
                        NotebookResult(
                            nb.stem, "not run", error="an earlier notebook failed", **stamp
                        )
                    )
                    echo(f"{tag}: not run")
                    continue
                metrics_path = out / "metrics" / f"{nb.stem}.json"
                executed = out / "executed" / nb.name
                page = out / "html" / f"{nb.stem}.html"
                for stale in (metrics_path, executed, page):  # must not pass for this run's
                    stale.unlink(missing_ok=True)
                echo(f"{tag} ...")
                t0 = time.perf_counter()
                current = (nb.stem, t0)
                status, error = execute(
                    nb, executed, params, prof.notebook_timeout_s, out / "logs" / f"{nb.stem}.log"
                )
                duration = time.perf_counter() - t0
                recorded = _read_metrics(metrics_path)
                if status == "passed" and not recorded:
                    status, error = (
                        "failed",
                        "the notebook recorded no metrics (its last cell must call run.record)",
                    )
                result = NotebookResult(
                    nb.stem,
                    status,
                    round(duration, 1),
                    error,
                    recorded.get("metrics", {}),
                    _headline(recorded),
                    **stamp,
                )
                if executed.is_file():
                    render_html(executed, page, params)
                    result.html = f"html/{nb.stem}.html"
                results.append(result)
                current = None
                echo(f"{tag}: {status} in {duration:.1f} s" + (f" — {error}" if error else ""))
                stop = status == "failed" and not continue_on_error
        except KeyboardInterrupt as interrupt:
            with shielded():
                _record_interrupt(interrupt, results, current, notebooks, echo, stamp)
                entries = merge_results(earlier, results, present)
                write_run(out, dataset, profile, seed, started, entries)
                write_reports_index(root)
            raise
        write_run(out, dataset, profile, seed, started, merge_results(earlier, results, present))
        write_reports_index(root)
    return results


def _record_interrupt(
    interrupt: KeyboardInterrupt,
    results: list[NotebookResult],
    current: tuple[str, float] | None,
    notebooks: list[Path],
    echo: Callable[[str], None],
    stamp: dict,
) -> None:
    """The running notebook becomes ``interrupted``, the ones after it ``not run``."""
    name = signal.Signals(getattr(interrupt, "signum", signal.SIGINT)).name
    if current is not None:
        duration = time.perf_counter() - current[1]
        results.append(
            NotebookResult(
                current[0], "interrupted", round(duration, 1), f"stopped by {name}", **stamp
            )
        )
        echo(f"[{len(results)}/{len(notebooks)}] {current[0]}: interrupted after {duration:.1f} s")
    done = {r.notebook for r in results}
    results += [
        NotebookResult(nb.stem, "not run", error=f"the run was stopped by {name}", **stamp)
        for nb in notebooks
        if nb.stem not in done
    ]


def merge_results(
    earlier: dict, results: list[NotebookResult], present: list[str]
) -> list[NotebookResult]:
    """The run folder's entries after this run: ``earlier`` (the folder's ``run.json``, or {})
    updated with ``results``, one entry per notebook in ``present`` (the notebooks that exist),
    in that order.

    A notebook run this time replaces its earlier entry; one this run did not reach (``not
    run``) keeps its earlier entry if it has one (its files were not touched); an earlier entry
    of a notebook not in ``present`` drops out."""
    before = {}
    for entry in earlier.get("notebooks", []) if isinstance(earlier, dict) else []:
        if isinstance(entry, dict) and "notebook" in entry and "status" in entry:
            before[entry["notebook"]] = NotebookResult.from_entry(entry, earlier)
    now = {r.notebook: r for r in results}
    merged = []
    for stem in [*present, *(r.notebook for r in results if r.notebook not in present)]:
        result = now.get(stem)
        if result is None or (result.status == "not run" and stem in before):
            result = before.get(stem)
        if result is not None:
            merged.append(result)
    return merged


def write_run(
    out: Path,
    dataset: str,
    profile: str,
    seed: int,
    started: datetime,
    results: list[NotebookResult],
) -> None:
    """``run.json`` (machine-readable) and ``index.html`` (for people) of one run folder.

    ``started``, ``seed`` and ``git_commit`` are the latest run's; ``results`` may hold entries
    of earlier runs (``merge_results``), each naming its own."""
    summary = {
        "run": run_name(dataset, profile),
        "dataset": dataset,
        "profile": profile,
        "seed": seed,
        "started": started.isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "status": run_status(results),
        "notebooks": [asdict(r) for r in results],
        "summary_html": summary_page(results),
    }
    write_json(out / "run.json", summary)
    _write_page(out / "index.html", "run_index.html.j2", summary)


def summary_page(results: list[NotebookResult]) -> str | None:
    """The results summary's HTML page (notebook ``NN_results_summary``), if it ran and rendered."""
    return next(
        (
            r.html
            for r in results
            if r.notebook.endswith("_results_summary") and r.html and r.status == "passed"
        ),
        None,
    )


def run_status(results: list[NotebookResult]) -> str:
    if any(r.status == "interrupted" for r in results):
        return "interrupted"
    if any(r.status == "failed" for r in results):
        return "failed"
    return "passed" if results else "empty"


def write_reports_index(root: Path) -> Path:
    """``reports/index.html``: every run folder present, newest first."""
    runs = []
    for path in sorted(Path(root).glob("*/run.json")):
        summary = _read_metrics(path)
        if summary:
            counts: dict[str, int] = {}
            for nb in summary.get("notebooks", []):
                counts[nb["status"]] = counts.get(nb["status"], 0) + 1
            runs.append({**summary, "counts": counts, "href": f"{path.parent.name}/index.html"})
    runs.sort(key=lambda r: r.get("started", ""), reverse=True)
    return _write_page(Path(root) / "index.html", "reports_index.html.j2", {"runs": runs})


def _write_page(path: Path, template: str, context: dict) -> Path:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("shopintent", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    env.filters["metric"] = _format_metric
    html = env.get_template(template).render(**context)
    return write_text(path, html)


def _format_metric(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return f"{value:,}"
