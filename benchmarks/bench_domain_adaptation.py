"""Domain-adaptive masked-LM of MiniLM before its dual-encoder fine-tune: which blocks to adapt.

    python benchmarks/bench_domain_adaptation.py [--dataset homedepot] [--profile default]
        [--layers 2,6] [--seed 42]

Notebook 02's product-search protocol, through the same calls (``text_features.search_task``,
``pretraining_corpus``, ``finetuned_search``, ``adapted_search``):
the plain fine-tune once, then per ``--layers`` value the adaptation with that many top blocks
trained and the same fine-tune of the adapted copy, each scored once on the test queries and
compared with the plain fine-tune query by query (paired bootstrap, 95%). The fine-tune trains
its own top blocks only (``dual_encoder.PROFILES``), so blocks adapted below those stay frozen
through it. Needs the dataset prepared (``shopintent data prepare --dataset homedepot --source
../shared/data/homedepot-search-relevance``; the synthetic shop with ``--dataset synthetic``).
Seconds and CPU-seconds per stage with the load average: figures taken while other processes
share the CPU are slow. Nothing is asserted or chosen here.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="homedepot")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--layers", default="2,6", help="blocks adapted, comma-separated")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    from shopintent.data import registry
    from shopintent.data.capabilities import Capabilities
    from shopintent.features.text import corpus as text_corpus
    from shopintent.features.text.encoders import load_minilm
    from shopintent.studies import text_features as study

    shop = registry.load(args.dataset, args.profile)
    settings = study.Settings.for_profile(args.profile)
    task, until, reason = study.search_task(shop, Capabilities.of(shop), settings, args.seed)
    if task is None:
        raise SystemExit(reason)
    corpus = study.pretraining_corpus(shop, task, until, settings, args.seed)
    train, heldout = text_corpus.split_corpus(corpus, holdout=0.1, seed=args.seed)
    minilm = load_minilm()
    print(f"{args.dataset} ({args.profile}, seed {args.seed}): {task.protocol}")

    def stage(label, start_cpu, start_wall):
        print(
            f"  {label}: {time.perf_counter() - start_wall:.0f} s wall, "
            f"{cpu_seconds() - start_cpu:.0f} CPU-s, load {os.getloadavg()[0]:.1f}"
        )

    c, w = cpu_seconds(), time.perf_counter()
    plain, plain_per = study.finetuned_search(minilm, task, args.profile, args.seed)
    recall = plain_per["recall@10"].mean()
    print(f"fine-tuned: Recall@10 {recall:.4f}, best epoch {plain.best_epoch}")
    stage("plain fine-tune and scoring", c, w)
    for layers in (int(v) for v in args.layers.split(",")):
        c, w = cpu_seconds(), time.perf_counter()
        result = study.adapted_search(
            minilm,
            train,
            heldout,
            task,
            plain_per,
            args.profile,
            args.seed,
            trainable_layers=layers,
        )
        m = result.adaptation.metrics
        print(
            f"top {layers} blocks adapted ({m['trainable']}): held-out masked accuracy "
            f"{m['before_masked_accuracy']:.4f} -> {m['heldout_masked_accuracy']:.4f} (unigram "
            f"{m['unigram_masked_accuracy']:.4f}), perplexity {m['before_perplexity']:.1f} -> "
            f"{m['heldout_perplexity']:.1f}; then fine-tuned: Recall@10 "
            f"{result.per_query['recall@10'].mean():.4f}, best epoch {result.finetuned.best_epoch}"
        )
        for metric, d in result.gains.items():
            print(f"  {metric} adapted-then-fine-tuned - fine-tuned: {d}")
        stage("adaptation, fine-tune and scoring", c, w)


if __name__ == "__main__":
    main()
