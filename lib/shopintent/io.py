"""Atomic writes: the one place in ShopIntent that renames files into place.

Every file and folder the project writes (datasets, models, metrics, reports) is first written
under a hidden temporary name in the same folder and then renamed over the target, so a crash,
a full disk or Ctrl-C never leaves a half-written file where a reader would find it. Temporary
names start with ``.<name>.tmp-`` so that a clean-up can find what a killed process left.

Nothing here imports pandas or numpy at module level (the command line starts fast).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Prefix pattern of temporary files and folders: ``.<target name>.tmp-<random>``.
TMP_MARK = ".tmp-"
#: Infix of a folder moved aside while its replacement is renamed in: ``.<name>.old-<pid>``.
OLD_MARK = ".old-"


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    ``suffix`` keeps a file ending that a writer insists on (``.npz``, ``.keras``). On any
    exception (KeyboardInterrupt included) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}{TMP_MARK}", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _match_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_json(path: str | Path, obj, *, indent: int = 2, sort_keys: bool = False,
               default=None) -> Path:
    """Write ``obj`` as JSON (with a final newline) to ``path`` atomically."""
    return write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys, default=default) + "\n")


def write_npz(path: str | Path, arrays: dict, compressed: bool = False) -> Path:
    """Write numpy arrays to an ``.npz`` file atomically (no pickle: plain arrays only)."""
    import numpy as np

    save = np.savez_compressed if compressed else np.savez
    with atomic_path(path, suffix=".npz") as tmp:
        save(tmp, **arrays)
    return Path(path)


def write_parquet(frame, path: str | Path, **kwargs) -> Path:
    """Write a DataFrame to Parquet atomically (``kwargs`` go to ``DataFrame.to_parquet``)."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, **kwargs)
    return Path(path)


@contextmanager
def staging_dir(target: str | Path) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``target``; on success it replaces ``target``.

    A model or dataset is written file by file into the staging folder, and only the complete
    folder is renamed into place (see ``replace_dir``). On failure the staging folder is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_MARK}", dir=target.parent))
    try:
        yield tmp
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_dir(tmp: Path, target: Path) -> None:
    """Move the finished folder ``tmp`` to ``target``, replacing an existing one only once the new
    one is complete. The old folder is moved aside as ``.<name>.old-<pid>`` for the instant
    between the two renames and then deleted."""
    tmp, target = Path(tmp), Path(target)
    _match_umask(tmp)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}{OLD_MARK}{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _match_umask(path: Path) -> None:
    """``mkstemp``/``mkdtemp`` create 0600/0700; give the result the permissions an ordinary
    ``open``/``mkdir`` would have (the process umask), so outputs are readable as usual."""
    umask = os.umask(0)
    os.umask(umask)
    mode = (0o777 if path.is_dir() else 0o666) & ~umask
    os.chmod(path, mode)
