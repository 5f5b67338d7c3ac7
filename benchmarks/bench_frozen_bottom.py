"""Training-step time of MiniLM with its top blocks trainable: the whole backbone at every step
vs the trainable top on the frozen bottom's cached states (``backbone_parts.FrozenBottom``).

    python benchmarks/bench_frozen_bottom.py [--trainable 2] [--steps 10] [--fits]

Per batch shape (batch x word pieces): ms per step through the whole backbone (what the
fine-tunes did before the cache), ms per step of the top alone, and ms per batch of the
one-off bottom forward pass (paid once per text, not per step). The bottom runs in inference
mode either way here, so the two steps compute the same loss. ``--fits`` also times the two
real default-profile fine-tunes of the synthetic shop (notebooks 02 and 03; needs
``shopintent data prepare --dataset synthetic --profile default``). The load average is
printed: figures taken while other processes share the CPU are low. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SHAPES = ((32, 16), (32, 32), (64, 32), (32, 64))


def per_call_ms(fn, steps: int) -> float:
    fn()
    fn()  # traced and warm
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps * 1000


def step_times(trainable: int, steps: int) -> None:
    import keras
    import tensorflow as tf

    from shopintent.features.text.encoders import load_minilm
    from shopintent.models.text.backbone_parts import FrozenBottom, copy_backbone, freeze_below

    backbone = copy_backbone(load_minilm().backbone)
    freeze_below(backbone, trainable)
    parts = FrozenBottom(backbone)
    head = keras.layers.Dense(8)
    optimizer = keras.optimizers.AdamW(1e-4)
    rng = np.random.default_rng(0)
    print(
        f"MiniLM, top {trainable} blocks trainable, cut after {parts.cut}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'batch x pieces':>15} {'whole ms/step':>14} {'top ms/step':>12} {'top/whole':>10} "
        f"{'bottom ms/batch':>16}"
    )
    for batch, width in SHAPES:
        ids = rng.integers(1000, 20000, (batch, width)).astype("int32")
        mask = np.ones((batch, width), dtype=bool)
        inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
        hidden = tf.constant(parts.features(ids, mask))

        def train(forward):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(head(tf.reduce_mean(forward(), axis=1)))
            variables = backbone.trainable_variables + head.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            return loss

        whole = tf.function(
            lambda x=inputs: train(lambda: backbone(x, training=True)["sequence_output"])
        )
        top = tf.function(lambda h=hidden, m=mask: train(lambda: parts.top(h, m, training=True)))
        bottom = tf.function(lambda x=inputs: parts.bottom(x, training=False))
        w, t, b = per_call_ms(whole, steps), per_call_ms(top, steps), per_call_ms(bottom, steps)
        print(f"{f'{batch} x {width}':>15} {w:14.1f} {t:12.1f} {t / w:10.2f} {b:16.1f}")


def fit_times() -> None:
    from shopintent.data import registry
    from shopintent.features.text.encoders import load_minilm
    from shopintent.models.search import protocols
    from shopintent.models.text.dual_encoder import finetune_dual_encoder
    from shopintent.models.understanding import intent

    shop = registry.load("synthetic", "default")
    minilm = load_minilm()
    split = intent.split_queries(intent.query_table(shop), "default", seed=42)
    start = time.perf_counter()
    network = intent.fit_query_network(minilm.backbone, minilm.tokenizer, split, "default", 42)
    print(
        f"query network (notebook 03): {time.perf_counter() - start:.1f} s "
        f"for {network.info['n_train']:,} "
        f"queries, best epoch {network.info['best_epoch']}; load average {os.getloadavg()[0]:.2f}"
    )
    task = protocols.synthetic_task(shop)
    start = time.perf_counter()
    result = finetune_dual_encoder(
        minilm, task.train_pairs, task.pairs("validation"), profile="default", seed=42
    )
    print(
        f"dual encoder (notebook 02): {time.perf_counter() - start:.1f} s "
        f"for {result.n_pairs:,} pairs, "
        f"best epoch {result.best_epoch}, validation loss {result.history['val_loss'].min():.4f}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trainable", type=int, default=2, help="top transformer blocks trained (default 2)"
    )
    parser.add_argument("--steps", type=int, default=10, help="timed steps per shape (default 10)")
    parser.add_argument(
        "--fits", action="store_true", help="also time the default profile's two fine-tunes"
    )
    args = parser.parse_args()
    step_times(args.trainable, args.steps)
    if args.fits:
        fit_times()


if __name__ == "__main__":
    main()
