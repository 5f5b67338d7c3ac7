"""An on-disk cache of text embeddings keyed by (encoder id, text), so that reruns and later
notebooks encode each text once.

One SQLite file (``data_root()/cache/embeddings.sqlite`` unless a path is given) holds a
row per (encoder id, text): the text's BLAKE2b-128 digest (not the text itself: reviews are
long, and a digest keeps the key small), the dimension and the vector as little-endian
float32 bytes. The encoder id (``TextEncoder.encoder_id``) changes whenever the weights,
tokenizer or maximum length do, so changed weights never meet stale vectors. Every write
is one transaction; several processes may share the file (SQLite locks it).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from shopintent.config import data_root

SCHEMA_VERSION = 1
_LOOKUP_CHUNK = 500  # well under SQLite's limit on bound parameters
_ENCODE_CHUNK = (
    2048  # texts encoded (and committed) at a time, so an interrupted run keeps its work
)
_DTYPE = np.dtype("<f4")


class CacheError(RuntimeError):
    """The cache file cannot be used (corrupt, not a cache, or from a newer version)."""


def default_cache_path() -> Path:
    return data_root() / "cache" / "embeddings.sqlite"


def text_key(text: str) -> bytes:
    """The 16-byte digest that stands for ``text`` in the cache."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    """Vectors by (encoder id, text) in one SQLite file; use as a context manager or ``close()``."""

    def __init__(self, path: str | Path | None = None, timeout_s: float = 60.0):
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout_s)
        except sqlite3.Error as exc:
            raise CacheError(f"cannot open the embedding cache {self.path}: {exc}") from exc
        try:
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def _create_schema(self) -> None:
        with self._guard("open"):
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CacheError(
                    f"the embedding cache {self.path} has schema version {version}, newer than "
                    f"this code's {SCHEMA_VERSION}: update shopintent or delete the file"
                )
            with self._conn:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS vectors (encoder_id TEXT NOT NULL, "
                    "text_key BLOB NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL, "
                    "PRIMARY KEY (encoder_id, text_key))"
                )
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _guard(self, action: str):
        return _Guard(self.path, action)

    def get(self, encoder_id: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``texts`` that have one: text -> (dim,) float32."""
        by_key = {text_key(t): t for t in texts}
        keys = list(by_key)
        found: dict[str, np.ndarray] = {}
        with self._guard("read"):
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                rows = self._conn.execute(
                    f"SELECT text_key, dim, vector FROM vectors WHERE encoder_id = ? "
                    f"AND text_key IN ({','.join('?' * len(chunk))})",
                    [encoder_id, *chunk],
                ).fetchall()
                for key, dim, blob in rows:
                    if len(blob) != dim * _DTYPE.itemsize:
                        raise CacheError(
                            f"the embedding cache {self.path} is corrupt: a vector of "
                            f"{encoder_id} has {len(blob)} bytes, expected {dim * 4}; "
                            "delete the file"
                        )
                    found[by_key[key]] = np.frombuffer(blob, dtype=_DTYPE)
        return found

    def put(self, encoder_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text, in one transaction (all rows or none)."""
        vectors = np.ascontiguousarray(vectors, dtype=_DTYPE)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"put: {len(texts)} texts but vectors of shape {vectors.shape}")
        dim = vectors.shape[1]
        rows = [
            (encoder_id, text_key(t), dim, v.tobytes()) for t, v in zip(texts, vectors, strict=True)
        ]
        with self._guard("write"), self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)

    def count(self, encoder_id: str | None = None) -> int:
        """How many vectors are cached (for one encoder id, or in all)."""
        with self._guard("read"):
            if encoder_id is None:
                return self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            return self._conn.execute(
                "SELECT COUNT(*) FROM vectors WHERE encoder_id = ?", (encoder_id,)
            ).fetchone()[0]

    def encoder_ids(self) -> list[str]:
        with self._guard("read"):
            return [
                r[0]
                for r in self._conn.execute("SELECT DISTINCT encoder_id FROM vectors ORDER BY 1")
            ]

    def drop(self, encoder_id: str) -> int:
        """Delete one encoder's vectors (e.g. of weights no longer used); returns how many."""
        with self._guard("write"), self._conn:
            return self._conn.execute(
                "DELETE FROM vectors WHERE encoder_id = ?", (encoder_id,)
            ).rowcount

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Guard:
    """Turns SQLite's errors into a CacheError that names the file and what to do."""

    def __init__(self, path: Path, action: str):
        self.path, self.action = path, action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None and issubclass(exc_type, sqlite3.DatabaseError):
            hint = (
                "another process holds it; retry"
                if "locked" in str(exc)
                else "it is corrupt or not an embedding cache: delete it and it will be rebuilt"
            )
            raise CacheError(
                f"cannot {self.action} the embedding cache {self.path} ({exc}): {hint}"
            ) from exc
        return False


def encode_cached(
    encoder,
    texts: Sequence[str],
    cache: EmbeddingCache | str | Path | None = None,
    progress: bool = True,
) -> np.ndarray:
    """``encoder.encode(texts)`` through the cache: (len(texts), dim) float32 in input order.

    Only texts without a cached vector for ``encoder.encoder_id`` are encoded, each once
    however often it occurs; new vectors are stored in chunks as they are made, so an
    interrupted run keeps its work. ``cache`` is an open cache, a file path, or None for
    the default file; ``progress`` shows a tqdm bar over the texts being encoded.
    """
    encoder_id = getattr(encoder, "encoder_id", "")
    if not encoder_id:
        raise ValueError(
            f"encoder {getattr(encoder, 'name', encoder)!r} has no encoder_id, so its vectors "
            "cannot be cached safely: set encoder.encoder_id (see TextEncoder) or call encode()"
        )
    texts = ["" if t is None else str(t) for t in texts]
    if isinstance(cache, EmbeddingCache):
        return _encode_cached(encoder, encoder_id, texts, cache, progress)
    with EmbeddingCache(cache) as opened:
        return _encode_cached(encoder, encoder_id, texts, opened, progress)


def _encode_cached(
    encoder, encoder_id: str, texts: list[str], cache: EmbeddingCache, progress: bool
) -> np.ndarray:
    unique = list(dict.fromkeys(texts))
    found = cache.get(encoder_id, unique)
    missing = [t for t in unique if t not in found]
    if missing:
        from tqdm.auto import tqdm

        with tqdm(
            total=len(missing),
            desc=f"encode {encoder.name}",
            unit="text",
            disable=not progress,
            leave=False,
        ) as bar:
            for start in range(0, len(missing), _ENCODE_CHUNK):
                chunk = missing[start : start + _ENCODE_CHUNK]
                vectors = np.asarray(encoder.encode(chunk, progress=bar.update), dtype=np.float32)
                cache.put(encoder_id, chunk, vectors)
                found.update(zip(chunk, vectors, strict=True))
    dim = int(getattr(encoder, "dim", 0)) or (len(next(iter(found.values()))) if found else 0)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        out[i] = found[t]
    return out


__all__ = ["CacheError", "EmbeddingCache", "default_cache_path", "encode_cached", "text_key"]
