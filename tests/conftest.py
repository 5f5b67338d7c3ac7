"""Shared test settings: the project's Keras setting, and data written to a temp folder."""

import os
from pathlib import Path

import pytest

# Must be set before anything touches tf.keras (see DESIGN.md, "the two Keras worlds").
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """Point SHOPINTENT_DATA at an empty temp folder for one test."""
    root = tmp_path / "data"
    monkeypatch.setenv("SHOPINTENT_DATA", str(root))
    return root


@pytest.fixture(scope="session")
def smoke_shop():
    """The smoke-profile synthetic shop, generated once per test session (about a second)."""
    from shopintent.data.synthetic import generate

    return generate("smoke", seed=42)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real samples in ../shared/data; tests using them skip when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data samples not found at {SHARED_DATA} (a fresh clone has none; CI has them)"
        )
    return SHARED_DATA
