"""Notebook tier: papermill runs on the smoke profile, data, models and reports in temp folders.

On the synthetic shop every notebook runs once, in order, in one smoke run-all shared by the
whole session (``synthetic_run``), as ``make run`` does on the default profile: later
notebooks read what earlier ones wrote, and the run's wall time is printed at the end. Real
samples run one notebook at a time in their own ``workspace``.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from shopintent.cli import main

_FOLDERS = {
    "SHOPINTENT_DATA": "data",
    "SHOPINTENT_REPORTS": "reports",
    "SHOPINTENT_MODELS": "models",
}
# the run-all's seconds: read by the summary hook in tests/conftest.py (under pytest-xdist the
# controller loads only that conftest, and the run happens on a worker)
_SECONDS_FILE = "run-all-seconds.txt"


def _point_at(root: Path, setenv) -> None:
    for var, sub in _FOLDERS.items():
        setenv(var, str(root / sub))


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Empty data, reports and models folders for one run-all."""
    _point_at(tmp_path, monkeypatch.setenv)
    return tmp_path


@dataclass(frozen=True)
class SharedRun:
    root: Path
    exit_code: int
    seconds: float


@pytest.fixture(scope="session")
def _synthetic_smoke_run(tmp_path_factory) -> SharedRun:
    root = tmp_path_factory.mktemp("smoke-run-all")
    with pytest.MonkeyPatch.context() as mp:
        _point_at(root, mp.setenv)
        start = time.perf_counter()
        code = main(["run", "--profile", "smoke", "--dataset", "synthetic", "--continue-on-error"])
        seconds = time.perf_counter() - start
    (root / _SECONDS_FILE).write_text(f"{seconds:.1f}")
    return SharedRun(root, code, seconds)


@pytest.fixture
def synthetic_run(_synthetic_smoke_run, monkeypatch) -> Path:
    """The folder of the session's one smoke run-all on the synthetic shop, with the
    environment pointing at it (so model and data paths resolve there)."""
    _point_at(_synthetic_smoke_run.root, monkeypatch.setenv)
    return _synthetic_smoke_run.root
