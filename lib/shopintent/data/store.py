"""``ShopData``: one dataset's canonical tables, saved and loaded as Parquet.

A dataset is a folder ``data/processed/<name>/`` holding ``events``, ``items``, ``queries``,
``reviews`` (the canonical tables), any extra tables of its source (ground truth of the
synthetic shop, relevance judgements, knowledge-graph triples...) and ``meta.json``.
Saving writes everything into a temporary sibling folder and renames it into place, so
a failed prepare never leaves a half-written dataset behind. A save holds the folder's lock
(``.<name>.lock``): a second save of the same folder waits for the first, then replaces it
whole; what a killed save left behind is cleaned up first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shopintent.data.schema import (
    TABLES,
    TS_DTYPE,
    SchemaError,
    conform,
    empty_table,
    validate_dataset,
)
from shopintent.io import locked, read_json, staging_dir

CANONICAL = tuple(TABLES)
SCHEMA_VERSION = 1

_ARROW = {
    "str": pa.string(),
    "ts": pa.timestamp("us", tz="UTC"),
    "float": pa.float64(),
    "int": pa.int64(),
    "dict": pa.map_(pa.string(), pa.string()),
    "entities": pa.list_(
        pa.struct([("start", pa.int32()), ("end", pa.int32()), ("label", pa.string())])
    ),
}


@dataclass
class ShopData:
    """The canonical tables of one dataset plus its extra tables and metadata."""

    events: pd.DataFrame
    items: pd.DataFrame
    queries: pd.DataFrame
    reviews: pd.DataFrame
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_tables(
        cls,
        events: pd.DataFrame | None = None,
        items: pd.DataFrame | None = None,
        queries: pd.DataFrame | None = None,
        reviews: pd.DataFrame | None = None,
        extras: dict[str, pd.DataFrame] | None = None,
        meta: dict | None = None,
    ) -> ShopData:
        """Conform a loader's tables to the canonical schema and validate them together.

        A table not given is empty (a source of only reviews or judgements has no events)."""
        data = cls(
            events=conform("events", events) if events is not None else empty_table("events"),
            items=conform("items", items) if items is not None else empty_table("items"),
            queries=conform("queries", queries) if queries is not None else empty_table("queries"),
            reviews=conform("reviews", reviews) if reviews is not None else empty_table("reviews"),
            extras=dict(extras or {}),
            meta=dict(meta or {}),
        )
        data.validate()
        return data

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "events": self.events,
            "items": self.items,
            "queries": self.queries,
            "reviews": self.reviews,
            **self.extras,
        }

    def row_counts(self) -> dict[str, int]:
        return {name: len(df) for name, df in self.tables().items()}

    def validate(self) -> None:
        validate_dataset(self.events, self.items, self.queries, self.reviews)
        for name, df in self.extras.items():
            if not name.isidentifier() or name in CANONICAL:
                raise SchemaError(
                    f"extra table name {name!r} must be an identifier other than {CANONICAL}"
                )
            if not isinstance(df, pd.DataFrame):
                raise SchemaError(
                    f"extra table {name}: expected a DataFrame, got {type(df).__name__}"
                )

    def save(self, path: str | Path) -> Path:
        """Validate, then write the dataset atomically to the folder ``path``."""
        self.validate()
        path = Path(path)
        with locked(path, wait=True), staging_dir(path) as tmp:
            for name, df in self.tables().items():
                _write_parquet(df, tmp / f"{name}.parquet", name)
            meta = {
                **self.meta,
                "schema_version": SCHEMA_VERSION,
                "rows": self.row_counts(),
                "extras": sorted(self.extras),
            }
            (tmp / "meta.json").write_text(
                json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"
            )
        return path

    @classmethod
    def load(cls, path: str | Path, tables: tuple[str, ...] | None = None) -> ShopData:
        """Read and validate a saved dataset. ``tables`` limits which extra tables are read."""
        path = Path(path)
        meta_file = path / "meta.json"
        if not meta_file.is_file():
            raise FileNotFoundError(
                f"{path} is not a prepared dataset (no meta.json); "
                "run `shopintent data prepare --dataset ...` first"
            )
        meta = json.loads(meta_file.read_text())
        canon = {name: _read_parquet(path / f"{name}.parquet", name) for name in CANONICAL}
        extras = {
            name: _read_parquet(path / f"{name}.parquet", name)
            for name in meta.get("extras", [])
            if tables is None or name in tables
        }
        data = cls(**canon, extras=extras, meta=meta)
        data.validate()
        return data


def read_meta(path: str | Path) -> dict:
    """A prepared dataset's meta.json (row counts, source, profile) without reading tables."""
    return read_json(Path(path) / "meta.json")


