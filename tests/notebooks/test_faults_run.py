"""`shopintent run --only 01` stopped mid-notebook, and the size and offline-readiness of its pages.

Ctrl-C (SIGINT) and SIGTERM go to a real `shopintent run` subprocess while notebook 01 executes:
it must exit 130 / 143 with one line, leave no papermill or kernel process behind, and record the
notebook and the run as interrupted. A passing run's folder holds one plotly.min.js that every
page and figure loads by a relative path, with no script from the network.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shopintent.processes import alive, descendants

pytestmark = pytest.mark.notebook
LIB = Path(__file__).resolve().parents[2] / "lib"
NB = "01_user_behavior_eda"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _start_run(root: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "SHOPINTENT_DATA": str(root / "data"),
        "SHOPINTENT_REPORTS": str(root / "reports"),
        "SHOPINTENT_MODELS": str(root / "models"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(LIB), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopintent.cli",
            "run",
            "--profile",
            "smoke",
            "--dataset",
            "synthetic",
            "--only",
            "01",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_kernel(proc: subprocess.Popen, timeout_s: float = 60) -> list[int]:
    """The run's process tree once the kernel runs a cell (papermill and the kernel included)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tree = descendants(proc.pid)
        if any("ipykernel" in _cmdline(pid) for pid in tree):
            time.sleep(3)  # the kernel is up; let the notebook's first cells run
            return descendants(proc.pid)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("no kernel started within a minute")


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_an_interrupted_run_stops_its_notebook_and_says_so(tmp_path, sig, code):
    proc = _start_run(tmp_path)
    tree = _wait_for_kernel(proc)
    assert any("papermill" in _cmdline(pid) for pid in tree)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert stderr.strip().splitlines() == [f"shopintent: interrupted by {sig.name}"]
    assert f"[1/1] {NB}: interrupted after" in stdout
    survivors = [f"{pid}: {_cmdline(pid)}" for pid in tree if alive(pid)]
    assert survivors == []  # no papermill, no kernel
    out = tmp_path / "reports" / "synthetic-smoke"
    summary = json.loads((out / "run.json").read_text())
    assert summary["status"] == "interrupted"
    assert [(nb["notebook"], nb["status"], nb["error"]) for nb in summary["notebooks"]] == [
        (NB, "interrupted", f"stopped by {sig.name}")
    ]
    assert "interrupted" in (out / "index.html").read_text()
    assert "interrupted" in (tmp_path / "reports" / "index.html").read_text()
    time.sleep(1)
    assert not (out / "metrics" / f"{NB}.json").exists()  # nothing went on writing
    hidden = [p.name for p in tmp_path.rglob(".*")]
    assert hidden == []  # no temp file, no lock file


def test_a_killed_run_takes_its_notebook_down_with_it(tmp_path):
    proc = _start_run(tmp_path)
    tree = _wait_for_kernel(proc)
    proc.kill()  # kill -9: nothing in the run can react; papermill gets SIGTERM from the kernel
    proc.communicate(timeout=10)
    deadline = time.monotonic() + 5  # well before notebook 01 could finish on its own
    while any(alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [f"{pid}: {_cmdline(pid)}" for pid in tree if alive(pid)] == []
    time.sleep(1)
    assert not (tmp_path / "reports" / "synthetic-smoke" / "metrics" / f"{NB}.json").exists()


def test_a_run_folder_shares_one_plotly_and_shows_paths_relative(synthetic_run):
    """The session's smoke run-all folder (every notebook's pages and figures)."""
    out = synthetic_run / "reports" / "synthetic-smoke"
    shared = out / "plotly.min.js"
    assert shared.read_text().count("plotly.js v") == 1
    pages = [*out.glob("html/*.html"), *out.glob("figures/*/*.html")]
    assert pages
    for page in pages:
        html = page.read_text()
        assert not re.search(r"<script[^>]+src=\"(https?:)?//", html), (
            page.name
        )  # nothing from the network
        assert "plotly.js v" not in html, page.name  # no copy of its own
        depth = len(page.relative_to(out).parts) - 1
        if "Plotly.newPlot" in html:
            assert f'src="{"../" * depth}plotly.min.js"' in html, page.name
            assert (page.parent / ("../" * depth) / "plotly.min.js").resolve() == shared.resolve()
    executed = (out / "executed" / f"{NB}.ipynb").read_text()
    assert "plotly.js v" not in executed and "../plotly.min.js" in executed

    page = (out / "html" / f"{NB}.html").read_text()
    assert "$SHOPINTENT_DATA" in page and "$SHOPINTENT_REPORTS/synthetic-smoke" in page
    assert str(synthetic_run) not in page  # no absolute local path in the injected parameters

    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and NB in str(p))
    print(
        f"\nsmoke run-all: notebook {NB}'s files {size / 1e6:.2f} MB, the shared plotly.min.js "
        f"{shared.stat().st_size / 1e6:.2f} MB"
    )
    # was 10.7 MB: plotly.js in the page and again in the executed notebook; now the one shared
    # copy (4.8 MB) and everything else under 1.5 MB
    assert size < 1_500_000

    umask = os.umask(0)
    os.umask(umask)
    for path in [out, *out.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o777 if path.is_dir() else 0o666) & ~umask, f"{path}: {oct(mode)}"
