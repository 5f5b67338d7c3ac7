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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shopintent.data import registry
from shopintent.io import atomic_path

ID_COLUMNS = {"items": "item_id", "queries": "query_id", "reviews": "review_id"}
TEXT_RULES = {"items": "title, else brand + category path", "queries": "text", "reviews": "text"}
META_PREFIX = "shopintent."
#: MiniLM short texts per second on this project's 2-core machine (encoder benchmark, under load):
#: what a note quotes when encoding now is declined
MINILM_TEXTS_PER_S = 130
TEXT_VECTOR_MODES = ("auto", "minilm", "tfidf", "none")


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
        raise ValueError(
            f"no text rule for table {table!r}; tables with text: {', '.join(ID_COLUMNS)}"
        )
    return text.fillna("").tolist()


def write_embeddings(
    dataset: str,
    profile: str,
    encoder,
    tables=("items", "queries", "reviews"),
    cache=None,
    progress: bool = True,
    data=None,
) -> dict[str, Path]:
    """Embed each table's texts with ``encoder`` and save them; returns table -> file.

    Vectors go through the embedding cache (``cache``: an open ``EmbeddingCache``, a path,
    or None for the default file), so a rerun encodes nothing new. Empty tables are
    skipped (no file). ``data`` is the already loaded ``ShopData``, to save reading it again.
    """
    from shopintent.features.text.cache import encode_cached

    unknown = [t for t in tables if t not in ID_COLUMNS]
    if unknown:
        raise ValueError(
            f"write_embeddings: no text in table(s) {unknown}; choose from {list(ID_COLUMNS)}"
        )
    shop = data if data is not None else registry.load(dataset, profile, tables=())
    folder = embeddings_dir(dataset, profile, encoder.name)
    written: dict[str, Path] = {}
    for table in tables:
        df = getattr(shop, table)
        if df.empty:
            continue
        vectors = encode_cached(encoder, table_texts(table, df), cache=cache, progress=progress)
        written[table] = _write_vectors(
            folder / f"{table}.parquet",
            ID_COLUMNS[table],
            df[ID_COLUMNS[table]].astype(str).to_numpy(),
            vectors,
            {
                "encoder_id": encoder.encoder_id,
                "encoder": encoder.name,
                "dim": str(vectors.shape[1]),
                "table": table,
                "text": TEXT_RULES[table],
            },
        )
    return written


