"""Notebook tier: papermill runs on the smoke profile, data and reports in temp folders."""

import pytest


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Empty data and reports folders for one run-all."""
    monkeypatch.setenv("SHOPINTENT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPINTENT_REPORTS", str(tmp_path / "reports"))
    return tmp_path
