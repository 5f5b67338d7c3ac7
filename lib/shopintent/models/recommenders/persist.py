"""Save and load fitted recommenders as one ``.npz`` file: arrays plus a JSON header, no pickle.

A file holds the training interactions (so that ``recommend(..., exclude_seen=True)`` and
cold-user scoring work after loading), the model's learned arrays (``_state``) and a JSON
header with its kind and constructor parameters. ``load_recommender`` reads it with
``allow_pickle=False`` and builds only classes listed in ``KINDS``, so a file handed over by
someone else can carry numbers, never code.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.io import write_npz
from shopintent.models.recommenders.base import Interactions

FORMAT = "shopintent-recommender"
VERSION = 1
#: class name -> module: the only classes a file may ask to build
KINDS: dict[str, str] = {
    "Popularity": "shopintent.models.recommenders.baselines",
    "RecentPopularity": "shopintent.models.recommenders.baselines",
    "ItemKNN": "shopintent.models.recommenders.baselines",
    "EASE": "shopintent.models.recommenders.baselines",
    "ALS": "shopintent.models.recommenders.factorization",
    "BPR": "shopintent.models.recommenders.factorization",
}


def _ids(index: pd.Index) -> np.ndarray:
    return np.asarray(index.astype(str), dtype=str)


def sparse_arrays(prefix: str, m: sp.spmatrix) -> dict[str, np.ndarray]:
    """A CSR matrix as four plain arrays named ``<prefix>.data/indices/indptr/shape``."""
    m = sp.csr_matrix(m)
    return {f"{prefix}.data": m.data, f"{prefix}.indices": m.indices, f"{prefix}.indptr": m.indptr,
            f"{prefix}.shape": np.asarray(m.shape, dtype=np.int64)}


def sparse_from(arrays, prefix: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{prefix}.shape"])
    return sp.csr_matrix((arrays[f"{prefix}.data"], arrays[f"{prefix}.indices"], arrays[f"{prefix}.indptr"]),
                         shape=shape)


class Persistent:
    """Mixin for ``Recommender`` subclasses: ``save(path)``; ``params()`` reads the constructor's
    arguments back from attributes of the same name (as scikit-learn's ``get_params``)."""

    def params(self) -> dict:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def _set_state(self, arrays) -> None:
        return None

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (``.npz``) atomically: a temp file in the same folder, then a rename."""
        self._check_fitted()
        data: Interactions = self.data_
        header = {"format": FORMAT, "version": VERSION, "kind": type(self).__name__, "name": self.name,
                  "params": self.params()}
        arrays = {"header": np.asarray(json.dumps(header)), "user_ids": _ids(data.user_ids),
                  "item_ids": _ids(data.item_ids), **sparse_arrays("matrix", data.matrix),
                  **sparse_arrays("last_ts", data.last_ts),
                  **{f"state.{k}": v for k, v in self._state().items()}}
        return write_npz(path, arrays)


def load_recommender(path: str | Path):
    """A model written by ``Persistent.save``: same recommendations, no refitting."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    if "header" not in arrays:
        raise ValueError(f"{path}: not a saved recommender (no 'header' entry)")
    header = json.loads(str(arrays["header"]))
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ValueError(f"{path}: format {header.get('format')!r} version {header.get('version')!r}, "
                         f"expected {FORMAT!r} version {VERSION}")
    kind = header.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{path}: unknown recommender kind {kind!r}; known: {', '.join(KINDS)}")
    cls = getattr(importlib.import_module(KINDS[kind]), kind)
    model = cls(**header["params"])
    item_ids = pd.Index(arrays["item_ids"].astype(object))
    model.data_ = Interactions(sparse_from(arrays, "matrix"), pd.Index(arrays["user_ids"].astype(object)),
                               item_ids, sparse_from(arrays, "last_ts"))
    model.items_ = pd.DataFrame({"item_id": item_ids})
    model._set_state({k[len("state."):]: v for k, v in arrays.items() if k.startswith("state.")})
    return model
