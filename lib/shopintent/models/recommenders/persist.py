"""Save and load fitted recommenders as one ``.npz`` file: arrays plus a JSON header, no pickle.

A file holds the training interactions (so that ``recommend(..., exclude_seen=True)`` and
cold-user scoring work after loading), the model's learned arrays (``_state``) and a JSON
header with its kind and constructor parameters. ``load_recommender`` (``Class.load``) reads
it with ``allow_pickle=False`` and builds only the registered classes saved this way (``KINDS``,
read from ``registry``), so a file handed over by someone else can carry numbers, never code.
Every other registered recommender saves its own format (a folder: Keras weights, TFRS weights,
a graph); ``LOADERS`` and ``load(name, path)`` read any of them by registered name.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.io import write_npz
from shopintent.models.recommenders import registry
from shopintent.models.recommenders.base import Interactions

FORMAT = "shopintent-recommender"
VERSION = 1
#: registered name -> ``load(path)``: every registered recommender, whatever its format
LOADERS = registry.View(lambda entry: entry.load)


def kinds() -> dict[str, type]:
    """Class name -> class: the only classes a ``.npz`` file may ask to build (every registered
    class that saves through ``Persistent``)."""
    return {
        e.target.__name__: e.target
        for e in registry.entries().values()
        if isinstance(e.target, type) and issubclass(e.target, Persistent)
    }


def __getattr__(name: str):
    if name == "KINDS":  # read from the registry when asked, so that it is always complete
        return kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load(name: str, path: str | Path):
    """The registered recommender ``name`` saved at ``path`` (a file or folder, by its format)."""
    return registry.load(name, path)


def _ids(index: pd.Index) -> np.ndarray:
    return np.asarray(index.astype(str), dtype=str)


def sparse_arrays(prefix: str, m: sp.spmatrix) -> dict[str, np.ndarray]:
    """A CSR matrix as four plain arrays named ``<prefix>.data/indices/indptr/shape``."""
    m = sp.csr_matrix(m)
    return {
        f"{prefix}.data": m.data,
        f"{prefix}.indices": m.indices,
        f"{prefix}.indptr": m.indptr,
        f"{prefix}.shape": np.asarray(m.shape, dtype=np.int64),
    }


def sparse_from(arrays, prefix: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{prefix}.shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}.data"], arrays[f"{prefix}.indices"], arrays[f"{prefix}.indptr"]),
        shape=shape,
    )


def interaction_arrays(data: Interactions) -> dict[str, np.ndarray]:
    """Training interactions as plain arrays: ids, the weight matrix and the latest times."""
    return {
        "user_ids": _ids(data.user_ids),
        "item_ids": _ids(data.item_ids),
        **sparse_arrays("matrix", data.matrix),
        **sparse_arrays("last_ts", data.last_ts),
    }


def interactions_from(arrays) -> Interactions:
    """The ``Interactions`` that ``interaction_arrays`` wrote (ids come back as strings)."""
    return Interactions(
        sparse_from(arrays, "matrix"),
        pd.Index(arrays["user_ids"].astype(object)),
        pd.Index(arrays["item_ids"].astype(object)),
        sparse_from(arrays, "last_ts"),
    )


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
        header = {
            "format": FORMAT,
            "version": VERSION,
            "kind": type(self).__name__,
            "name": self.name,
            "params": self.params(),
        }
        arrays = {
            "header": np.asarray(json.dumps(header)),
            **interaction_arrays(data),
            **{f"state.{k}": v for k, v in self._state().items()},
        }
        return write_npz(path, arrays)

    @classmethod
    def load(cls, path: str | Path):
        """The model ``save`` wrote to ``path``; refuses a file holding another class."""
        model = load_recommender(path)
        if not isinstance(model, cls):
            raise ValueError(f"{path}: holds a {type(model).__name__}, not a {cls.__name__}")
        return model


def load_recommender(path: str | Path):
    """A model written by ``Persistent.save``: same recommendations, no refitting."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    if "header" not in arrays:
        raise ValueError(f"{path}: not a saved recommender (no 'header' entry)")
    header = json.loads(str(arrays["header"]))
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ValueError(
            f"{path}: format {header.get('format')!r} version {header.get('version')!r}, "
            f"expected {FORMAT!r} version {VERSION}"
        )
    kind, known = header.get("kind"), kinds()
    if kind not in known:
        raise ValueError(f"{path}: unknown recommender kind {kind!r}; known: {', '.join(known)}")
    model = known[kind](**header["params"])
    model.data_ = interactions_from(arrays)
    model.items_ = pd.DataFrame({"item_id": model.data_.item_ids})
    model._set_state({k[len("state.") :]: v for k, v in arrays.items() if k.startswith("state.")})
    return model
