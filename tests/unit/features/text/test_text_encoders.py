"""The pretrained MiniLM encoder: loads offline, ranks product phrases sensibly, and its
length buckets change nothing but speed."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from shopintent.features.text import encoders


@pytest.fixture(scope="module")
def minilm():
    return encoders.load_minilm()


# (anchor, closer, farther): the anchor must be nearer the second phrase than the third
TRIPLES = [
    ("red running shoes", "crimson sneakers for jogging", "stainless steel coffee maker"),
    ("cheap smartphone", "budget android phone", "leather office chair"),
    ("wireless headphones", "bluetooth earbuds", "garden hose 20m"),
    ("kettle", "electric water boiler", "winter jacket"),
    ("laptop 16GB RAM", "notebook computer with 16 gigabytes of memory", "red running shoes"),
]


def test_vectors_are_unit_float32(minilm):
    out = minilm.encode(
        ["red running shoes", "a much longer product title: Zentro S12 Lite tablet, 128GB"]
    )
    assert out.shape == (2, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(("anchor", "closer", "farther"), TRIPLES)
def test_similarity_ordering(minilm, anchor, closer, farther):
    a, c, f = minilm.encode([anchor, closer, farther])
    assert a @ c > a @ f + 0.1, (anchor, float(a @ c), float(a @ f))


def test_bucketed_equals_unbucketed(minilm):
    texts = [
        "kettle",
        "red running shoes",
        "Zentro S12 Lite Tablet, green, 128GB, 14 inch",
        "",
        "The screen is fine. But really impressed by the battery. " * 3,
        "kettle",
    ]
    bucketed = minilm.encode(texts)
    unbucketed = minilm.encode(texts, bucketed=False)
    np.testing.assert_allclose(bucketed, unbucketed, atol=1e-5)
    np.testing.assert_array_equal(bucketed[0], bucketed[-1])
    # the order of the input does not change a text's vector (rows are packed by length)
    np.testing.assert_allclose(minilm.encode(texts[::-1])[::-1], bucketed, atol=1e-5)


def test_matches_keras_hub_text_embedder(minilm):
    import keras_hub

    reference = keras_hub.models.BertTextEmbedder.from_preset(str(encoders.minilm_preset_dir()))
    reference.preprocessor.sequence_length = 32
    texts = ["red running shoes", "Kelvo Nova 590 SE Microwave, white, 1.5L"]
    expected = np.asarray(reference.predict(np.array(texts), verbose=0))
    np.testing.assert_allclose(minilm.encode(texts), expected, atol=1e-5)


def test_empty_input(minilm):
    out = minilm.encode([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_encoder_id_names_package_version_and_length(minilm):
    assert minilm.encoder_id == f"{encoders.minilm_encoder_id()}+len64"
    assert encoders.minilm_encoder_id().startswith("minilm-l6-v2@")


def test_file_encoder_id_changes_with_the_file(tmp_path):
    path = tmp_path / "shop_bert.keras"
    path.write_bytes(b"weights v1")
    first = encoders.file_encoder_id("shop-bert", path)
    assert first.startswith("shop-bert@") and len(first) == len("shop-bert@") + 12
    path.write_bytes(b"weights v2")
    assert encoders.file_encoder_id("shop-bert", path) != first


def test_trained_encoder_is_named_by_its_weights_then_by_its_file(minilm, tmp_path):
    weights = encoders.weights_encoder_id("tuned", minilm.backbone)
    assert weights.startswith("tuned@w") and len(weights) == len("tuned@") + 12
    enc = encoders.KerasHubBertEncoder.trained("tuned", minilm.backbone, minilm.tokenizer, 32)
    assert enc.encoder_id == f"{weights}+len32"
    path = tmp_path / "tuned.keras"
    path.write_bytes(b"saved weights")
    enc.name_by_file(path)
    assert enc.encoder_id == f"{encoders.file_encoder_id('tuned', path)}+len32"
    again = encoders.KerasHubBertEncoder.trained(
        "tuned", minilm.backbone, minilm.tokenizer, 32, path=path
    )
    assert again.encoder_id == enc.encoder_id


def test_get_encoder_unknown_name_lists_known():
    with pytest.raises(ValueError, match="unknown encoder 'nope'; known: .*minilm"):
        encoders.get_encoder("nope")


def test_saved_encoder_loads_from_the_dataset_folder_or_a_given_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPINTENT_MODELS", str(tmp_path))
    encoders.register_saved_encoder("probe-saved", lambda folder: folder)
    try:
        assert encoders.get_encoder("probe-saved", folder=tmp_path / "x") == tmp_path / "x"
        got = encoders.get_encoder("probe-saved", dataset="shop", profile="smoke")
        assert got.parts[-2:] == ("shop-smoke", "probe-saved")
        with pytest.raises(ValueError, match=r"get_encoder\('probe-saved'\) needs folder="):
            encoders.get_encoder("probe-saved")
    finally:
        encoders._ENCODERS.pop("probe-saved")


OFFLINE_SCRIPT = textwrap.dedent("""
    import socket
    import ssl  # noqa: F401 - subclasses socket.socket at import: let it see the real class

    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    socket.socket = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from shopintent.features.text.encoders import load_minilm

    encoder = load_minilm(jit_compile=False)
    print("shape", encoder.encode(["red running shoes", "kettle"]).shape)
""")


def test_loads_offline_without_network():
    env = {
        k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    }
    env.update(TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shape (2, 384)" in done.stdout


def test_bucket_widths_and_batches():
    assert encoders.bucket_widths(np.array([1, 8, 9, 17, 40, 300]), 64).tolist() == [
        8,
        8,
        16,
        32,
        64,
        64,
    ]
    assert encoders.bucket_widths(np.array([300]), 512).tolist() == [
        300
    ]  # past the largest bucket: its own width
    widths = np.array([8, 16, 8, 8, 16])
    batches = [
        (w, rows.tolist(), n) for w, rows, n in encoders.bucket_batches(widths, batch_tokens=16)
    ]
    assert batches == [(8, [0, 2, 3], 8), (16, [1, 4], 8)]  # at least 8 rows a batch
    batches = [
        (w, rows.tolist(), n)
        for w, rows, n in encoders.bucket_batches(np.array([8] * 5), batch_tokens=16)
    ]
    assert batches == [(8, [0, 1, 2, 3, 4], 8)]
    assert [
        rows.tolist() for _, rows, _ in encoders.bucket_batches(np.full(20, 8), batch_tokens=64)
    ] == [list(range(8)), list(range(8, 16)), list(range(16, 20))]
