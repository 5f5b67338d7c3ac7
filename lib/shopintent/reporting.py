"""Recording a notebook's results: one object per notebook run, one call to record.

    run = start_notebook("01_user_behavior_eda", DATASET, PROFILE, SEED, DATA_DIR, REPORT_DIR)
    ...
    run.record({"eda/events/count": 20000, ...})

``record`` writes ``<run dir>/metrics/<notebook>.json`` atomically:
``{"notebook", "dataset", "profile", "seed", "status", "git_commit", "versions", "duration_s",
"metrics": {"<task>/<model>/<metric>": number}}``. Keys are flat, slash-separated and
lower-case; values are plain numbers (or null for "not measurable on this dataset").
A number measured on other data than the run's dataset names that data first, with the
dataset's registry name: ``movielens-100k/msr_protocol/ease/ndcg@10`` (notebook 06's MSR protocol
and 07's TFRS protocol always read MovieLens-100K). Such a section keeps the prefix in every
run, the run of that dataset included, so one key means one thing in every run folder.
A notebook that its dataset cannot serve calls ``run.skip(reason)``, which records the
reason and stops the notebook; the run-all shows it as skipped, not failed.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from shopintent.config import PROJECT_ROOT, reports_dir, seed_everything
from shopintent.io import write_json, write_text

#: The one copy of plotly.js in a run folder; pages (``html/``), executed notebooks
#: (``executed/``) and saved figures (``figures/<notebook>/``) load it by a relative path.
PLOTLY_JS = "plotly.min.js"
KEY = re.compile(r"^[a-z0-9_@.\-]+(/[a-z0-9_@.\-]+)+$")
#: packages whose versions are recorded with every result
VERSIONED = (
    "shopintent",
    "numpy",
    "pandas",
    "scikit-learn",
    "tensorflow",
    "keras",
    "keras-hub",
    "tf-keras",
    "tensorflow-recommenders",
    "lightgbm",
    "shap",
    "networkx",
    "mlxtend",
    "plotly",
    "papermill",
)


class NotebookSkipped(Exception):  # noqa: N818 - the name is what a reader sees in the notebook
    """Raised by ``NotebookRun.skip``: the dataset cannot serve this notebook (not a failure)."""


def run_name(dataset: str, profile: str) -> str:
    return f"{dataset}-{profile}"


def run_dir(dataset: str, profile: str, root: Path | None = None) -> Path:
    """``reports/<dataset>-<profile>/``: runs on different datasets/profiles sit side by side."""
    return (root or reports_dir()) / run_name(dataset, profile)


def write_plotlyjs(out_dir: str | Path) -> Path:
    """``<run dir>/plotly.min.js`` from the installed plotly package (offline), unless present."""
    from plotly.offline import get_plotlyjs

    path = Path(out_dir) / PLOTLY_JS
    js = get_plotlyjs()
    if not path.is_file() or path.stat().st_size != len(js.encode()):
        write_text(path, js)
    return path


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def check_metrics(metrics: dict) -> dict[str, float | None]:
    """Flat ``task/model/metric`` keys, plain numbers; raises ValueError naming the bad entry."""
    out = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not KEY.match(key):
            raise ValueError(
                f"metric key {key!r} must be flat, lower-case and slash-separated, "
                "like 'purchase_intent/lstm/roc_auc'"
            )
        if value is None:
            out[key] = None
            continue
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(
                f"metric {key}: expected a number, got {type(value).__name__} {value!r}"
            )
        out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
    return out


@dataclass
class NotebookRun:
    """One execution of one notebook: where its results go, and how long it took."""

    notebook: str
    dataset: str
    profile: str
    seed: int
    out_dir: Path
    started: float = field(default_factory=time.perf_counter)

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / "metrics" / f"{self.notebook}.json"

    @property
    def figures_dir(self) -> Path:
        return self.out_dir / "figures" / self.notebook

    def _payload(self, status: str, metrics: dict, **extra) -> dict:
        return {
            "notebook": self.notebook,
            "dataset": self.dataset,
            "profile": self.profile,
            "seed": self.seed,
            "status": status,
            "git_commit": git_commit(),
            "versions": package_versions(),
            "duration_s": round(time.perf_counter() - self.started, 3),
            **extra,
            "metrics": check_metrics(metrics),
        }

    def record(self, metrics: dict, headline: tuple[str, ...] | list[str] | None = None) -> Path:
        """Write the notebook's metrics JSON; ``headline`` picks the keys shown in the run index."""
        missing = [k for k in headline or () if k not in metrics]
        if missing:
            raise ValueError(f"headline keys not among the metrics: {', '.join(missing)}")
        return write_json(
            self.metrics_path, self._payload("passed", metrics, headline=list(headline or []))
        )

    def skip(self, reason: str) -> None:
        """Record that this dataset cannot serve the notebook, then stop it."""
        write_json(self.metrics_path, self._payload("skipped", {}, reason=reason))
        raise NotebookSkipped(reason)

    def save_figure(self, fig, name: str):
        """Save a plotly (HTML loading the run folder's ``plotly.min.js``) or matplotlib (PNG)
        figure; returns it for display."""
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        if hasattr(fig, "write_html"):
            write_plotlyjs(self.out_dir)
            write_text(
                self.figures_dir / f"{name}.html",
                fig.to_html(include_plotlyjs=f"../../{PLOTLY_JS}", full_html=True),
            )
        else:
            fig.savefig(self.figures_dir / f"{name}.png", dpi=120, bbox_inches="tight")
        return fig


def use_offline_plotly() -> None:
    """Plotly figures that render in JupyterLab (mimetype) and in nbconvert's HTML (inline HTML).

    plotly's own "notebook" renderer loads MathJax from a CDN; this one makes the first figure's
    HTML load ``../plotly.min.js`` (the run folder's copy, seen from ``html/`` and ``executed/``)
    and nothing external, so a report opens with no network access.
    """
    import plotly.io as pio
    from plotly.io.base_renderers import MimetypeRenderer

    class OfflineHtml(MimetypeRenderer):
        library_sent = False

        def to_mimebundle(self, fig_dict):
            script = f"../{PLOTLY_JS}" if not self.library_sent else False
            html = pio.to_html(
                fig_dict,
                include_plotlyjs=script,
                include_mathjax=False,
                full_html=False,
                default_width="100%",
                default_height=480,
                validate=False,
            )
            OfflineHtml.library_sent = True
            return {"text/html": html}

    if "shopintent_offline" not in pio.renderers:
        pio.renderers["shopintent_offline"] = OfflineHtml()
    pio.renderers.default = "plotly_mimetype+shopintent_offline"


def start_notebook(
    notebook: str,
    dataset: str,
    profile: str,
    seed: int,
    data_dir: str | None = None,
    report_dir: str | None = None,
) -> NotebookRun:
    """Set a notebook up: seeds, data location, offline interactive figures; returns its run.

    ``data_dir`` overrides ``$SHOPINTENT_DATA``; ``report_dir`` defaults to
    ``reports/<dataset>-<profile>/``. Plotly figures load the run folder's one ``plotly.min.js``
    (written here if missing), so the HTML reports work without network access.
    """
    seed_everything(seed)
    if data_dir:
        os.environ["SHOPINTENT_DATA"] = str(data_dir)
    use_offline_plotly()
    out = Path(report_dir) if report_dir else run_dir(dataset, profile)
    write_plotlyjs(out)
    return NotebookRun(notebook=notebook, dataset=dataset, profile=profile, seed=seed, out_dir=out)
