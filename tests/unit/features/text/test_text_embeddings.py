"""Saved embeddings: write/read round trip on the smoke shop, text rules, atomic writes."""

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopintent.data import registry
from shopintent.features.text import embeddings as emb
from shopintent.features.text.encoders import TextEncoder


class BagOfCharsEncoder(TextEncoder):
    """A fast deterministic stand-in for MiniLM (no TensorFlow); after ``fail_after`` calls of
    ``encode`` (one per cache chunk of up to 2,048 texts), it raises."""

    name = "bag"
    dim = 16
    encoder_id = "bag@1"

    def __init__(self, fail_after=None):
        self.fail_after = fail_after
        self.calls = 0

    @property
    def special_ids(self):
        return (1, 2, 0)

    def tokenize(self, texts):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("encoder crashed")
        return [np.array([3 + ord(c) for c in t], dtype=np.int32) for t in texts]

    def embed_batch(self, token_ids, padding_mask):
        out = np.full((len(token_ids), self.dim), 0.1, dtype=np.float32)
        for i, (ids, mask) in enumerate(zip(token_ids, padding_mask, strict=True)):
            np.add.at(out[i], ids[mask] % self.dim, 1.0)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def prepared(data_root, smoke_shop):
    smoke_shop.save(registry.dataset_dir("synthetic", "smoke"))
    return smoke_shop


def test_round_trip(prepared, tmp_path):
    enc = BagOfCharsEncoder()
    paths = emb.write_embeddings(
        "synthetic", "smoke", enc, cache=tmp_path / "c.sqlite", progress=False
    )
    assert set(paths) == {"items", "queries", "reviews"}
    folder = registry.dataset_dir("synthetic", "smoke") / "embeddings" / "bag"
    assert paths["queries"] == folder / "queries.parquet"
    for table, id_col in emb.ID_COLUMNS.items():
        df = getattr(prepared, table)
        ids, vectors = emb.read_embeddings("synthetic", "smoke", "bag", table)
        np.testing.assert_array_equal(ids, df[id_col].to_numpy(dtype=object))
        assert vectors.dtype == np.float32 and vectors.shape == (len(df), 16)
        np.testing.assert_allclose(vectors, enc.encode(emb.table_texts(table, df)), atol=1e-7)
    schema = pq.read_schema(paths["items"])
    vector_type = schema.field("vector").type
    assert pa.types.is_fixed_size_list(vector_type) and vector_type.list_size == 16
    assert vector_type.value_type == pa.float32()
    meta = emb.embeddings_meta("synthetic", "smoke", "bag", "items")
    assert meta["encoder_id"] == "bag@1" and meta["dim"] == "16" and meta["table"] == "items"
    assert sorted(p.name for p in folder.iterdir()) == [
        "items.parquet",
        "queries.parquet",
        "reviews.parquet",
    ]


def test_item_text_falls_back_to_brand_and_category():
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "title": ["Kelvo kettle", None, "  ", None],
            "brand": ["Kelvo", "Zentro", "Marlo", None],
            "category": ["appliances.kettle", "electronics.smart_phone", None, None],
        }
    )
    assert emb.table_texts("items", items) == [
        "Kelvo kettle",
        "Zentro electronics smart phone",
        "Marlo",
        "",
    ]
    queries = pd.DataFrame({"query_id": ["q1", "q2"], "text": ["red shoes", None]})
    assert emb.table_texts("queries", queries) == ["red shoes", ""]


def test_empty_tables_are_skipped(prepared, tmp_path):
    shop = dataclasses.replace(prepared, reviews=prepared.reviews.iloc[:0])
    paths = emb.write_embeddings(
        "synthetic",
        "smoke",
        BagOfCharsEncoder(),
        tables=("queries", "reviews"),
        cache=tmp_path / "c.sqlite",
        progress=False,
        data=shop,
    )
    assert set(paths) == {"queries"}
    with pytest.raises(
        FileNotFoundError, match=r"no bag embeddings of synthetic/reviews .*saved for bag: queries"
    ):
        emb.read_embeddings("synthetic", "smoke", "bag", "reviews")


def test_missing_embeddings_error_says_how_to_make_them(prepared):
    with pytest.raises(
        FileNotFoundError,
        match=r"write_embeddings\('synthetic', 'smoke', get_encoder\('minilm'\)\)",
    ):
        emb.read_embeddings("synthetic", "smoke", "minilm", "items")


def test_failure_midway_leaves_no_partial_file(prepared, tmp_path):
    folder = registry.dataset_dir("synthetic", "smoke") / "embeddings" / "bag"
    assert len(prepared.items) <= 2048 < len(prepared.queries)
    # one encode call for the items, then the encoder dies in the second chunk of queries
    with pytest.raises(RuntimeError, match="encoder crashed"):
        emb.write_embeddings(
            "synthetic",
            "smoke",
            BagOfCharsEncoder(fail_after=2),
            tables=("items", "queries"),
            cache=tmp_path / "c.sqlite",
            progress=False,
        )
    assert sorted(p.name for p in folder.iterdir()) == ["items.parquet"]
    # the rerun encodes only what the crash lost, and writes the queries
    rerun = BagOfCharsEncoder()
    paths = emb.write_embeddings(
        "synthetic",
        "smoke",
        rerun,
        tables=("items", "queries"),
        cache=tmp_path / "c.sqlite",
        progress=False,
    )
    assert rerun.calls == 1 and set(paths) == {"items", "queries"}


