"""The synthetic shop at scale: generated in user blocks and written as Parquet shards.

``generate(profile)`` holds the whole shop in memory (5·10^6 events: ~3 GB), so a larger shop is
drawn block by block: the catalogue once, then each block's users with their sessions, events,
queries, reviews and truth from the block's own seeded streams (``Streams.of(seed, block)``).
Memory is bounded by one block, any block can be drawn again alone (``draw_shard``), and the same
``n_events`` and seed give byte-identical files. The folder is the Spark store's layout
(``data/spark/store.py``), which ``data/store.py`` reads: ``events.parquet/date=YYYY-MM-DD/
part-<block>.parquet`` (each file sorted by time, then session), the other per-block tables as
folders of ``part-<block>.parquet``, ``items`` and ``item_truth`` as single files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shopintent.config import DEFAULT_SEED, rng
from shopintent.data.schema import TABLES, conform, validate_dataset
from shopintent.data.store import PARTITION, SCHEMA_VERSION, ShopData, _arrow_schema
from shopintent.data.synthetic.behaviour import expected_events_per_session
from shopintent.data.synthetic.block import Ids, Streams, draw_block, numbered
from shopintent.data.synthetic.catalog import Catalog, make_catalog
from shopintent.io import locked, staging_dir

__all__ = ["BLOCK_EVENTS", "ShardPlan", "draw_shard", "generate_frames", "generate_shards", "plan"]

#: events per block by default: a block of 10^6 events peaks at ~0.65 GB (measured with
#: benchmarks/bench_synthetic_shards.py), against 2.9 GB for the full profile drawn whole
BLOCK_EVENTS = 1_000_000
#: tables written one file per block (events are split further by day)
PER_BLOCK = ("queries", "reviews", "session_truth", "user_truth")


@dataclass(frozen=True)
class ShardPlan:
    """The shop's size and how its users fall into blocks (all a block needs to be redrawn)."""

    n_events: int
    seed: int
    n_users: int
    n_items: int
    days: int
    block_users: tuple[int, ...]  # users per block, in order

    @property
    def blocks(self) -> int:
        return len(self.block_users)

    def sessions(self, block: int) -> int:
        """Sessions of a block: its share of the events at the generator's events per session."""
        return max(1, round(self.block_users[block] * self.n_events / self.n_users / _EPS))

    def ids(self, block: int) -> Ids:
        """Ids unique across blocks and sortable: users numbered globally (``u0001234``), the
        rest by block then number (``s03-000123``), at widths fixed by the plan."""
        bw = len(str(self.blocks - 1))
        most = max(self.sessions(b) for b in range(self.blocks))
        first_user = 1 + sum(self.block_users[:block])
        uw = len(str(self.n_users))
        sw, qw = len(str(most)), len(str(4 * most))  # a session has at most 4 queries, 1 review
        return Ids(
            users=lambda n: numbered("u", n, uw, first_user),
            sessions=lambda n: numbered(f"s{block:0{bw}d}-", n, sw),
            queries=lambda n: numbered(f"q{block:0{bw}d}-", n, qw),
            reviews=lambda n: numbered(f"r{block:0{bw}d}-", n, sw),
        )


_EPS = expected_events_per_session()