def _write_vectors(
    path: Path, id_column: str, ids: np.ndarray, vectors: np.ndarray, meta: dict
) -> Path:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    column = pa.FixedSizeListArray.from_arrays(
        pa.array(vectors.reshape(-1), type=pa.float32()), dim
    )
    table = pa.table({id_column: pa.array(ids, type=pa.string()), "vector": column})
    table = table.replace_schema_metadata({f"{META_PREFIX}{k}": str(v) for k, v in meta.items()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_embeddings(
    dataset: str, profile: str, encoder_name: str, table: str
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors): one table's saved ids (str, shape (n,)) and vectors ((n, dim) float32)."""
    path = embeddings_dir(dataset, profile, encoder_name) / f"{table}.parquet"
    if not path.is_file():
        saved = (
            sorted(p.stem for p in path.parent.glob("*.parquet")) if path.parent.is_dir() else []
        )
        have = f" (saved for {encoder_name}: {', '.join(saved)})" if saved else ""
        raise FileNotFoundError(
            f"no {encoder_name} embeddings of {dataset}/{table} at {path}{have}; make them "
            f"with write_embeddings({dataset!r}, {profile!r}, get_encoder({encoder_name!r}))"
        )
    return _read_vectors(path)


def embeddings_meta(dataset: str, profile: str, encoder_name: str, table: str) -> dict[str, str]:
    """The metadata saved with one table's embeddings: encoder_id, encoder, dim, table, text."""
    path = embeddings_dir(dataset, profile, encoder_name) / f"{table}.parquet"
    raw = pq.read_schema(path).metadata or {}
    return {
        k.decode()[len(META_PREFIX) :]: v.decode()
        for k, v in raw.items()
        if k.decode().startswith(META_PREFIX)
    }


def _read_vectors(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(path)
    id_column = next(c for c in table.column_names if c != "vector")
    ids = table.column(id_column).to_numpy(zero_copy_only=False).astype(object)
    column = table.column("vector").combine_chunks()
    dim = column.type.list_size
    vectors = (
        column.flatten()
        .to_numpy(zero_copy_only=False)
        .astype(np.float32, copy=False)
        .reshape(-1, dim)
    )
    return ids, vectors


@dataclass(frozen=True)
class TextVectorSource:
    """Text vectors and where they come from. ``source``: "saved" (MiniLM vectors an earlier run
    saved), "encoded" (MiniLM, encoded now and saved), "fallback" (the caller's declared
    stand-in) or "none"; ``vectors``: table -> (ids, vectors) for MiniLM, the fallback's value,
    or None; ``note``: a sentence saying which."""

    source: str
    vectors: Any
    note: str

    @property
    def minilm(self) -> bool:
        return self.source in ("saved", "encoded")

    def aligned(self, table: str, ids) -> np.ndarray:
        """The MiniLM vectors of ``table`` in the order of ``ids`` (every id is covered)."""
        saved_ids, vectors = self.vectors[table]
        return vectors[pd.Index(saved_ids).get_indexer(pd.Index(ids).astype(str))]


def item_text_vectors(
    shop,
    dataset: str,
    profile: str,
    mode: str = "auto",
    encode_limit: int = 5000,
    *,
    tables=("items",),
    fallback: Callable[[], tuple[Any, str]] | None = None,
    encoder_options: dict | None = None,
) -> TextVectorSource:
    """The one rule for a model's text vectors: MiniLM vectors saved for ``tables`` (by notebook
    02, or an earlier encode-now), else MiniLM encoded now and saved if the tables hold at most
    ``encode_limit`` distinct texts, else the caller's declared ``fallback`` (e.g. TF-IDF + SVD:
    ``() -> (vectors, what they are)``), else none.

    Saved vectors count only if they cover every row of each table. ``mode``: ``auto`` as above;
    ``minilm`` encodes whatever the count; ``tfidf`` goes straight to the fallback; ``none``
    gives none. Empty tables are left out. ``encoder_options`` go to ``get_encoder("minilm")``.
    """
    if mode not in TEXT_VECTOR_MODES:
        raise ValueError(f"unknown text vector mode {mode!r}: {', '.join(TEXT_VECTOR_MODES)}")
    if mode == "none":
        return TextVectorSource("none", None, "no text vectors (not asked for)")
    if mode == "tfidf":
        if fallback is None:
            raise ValueError("text vector mode 'tfidf': this model declares no TF-IDF fallback")
        vectors, what = fallback()
        return TextVectorSource("fallback", vectors, what)
    tables = tuple(t for t in tables if len(getattr(shop, t)))
    saved = _saved_minilm(shop, dataset, profile, tables)
    if saved is not None:
        return TextVectorSource(
            "saved", saved, "MiniLM vectors saved by notebook 02 (the embeddings folder)"
        )
    n_texts = sum(len(set(table_texts(t, getattr(shop, t)))) for t in tables)
    if mode == "minilm" or n_texts <= encode_limit:
        from shopintent.features.text.encoders import get_encoder

        encoder = get_encoder("minilm", **(encoder_options or {}))
        write_embeddings(dataset, profile, encoder, tables=tables, data=shop, progress=False)
        return TextVectorSource(
            "encoded",
            _saved_minilm(shop, dataset, profile, tables),
            f"MiniLM vectors of {n_texts:,} distinct texts, encoded now and "
            "saved for later notebooks",
        )
    minutes = n_texts / MINILM_TEXTS_PER_S / 60
    why = (
        f"no saved MiniLM vectors, and encoding {n_texts:,} distinct texts would take about "
        f"{minutes:.1f} min on 2 cores, more than encode_limit={encode_limit} allows "
        "(run notebook 02 first, or raise ENCODE_LIMIT): "
    )
    if fallback is None:
        return TextVectorSource("none", None, why + "no text vectors")
    vectors, what = fallback()
    return TextVectorSource("fallback", vectors, why + what)


def _saved_minilm(shop, dataset: str, profile: str, tables) -> dict | None:
    """table -> (ids, vectors) saved for MiniLM; None if a table's file is missing or lacks ids."""
    out = {}
    for table in tables:
        try:
            ids, vectors = read_embeddings(dataset, profile, "minilm", table)
        except FileNotFoundError:
            return None
        wanted = getattr(shop, table)[ID_COLUMNS[table]].astype(str)
        if (pd.Index(ids).get_indexer(wanted) < 0).any():
            return None
        out[table] = (ids, vectors)
    return out


__all__ = [
    "MINILM_TEXTS_PER_S",
    "TextVectorSource",
    "embeddings_dir",
    "embeddings_meta",
    "item_text_vectors",
    "read_embeddings",
    "table_texts",
    "write_embeddings",
]
