"""Reuse the artefact an earlier notebook saved when it was fitted on the same data, else fit it
here and say so: one rule for every study, so a run-all does not fit a model twice and a notebook
run alone still runs.

"The same data" is a fingerprint: a hash of what the artefact was fitted on (training
interactions, labels, seed and class weights, label set), computed here from this notebook's
data and, from the saved artefact, from what it carries about its own training.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


def fingerprint(*parts: Any) -> str:
    """A sha256 (16 hex digits) of ``parts``: numpy arrays (dtype, shape and bytes), pandas objects
    (their values and index), sparse matrices (canonical CSR), numpy scalars as Python numbers,
    and anything else by ``repr``."""
    digest = hashlib.sha256()
    for part in parts:
        for piece in _pieces(part):
            digest.update(piece)
            digest.update(b"\x00")
    return digest.hexdigest()[:16]


def _pieces(part: Any):
    if sp.issparse(part):
        m = sp.csr_matrix(part, copy=True)
        m.sum_duplicates()
        m.eliminate_zeros()
        m.sort_indices()
        yield repr(m.shape).encode()
        for array in (m.indptr, m.indices, m.data):
            yield from _pieces(np.asarray(array))
    elif isinstance(part, (pd.Series, pd.Index, pd.DataFrame)):
        hashed = pd.util.hash_pandas_object(part, index=not isinstance(part, pd.Index))
        yield from _pieces(hashed.to_numpy())
    elif isinstance(part, np.ndarray):
        if part.dtype == object:
            yield repr(part.tolist()).encode()
        else:
            yield f"{part.dtype.str}{part.shape}".encode()
            yield np.ascontiguousarray(part).tobytes()
    elif isinstance(part, np.generic):  # a numpy scalar hashes as the Python number it holds
        yield repr(part.item()).encode()
    else:
        yield repr(part).encode()


def reuse_or_fit(
    folder: str | Path,
    fingerprint: str | Callable[[Any], str],
    fit: Callable[[], tuple[Any, str]],
    load: Callable[[Path], Any],
    fitted_on: Callable[[Any], str | None],
    what: str = "model",
) -> tuple[Any, str, bool]:
    """(artefact, a sentence saying where it comes from, whether it was reused).

    ``load(folder)`` gives the saved artefact, or None when nothing usable is there;
    ``fitted_on(artefact)`` the fingerprint of the data it was fitted on; ``fingerprint`` is this
    data's (or, when it depends on a setting the artefact carries, e.g. EASE's interaction
    weighting, a function of the loaded artefact that gives it). When they differ, or nothing is
    saved, ``fit()`` gives (artefact, a few words on how it was fitted).
    """
    folder = Path(folder)
    saved = load(folder) if folder.exists() else None
    if saved is not None:
        mine = fingerprint(saved) if callable(fingerprint) else fingerprint
        if fitted_on(saved) == mine:
            return saved, f"{what}: reused from {folder} (fitted on the same data)", True
        why = f"the one saved at {folder} was fitted on other data"
    else:
        why = f"none saved at {folder}"
    artefact, how = fit()
    return artefact, f"{what}: {why}: fitted here{f' ({how})' if how else ''}", False


__all__ = ["fingerprint", "reuse_or_fit"]
