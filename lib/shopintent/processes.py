"""Child processes that stop together: a notebook's papermill process and the kernel it starts.

papermill runs in a session of its own (a terminal's Ctrl-C reaches only ``shopintent``), and
jupyter_client starts the kernel in yet another session, so neither a process-group signal nor
papermill's own exit reaches the kernel. ``stop_tree`` lists the whole tree from /proc first and
signals every process and group in it; ``die_with_parent`` covers the case where ``shopintent``
itself is killed with no chance to clean up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path


def die_with_parent() -> None:
    """In papermill's process, before it starts: SIGTERM it when this process dies, even by
    ``kill -9`` (Linux ``PR_SET_PDEATHSIG``); its kernel then exits too (ipykernel quits when its
    parent changes)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren...), from /proc (none without)."""
    parents: dict[int, list[int]] = {}
    if not Path("/proc").is_dir():
        return []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def stop_tree(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Stop ``proc`` and everything it started: SIGTERM to their process groups and to each
    process (the kernel runs in a session of its own), SIGKILL to what is left after ``grace_s``.
    The tree is listed before anything is signalled: once papermill is gone, its kernel is
    re-parented and could no longer be found."""
    pids = [proc.pid, *descendants(proc.pid)]
    own = os.getpgrp()
    groups = set()
    for pid in pids:
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            pass
    groups.discard(own)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            _signal(os.killpg, group, sig)
        for pid in pids:
            _signal(os.kill, pid, sig)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            proc.poll()  # reaps papermill; its children are reaped by whoever adopts them
            if not any(alive(pid) for pid in pids):
                break
            time.sleep(0.05)
        else:
            continue
        break
    proc.wait()


def _signal(send, target: int, sig: int) -> None:
    try:
        send(target, sig)
    except (ProcessLookupError, PermissionError):
        pass


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


@contextmanager
def shielded():
    """Ignore SIGINT and SIGTERM for a moment (a second Ctrl-C must not cut a clean-up short)."""
    try:
        saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals go elsewhere anyway
        yield
        return
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (``VmRSS``), 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_memory(pid: int) -> dict[str, int]:
    """Resident bytes of ``pid`` and everything below it, split into the Java virtual machines
    (Spark's driver and executors: processes named ``java``) and the rest (Python)."""
    out = {"python": 0, "jvm": 0}
    for p in (pid, *descendants(pid)):
        try:
            name = Path(f"/proc/{p}/comm").read_text().strip()
        except OSError:
            continue
        out["jvm" if name == "java" else "python"] += rss_bytes(p)
    return out
