"""Notebook 06's baselines on Spark against the pandas models, on a prepared dataset.

    python benchmarks/bench_spark_recommenders.py [--dataset synthetic] [--profile default]
        [--models popularity,item_knn,als] [--no-pandas]

Spark runs ``run_baselines`` (temporal cut-off, the last 20% of interactions tested; each
model's fit + top-20 lists, then its metrics), the pandas side the same protocol with
``Popularity``, ``ItemKNN`` (defaults) and implicit's ``ALS`` (the registry's smoke grid
point). Prints seconds per model, NDCG@10 / Recall@20 of both and their largest metric gap,
the peak memory of this process and its children (the Spark JVM) sampled every half second,
and the machine's load; asserts nothing. ``SHOPINTENT_SPARK_DRIVER_MEMORY`` sizes the JVM.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import psutil

KEYS = ("ndcg@10", "recall@20", "precision@10", "recall@10", "map@10", "coverage@10")
PANDAS_ALS = {"factors": 16, "regularization": 10.0, "alpha": 5.0, "iterations": 15}


def peak_memory() -> list[int]:
    """A list whose one value keeps the largest RSS of this process tree (bytes)."""
    peak = [0]

    def sample() -> None:
        me = psutil.Process()
        while True:
            try:
                tree = [me, *me.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    return peak


def pandas_side(folder, models) -> dict:
    import pandas as pd

    from shopintent.data.splits import temporal_split
    from shopintent.evaluation.ranking import evaluate_ranking
    from shopintent.models.recommenders.baselines import ItemKNN, Popularity
    from shopintent.models.recommenders.evaluate import make_task
    from shopintent.models.recommenders.factorization import ALS

    events = pd.read_parquet(folder / "events.parquet")
    items = pd.read_parquet(folder / "items.parquet")
    split = temporal_split(events[events["item_id"].notna()], test_frac=0.2)
    task = make_task(split.train, split.test, items, split.protocol)
    build = {"popularity": Popularity, "item_knn": ItemKNN, "als": lambda: ALS(**PANDAS_ALS)}
    out = {}
    for name in models:
        start = time.perf_counter()
        index = build[name]().fit(split.train, items).recommend(task.users, 20).index
        fitted = time.perf_counter()
        row = evaluate_ranking(index, task.truth, (10, 20))
        out[name] = {**row, "fit_s": fitted - start, "eval_s": time.perf_counter() - fitted}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--models", default="popularity,item_knn,als")
    parser.add_argument("--no-pandas", action="store_true")
    args = parser.parse_args()
    models = tuple(args.models.split(","))

    from shopintent.data import registry
    from shopintent.data.spark.session import spark_session
    from shopintent.models.recommenders.spark.run import run_baselines

    folder = registry.dataset_dir(args.dataset, args.profile)
    peak = peak_memory()
    print(f"{folder}; load {os.getloadavg()}; {os.cpu_count()} cores")
    spark = spark_session()
    events = spark.read.parquet(str(folder / "events.parquet"))
    items = spark.read.parquet(str(folder / "items.parquet"))
    start = time.perf_counter()
    out = run_baselines(spark, events, items, k=20, models=models)
    total = time.perf_counter() - start
    print(f"spark: {total:.1f} s in all, peak RSS {peak[0] / 2**30:.2f} GiB; {out['task']}")
    theirs = {} if args.no_pandas else pandas_side(folder, models)
    for name in models:
        mine = out[name]
        print(
            f"{name:>10} spark fit {mine['fit_s']:.1f} s, eval {mine['eval_s']:.1f} s, "
            + ", ".join(f"{k} {mine[k]:.4f}" for k in KEYS[:2])
        )
        if name in theirs:
            row = theirs[name]
            gap = max(abs(row[k] - mine[k]) for k in KEYS)
            print(
                f"{'':>10} pandas fit {row['fit_s']:.1f} s, eval {row['eval_s']:.1f} s, "
                + ", ".join(f"{k} {row[k]:.4f}" for k in KEYS[:2])
                + f"; largest metric gap {gap:.2e}"
            )
    print(f"load {os.getloadavg()}; peak RSS {peak[0] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
