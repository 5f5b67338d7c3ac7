"""Stream prefix features from Parquet shards (written by ``features.spark_prefixes``) in
batches, so a model trains on more examples than fit in memory.

Shards live in ``<folder>/split=<part>/*.parquet`` (Hive-style); ``batches`` reads one split
with ``pyarrow.dataset``, a shard at a time, and yields numpy arrays; ``tf_dataset`` wraps it
for ``tf.data`` (TensorFlow is imported only there).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np


def _dataset(folder: str | Path):
    import pyarrow.dataset as ds

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no prefix shards at {folder}")
    return ds.dataset(str(folder), format="parquet", partitioning="hive")


def shard_rows(folder: str | Path) -> dict[str, int]:
    """Rows per split in the shards."""
    import pyarrow.compute as pc

    table = _dataset(folder).to_table(columns=["split"])
    counts = pc.value_counts(table["split"]).to_pylist()
    return {c["values"]: c["counts"] for c in counts}


def batches(
    folder: str | Path,
    split: str,
    features: Sequence[str],
    label: str = "label",
    batch_size: int = 1024,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(x, y)`` batches of one split: ``x`` float32 (rows, len(features)) with NaN where a
    feature is undefined, ``y`` int64 labels; at most ``batch_size`` rows each, shard order."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    data = _dataset(folder)
    missing = [c for c in [*features, label] if c not in data.schema.names]
    if missing:
        raise KeyError(f"the shards at {folder} have no column(s) {', '.join(missing)}")
    scan = data.scanner(
        columns=[*features, label], filter=ds.field("split") == split, batch_size=batch_size
    )
    for batch in scan.to_batches():
        if batch.num_rows == 0:
            continue
        x = np.column_stack(
            [pc.cast(batch.column(f), "double").to_numpy(zero_copy_only=False) for f in features]
        ).astype(np.float32)
        yield x, batch.column(label).to_numpy(zero_copy_only=False).astype(np.int64)


def tf_dataset(
    folder: str | Path,
    split: str,
    features: Sequence[str],
    label: str = "label",
    batch_size: int = 1024,
):
    """``batches`` as a ``tf.data.Dataset`` of ``(x, y)`` (re-read from the shards each epoch)."""
    import tensorflow as tf

    spec = (
        tf.TensorSpec((None, len(features)), tf.float32),
        tf.TensorSpec((None,), tf.int64),
    )
    return tf.data.Dataset.from_generator(
        lambda: batches(folder, split, features, label, batch_size), output_signature=spec
    )