def _arrow_schema(df: pd.DataFrame, table: str) -> pa.Schema:
    """Canonical columns get their fixed Arrow type; extra columns are inferred."""
    kinds = {c.name: c.kind for c in TABLES.get(table, ())}
    fields = []
    for name in df.columns:
        if name in kinds:
            fields.append(pa.field(name, _ARROW[kinds[name]]))
        else:
            fields.append(pa.Schema.from_pandas(df[[name]], preserve_index=False).field(name))
    return pa.schema(fields)


def _write_parquet(df: pd.DataFrame, path: Path, table: str) -> None:
    arrow = pa.Table.from_pandas(df, schema=_arrow_schema(df, table), preserve_index=False)
    pq.write_table(arrow, path, compression="zstd")


#: the column a table folder written by Spark is partitioned by (``events.parquet/date=.../``)
PARTITION = "date"


def parquet_rows(path: Path) -> int:
    """Rows of a Parquet file, or of a folder of Parquet files (a table written by Spark), read
    from the footers only."""
    path = Path(path)
    if path.is_dir():
        return sum(f.metadata.num_rows for f in _dataset(path).get_fragments())
    return pq.read_metadata(path).num_rows


def _dataset(path: Path):
    import pyarrow.dataset as ds

    return ds.dataset(path, format="parquet", partitioning="hive")


def read_events(
    path: str | Path,
    columns: list[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """A prepared dataset's events, reading only ``columns`` and the events in [start, end).

    On a table partitioned by day (prepared on Spark) only the days' folders in the range are
    opened; on a single file the row groups outside it are skipped by their statistics. The
    columns read are checked against the canonical types (not the whole dataset: ``load`` does).
    """
    import pyarrow.compute as pc

    file = Path(path) / "events.parquet"
    if not file.exists():
        raise SchemaError(f"{path}: table file events.parquet is missing")
    data = _dataset(file)
    wanted = columns or [c for c in data.schema.names if c != PARTITION]
    unknown = [c for c in wanted if c not in data.schema.names or c == PARTITION]
    if unknown:
        raise SchemaError(
            f"events: no column(s) {', '.join(unknown)} in {file} "
            f"(it has {', '.join(n for n in data.schema.names if n != PARTITION)})"
        )
    cond = None
    for bound, op in ((start, pc.greater_equal), (end, pc.less)):
        if bound is None:
            continue
        ts = pd.Timestamp(bound)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        c = op(pc.field("ts"), pa.scalar(ts, pa.timestamp("us", tz="UTC")))
        if PARTITION in data.schema.names:  # prune whole days first
            day = pa.scalar(ts.date(), pa.date32()).cast(data.schema.field(PARTITION).type)
            c = c & (
                pc.field(PARTITION) >= day if op is pc.greater_equal else pc.field(PARTITION) <= day
            )
        cond = c if cond is None else cond & c
    df = data.to_table(columns=wanted, filter=cond).to_pandas(maps_as_pydicts="strict")
    kinds = {c.name: c for c in TABLES["events"]}
    for name in wanted:
        if name in kinds and kinds[name].kind == "ts" and str(df[name].dtype) != TS_DTYPE:
            raise SchemaError(f"events.{name}: expected dtype {TS_DTYPE}, got {df[name].dtype}")
    return df


def _read_parquet(path: Path, table: str) -> pd.DataFrame:
    if not path.exists():
        raise SchemaError(f"{path.parent}: table file {path.name} is missing")
    if path.is_dir():  # written by Spark: a folder of files, maybe partitioned by day
        arrow = _dataset(path).to_table()
        if PARTITION in arrow.schema.names and path.name == "events.parquet":
            arrow = arrow.drop_columns([PARTITION])
        df = arrow.to_pandas(maps_as_pydicts="strict")
    else:
        df = pq.read_table(path).to_pandas(maps_as_pydicts="strict")
    if table in TABLES:
        for c in TABLES[table]:
            if c.kind == "entities":
                df[c.name] = pd.Series(
                    [None if v is None else [dict(e) for e in v] for v in df[c.name].tolist()],
                    dtype=object,  # also when the table is empty
                )
            if c.kind == "dict":
                df[c.name] = pd.Series(df[c.name].tolist(), dtype=object)
    return df
