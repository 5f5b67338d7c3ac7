"""pandas against Spark on the same steps, from 10^5 to 10^7 synthetic events: time and memory.

    python benchmarks/bench_spark_scaling.py [--sizes 1e5,1e6] [--engines pandas,spark]
        [--cap-gb 20] [--timeout 3600] [--spark-memory 4g] [--out FILE.csv]

Each engine and size runs in a fresh process (``studies/scaling_steps.py``: prepare the shop,
notebook 01's EDA summary, popularity + item-kNN + ALS fitted and scored on notebook 06's
temporal split); its resident memory and that of every process it starts (Spark's JVM) is
sampled five times a second. A run whose memory passes ``--cap-gb`` is stopped and recorded as
not fitting; once pandas stops fitting at one size it is not tried at larger ones. Prints one
line per step and writes the table (with the machine, its load and the date) to ``--out``
(default ``benchmarks/results/spark_scaling.csv``, which notebook 12 plots), adding to rows of
other sizes already there. Spark's driver memory is ``--spark-memory`` (in ``local`` mode the
driver is the executor too). Asserts nothing; sizes of 10^7 take tens of minutes here.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from shopintent.io import write_text
from shopintent.studies import spark_scaling as study

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,1e6", help="events, comma-separated")
    parser.add_argument("--engines", default="pandas,spark")
    parser.add_argument("--cap-gb", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--spark-memory", default="4g")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(HERE / "results" / "spark_scaling.csv"))
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    os.environ["SHOPINTENT_SPARK_DRIVER_MEMORY"] = args.spark_memory
    info = study.machine()
    print("machine:", ", ".join(f"{k} {v}" for k, v in info.items()))
    out = Path(args.out)
    old = study.read_results(out) if out.exists() else None
    stopped: set[str] = set()
    for n in sizes:
        for engine in engines:
            if engine in stopped:
                print(f"{engine} {n:,}: not tried (it did not fit at a smaller size)")
                continue
            load = os.getloadavg()[0]
            table = study.measure(
                engine, n, seed=args.seed, cap_gb=args.cap_gb, timeout_s=args.timeout
            )
            table = table.assign(
                spark_memory=args.spark_memory if engine == "spark" else "",
                load_before=round(load, 2),
                load_after=round(os.getloadavg()[0], 2),
                **{k: v for k, v in info.items() if k != "load_1min"},
            )
            for row in table.itertuples():
                print(
                    f"{engine:6s} {n:>11,} {row.step:10s} {row.seconds:8.1f} s  "
                    f"peak {row.peak_gb:5.2f} GB (python {row.peak_python_gb:.2f}, "
                    f"jvm {row.peak_jvm_gb:.2f})  {row.status}  load {load:.2f}",
                    flush=True,
                )
            if (table["status"] != study.OK).any():
                stopped.add(engine)
            if old is not None:  # a size measured again replaces its old rows
                same = (old["engine"] == engine) & (old["n_events"] == n)
                old = old[~same]
            old = pd.concat([old, table], ignore_index=True) if old is not None else table
            out.parent.mkdir(parents=True, exist_ok=True)
            write_text(
                out, old.sort_values(["engine", "n_events"], kind="stable").to_csv(index=False)
            )
    for engine in engines:
        s = study.slope(old, engine)
        print(f"{engine}: log-log slope 10^6..10^7 = " + (f"{s:.2f}" if s is not None else "n/a"))
    print("crossover:", study.crossover(old))


if __name__ == "__main__":
    main()
