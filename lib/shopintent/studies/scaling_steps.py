"""The steps the scaling study times, on one engine, in a process of its own.

    python -m shopintent.studies.scaling_steps {pandas|spark} N_EVENTS --data DIR
        [--seed 42] [--marks FILE] [--result FILE.json]

1. ``prepare``: the synthetic shop of ``N_EVENTS`` events into ``DIR`` (pandas: generated in
   memory and written as single files; Spark: generated in user blocks as Parquet shards
   partitioned by day, ``data/synthetic/shards.py``);
2. ``eda``: notebook 01's summary numbers (funnel, sessions, long tail, RFM segments, basket
   itemsets) from the prepared events;
3. ``baselines``: popularity, item-kNN and ALS fitted on notebook 06's temporal split and scored
   with full-catalogue ranking metrics over every test user.

Before each step its name is written to ``--marks`` (so that ``spark_scaling.measure``, sampling
this process's memory from outside, knows which step a peak belongs to); the seconds and the
metrics of each finished step go to ``--result`` as JSON, rewritten after every step.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from shopintent.data.memory import TooBigForPandas
from shopintent.io import write_json

STEPS = ("prepare", "eda", "baselines")
#: exit status of a run whose prepare refused to start (``data.memory``: it would not fit)
REFUSED = 3
#: the length of the recommendation lists (the models timed are ``spark_path.MODELS``)
K = 20


def pandas_steps(n_events: int, seed: int):
    """The three steps on pandas (closures sharing the prepared shop)."""
    from shopintent.data import registry
    from shopintent.studies import spark_path

    state: dict = {}

    def prepare() -> dict:
        registry.prepare("synthetic", engine="pandas", n_events=n_events, seed=seed)
        return {}

    def eda() -> dict:
        state["shop"] = registry.load(registry.sized_name(n_events))
        return spark_path.eda_pandas(state["shop"])[0]

    def baselines() -> dict:
        return spark_path.baselines_pandas(state["shop"], k=K)

    return {"prepare": prepare, "eda": eda, "baselines": baselines}


def spark_steps(n_events: int, seed: int):
    """The three steps on Spark (``local[*]`` unless ``$SHOPINTENT_SPARK_MASTER`` says)."""
    from shopintent.data import registry
    from shopintent.studies import spark_path

    state: dict = {}

    def prepare() -> dict:
        state["path"] = registry.prepare("synthetic", engine="spark", n_events=n_events, seed=seed)
        return {}

    def eda() -> dict:
        from shopintent.data.spark.read import read_tables
        from shopintent.data.spark.session import spark_session

        spark = state["spark"] = spark_session()
        state["events"], state["items"] = read_tables(spark, state["path"])
        return spark_path.eda_spark(spark, state["events"], state["items"])[0]

    def baselines() -> dict:
        from shopintent.models.recommenders.spark.run import run_baselines

        return run_baselines(
            state["spark"], state["events"], state["items"], k=K, models=spark_path.MODELS
        )

    return {"prepare": prepare, "eda": eda, "baselines": baselines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["pandas", "spark"])
    parser.add_argument("n_events", type=int)
    parser.add_argument("--data", required=True, help="where the shop is prepared")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--marks", default=None, help="file naming the step running")
    parser.add_argument("--result", default=None, help="JSON of each finished step")
    args = parser.parse_args(argv)
    os.environ["SHOPINTENT_DATA"] = args.data  # before anything reads the data root
    steps = (pandas_steps if args.engine == "pandas" else spark_steps)(args.n_events, args.seed)
    done: dict[str, dict] = {}
    for name in STEPS:
        if args.marks:
            Path(args.marks).write_text(name)
        start = time.perf_counter()
        try:
            metrics = steps[name]()
        except TooBigForPandas as err:  # the prepare's own estimate: pandas does not fit here
            print(err)
            return REFUSED
        done[name] = {"seconds": time.perf_counter() - start, "metrics": metrics}
        print(f"{args.engine} {args.n_events:,} events: {name} {done[name]['seconds']:.1f} s")
        if args.result:
            write_json(args.result, done, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
