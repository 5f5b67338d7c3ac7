"""Every recommender of the project by name: how to build it, its search space, how it loads.

One entry per recommender, declared where its class lives by a ``register(...)`` call, and
read by ``tune`` (factories and search spaces), ``persist`` (loading) and the studies (building
models by name). Adding a recommender is one class and one entry::

    class MostViewed(Persistent, Recommender):            # fit / recommend / save, as any other
        name = "most_viewed"
        ...

    register("most_viewed", MostViewed,                    # in the same module
             space={"smoke": {"days": [7]}, "default": {"days": [7, 28]}})

and the module's name in ``PROVIDERS`` below. ``create(name, **params)`` builds it,
``get(name).load(path)`` reads back what ``model.save(path)`` wrote, ``tune`` grid-searches it
and ``tests/unit/test_recommender_registry.py`` fits, saves, loads and scores it on a tiny shop.

Why a list of provider modules: recommenders live in three layers' packages (``models``; ``kg``
and ``explain``, which build on ``models``), and a module may only import the layers below it
(``tests/unit/test_architecture.py``). So each class registers itself (its module imports this
one: a downward import), and the registry imports the modules named in ``PROVIDERS`` by name,
once, on the first lookup: the plugin pattern of entry points and RecBole's ``get_model``. The
registry itself imports none of them statically, so nothing here points up the layers, and a
lookup costs only the imports of the providers (TensorFlow and Keras load when a model trains:
the Keras next-item models are registered by dotted path, ``"module:attribute"``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the modules that register recommenders, imported in this order on the first lookup (the
#: registry's order, which ``tune.search_space`` and its tables follow)
PROVIDERS: tuple[str, ...] = (
    "shopintent.models.recommenders.baselines",
    "shopintent.models.recommenders.factorization",
    "shopintent.models.recommenders.two_tower.model",
    "shopintent.models.recommenders.two_tower.ranking",
    "shopintent.models.recommenders.sequential.base",
    "shopintent.models.recommenders.sequential.neighbourhood",
    "shopintent.models.recommenders.sequential.rules",
    "shopintent.models.recommenders.sequential.hybrid",
    "shopintent.kg.ppr",
    "shopintent.kg.blend",
    "shopintent.explain.ranking",
)
#: what ``fit`` takes: canonical events and the catalogue, or ``sequential.data`` sequences
FITS_ON = ("events", "sequences")
#: constructor inputs a caller must supply: ``text`` = item vectors aligned with the items
NEEDS = ("text",)


def _resolve(target):
    """A callable, or ``"package.module:attribute"`` imported now."""
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Entry:
    """One registered recommender.

    ``factory(**params)`` gives an unfitted model (``params`` first, then the caller's);
    ``space`` maps a profile (``smoke``, ``default``; ``full`` reads ``default``) to the grid
    ``tune`` searches, None when the model is not grid-searched (it chooses its epochs or
    weights on validation while fitting); ``loader(path)`` reads what ``model.save(path)``
    wrote (default: the class's ``load``); ``saves_to`` says whether that path is a ``file``
    or a ``folder``.
    """

    name: str
    target: Any  # the class or factory, or "module:attribute" (resolved on first use)
    params: Mapping[str, Any] = field(default_factory=dict)
    space: Mapping[str, Mapping[str, list]] | None = None
    fits_on: str = "events"
    needs: tuple[str, ...] = ()
    saves_to: str = "file"
    loader: Any = None  # callable(path) or "module:attribute"; None: ``factory.load``
    module: str = ""

    @property
    def factory(self) -> Callable[..., Any]:
        return _resolve(self.target)

    def create(self, **params):
        """A fresh, unfitted model: the entry's ``params`` overridden by the caller's."""
        return self.factory(**{**self.params, **params})

    def load(self, path: str | Path):
        """The fitted model saved at ``path`` (scores as the saved one)."""
        load = _resolve(self.loader) if self.loader is not None else self.factory.load
        return load(path)

    def grid(self, profile: str) -> dict[str, list] | None:
        """This model's search space for ``profile`` (a fresh copy), None when it has none."""
        if self.space is None:
            return None
        grid = self.space.get(profile, self.space.get("default", {}))
        return {k: list(v) for k, v in grid.items()}


_ENTRIES: dict[str, Entry] = {}
_LOADED = False
_LOCK = threading.RLock()


def register(
    name: str,
    target,
    *,
    params: Mapping[str, Any] | None = None,
    space: Mapping[str, Mapping[str, list]] | None = None,
    fits_on: str = "events",
    needs: tuple[str, ...] = (),
    saves_to: str = "file",
    load=None,
) -> Entry:
    """Declare the recommender ``name`` (see ``Entry``); called where its class is defined.
    Registering a name twice from the same module (a reload) replaces it; from another raises."""
    if fits_on not in FITS_ON:
        raise ValueError(f"{name}: fits_on must be one of {', '.join(FITS_ON)}, got {fits_on!r}")
    if unknown := set(needs) - set(NEEDS):
        raise ValueError(f"{name}: unknown needs {sorted(unknown)}; known: {', '.join(NEEDS)}")
    if saves_to not in ("file", "folder"):
        raise ValueError(f"{name}: saves_to must be file or folder, got {saves_to!r}")
    if space is not None and "default" not in space:
        raise ValueError(f"{name}: a search space needs a 'default' grid (has {sorted(space)})")
    module = target.split(":")[0] if isinstance(target, str) else getattr(target, "__module__", "")
    entry = Entry(
        name, target, dict(params or {}), space, fits_on, tuple(needs), saves_to, load, module
    )
    with _LOCK:
        old = _ENTRIES.get(name)
        if old is not None and old.module != entry.module:
            raise ValueError(
                f"recommender {name!r} is registered twice: by {old.module} and {entry.module}"
            )
        _ENTRIES[name] = entry
    return entry


def _load_providers() -> None:
    global _LOADED
    if _LOADED:
        return
    with _LOCK:
        if not _LOADED:
            for module in PROVIDERS:
                importlib.import_module(module)
            _LOADED = True


def entries() -> dict[str, Entry]:
    """Every registered recommender, in registration order."""
    _load_providers()
    return dict(_ENTRIES)


def names() -> list[str]:
    return list(entries())


def get(name: str) -> Entry:
    """The entry of ``name``; an unknown name raises, listing the known ones."""
    known = entries()
    if name not in known:
        raise KeyError(f"unknown recommender {name!r}; registered: {', '.join(known)}")
    return known[name]


def create(name: str, **params):
    """A fresh, unfitted ``name`` with ``params`` (see ``Entry.create``)."""
    return get(name).create(**params)


def load(name: str, path: str | Path):
    """The fitted ``name`` saved at ``path`` by its ``save``."""
    return get(name).load(path)


def search_spaces(profile: str) -> dict[str, dict[str, list]]:
    """name -> grid for every model with a search space, in registration order."""
    return {n: e.grid(profile) for n, e in entries().items() if e.space is not None}


class View(Mapping):
    """A read-only, always current mapping name -> ``pick(entry)`` over the registry (providers
    are imported on first access, not when the view is made; a value is picked when asked for,
    so listing names never imports a model's heavy dependencies)."""

    def __init__(
        self, pick: Callable[[Entry], Any], keep: Callable[[Entry], bool] = lambda e: True
    ) -> None:
        self._pick, self._keep = pick, keep

    def __getitem__(self, name: str):
        entry = get(name)
        if not self._keep(entry):
            raise KeyError(f"{name!r} is registered but not in this view: {', '.join(self)}")
        return self._pick(entry)

    def __iter__(self) -> Iterator[str]:
        return iter([n for n, e in entries().items() if self._keep(e)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"View({list(self)})"
