"""Atomic writes: a finished file or folder appears whole, a failed one leaves nothing behind."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from shopintent import io


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_write_json_leaves_no_temp_file_on_failure(tmp_path):
    path = io.write_json(tmp_path / "m.json", {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    with pytest.raises(TypeError):
        io.write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1} and _names(tmp_path) == ["m.json"]


def test_text_npz_and_parquet_round_trip_with_ordinary_permissions(tmp_path):
    io.write_text(tmp_path / "a.txt", "héllo\n")
    io.write_npz(tmp_path / "b.npz", {"x": np.arange(3)})
    io.write_parquet(pd.DataFrame({"c": [1, 2]}), tmp_path / "c.parquet")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert np.load(tmp_path / "b.npz")["x"].tolist() == [0, 1, 2]
    assert pd.read_parquet(tmp_path / "c.parquet")["c"].tolist() == [1, 2]
    umask = os.umask(0)
    os.umask(umask)
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {oct(0o666 & ~umask)}
    assert _names(tmp_path) == ["a.txt", "b.npz", "c.parquet"]


def test_staging_dir_replaces_whole_folder_or_nothing(tmp_path):
    target = tmp_path / "model"
    with io.staging_dir(target) as tmp:
        (tmp / "w.txt").write_text("1")
    assert (target / "w.txt").read_text() == "1"
    with pytest.raises(RuntimeError), io.staging_dir(target) as tmp:
        (tmp / "w.txt").write_text("2")
        raise RuntimeError("crash while writing")
    assert (target / "w.txt").read_text() == "1" and _names(tmp_path) == ["model"]
    with io.staging_dir(target) as tmp:
        (tmp / "v.txt").write_text("3")
    assert _names(target) == ["v.txt"] and _names(tmp_path) == ["model"]
