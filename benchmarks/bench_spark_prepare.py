"""Time the Spark prepare of a REES46 file stage by stage, with the Spark jobs each one runs.

    python benchmarks/bench_spark_prepare.py [--rows 300000] [--master local[*]] [--tmp DIR]

The file is the shared 1,000-row sample repeated: copy ``k`` shifted by ``k`` times 18 minutes
(the sample spans 17.5), its users and sessions renamed per copy, and one row in 100 without a
session (so the window-function sessionisation runs). Each run is a fresh process with the
session the CLI creates (``spark_session(master)``). Printed per stage: wall seconds, Spark
jobs, stages and tasks (from ``statusTracker``), and the load average before and after; other
processes share the CPU, so compare runs made under the same load. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "shared/data/rees46-2019oct-head1000"

CHILD = r"""
import json, sys, time
from pathlib import Path
from shopintent.data.spark import rees46, rows, store
from shopintent.data.spark.session import spark_session

path, out, master = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
spark = spark_session(master)
sc = spark.sparkContext
stages = {"session start": time.perf_counter() - t0}
jobs = {}
current = ["load: other"]

def timed(name, fn):
    def run(*a, **k):
        outer = current[0]
        current[0] = name
        sc.setJobGroup(name, name)
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            stages[name] = stages.get(name, 0) + time.perf_counter() - t
            current[0] = outer
            sc.setJobGroup(outer, outer)
    return run

rows.report = timed("checks + bad-row report", rows.report)
rows.count_duplicates = timed("duplicate count", rows.count_duplicates)
for attr in ("_write_events", "_write_items"):
    if hasattr(store, attr):
        setattr(store, attr, timed(attr.strip("_").replace("_", " "), getattr(store, attr)))
sc.setJobGroup("load: other", "load: other")
t = time.perf_counter()
shop = timed("load (all)", rees46.load)(spark, path, on_bad_rows="skip")
shop.save = timed("save (all)", shop.save)
shop.save(out)
stages["total"] = time.perf_counter() - t0
tracker = sc.statusTracker()
for name in list(stages):
    ids = tracker.getJobIdsForGroup(name)
    info = [tracker.getJobInfo(j) for j in ids]
    st = [tracker.getStageInfo(s) for i in info if i for s in i.stageIds]
    jobs[name] = {"jobs": len(ids), "stages": len([s for s in st if s]),
                  "tasks": sum(s.numTasks for s in st if s)}
files = [p for p in (out / "events.parquet").rglob("*.parquet")]
days = len(list((out / "events.parquet").iterdir()))
meta = json.loads((out / "meta.json").read_text())
print(json.dumps({"stages": stages, "jobs": jobs, "event_files": len(files), "days": days,
                  "rows": meta["rows"], "no_session": meta["events_without_session"]}))
"""


def write_source(path: Path, n_rows: int) -> Path:
    """``n_rows`` REES46 rows from the shared sample (see the module docstring)."""
    import pandas as pd

    lines = (SAMPLE / "2019-Oct-sample.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    fields = [line.split(",") for line in body]
    t0 = [pd.Timestamp(f[0].removesuffix(" UTC")) for f in fields]
    with open(path, "w") as f:
        f.write(header + "\n")
        written, k = 0, 0
        while written < n_rows:
            shift = pd.Timedelta(minutes=18 * k)
            for row, t in zip(fields, t0, strict=True):
                if written == n_rows:
                    break
                r = list(row)
                r[0] = (t + shift).strftime("%Y-%m-%d %H:%M:%S UTC")
                r[7] = f"{r[7]}{k:05d}"
                r[8] = "" if (written % 100) == 99 else f"{k:08x}{r[8][8:]}"
                f.write(",".join(r) + "\n")
                written += 1
            k += 1
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=float, default=3e5)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--tmp", default=None, help="folder for the source and the output")
    parser.add_argument("--keep-source", default=None, help="reuse/keep the source file here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.tmp) as d:
        src = Path(args.keep_source) if args.keep_source else Path(d) / "2019-Oct.csv"
        if not src.exists():
            write_source(src, int(args.rows))
        before = os.getloadavg()[0]
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(src), str(Path(d) / "out"), args.master],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{src.stat().st_size / 2**20:.0f} MiB source, load {before:.2f} -> "
            f"{os.getloadavg()[0]:.2f}; rows {r['rows']}, no session {r['no_session']:,}, "
            f"{r['days']} days, {r['event_files']} event files"
        )
        for name, secs in r["stages"].items():
            j = r["jobs"].get(name, {})
            print(
                f"  {name:<26} {secs:7.1f} s  jobs {j.get('jobs', 0):>3} "
                f"stages {j.get('stages', 0):>3} tasks {j.get('tasks', 0):>5}"
            )


if __name__ == "__main__":
    main()
