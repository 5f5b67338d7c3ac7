"""MiniLM encoding throughput on short shop texts, per way of batching and compiling.

    python benchmarks/bench_encoder.py [--n 3000] [--long-n 200]

Texts: distinct queries and item titles of the synthetic default-profile shop (2:1, seeded).
Each row is timed after a warm-up that compiles every batch shape it uses (its time is
shown: XLA compiles once per shape per process); the 256-token rows run on the first
``--long-n`` texts only (they are ~10x slower). ``max |diff|`` compares each row's vectors
with the library default's on the same texts. Other processes share the CPU: the load
average is printed, and wall-clock figures taken under load are low; texts per CPU-second
of this process (``/CPU-s``, not a wall-clock rate) is the steadier figure then.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def shop_texts(n: int, seed: int = 0) -> list[str]:
    from shopintent.data.synthetic import generate

    shop = generate("default")
    rng = np.random.default_rng(seed)
    queries = shop.queries["text"].dropna().drop_duplicates().to_numpy()
    titles = shop.items["title"].dropna().drop_duplicates().to_numpy()
    n_titles = min(len(titles), n // 3)
    picked = [
        *rng.choice(queries, n - n_titles, replace=False),
        *rng.choice(titles, n_titles, replace=False),
    ]
    return [str(t) for t in rng.permutation(np.array(picked, dtype=object))]


def timed(fn, texts: list[str], warm: list[str]) -> tuple[float, float, float, np.ndarray]:
    """(warm-up seconds, texts/s after it, texts per CPU-second of this process, vectors)."""
    t0 = time.perf_counter()
    fn(warm)
    t1, c1 = time.perf_counter(), time.process_time()
    vectors = fn(texts)
    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    return t1 - t0, len(texts) / wall, len(texts) / cpu, vectors


def bucket_samples(encoder, texts: list[str]) -> list[str]:
    """One text per length bucket present: enough to compile every batch shape."""
    from shopintent.features.text.encoders import BUCKETS

    seen: dict[int, str] = {}
    for text, ids in zip(texts, encoder.tokenize(texts), strict=True):
        seen.setdefault(next((b for b in BUCKETS if b >= len(ids) + 2), BUCKETS[-1]), text)
    return list(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--long-n", type=int, default=200)
    args = parser.parse_args()

    texts = shop_texts(args.n)
    import keras_hub

    from shopintent.features.text.encoders import (
        BATCH_TOKENS,
        KerasHubBertEncoder,
        load_minilm,
        minilm_preset_dir,
    )

    t0 = time.perf_counter()
    xla = load_minilm()  # the library default
    load_s = time.perf_counter() - t0
    plain = KerasHubBertEncoder("minilm", xla.backbone, xla.tokenizer, jit_compile=False)
    plain256 = KerasHubBertEncoder(
        "minilm", xla.backbone, xla.tokenizer, max_length=256, jit_compile=False
    )
    xla256 = KerasHubBertEncoder(
        "minilm", xla.backbone, xla.tokenizer, max_length=256, jit_compile=True
    )
    warm = bucket_samples(xla, texts)
    long_texts = texts[: args.long_n]
    lengths = [len(t) + 2 for t in xla.tokenize(texts)]
    print(
        f"{len(texts)} texts ({args.long_n} for the 256-token rows), tokens incl. [CLS]/[SEP]: "
        f"median {np.median(lengths):.0f}, max {max(lengths)}; model load {load_s:.1f} s; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )

    rows = [
        ("bucketed, XLA, 1024 tokens/batch (default)", lambda ts: xla.encode(ts), False),
        ("bucketed, no XLA, 1024 tokens/batch", lambda ts: plain.encode(ts), False),
        (
            "bucketed, no XLA, 4096 tokens/batch (old default)",
            lambda ts: plain.encode(ts, batch_tokens=4096),
            False,
        ),
        *[
            (
                f"bucketed, XLA, {b} tokens/batch",
                lambda ts, b=b: xla.encode(ts, batch_tokens=b),
                False,
            )
            for b in (512, 2048, 4096, 8192)
            if b != BATCH_TOKENS
        ],
        ("unbucketed 64, XLA", lambda ts: xla.encode(ts, bucketed=False), False),
        ("unbucketed 64, no XLA", lambda ts: plain.encode(ts, bucketed=False), False),
        (
            "unbucketed 256, XLA, 1024 tokens/batch",
            lambda ts: xla256.encode(ts, bucketed=False),
            True,
        ),
        (
            "unbucketed 256, no XLA, 1024 tokens/batch",
            lambda ts: plain256.encode(ts, bucketed=False),
            True,
        ),
    ]
    embedder = keras_hub.models.BertTextEmbedder.from_preset(str(minilm_preset_dir()))
    embedder.preprocessor.sequence_length = 256
    rows.append(
        (
            "keras-hub BertTextEmbedder.predict, 256, batch 32",
            lambda ts: np.asarray(embedder.predict(np.array(ts), batch_size=32, verbose=0)),
            True,
        )
    )

    print(f"{'configuration':<52} {'texts/s':>8} {'/CPU-s':>7} {'warm-up s':>9} {'max |diff|':>11}")
    for label, fn, long in rows:
        sample = long_texts if long else texts
        warm_s, speed, per_cpu_s, vectors = timed(fn, sample, warm[:2] if long else warm)
        if label.endswith("(default)"):
            reference = vectors
        diff = np.abs(vectors - reference[: len(sample)]).max()
        print(
            f"{label:<52} {speed:>8.0f} {per_cpu_s:>7.0f} {warm_s:>9.1f} {diff:>11.1e}"
            f"   (load {os.getloadavg()[0]:.2f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
