"""Session kNN and sequential rules against popularity and item-kNN on the DIGINETICA sample.

    python benchmarks/bench_session_knn.py [--data ../shared/data] [--single 200]

The repository's next-item protocol (``sequence_split``, grouped by session as the sample's
sessions are anonymous: leave-last-out on first interactions, validation = the item before
last), each model with its registered defaults (item-kNN picks its decay on validation),
training rows timed by ``memory.sequence_times``. Prints, per model: fit seconds, milliseconds
per test prefix scored in one batch and one prefix at a time (``--single`` of them), and
HR@20 / MRR@20 of the test targets (own items excluded, items unseen in training never
recommended by the memory models). Notes the machine and its load; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from shopintent.evaluation.ranking import hit_rate_at_k, mrr_at_k
from shopintent.models.recommenders import registry
from shopintent.models.recommenders.sequential.memory import SessionMemory, sequence_times

MODELS = ("sequence_popularity", "session_item_knn", "sr", "sknn", "vsknn", "stan", "vstan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data")
    )
    parser.add_argument("--single", type=int, default=200, help="prefixes scored one at a time")
    args = parser.parse_args()

    from shopintent.data.sources import diginetica
    from shopintent.models.recommenders.sequential.data import choose_grouping, sequence_split

    shop = diginetica.load(Path(args.data) / "diginetica-sample-srgnn")
    by = choose_grouping(shop.events)
    split = sequence_split(shop.events, shop.items, by=by)
    times = sequence_times(shop.events, split.train, by)
    test, truth = split.test.inputs, split.test.truth()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, python {platform.python_version()}"
    )
    print(f"split: {split.protocol}; {split.counts}")
    print(
        f"{'model':<20} {'fit s':>7} {'batch ms':>9} {'single ms':>10} {'HR@20':>7} {'MRR@20':>7}"
    )
    single = np.linspace(0, len(test) - 1, min(args.single, len(test))).astype(int)
    for name in MODELS:
        model = registry.create(name)
        kwargs = {"times": times} if isinstance(model, SessionMemory) else {}
        t0 = time.perf_counter()
        model.fit(split.train, split.val, **kwargs)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        recs = model.recommend_sequences(test, 20, exclude=True)
        batch_ms = 1000 * (time.perf_counter() - t0) / len(test)
        t0 = time.perf_counter()
        for r in single:
            model.recommend_sequences(test.take([r]), 20, exclude=True)
        single_ms = 1000 * (time.perf_counter() - t0) / len(single)
        hr, mrr = hit_rate_at_k(recs.index, truth, 20), mrr_at_k(recs.index, truth, 20)
        print(
            f"{name:<20} {fit_s:>7.2f} {batch_ms:>9.3f} {single_ms:>10.2f} {hr:>7.4f} {mrr:>7.4f}"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
