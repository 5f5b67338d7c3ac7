"""``studies.artefacts``: an artefact saved by an earlier notebook is reused only when it was
fitted on the same data (same fingerprint), else fitted here, and the note says which."""

import json

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.studies.artefacts import fingerprint, reuse_or_fit


def test_fingerprint_is_stable_and_sees_the_data():
    a = np.arange(6, dtype=np.int64)
    assert fingerprint(a, "x") == fingerprint(a.copy(), "x")
    assert fingerprint(a) != fingerprint(a.astype(np.int32))  # dtype is part of the data
    assert fingerprint(a) != fingerprint(a[::-1].copy())
    assert fingerprint(np.float64(2.5), 3) == fingerprint(2.5, 3)  # numpy scalars as Python numbers
    m = sp.csr_matrix(np.array([[0, 1.0], [2.0, 0]]))
    messy = sp.coo_matrix(([0.5, 0.5, 2.0, 0.0], ([0, 0, 1, 1], [1, 1, 0, 1])), shape=(2, 2))
    assert fingerprint(m) == fingerprint(messy)  # duplicates summed, explicit zeros dropped
    assert fingerprint(m) != fingerprint(m * 2)
    s = pd.Series([1, 2], index=["a", "b"])
    assert fingerprint(s) == fingerprint(s.copy()) != fingerprint(s.set_axis(["a", "c"]))


def _save(folder, value, data_fp):
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"value": value, "fitted_on": data_fp}))


def _load(folder):
    path = folder / "model.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _fitted_on(model):
    return model["fitted_on"]


def test_same_fingerprint_is_reused_a_different_one_refitted(tmp_path):
    fits = []

    def fit():
        fits.append(1)
        return {"value": "fresh", "fitted_on": "new"}, "fitted on 3 rows"

    here = fingerprint(np.array([1, 2, 3]))
    folder = tmp_path / "model"
    got, note, reused = reuse_or_fit(folder, here, fit, _load, _fitted_on, what="the model")
    assert (got["value"], reused, len(fits)) == ("fresh", False, 1)
    assert note == f"the model: none saved at {folder}: fitted here (fitted on 3 rows)"

    _save(folder, "saved", here)
    got, note, reused = reuse_or_fit(folder, here, fit, _load, _fitted_on, what="the model")
    assert (got["value"], reused, len(fits)) == ("saved", True, 1)  # not fitted again
    assert note == f"the model: reused from {folder} (fitted on the same data)"

    other = fingerprint(np.array([1, 2, 4]))
    got, note, reused = reuse_or_fit(folder, other, fit, _load, _fitted_on, what="the model")
    assert (got["value"], reused, len(fits)) == ("fresh", False, 2)
    assert "fitted on other data: fitted here" in note


def test_fingerprint_may_depend_on_the_saved_artefact(tmp_path):
    """EASE's case: the interactions to compare are built with the saved model's weighting."""
    folder = tmp_path / "ease"
    _save(folder, 2.0, fingerprint("events", 2.0))

    def mine(saved):
        return fingerprint("events", saved["value"])

    got, _, reused = reuse_or_fit(folder, mine, lambda: (None, ""), _load, _fitted_on)
    assert reused and got["value"] == 2.0
