"""Atomic writes: the one place in ShopIntent that renames files into place.

Every file and folder the project writes (datasets, models, metrics, reports) is first written
under a hidden temporary name in the same folder and then renamed over the target, so a crash,
a full disk or Ctrl-C never leaves a half-written file where a reader would find it. Temporary
names start with ``.<name>.tmp-`` so that a clean-up can find what a killed process left.

Nothing here imports pandas or numpy at module level (the command line starts fast).
"""

from __future__ import annotations

import fcntl
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
#: Suffix of the lock file beside a folder being written: ``.<name>.lock``.
LOCK_SUFFIX = ".lock"


class InUseError(RuntimeError):
    """Another process holds the lock of the folder this one wants to write."""

    def __init__(self, target: Path, pid: int | None):
        self.target, self.pid = Path(target), pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"{self.target} is in use by {who}; wait for it to finish or stop it")


def _named(err: OSError, path: Path) -> OSError:
    """``err`` with ``path`` as its file name if it has none (a failed ``write`` names no file)."""
    if getattr(err, "filename", None):
        return err
    if err.errno:
        return OSError(err.errno, err.strerror or os.strerror(err.errno), str(path))
    return OSError(None, str(err) or type(err).__name__, str(path))


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
    except OSError as err:
        tmp.unlink(missing_ok=True)
        named = _named(err, path)
        if named is err:
            raise
        raise named from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_json(
    path: str | Path, obj, *, indent: int = 2, sort_keys: bool = False, default=None
) -> Path:
    """Write ``obj`` as JSON (with a final newline) to ``path`` atomically."""
    return write_text(
        path, json.dumps(obj, indent=indent, sort_keys=sort_keys, default=default) + "\n"
    )


def read_json(path: str | Path):
    """The JSON document at ``path`` (UTF-8): the reading half of ``write_json``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


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
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        named = _named(err, target)
        if named is err:
            raise
        raise named from err
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


@contextmanager
def locked(target: str | Path, wait: bool = False) -> Iterator[Path]:
    """Hold the write lock of the folder ``target`` (``fcntl.flock`` on ``.<name>.lock`` beside it).

    The lock file records the holder's pid and is removed on release. ``wait=False`` raises
    ``InUseError`` ("... is in use by pid N") when another process holds it; ``wait=True`` blocks
    until it is free. The kernel releases the lock when the holder exits, however it ends
    (``kill -9`` included), so a lock file left behind never blocks anyone. Once the lock is
    held, what a killed writer of ``target`` left behind is cleaned up (``recover``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.with_name(f".{target.name}{LOCK_SUFFIX}")
    fd = _acquire(lock, target, wait)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _recover_locked(target)
        yield target
    finally:
        lock.unlink(missing_ok=True)  # while still held: a waiter then sees a stale inode, retries
        os.close(fd)  # releases the lock


def _acquire(lock: Path, target: Path, wait: bool) -> int:
    """An fd holding ``flock`` on the file now at ``lock`` (retried while the holder removes it)."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            raise InUseError(target, pid) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the previous holder removed the file between our open and our lock


def _holder(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def recover(target: str | Path) -> bool:
    """Clean up after a killed writer of ``target`` if no live writer holds its lock.

    Removes the stale temporary ``.<name>.tmp-*`` siblings and, where ``target`` itself is gone
    but a ``.<name>.old-<pid>`` copy survived a kill between the two renames of ``replace_dir``,
    renames that copy back. Returns False (and touches nothing) while another process writes it.
    """
    try:
        with locked(target):
            return True
    except InUseError:
        return False


def _recover_locked(target: Path) -> None:
    parent = target.parent
    if not parent.is_dir():
        return
    name = target.name
    olds = sorted(
        (p for p in parent.glob(f".{name}{OLD_MARK}*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    if olds and not target.exists():
        os.replace(olds.pop(0), target)  # the newest earlier version comes back
    for stale in [*olds, *parent.glob(f".{name}{TMP_MARK}*")]:
        _remove(stale)


def remove_temps(folder: str | Path) -> int:
    """Remove every temporary ``.<name>.tmp-*`` file or folder under ``folder`` (call it only
    while holding the folder's lock: a live writer's temporaries look the same). Returns the
    count."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    found = [p for p in folder.rglob(f".*{TMP_MARK}*") if p.name.startswith(".")]
    top = [p for p in found if not any(q in p.parents for q in found)]
    for path in top:
        _remove(path)
    return len(top)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