def test_failed_rewrite_keeps_the_old_file(prepared, tmp_path, monkeypatch):
    enc = BagOfCharsEncoder()
    path = emb.write_embeddings(
        "synthetic", "smoke", enc, tables=("queries",), cache=tmp_path / "c.sqlite", progress=False
    )["queries"]
    before = path.read_bytes()

    def half_write(table, where, **kwargs):
        with open(where, "wb") as f:
            f.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(emb.pq, "write_table", half_write)
    with pytest.raises(OSError, match="disk full"):
        emb.write_embeddings(
            "synthetic",
            "smoke",
            enc,
            tables=("queries",),
            cache=tmp_path / "c.sqlite",
            progress=False,
        )
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["queries.parquet"]


def test_unknown_table_is_refused(prepared):
    with pytest.raises(ValueError, match="no text in table"):
        emb.write_embeddings(
            "synthetic", "smoke", BagOfCharsEncoder(), tables=("events",), progress=False
        )


# -- the one rule for a model's text vectors: saved -> encoded now (within a limit) -> fallback ----


class FakeMiniLM(BagOfCharsEncoder):
    name = "minilm"
    encoder_id = "fake-minilm@1"


def _minilm_factory(monkeypatch, made):
    from shopintent.features.text import encoders

    def factory(**options):
        made.append(options)
        return FakeMiniLM()

    monkeypatch.setitem(encoders._ENCODERS, "minilm", factory)


def _tfidf():
    return np.zeros((3, 2), np.float32), "TF-IDF + SVD vectors of the item titles"


def test_item_text_vectors_reads_the_saved_ones(prepared, monkeypatch, tmp_path):
    emb.write_embeddings(
        "synthetic",
        "smoke",
        FakeMiniLM(),
        tables=("items", "queries"),
        cache=tmp_path / "c.sqlite",
        progress=False,
    )
    made = []
    _minilm_factory(monkeypatch, made)
    found = emb.item_text_vectors(
        prepared,
        "synthetic",
        "smoke",
        "auto",
        encode_limit=0,
        tables=("items", "queries"),
        fallback=_tfidf,
    )
    assert found.source == "saved" and found.minilm and not made  # nothing encoded
    assert "saved by notebook 02" in found.note
    items = prepared.items.sample(frac=1, random_state=0)["item_id"]
    shuffled = prepared.items.set_index("item_id").loc[items].reset_index()
    expected = FakeMiniLM().encode(emb.table_texts("items", shuffled))
    np.testing.assert_allclose(found.aligned("items", items), expected, atol=1e-6)


def test_item_text_vectors_encodes_now_under_the_limit(prepared, monkeypatch):
    made = []
    _minilm_factory(monkeypatch, made)
    n_texts = len(set(emb.table_texts("items", prepared.items)))
    found = emb.item_text_vectors(
        prepared,
        "synthetic",
        "smoke",
        "auto",
        encode_limit=n_texts,
        fallback=_tfidf,
        encoder_options={"jit_compile": False},
    )
    assert found.source == "encoded" and made == [{"jit_compile": False}]
    assert found.note.startswith(f"MiniLM vectors of {n_texts:,} distinct texts, encoded now")
    ids, _ = emb.read_embeddings("synthetic", "smoke", "minilm", "items")  # saved for later
    assert len(ids) == len(prepared.items)
    assert emb.item_text_vectors(prepared, "synthetic", "smoke", "auto", 0).source == "saved"


def test_item_text_vectors_over_the_limit_takes_the_declared_fallback(prepared, monkeypatch):
    made = []
    _minilm_factory(monkeypatch, made)
    found = emb.item_text_vectors(
        prepared, "synthetic", "smoke", "auto", encode_limit=10, fallback=_tfidf
    )
    assert found.source == "fallback" and not found.minilm and not made
    assert found.vectors.shape == (3, 2)
    assert "more than encode_limit=10" in found.note
    assert found.note.endswith("TF-IDF + SVD vectors of the item titles")
    none = emb.item_text_vectors(prepared, "synthetic", "smoke", "auto", encode_limit=10)
    assert none.source == "none" and none.vectors is None and none.note.endswith("no text vectors")
    forced = emb.item_text_vectors(prepared, "synthetic", "smoke", "tfidf", fallback=_tfidf)
    assert forced.source == "fallback"
    assert emb.item_text_vectors(prepared, "synthetic", "smoke", "none").source == "none"
    # "minilm" encodes whatever the count
    found = emb.item_text_vectors(prepared, "synthetic", "smoke", "minilm", encode_limit=10)
    assert found.source == "encoded" and len(made) == 1


def test_item_text_vectors_rejects_unknown_modes(prepared):
    with pytest.raises(ValueError, match="unknown text vector mode 'bert'"):
        emb.item_text_vectors(prepared, "synthetic", "smoke", "bert")
    with pytest.raises(ValueError, match="declares no TF-IDF fallback"):
        emb.item_text_vectors(prepared, "synthetic", "smoke", "tfidf")
