"""The embedding cache: texts are encoded once per encoder id, rows come back in input order."""

import sqlite3

import numpy as np
import pytest

from shopintent.features.text.cache import CacheError, EmbeddingCache, encode_cached
from shopintent.features.text.encoders import TextEncoder


class CountingEncoder(TextEncoder):
    """A tiny deterministic encoder (bag of characters) that records the texts it encodes."""

    name = "counting"
    dim = 8

    def __init__(self, encoder_id="counting@1", salt=0):
        self.encoder_id = encoder_id
        self.salt = salt
        self.encoded: list[str] = []

    @property
    def special_ids(self):
        return (1, 2, 0)

    def tokenize(self, texts):
        self.encoded.extend(texts)
        return [np.array([3 + ord(c) for c in t], dtype=np.int32) for t in texts]

    def embed_batch(self, token_ids, padding_mask):
        out = np.zeros((len(token_ids), self.dim), dtype=np.float32)
        for i, (ids, mask) in enumerate(zip(token_ids, padding_mask, strict=True)):
            np.add.at(out[i], (ids[mask] * 7 + self.salt) % self.dim, 1.0)
        out[:, 0] += 0.5  # the empty text still has a direction
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def cache(tmp_path):
    with EmbeddingCache(tmp_path / "emb.sqlite") as c:
        yield c


def test_second_call_encodes_only_new_texts(cache):
    enc = CountingEncoder()
    first = encode_cached(enc, ["red shoes", "blue kettle"], cache=cache, progress=False)
    assert sorted(enc.encoded) == ["blue kettle", "red shoes"]
    enc.encoded.clear()
    second = encode_cached(
        enc, ["blue kettle", "green lamp", "red shoes"], cache=cache, progress=False
    )
    assert enc.encoded == ["green lamp"]
    np.testing.assert_array_equal(second[[2, 0]], first)
    np.testing.assert_allclose(
        second, enc.encode(["blue kettle", "green lamp", "red shoes"]), atol=1e-7
    )
    assert cache.count("counting@1") == 3


def test_new_encoder_id_recomputes(cache):
    old = CountingEncoder("counting@1", salt=0)
    new = CountingEncoder("counting@2", salt=3)
    a = encode_cached(old, ["red shoes"], cache=cache, progress=False)
    b = encode_cached(new, ["red shoes"], cache=cache, progress=False)
    assert new.encoded == ["red shoes"]
    assert not np.allclose(a, b)
    assert cache.encoder_ids() == ["counting@1", "counting@2"]


def test_order_preserved_with_duplicates_each_encoded_once(cache):
    enc = CountingEncoder()
    texts = ["b", "a", "b", "", "c", "a", "b"]
    out = encode_cached(enc, texts, cache=cache, progress=False)
    assert sorted(enc.encoded) == ["", "a", "b", "c"]
    np.testing.assert_allclose(out, enc.encode(texts), atol=1e-7)
    assert out.dtype == np.float32 and out.shape == (7, 8)
    # a second, fully cached call gives the same rows without encoding
    enc.encoded.clear()
    np.testing.assert_array_equal(encode_cached(enc, texts, cache=cache, progress=False), out)
    assert enc.encoded == []


def test_empty_input(cache):
    out = encode_cached(CountingEncoder(), [], cache=cache, progress=False)
    assert out.shape == (0, 8)


def test_vectors_survive_reopening(tmp_path):
    path = tmp_path / "emb.sqlite"
    enc = CountingEncoder()
    a = encode_cached(enc, ["kettle"], cache=path, progress=False)
    enc.encoded.clear()
    b = encode_cached(enc, ["kettle"], cache=path, progress=False)
    assert enc.encoded == []
    np.testing.assert_array_equal(a, b)


def test_default_cache_lives_under_data_root(data_root):
    encode_cached(CountingEncoder(), ["kettle"], progress=False)
    assert (data_root / "cache" / "embeddings.sqlite").is_file()


def test_failed_encoding_writes_nothing_half(cache):
    class Failing(CountingEncoder):
        def embed_batch(self, token_ids, padding_mask):
            raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        encode_cached(Failing(), ["a", "b"], cache=cache, progress=False)
    assert cache.count() == 0


def test_encoder_without_id_is_refused(cache):
    with pytest.raises(ValueError, match="encoder_id"):
        encode_cached(CountingEncoder(encoder_id=""), ["a"], cache=cache, progress=False)


def test_corrupt_file_names_the_file(tmp_path):
    path = tmp_path / "emb.sqlite"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(CacheError, match="emb.sqlite.*delete it"):
        EmbeddingCache(path)


def test_truncated_vector_is_reported(tmp_path):
    path = tmp_path / "emb.sqlite"
    encode_cached(CountingEncoder(), ["a"], cache=path, progress=False)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE vectors SET vector = substr(vector, 1, 10)")
    with EmbeddingCache(path) as c, pytest.raises(CacheError, match="emb.sqlite is corrupt"):
        c.get("counting@1", ["a"])
