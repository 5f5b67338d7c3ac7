"""The behaviour EDA's summary on pandas vs Spark: wall time on a prepared dataset.

    python benchmarks/bench_spark_eda.py [--dataset D] [--profile P] [--master local[2]]

pandas and Spark: ``studies.spark_path.eda_pandas`` / ``eda_spark`` (notebook 01's numbers
and the RFM segment summary: what notebook 12 compares and the scaling benchmark times), from
the same Parquet tables, after the session has started (its start is printed apart). Prints
the times, the machine's load (``os.getloadavg``) before and after, and whether the numbers
agree.
"""

from __future__ import annotations

import argparse
import math
import os
import time


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()

    from shopintent.data import registry
    from shopintent.data.spark.read import read_tables
    from shopintent.data.spark.session import spark_session
    from shopintent.studies import spark_path

    print(f"load average before: {_load()}  ({os.cpu_count()} cores)")
    shop = registry.load(args.dataset, args.profile)
    folder = registry.dataset_dir(args.dataset, args.profile)
    print(f"{args.dataset}-{args.profile}: {len(shop.events):,} events, {len(shop.items):,} items")
    t0 = time.perf_counter()
    want, pd_segments = spark_path.eda_pandas(shop)
    t2 = time.perf_counter()
    spark = spark_session(args.master, ui=False)
    t3 = time.perf_counter()
    events, items = read_tables(spark, folder)
    got, sp_segments = spark_path.eda_spark(spark, events, items, shop.queries)
    t5 = time.perf_counter()

    def same(a, b) -> bool:
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)

    differ = [k for k in want if not same(want[k], got.get(k))]
    print(f"pandas summary + RFM segments: {t2 - t0:7.1f} s")
    print(f"spark  summary + RFM segments: {t5 - t3:7.1f} s")
    print(f"spark session start:     {t3 - t2:7.1f} s   master {args.master}")
    print(f"keys differing: {differ or 'none'}")
    users = (pd_segments["users"].to_numpy() == sp_segments["users"].to_numpy()).all()
    print(f"segment user counts equal: {bool(users)}")
    print(f"load average after: {_load()}")
    spark.stop()


if __name__ == "__main__":
    main()
