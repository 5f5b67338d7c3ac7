"""Save and load a ``ProductKG`` as a folder of node/edge Parquet tables plus ``kg.json``.

Parquet with a fixed Arrow schema is safe to read from anyone (no code is executed, unlike a
pickled graph) and is read by pandas, Spark or DuckDB alike. The folder is written into a
temporary sibling and renamed into place, so a failed save never leaves half a graph behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shopintent.io import staging_dir, write_json
from shopintent.kg.build import EDGE_COLUMNS, NODE_COLUMNS, ProductKG

FORMAT = "shopintent-kg"
VERSION = 1
NODE_SCHEMA = pa.schema(
    [("node_id", pa.string()), ("type", pa.string()), ("name", pa.string()), ("count", pa.int64())]
)
EDGE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("target", pa.string()),
        ("relation", pa.string()),
        ("weight", pa.float64()),
    ]
)


def save_kg(kg: ProductKG, path: str | Path) -> Path:
    """Write ``nodes.parquet``, ``edges.parquet`` and ``kg.json`` to folder ``path`` atomically."""
    path = Path(path)
    with staging_dir(path) as tmp:
        nodes = kg.nodes[list(NODE_COLUMNS)].astype(
            {"node_id": str, "type": str, "name": str, "count": "int64"}
        )
        edges = kg.edges[list(EDGE_COLUMNS)].astype(
            {"source": str, "target": str, "relation": str, "weight": "float64"}
        )
        pq.write_table(
            pa.Table.from_pandas(nodes, schema=NODE_SCHEMA, preserve_index=False),
            tmp / "nodes.parquet",
            compression="zstd",
        )
        pq.write_table(
            pa.Table.from_pandas(edges, schema=EDGE_SCHEMA, preserve_index=False),
            tmp / "edges.parquet",
            compression="zstd",
        )
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "nodes": len(nodes),
            "edges": len(edges),
            "meta": kg.meta,
        }
        write_json(tmp / "kg.json", meta, indent=2, sort_keys=True, default=str)
    return path


def load_kg(path: str | Path) -> ProductKG:
    """Read a folder written by ``save_kg``; names the file and what is wrong when it is not one."""
    path = Path(path)
    info_file = path / "kg.json"
    if not info_file.is_file():
        raise FileNotFoundError(
            f"{path} is not a saved knowledge graph (no kg.json); write one with save_kg"
        )
    info = json.loads(info_file.read_text())
    if info.get("format") != FORMAT or info.get("version") != VERSION:
        raise ValueError(
            f"{info_file}: format {info.get('format')!r} version {info.get('version')!r}, "
            f"expected {FORMAT!r} version {VERSION}"
        )
    tables = {}
    for name, schema in (("nodes", NODE_SCHEMA), ("edges", EDGE_SCHEMA)):
        file = path / f"{name}.parquet"
        if not file.is_file():
            raise FileNotFoundError(f"{path}: {file.name} is missing")
        table = pq.read_table(file)
        if not table.schema.equals(schema):
            raise ValueError(
                f"{file}: columns {table.schema.names} with types "
                f"{[str(t) for t in table.schema.types]}, expected {schema}"
            )
        tables[name] = table.to_pandas()
        if len(tables[name]) != info[name]:
            raise ValueError(f"{file}: {len(tables[name])} rows, kg.json says {info[name]}")
    return ProductKG(tables["nodes"], tables["edges"], info.get("meta", {}))


def kg_dir(dataset_folder: str | Path) -> Path:
    """Where a dataset's KG lives: ``data/processed/<dataset>/kg/``."""
    return Path(dataset_folder) / "kg"


__all__ = ["kg_dir", "load_kg", "save_kg"]
