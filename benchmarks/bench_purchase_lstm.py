"""Training speed of the purchase-intent LSTM (and the hybrid) on the synthetic shop.

    python benchmarks/bench_purchase_lstm.py [--profile smoke|default] [--epochs 2] [--hybrid]

Prints training examples per second two ways: sessions (one LSTM row each; a causal LSTM scores
every prefix of a session in one pass) and prefixes (the examples the baselines train on),
averaged over the epochs after the first (which traces the graphs). Other processes share the
CPU: the load average is printed with the figures. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--hybrid", action="store_true", help="also time the hybrid (TF-IDF text vectors)"
    )
    args = parser.parse_args()

    from shopintent.data.synthetic import generate
    from shopintent.features.sessions import build_examples, synthetic_decision_cut
    from shopintent.models.purchase_intent.base import split_examples
    from shopintent.models.purchase_intent.sequence import SequenceModel, tfidf_text_vectors

    shop = generate(args.profile)
    split = split_examples(build_examples(shop.events, shop.items, synthetic_decision_cut(shop)))
    train = split.train
    print(
        f"synthetic/{args.profile}: {len(train.sessions):,} training sessions, "
        f"{len(train.prefixes):,} prefixes"
    )
    text = tfidf_text_vectors(shop.items, shop.queries, train.prefixes["query_id"].dropna())
    for hybrid in (False, True) if args.hybrid else (False,):
        model = SequenceModel(hybrid=hybrid, epochs=args.epochs + 1, patience=args.epochs + 1)
        start = time.perf_counter()
        model.fit(train, None, text=text)
        total = time.perf_counter() - start
        epochs = model.info["epoch_seconds"]
        print(
            f"{model.name}: {len(epochs)} epochs in {total:.1f} s (per epoch: {epochs}), batch "
            f"{model.info['batch_size']} -> {model.info['sessions_per_s']:,.0f} sessions/s, "
            f"{model.info['prefixes_per_s']:,.0f} prefixes/s after the first epoch "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
        )


if __name__ == "__main__":
    main()