def plan(n_events: int, seed: int = DEFAULT_SEED, block_events: int = BLOCK_EVENTS) -> ShardPlan:
    """Size a shop of ``n_events`` as the profiles do: 100 events per user (default and full);
    items growing as n_events^0.82 through the profiles' 3,000 at 5·10^5 and 20,000 at 5·10^6,
    kept within [500, 20,000]; 120 days, 180 above 10^6 events (as full). Users fall into blocks
    of about ``block_events / 100``, sizes differing by at most one."""
    n_events, block_events = int(n_events), int(block_events)
    if n_events < 1000:
        raise ValueError(f"n_events={n_events:,}: a sharded shop needs at least 1,000 events")
    if block_events < 1000:
        raise ValueError(f"block_events={block_events:,}: give at least 1,000 events per block")
    n_users = max(1, round(n_events / 100))
    exponent = math.log(20_000 / 3_000) / math.log(10)
    n_items = int(np.clip(round(3_000 * (n_events / 500_000) ** exponent), 500, 20_000))
    days = 180 if n_events > 1_000_000 else 120
    blocks = math.ceil(n_users / max(1, block_events // 100))
    sizes = tuple(int(len(part)) for part in np.array_split(np.arange(n_users), blocks))
    return ShardPlan(n_events, int(seed), n_users, n_items, days, sizes)


def catalogue(p: ShardPlan) -> Catalog:
    """The one catalogue every block shares (the in-memory shop's stream)."""
    return make_catalog(p.n_items, rng(p.seed, "catalog"))


def draw_shard(p: ShardPlan, cat: Catalog, block: int) -> dict[str, pd.DataFrame]:
    """Block ``block`` of the shop, drawn alone: its tables conformed to the canonical schema and
    checked against the catalogue (each event's item and query exist)."""
    if not 0 <= block < p.blocks:
        raise ValueError(f"block {block} is outside 0..{p.blocks - 1}")
    tables = draw_block(
        cat,
        p.block_users[block],
        p.sessions(block),
        p.days,
        Streams.of(p.seed, block),
        p.ids(block),
    )
    for name in ("events", "queries", "reviews"):
        tables[name] = conform(name, tables[name])
    validate_dataset(tables["events"], cat.items, tables["queries"], tables["reviews"])
    return tables


def generate_shards(
    path: str | Path,
    n_events: int,
    seed: int = DEFAULT_SEED,
    *,
    block_events: int = BLOCK_EVENTS,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write a synthetic shop of about ``n_events`` events to the dataset folder ``path``, one
    block of about ``block_events`` at a time, atomically (staging folder renamed into place under
    the folder's lock); returns ``path``. ``progress`` gets a short stage name per step."""
    p = plan(n_events, seed, block_events)
    step = progress or (lambda stage: None)
    path = Path(path)
    step("catalogue")
    cat = catalogue(p)
    items = conform("items", cat.items)
    rows = dict.fromkeys((*TABLES, *PER_BLOCK, "item_truth"), 0)
    with locked(path, wait=True), staging_dir(path) as tmp:
        _write(items, tmp / "items.parquet", "items")
        _write(cat.truth(), tmp / "item_truth.parquet", "item_truth")
        rows["items"] = rows["item_truth"] = len(items)
        for block in range(p.blocks):
            step(f"block {block + 1}/{p.blocks}")
            tables = draw_shard(p, cat, block)
            part = f"part-{block:05d}.parquet"
            _write_events(tables.pop("events"), tmp / "events.parquet", part, rows)
            for name, df in tables.items():
                (tmp / f"{name}.parquet").mkdir(exist_ok=True)
                _write(df, tmp / f"{name}.parquet" / part, name)
                rows[name] += len(df)
            del tables
        meta = {
            **_meta(p, block_events),
            "schema_version": SCHEMA_VERSION,
            "rows": rows,
            "extras": sorted(["item_truth", "session_truth", "user_truth"]),
            "events_partitioned_by": PARTITION,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


def generate_frames(
    n_events: int,
    seed: int = DEFAULT_SEED,
    *,
    block_events: int = BLOCK_EVENTS,
    progress: Callable[[str], None] | None = None,
) -> ShopData:
    """The same shop as ``generate_shards`` (same blocks, same rows) held in memory, events sorted
    by time then session: for the pandas engine, at sizes that fit."""
    p = plan(n_events, seed, block_events)
    step = progress or (lambda stage: None)
    step("catalogue")
    cat = catalogue(p)
    parts: dict[str, list[pd.DataFrame]] = {}
    for block in range(p.blocks):
        step(f"block {block + 1}/{p.blocks}")
        for name, df in draw_shard(p, cat, block).items():
            parts.setdefault(name, []).append(df)
    tables = {name: pd.concat(dfs, ignore_index=True) for name, dfs in parts.items()}
    events = tables.pop("events").sort_values(["ts", "session_id"], kind="stable")
    step("validate")
    return ShopData.from_tables(
        events=events,
        items=cat.items,
        queries=tables.pop("queries"),
        reviews=tables.pop("reviews"),
        extras={**tables, "item_truth": cat.truth()},
        meta=_meta(p, block_events),
    )


def _meta(p: ShardPlan, block_events: int) -> dict:
    """What a sharded shop's meta.json says of how it was drawn."""
    return {
        "dataset": "synthetic",
        "source": "shopintent.data.synthetic.shards",
        "n_events": p.n_events,
        "seed": p.seed,
        "blocks": p.blocks,
        "block_events": int(block_events),
        "n_users": p.n_users,
        "n_items": p.n_items,
        "days": p.days,
    }


def _write(df: pd.DataFrame, file: Path, table: str) -> None:
    """One Parquet file with fixed column types: canonical ones from the store, the rest inferred,
    except that an all-null column is a string column (so every block's file has one schema)."""
    schema = _arrow_schema(df, table)
    schema = pa.schema(
        [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in schema]
    )
    table_ = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    pq.write_table(table_, file, compression="zstd")


def _write_events(events: pd.DataFrame, folder: Path, part: str, rows: dict) -> None:
    """A block's events (sorted by time) split by UTC day into ``date=YYYY-MM-DD/<part>``."""
    arrow = pa.Table.from_pandas(
        events, schema=_arrow_schema(events, "events"), preserve_index=False
    )
    day = (events["ts"] - pd.Timestamp(0, tz="UTC")).dt.days.to_numpy()
    if (np.diff(day) < 0).any():  # draw_block sorts by time: a failure here is a bug
        raise AssertionError("events of a block are not sorted by time")
    cuts = np.r_[0, np.flatnonzero(np.diff(day)) + 1, len(day)]
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        date = np.datetime64(int(day[lo]), "D").astype(str)
        out = folder / f"{PARTITION}={date}"
        out.mkdir(parents=True, exist_ok=True)
        pq.write_table(arrow.slice(lo, hi - lo), out / part, compression="zstd")
    rows["events"] += len(events)
