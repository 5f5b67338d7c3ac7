"""The session models under the session-rec protocol on the DIGINETICA sample.

    python benchmarks/bench_session_rec.py [--data ../shared/data] [--days 7] [--single 100]

Protocol ``sequential.protocol`` (session-rec's: sessions ending in the last ``--days`` days
are test sessions, their clicks on items unseen in training removed, sessions under two
clicks dropped; every prefix of every test session scored, own items kept in the lists, the
training items the candidates). Models with their registered defaults; the two that choose on
validation (item-kNN its decay, GRU4Rec its epoch) choose on the same split of the training
sessions and are refitted on all of them with that choice (their "fit s" counts both fits);
the memory models get each training session's last-click time and each prefix's time.
Prints, per model: fit seconds, milliseconds per prefix scored in chunks of 1024 and one at a
time (``--single`` of them), HR@20 / MRR@20 of the next click and precision@20 / recall@20 of
all subsequent clicks. Notes the machine and its load; asserts nothing. The published
DIGINETICA numbers (Ludewig et al. 2021, full data set) are HR@20 / MRR@20 VSTAN 0.480 / 0.184,
SKNN 0.475 / 0.171, GRU4Rec 0.464 / 0.164. This sample holds about 1% of its clicks and its
last 7 days about 300 test prefixes, so the numbers here are noisy (a difference of a few
hits moves HR@20 by 0.01) and not comparable one to one.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from shopintent.models.recommenders import registry
from shopintent.models.recommenders.sequential import protocol as sr
from shopintent.models.recommenders.sequential.memory import SessionMemory

MODELS = ("sequence_popularity", "session_item_knn", "sr", "sknn", "vsknn", "stan", "vstan")
MODELS += ("gru4rec",)


def _fit(name: str, data: sr.SessionRecData):
    """The fitted model: on validation first where it chooses something there, then on all."""
    model = registry.create(name)
    if isinstance(model, SessionMemory):
        return model.fit(data.train, times=data.train_times)
    if name in ("session_item_knn", "gru4rec"):
        inner = data.validation
        val = sr.all_prefixes(inner.test).next_items()
        chosen = model.fit(inner.train, val)
        if name == "session_item_knn":
            return registry.create(name, decay=chosen.decay_).fit(data.train)
        epochs = max(int(chosen.info["best_epoch"]), 1)
        return registry.create(name, epochs=epochs, patience=None).fit(data.train)
    return model.fit(data.train)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data")
    )
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--single", type=int, default=100, help="prefixes scored one at a time")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from shopintent.data.sources import diginetica

    shop = diginetica.load(Path(args.data) / "diginetica-sample-srgnn")
    data = sr.session_rec_data(shop.events, shop.items, days=args.days, validation=True)
    prefixes = sr.all_prefixes(data.test, data.test_times)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, python {platform.python_version()}"
    )
    print(f"protocol: {data.protocol}; {data.counts}")
    print(
        f"validation: {data.validation.protocol} of the training sessions; {data.validation.counts}"
    )
    head = f"{'model':<20} {'fit s':>7} {'batch ms':>9} {'single ms':>10}"
    print(head + f" {'HR@20':>7} {'MRR@20':>7} {'P@20':>7} {'R@20':>7}")
    single = prefixes.take(
        np.linspace(0, len(prefixes) - 1, min(args.single, len(prefixes))).astype(int)
    )
    for name in MODELS:
        t0 = time.perf_counter()
        model = _fit(name, data)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        lists = sr.session_rec_lists(model, prefixes, data.trained, 20)
        batch_ms = 1000 * (time.perf_counter() - t0) / len(prefixes)
        t0 = time.perf_counter()
        sr.session_rec_lists(model, single, data.trained, 20, chunk=1)
        single_ms = 1000 * (time.perf_counter() - t0) / len(single)
        m = sr.session_rec_metrics(lists, prefixes, 20)
        values = [
            m["session_rec/next_item/hr@20"],
            m["session_rec/next_item/mrr@20"],
            m["session_rec/all_subsequent/precision@20"],
            m["session_rec/all_subsequent/recall@20"],
        ]
        print(
            f"{name:<20} {fit_s:>7.2f} {batch_ms:>9.3f} {single_ms:>10.2f} "
            + " ".join(f"{v:>7.4f}" for v in values)
        )
        if name == "gru4rec":
            print(f"  gru4rec refit: {model.info}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
