"""The scaling study (notebook 12, ``benchmarks/bench_spark_scaling.py``): the same steps on
pandas and on Spark at growing sizes of the synthetic shop, timed, with their peak memory.

Each (engine, size) runs in a process of its own (``scaling_steps``), so that one run's memory
is not another's and a run that outgrows the machine is stopped without taking the caller
along. ``measure`` samples the resident memory of that process and of every process it starts
(Spark's JVM included) every ``interval_s``, attributes the peaks to the step running at the
time (the child names it in a marks file before each step), and stops the run when the total
passes ``cap_gb`` (status ``"over memory cap"``) or ``timeout_s`` (``"timeout"``). The table
has one row per step plus ``total``; ``slope`` fits log(time) against log(events) and
``crossover`` says where pandas stops being the better engine.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from shopintent.config import PROJECT_ROOT
from shopintent.processes import stop_tree, tree_memory
from shopintent.studies.scaling_steps import REFUSED, STEPS
from shopintent.studies.settings import StudySettings

ENGINES = ("pandas", "spark")


@dataclass(frozen=True)
class Settings(StudySettings):
    """``small_inputs``: notebook 12 starts Spark with ``session.SMALL_INPUTS`` (no query code
    generation, the quick JIT compiler and the serial collector), which costs less CPU on the
    smoke shop's few thousand rows; the default and full profiles keep Spark's own settings,
    which are the ones its seconds are read for. Spark computes the same numbers either way."""

    small_inputs: bool

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {"small_inputs": True},
        "default": {"small_inputs": False},
        "full": {"small_inputs": False},
    }

    @property
    def session_options(self) -> dict:
        """Keyword arguments of ``data.spark.session.spark_session``."""
        from shopintent.data.spark.session import SMALL_INPUTS

        return dict(SMALL_INPUTS) if self.small_inputs else {}


#: the steps timed, in order (``scaling_steps.STEPS``), and the row that sums them
TOTAL = "total"
OK = "ok"
GB = 1 << 30
COLUMNS = [
    "engine",
    "n_events",
    "step",
    "seconds",
    "peak_python_gb",
    "peak_jvm_gb",
    "peak_gb",
    "status",
]
COLOURS = {"pandas": "#264653", "spark": "#e76f51"}


def machine() -> dict[str, object]:
    """What the figures were measured on: cores, memory, CPU model, load, when."""
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        pages = 0
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(pages / GB, 1),
        "cpu": model,
        "load_1min": round(os.getloadavg()[0], 2),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def measure(
    engine: str,
    n_events: int,
    *,
    seed: int = 42,
    workdir: str | Path | None = None,
    cap_gb: float = 20.0,
    timeout_s: float = 3600.0,
    interval_s: float = 0.2,
    log: str | Path | None = None,
) -> pd.DataFrame:
    """Run ``scaling_steps`` for one engine and size in a child process; one row per step that
    started, plus ``total`` (seconds summed over the steps that finished, peaks over all).

    ``workdir``: where the child prepares its data (a temporary folder by default, removed
    afterwards); ``log``: the child's output (default: discarded unless the run fails, when
    its tail is in the error).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    with tempfile.TemporaryDirectory(prefix="shopintent-scaling-", dir=workdir) as tmp:
        tmp = Path(tmp)
        marks, result = tmp / "step", tmp / "result.json"
        out = Path(log) if log else tmp / "child.log"
        cmd = [sys.executable, "-m", "shopintent.studies.scaling_steps", engine, str(n_events)]
        cmd += ["--seed", str(seed), "--data", str(tmp / "data"), "--marks", str(marks)]
        cmd += ["--result", str(result)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        peaks: dict[str, dict[str, float]] = {}
        status, started = OK, time.monotonic()
        with open(out, "w") as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env)
            try:
                while proc.poll() is None:
                    step = marks.read_text().strip() if marks.exists() else "start"
                    mem = tree_memory(proc.pid)
                    peak = peaks.setdefault(step, {"python": 0.0, "jvm": 0.0, "total": 0.0})
                    peak["python"] = max(peak["python"], mem["python"] / GB)
                    peak["jvm"] = max(peak["jvm"], mem["jvm"] / GB)
                    peak["total"] = max(peak["total"], (mem["python"] + mem["jvm"]) / GB)
                    if peak["total"] > cap_gb:
                        status = f"over memory cap ({cap_gb:g} GB) in {step}"
                    elif time.monotonic() - started > timeout_s:
                        status = f"timeout ({timeout_s:g} s) in {step}"
                    if status != OK:
                        stop_tree(proc)
                        break
                    time.sleep(interval_s)
            finally:
                if proc.poll() is None:
                    stop_tree(proc)
        done = json.loads(result.read_text()) if result.exists() else {}
        if status == OK and proc.returncode == REFUSED:
            status = "does not fit (the prepare's memory estimate)"
        elif status == OK and proc.returncode != 0:
            tail = out.read_text(errors="replace")[-3000:]
            status = f"failed (exit {proc.returncode})"
            print(f"{engine} at {n_events:,} events failed:\n{tail}", file=sys.stderr)
    rows = []
    # every step that finished or was seen running; a step shorter than one sampling interval
    # has its time but no memory sample (NaN)
    none = {"python": np.nan, "jvm": np.nan, "total": np.nan}
    for step in [*STEPS, *(s for s in peaks if s not in STEPS and s != "start")]:
        if step not in done and step not in peaks:
            continue
        peak = peaks.get(step, none)
        rows.append(
            {
                "engine": engine,
                "n_events": n_events,
                "step": step,
                "seconds": done.get(step, {}).get("seconds", np.nan),
                "peak_python_gb": peak["python"],
                "peak_jvm_gb": peak["jvm"],
                "peak_gb": peak["total"],
                "status": OK if step in done else status,
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    total = {
        "engine": engine,
        "n_events": n_events,
        "step": TOTAL,
        "seconds": table["seconds"].sum() if status == OK else np.nan,
        "peak_python_gb": table["peak_python_gb"].max(),
        "peak_jvm_gb": table["peak_jvm_gb"].max(),
        "peak_gb": table["peak_gb"].max(),
        "status": status,
    }
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def read_results(path: str | Path) -> pd.DataFrame:
    """A benchmark CSV (``benchmarks/bench_spark_scaling.py``), checked for its columns."""
    table = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: not a scaling benchmark table (missing {', '.join(missing)})")
    return table


def totals(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (engine, size): total seconds and peak memory, and whether it finished."""
    t = results[results["step"] == TOTAL]
    return t.set_index(["engine", "n_events"]).sort_index()[["seconds", "peak_gb", "status"]]


def slope(results: pd.DataFrame, engine: str, lo: float = 1e6, hi: float = 1e7) -> float | None:
    """Least-squares slope of log(total seconds) on log(events) over the finished runs with
    ``lo <= n_events <= hi`` (1: time grows in proportion to the data); None under two."""
    t = totals(results)
    if engine not in t.index.get_level_values(0):
        return None
    t = t.loc[engine]
    t = t[(t.index >= lo) & (t.index <= hi) & (t["status"] == OK)]
    if len(t) < 2:
        return None
    return float(np.polyfit(np.log10(t.index.to_numpy(float)), np.log10(t["seconds"]), 1)[0])


def crossover(results: pd.DataFrame) -> str:
    """Where Spark starts to pay, in words, from the measured totals: the smallest size at which
    Spark finished faster than pandas, or at which pandas did not finish at all."""
    t = totals(results)
    sizes = sorted(set(t.index.get_level_values(1)))
    for n in sizes:
        pandas = t.loc[("pandas", n)] if ("pandas", n) in t.index else None
        spark = t.loc[("spark", n)] if ("spark", n) in t.index else None
        if spark is None or spark["status"] != OK:
            continue
        if pandas is not None and pandas["status"] != OK:
            return f"at {n:,} events pandas did not finish ({pandas['status']}); Spark did"
        if pandas is not None and spark["seconds"] < pandas["seconds"]:
            return (
                f"at {n:,} events Spark took {spark['seconds']:.0f} s against pandas' "
                f"{pandas['seconds']:.0f} s"
            )
    return "pandas was faster at every size measured where both finished"


def scaling_figure(results: pd.DataFrame, title: str = "") -> go.Figure:
    """Log-log total time and peak memory against events, one line per engine; runs that did
    not finish are marked with a cross at the memory they reached."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("wall time (s)", "peak memory (GB)"))
    t = totals(results).reset_index()
    for engine, part in t.groupby("engine"):
        ok = part[part["status"] == OK]
        colour = COLOURS.get(engine)
        kw = {"name": engine, "legendgroup": engine, "line": {"color": colour}}
        fig.add_trace(go.Scatter(x=ok["n_events"], y=ok["seconds"], mode="lines+markers", **kw))
        fig.add_trace(
            go.Scatter(
                x=part["n_events"],
                y=part["peak_gb"],
                mode="lines+markers",
                showlegend=False,
                **{k: v for k, v in kw.items() if k != "name"},
                name=engine,
            ),
            row=1,
            col=2,
        )
        failed = part[part["status"] != OK]
        if len(failed):
            fig.add_trace(
                go.Scatter(
                    x=failed["n_events"],
                    y=failed["peak_gb"],
                    mode="markers",
                    marker={"symbol": "x", "size": 12, "color": colour},
                    name=f"{engine}: did not finish",
                    text=failed["status"],
                ),
                row=1,
                col=2,
            )
    for col in (1, 2):
        fig.update_xaxes(type="log", title_text="events", row=1, col=col)
        fig.update_yaxes(type="log", row=1, col=col)
    fig.update_layout(title=title, height=420)
    return fig


@dataclass
class Benchmark:
    """A scaling benchmark's table and what it says: per-engine slopes from 10^6 to 10^7,
    where Spark starts to pay, and the machine it was measured on."""

    results: pd.DataFrame
    slopes: dict[str, float | None]
    crossover: str
    machine: str

    def totals(self) -> pd.DataFrame:
        return totals(self.results)


def benchmark(path: str | Path | None) -> tuple[Benchmark | None, str | None]:
    """The benchmark CSV at ``path`` (a relative path: from the repository's root, wherever the
    notebook runs) read and summarised, or None and why (no such file)."""
    if path is None:
        return None, "no benchmark table given (BENCHMARK = None)"
    path = PROJECT_ROOT / path
    if not Path(path).is_file():
        return None, (
            f"{path}: no such file; `python benchmarks/bench_spark_scaling.py --sizes "
            "1e5,1e6,1e7` measures it (tens of minutes at 10^7)"
        )
    results = read_results(path)
    where = results.drop_duplicates("engine")
    described = "; ".join(
        f"{r.engine}: {r.cores} cores, {r.memory_gb} GB, {r.cpu}, {r.measured_at}"
        for r in where.itertuples()
        if "cpu" in results.columns
    )
    return Benchmark(
        results,
        {engine: slope(results, engine) for engine in ENGINES},
        crossover(results),
        described,
    ), None


def paper_estimate(
    results: pd.DataFrame,
    logs: dict[str, float],
    workers: tuple[int, ...] = (4, 16, 64),
    cores_per_worker: int = 8,
) -> pd.DataFrame:
    """Hours for Spark's steps on logs of the given sizes: the largest finished Spark run here
    extrapolated with the measured slope (at least 1), then divided among ``workers`` ×
    ``cores_per_worker`` cores as if they were this machine's and the work split evenly —
    a lower bound on paper (no shuffle over a network, no skew), stated as such."""
    t = totals(results)
    if "spark" not in t.index.get_level_values(0):
        raise ValueError("no Spark runs in the benchmark table")
    spark = t.loc["spark"]
    spark = spark[spark["status"] == OK]
    if spark.empty:
        raise ValueError("no finished Spark run in the benchmark table")
    n0, t0 = float(spark.index.max()), float(spark["seconds"].iloc[-1])
    cores_here = float(results["cores"].iloc[0]) if "cores" in results.columns else 2.0
    b = max(slope(results, "spark") or 1.0, 1.0)
    rows = []
    for name, n in logs.items():
        one_machine = t0 * (n / n0) ** b
        row = {"log": name, "events": n, "this machine (h)": one_machine / 3600}
        for w in workers:
            row[f"{w} workers (h)"] = one_machine * cores_here / (w * cores_per_worker) / 3600
        rows.append(row)
    return pd.DataFrame(rows).set_index("log")


#: the key prefix of the benchmark's numbers: they come from the synthetic shops sized by events
#: (``synthetic-e<N>``), not from the run's dataset (``reporting``: other data names itself)
BENCH_PREFIX = "synthetic-sized/scaling"


def metric_keys(bench: Benchmark | None) -> dict[str, float | None]:
    """``synthetic-sized/scaling/<engine>/...``: the slope 10^6..10^7, the largest size that
    finished, its seconds and peak memory (GB); all None without a benchmark."""
    out: dict[str, float | None] = {}
    t = bench.totals() if bench else None
    for engine in ENGINES:
        key = f"{BENCH_PREFIX}/{engine}"
        out[f"{key}/slope"] = bench.slopes.get(engine) if bench else None
        done = t.loc[engine] if t is not None and engine in t.index.get_level_values(0) else None
        done = done[done["status"] == OK] if done is not None else None
        if done is None or done.empty:
            out |= {f"{key}/largest_events": None, f"{key}/seconds": None, f"{key}/peak_gb": None}
            continue
        n = done.index.max()
        out[f"{key}/largest_events"] = float(n)
        out[f"{key}/seconds"] = float(done.loc[n, "seconds"])
        out[f"{key}/peak_gb"] = float(done.loc[n, "peak_gb"])
    return out
