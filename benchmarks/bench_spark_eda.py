"""The behaviour EDA's summary on pandas vs Spark: wall time on a prepared dataset.

    python benchmarks/bench_spark_eda.py [--dataset D] [--profile P] [--master local[2]]

pandas: ``user_behavior.headline_metrics`` and the user × category rules, then the RFM
segment summary. Spark: ``user_behavior_spark.summary`` and ``spark_segments``, from the same
Parquet tables, after the session has started (its start is printed apart). Prints the times,
the machine's load (``os.getloadavg``) before and after, and whether the numbers agree.
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
    from shopintent.data.spark.session import spark_session
    from shopintent.eda import baskets, segments
    from shopintent.studies import user_behavior as study
    from shopintent.studies.user_behavior import RULE_TABLES, RULE_THRESHOLDS

    print(f"load average before: {_load()}  ({os.cpu_count()} cores)")
    shop = registry.load(args.dataset, args.profile)
    folder = registry.dataset_dir(args.dataset, args.profile)
    print(f"{args.dataset}-{args.profile}: {len(shop.events):,} events, {len(shop.items):,} items")

    t0 = time.perf_counter()
    want = study.headline_metrics(shop)
    options = {**RULE_TABLES["user × category"], **RULE_THRESHOLDS}
    want["eda/rules/user_category_count"] = len(
        baskets.purchase_rules(shop.events, shop.items, **options)
    )
    t1 = time.perf_counter()
    pd_segments = segments.segment_summary(
        segments.rfm_segments(segments.rfm_features(shop.events))
    )
    t2 = time.perf_counter()

    spark = spark_session(args.master, ui=False)
    t3 = time.perf_counter()
    from shopintent.eda import spark_segments
    from shopintent.studies.user_behavior_spark import summary

    events = spark.read.parquet(str(folder / "events.parquet"))
    items = spark.read.parquet(str(folder / "items.parquet"))
    got = summary(spark, events, items, shop.queries)
    t4 = time.perf_counter()
    sp_segments = spark_segments.segment_summary(
        spark_segments.rfm_segments(spark_segments.rfm_features(events))
    )
    t5 = time.perf_counter()

    def same(a, b) -> bool:
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)

    differ = [k for k in want if not same(want[k], got.get(k))]
    print(f"pandas headline + rules: {t1 - t0:7.1f} s   RFM segments: {t2 - t1:6.1f} s")
    print(f"spark  summary:          {t4 - t3:7.1f} s   RFM segments: {t5 - t4:6.1f} s")
    print(f"spark session start:     {t3 - t2:7.1f} s   master {args.master}")
    print(f"keys differing: {differ or 'none'}")
    users = (pd_segments["users"].to_numpy() == sp_segments["users"].to_numpy()).all()
    print(f"segment user counts equal: {bool(users)}")
    print(f"load average after: {_load()}")
    spark.stop()


if __name__ == "__main__":
    main()
