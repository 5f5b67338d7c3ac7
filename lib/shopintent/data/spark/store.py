"""Writing a dataset prepared on Spark, in the layout ``data/store.py`` reads.

The folder is the pandas engine's (``events``, ``items``, ``queries``, ``reviews``, ``meta.json``),
written into a staging folder and renamed into place under the folder's lock, with one
difference: ``events.parquet`` is a folder of Parquet files partitioned by day
(``date=YYYY-MM-DD/``, UTC), one file per day sorted by time, so a step can read only the days
and columns it needs (``store.read_events``). ``items.parquet`` is a folder too (one file); the
empty ``queries`` and ``reviews`` tables are written by pandas. Canonical column types are the
store's: strings, ``timestamp[us, UTC]``, doubles, a string map for ``attributes``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shopintent.data.schema import TABLES, columns, empty_table
from shopintent.data.store import SCHEMA_VERSION, _write_parquet, parquet_rows
from shopintent.io import locked, staging_dir

#: the partition column of ``events.parquet`` (the event's UTC day)
PARTITION = "date"


@dataclass
class SparkShop:
    """A dataset's canonical tables as Spark DataFrames (not yet computed) and its metadata."""

    events: DataFrame
    items: DataFrame
    meta: dict = field(default_factory=dict)
    #: folders of intermediate files the tables read from, removed once they are written
    scratch: list[Path] = field(default_factory=list)
    #: the loader's persisted intermediate frames (parsed rows), unpersisted once written
    persisted: list[DataFrame] = field(default_factory=list)
    #: extra tables by name (e.g. the orders layout's ``returns``), written beside the canonical
    extras: dict[str, DataFrame] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        """Write the dataset (``save`` below), then free what the loader kept: its persisted
        rows and its scratch folders."""
        try:
            return save(self.events, self.items, self.meta, path, self.extras)
        finally:
            for frame in self.persisted:
                frame.unpersist()
            for folder in self.scratch:
                shutil.rmtree(folder, ignore_errors=True)


def save(
    events: DataFrame,
    items: DataFrame,
    meta: dict,
    path: str | Path,
    extras: dict[str, DataFrame] | None = None,
) -> Path:
    """Compute and write ``events`` and ``items`` (canonical columns first, extras after), the
    ``extras`` tables (small: one file each) and ``meta.json`` atomically to the folder ``path``;
    returns it."""
    extras = dict(extras or {})
    path = Path(path)
    events = _canonical(events, "events")
    items = _canonical(items, "items")
    with locked(path, wait=True), staging_dir(path) as tmp:
        _write_events(events, tmp / "events.parquet")
        _write_items(items, tmp / "items.parquet")
        for name in ("queries", "reviews"):
            _write_parquet(empty_table(name), tmp / f"{name}.parquet", name)
        for name, df in extras.items():
            df.coalesce(1).write.parquet(str(tmp / f"{name}.parquet"))
        rows = {name: parquet_rows(tmp / f"{name}.parquet") for name in (*TABLES, *extras)}
        full = {
            **meta,
            "schema_version": SCHEMA_VERSION,
            "rows": rows,
            "extras": sorted(extras),
            "events_partitioned_by": PARTITION,
        }
        (tmp / "meta.json").write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return path


def _write_events(events: DataFrame, path: Path) -> None:
    """``events`` as Parquet partitioned by day: one file per day, sorted by time.

    Each day goes whole to one task (a hash shuffle on the day), which sorts it: a global
    ``orderBy`` would add a sampling pass over the whole input (a range partitioning) and
    write a file per task per day.
    """
    (
        events.withColumn(PARTITION, F.to_date("ts"))
        .repartition(PARTITION)
        .sortWithinPartitions(PARTITION, "ts", "session_id")
        .write.partitionBy(PARTITION)
        .parquet(str(path))
    )


def _write_items(items: DataFrame, path: Path) -> None:
    """``items`` as one Parquet file sorted by id."""
    items.coalesce(1).orderBy("item_id").write.parquet(str(path))


def _canonical(df: DataFrame, table: str) -> DataFrame:
    """Canonical columns in order (absent ones fail: a Spark loader builds them all), extras
    after."""
    want = columns(table)
    missing = [c for c in want if c not in df.columns]
    if missing:
        raise ValueError(f"{table}: the Spark loader gave no column(s) {', '.join(missing)}")
    return df.select(*want, *[c for c in df.columns if c not in want])
