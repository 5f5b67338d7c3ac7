"""Saved embeddings of a dataset's texts, one Parquet file per table and encoder, so later
notebooks read vectors instead of re-encoding:

    data/processed/<dataset folder>/embeddings/<encoder name>/<table>.parquet

Each file has the table's id column and ``vector`` (a fixed-size list<float32>), with the
encoder id, dimension and text rule in the schema metadata. The text embedded per table:

- items: ``title``; where the title is null or blank, ``brand`` and the ``category`` path
  with its dots as spaces (``"Kelvo appliances microwave"``), so an untitled item still
  lands near its category; an item with none of them gets the empty text's vector;
- queries: ``text``; reviews: ``text`` (null -> the empty text).

Files are written to a temp file and renamed. Preparing the dataset again replaces its
whole folder, embeddings included, so saved vectors never outlive the tables they describe.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shopintent.data import registry
from shopintent.io import atomic_path

ID_COLUMNS = {"items": "item_id", "queries": "query_id", "reviews": "review_id"}
TEXT_RULES = {"items": "title, else brand + category path", "queries": "text", "reviews": "text"}
META_PREFIX = "shopintent."


def embeddings_dir(dataset: str, profile: str, encoder_name: str) -> Path:
    return registry.dataset_dir(dataset, profile) / "embeddings" / encoder_name


def table_texts(table: str, df: pd.DataFrame) -> list[str]:
    """The text embedded for each row of a canonical table (see the module docstring)."""
    if table == "items":
        title = df["title"].astype("string").str.strip()
        brand = df["brand"].astype("string").fillna("")
        category = df["category"].astype("string").fillna("").str.replace(".", " ", regex=False)
        fallback = (brand + " " + category).str.replace("_", " ", regex=False).str.strip()
        text = title.mask(title.isna() | (title == ""), fallback)
    elif table in ("queries", "reviews"):
        text = df["text"].astype("string")
    else:
        raise ValueError(f"no text rule for table {table!r}; tables with text: {', '.join(ID_COLUMNS)}")
    return text.fillna("").tolist()


def write_embeddings(dataset: str, profile: str, encoder, tables=("items", "queries", "reviews"),
                     cache=None, progress: bool = True, data=None) -> dict[str, Path]:
    """Embed each table's texts with ``encoder`` and save them; returns table -> file.

    Vectors go through the embedding cache (``cache``: an open ``EmbeddingCache``, a path,
    or None for the default file), so a rerun encodes nothing new. Empty tables are
    skipped (no file). ``data`` is the already loaded ``ShopData``, to save reading it again.
    """
    from shopintent.features.text.cache import encode_cached

    unknown = [t for t in tables if t not in ID_COLUMNS]
    if unknown:
        raise ValueError(f"write_embeddings: no text in table(s) {unknown}; choose from {list(ID_COLUMNS)}")
    shop = data if data is not None else registry.load(dataset, profile, tables=())
    folder = embeddings_dir(dataset, profile, encoder.name)
    written: dict[str, Path] = {}
    for table in tables:
        df = getattr(shop, table)
        if df.empty:
            continue
        vectors = encode_cached(encoder, table_texts(table, df), cache=cache, progress=progress)
        written[table] = _write_vectors(folder / f"{table}.parquet", ID_COLUMNS[table],
                                        df[ID_COLUMNS[table]].astype(str).to_numpy(), vectors,
                                        {"encoder_id": encoder.encoder_id, "encoder": encoder.name,
                                         "dim": str(vectors.shape[1]), "table": table, "text": TEXT_RULES[table]})
    return written


def _write_vectors(path: Path, id_column: str, ids: np.ndarray, vectors: np.ndarray, meta: dict) -> Path:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), type=pa.float32()), dim)
    table = pa.table({id_column: pa.array(ids, type=pa.string()), "vector": column})
    table = table.replace_schema_metadata({f"{META_PREFIX}{k}": str(v) for k, v in meta.items()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_embeddings(dataset: str, profile: str, encoder_name: str, table: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors): the saved ids (str, shape (n,)) and vectors ((n, dim) float32) of one table."""
    path = embeddings_dir(dataset, profile, encoder_name) / f"{table}.parquet"
    if not path.is_file():
        saved = sorted(p.stem for p in path.parent.glob("*.parquet")) if path.parent.is_dir() else []
        have = f" (saved for {encoder_name}: {', '.join(saved)})" if saved else ""
        raise FileNotFoundError(f"no {encoder_name} embeddings of {dataset}/{table} at {path}{have}; make them "
                                f"with write_embeddings({dataset!r}, {profile!r}, get_encoder({encoder_name!r}))")
    return _read_vectors(path)


def embeddings_meta(dataset: str, profile: str, encoder_name: str, table: str) -> dict[str, str]:
    """The metadata saved with one table's embeddings: encoder_id, encoder, dim, table, text."""
    path = embeddings_dir(dataset, profile, encoder_name) / f"{table}.parquet"
    raw = pq.read_schema(path).metadata or {}
    return {k.decode()[len(META_PREFIX):]: v.decode() for k, v in raw.items()
            if k.decode().startswith(META_PREFIX)}


def _read_vectors(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(path)
    id_column = next(c for c in table.column_names if c != "vector")
    ids = table.column(id_column).to_numpy(zero_copy_only=False).astype(object)
    column = table.column("vector").combine_chunks()
    dim = column.type.list_size
    vectors = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, dim)
    return ids, vectors


__all__ = ["embeddings_dir", "embeddings_meta", "read_embeddings", "table_texts", "write_embeddings"]
