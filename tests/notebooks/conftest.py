"""Notebook tier: papermill runs on the smoke profile, data and reports in temp folders."""

import pytest


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Empty data, reports and models folders for one run-all."""
    monkeypatch.setenv("SHOPINTENT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPINTENT_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("SHOPINTENT_MODELS", str(tmp_path / "models"))
    return tmp_path
