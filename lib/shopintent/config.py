"""Project paths, run profiles and seeding: the one place each of them is defined.

Nothing here imports TensorFlow or pandas, so the command line starts fast.
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The repository root (the library is installed in editable mode from ``lib/``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]

DEFAULT_SEED = 42


def data_root() -> Path:
    """Root of generated and user-supplied data: ``$SHOPINTENT_DATA`` or ``<repo>/data``."""
    env = os.environ.get("SHOPINTENT_DATA")
    if not env:
        return PROJECT_ROOT / "data"
    root = Path(env).expanduser().resolve()
    for p in (root, *root.parents):  # the nearest existing one must be a folder
        if p.exists():
            if not p.is_dir():  # an OSError like any other unusable path: one line, exit 1
                raise NotADirectoryError(
                    errno.ENOTDIR,
                    f"SHOPINTENT_DATA={env} is not a folder (point it at a data folder)",
                    str(p),
                )
            break
    return root


def raw_dir(dataset: str) -> Path:
    """Where a public dataset's original files are expected (never modified)."""
    return data_root() / "raw" / dataset


def processed_root() -> Path:
    return data_root() / "processed"


def models_dir() -> Path:
    """Where trained models go: ``$SHOPINTENT_MODELS`` or ``<repo>/models``.

    Tests use a temp folder.
    """
    env = os.environ.get("SHOPINTENT_MODELS")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "models"


def artefact_dir(dataset: str, profile: str, *parts: str) -> Path:
    """Where one dataset and profile keep a trained artefact: ``models/<dataset>-<profile>/<parts>``
    (the one place that spells this path; nothing is created)."""
    return models_dir().joinpath(f"{dataset}-{profile}", *parts)


def reports_dir() -> Path:
    """Where run-all reports go: ``$SHOPINTENT_REPORTS`` or ``<repo>/reports``."""
    env = os.environ.get("SHOPINTENT_REPORTS")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "reports"


@dataclass(frozen=True)
class Profile:
    """How big a run is: data size for the synthetic shop, and a budget for models.

    ``n_users``/``n_items``/``n_events`` size the synthetic shop (events are a target:
    the generator draws sessions to land near it); ``days`` is the span of its log;
    ``notebook_timeout_s`` bounds one notebook in the run-all.
    """

    name: str
    n_users: int
    n_items: int
    n_events: int
    days: int
    notebook_timeout_s: int
    description: str


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        "smoke", 300, 500, 20_000, 56, 600, "CI and tests: every notebook end to end in minutes"
    ),
    "default": Profile(
        "default", 5_000, 3_000, 500_000, 120, 1_800, "make run: results that mean something"
    ),
    "full": Profile(
        "full", 50_000, 20_000, 5_000_000, 180, 6 * 3600, "research runs: hours, GPU if present"
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; an unknown name lists the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}"
        ) from None


def rng(seed: int, *stream: str | int) -> np.random.Generator:
    """A numpy Generator for ``seed`` and a named sub-stream.

    Independent streams (``rng(seed, "users")``, ``rng(seed, "sessions")``) keep one part
    of a computation from shifting when another part draws more or fewer numbers.
    """
    keys = [seed] + [_stable_int(s) for s in stream]
    return np.random.default_rng(np.random.SeedSequence(keys))


def _stable_int(key: str | int) -> int:
    if isinstance(key, int):
        return key
    # Python's hash() of str is salted per process; a digest is not.
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and, if already imported, TensorFlow/Keras (never imports them)."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds third-party code that uses the global state
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)
    elif "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)
