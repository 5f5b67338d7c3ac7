"""Kills, crashes, a full disk, a second writer: the earlier result survives, nothing is left over.

Failures are injected (``os.replace`` patched between the two renames of ``replace_dir``, a stale
temp folder made by the test, a lock held by the test, a write that raises ENOSPC) instead of
killing real processes, so every case is exact and fast.
"""

import errno
import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

from shopintent import io
from shopintent.cli import main
from shopintent.data import store
from shopintent.data.store import ShopData


def _shop(n: int = 3) -> ShopData:
    events = pd.DataFrame(
        {
            "user_id": ["u"] * n,
            "session_id": ["s"] * n,
            "ts": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "event_type": ["view"] * n,
            "item_id": [f"i{k}" for k in range(n)],
            "query_id": [None] * n,
            "price": [1.0] * n,
        }
    )
    items = pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "title": ["t"] * n})
    return ShopData.from_tables(events, items)


def _tree(folder):
    return sorted(p.name for p in folder.iterdir())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_kill_between_the_two_renames_leaves_the_dataset_restorable(tmp_path, monkeypatch):
    path = _shop(3).save(tmp_path / "mini")
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    real, calls = os.replace, []

    def dies_after_moving_the_old_folder_aside(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the old folder is aside, the new one not yet in: the process "dies"
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(io.os, "replace", dies_after_moving_the_old_folder_aside)
    with pytest.raises(KeyboardInterrupt):
        _shop(5).save(path)
    monkeypatch.setattr(io.os, "replace", real)
    stray = tmp_path / ".mini.tmp-killed"  # what a kill -9 of the writer would also have left
    stray.mkdir()
    (stray / "events.parquet").write_bytes(b"half")
    assert not path.exists() and any(
        n.startswith(".mini.old-") for n in _tree(tmp_path)
    )  # issue 17, 5.

    assert io.recover(path) is True
    assert _tree(tmp_path) == ["mini"]  # restored; no temp, old or lock left
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert len(ShopData.load(path).events) == 3


def test_the_next_save_cleans_stale_temp_folders_and_replaces_whole(tmp_path):
    path = _shop(3).save(tmp_path / "mini")
    for name in (".mini.tmp-a1", ".mini.tmp-b2"):  # two earlier prepares killed mid-write
        (tmp_path / name).mkdir()
        (tmp_path / name / "items.parquet").write_bytes(b"x" * 100)
    (tmp_path / ".other.tmp-c3").mkdir()  # another dataset's writer: not ours to touch
    _shop(4).save(path)
    assert _tree(tmp_path) == [".other.tmp-c3", "mini"]
    assert len(ShopData.load(path).events) == 4
    assert path.stat().st_mode & 0o777 == 0o777 & ~_umask()
    assert {p.stat().st_mode & 0o777 for p in path.iterdir()} == {0o666 & ~_umask()}


def test_recover_leaves_a_live_writers_folders_alone(tmp_path):
    target = tmp_path / "mini"
    live = tmp_path / ".mini.tmp-live"
    with io.locked(target):
        live.mkdir()
        assert io.recover(target) is False  # someone writes it now: its temp folder is not stale
        assert live.is_dir()
    assert io.recover(target) is True and _tree(tmp_path) == []


def test_a_second_save_waits_for_the_first_and_both_succeed(tmp_path):
    path = _shop(3).save(tmp_path / "mini")
    done = {}

    def second_prepare():
        done["path"] = _shop(6).save(path)
        done["at"] = time.monotonic()

    with io.locked(path):  # the first writer holds the folder
        worker = threading.Thread(target=second_prepare)
        worker.start()
        time.sleep(0.5)
        assert (
            "path" not in done and len(ShopData.load(path).events) == 3
        )  # waiting, nothing touched
        released = time.monotonic()
    worker.join(10)
    assert done["at"] >= released and len(ShopData.load(path).events) == 6
    assert _tree(tmp_path) == ["mini"]


def test_a_second_run_into_a_report_folder_in_use_stops_with_the_holders_pid(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("SHOPINTENT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPINTENT_REPORTS", str(tmp_path / "reports"))
    out = tmp_path / "reports" / "synthetic-smoke"
    (out / "metrics").mkdir(parents=True)
    (out / "metrics" / "01_user_behavior_eda.json").write_text("{}")  # the first run's result
    with io.locked(out):
        assert main(["run", "--profile", "smoke", "--only", "01"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"shopintent: error: {out} is in use by pid {os.getpid()}; wait for it to finish or stop it"
    )
    assert (out / "metrics" / "01_user_behavior_eda.json").read_text() == "{}"  # untouched
    assert not (tmp_path / "data" / "processed").exists()  # it stopped before preparing anything


def test_in_use_names_the_holder(tmp_path):
    with (
        io.locked(tmp_path / "x"),
        pytest.raises(io.InUseError, match=f"in use by pid {os.getpid()}"),
    ):
        with io.locked(tmp_path / "x"):
            pass


def test_a_full_disk_is_one_line_naming_the_dataset_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHOPINTENT_DATA", str(tmp_path / "data"))

    def disk_full(df, file, table):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write() raises it: no file name

    monkeypatch.setattr(store, "_write_parquet", disk_full)
    assert main(["data", "prepare", "--dataset", "synthetic", "--profile", "smoke"]) == 1
    err = capsys.readouterr().err  # the progress bar, then one line
    target = tmp_path / "data" / "processed" / "synthetic-smoke"
    assert err.rsplit("\r", 1)[-1].strip().splitlines()[-1:] == [
        f"shopintent: error: No space left on device: {target}"
    ]
    assert "Traceback" not in err
    assert _tree(tmp_path / "data" / "processed") == []  # no temp folder, no lock file


def test_a_full_disk_while_writing_a_report_file_names_it(tmp_path, monkeypatch):
    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io.Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        io.write_json(tmp_path / "run.json", {"a": 1})
    assert (
        caught.value.filename == str(tmp_path / "run.json") and caught.value.errno == errno.ENOSPC
    )
    assert _tree(tmp_path) == []


@pytest.mark.parametrize("variable", ["SHOPINTENT_REPORTS", "SHOPINTENT_DATA"])
def test_a_root_that_is_a_file_is_one_line_naming_it(tmp_path, monkeypatch, capsys, variable):
    monkeypatch.setenv("SHOPINTENT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPINTENT_REPORTS", str(tmp_path / "reports"))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(variable, str(blocker))
    assert main(["run", "--profile", "smoke", "--only", "01"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(blocker) in err and "Traceback" not in err


def test_no_permission_is_one_line_naming_the_path(tmp_path, monkeypatch, capsys):
    reports = tmp_path / "reports"
    reports.mkdir(mode=0o500)
    monkeypatch.setenv("SHOPINTENT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPINTENT_REPORTS", str(reports))
    if os.geteuid() == 0:  # root ignores the mode: refuse the lock file's creation instead
        real_open = os.open

        def refused(path, flags, mode=0o777, **kwargs):
            if str(path).startswith(str(reports)):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, mode, **kwargs)

        monkeypatch.setattr(io.os, "open", refused)
    try:
        assert main(["run", "--profile", "smoke", "--only", "01"]) == 1
    finally:
        reports.chmod(0o700)
    err = capsys.readouterr().err
    assert err.startswith("shopintent: error: Permission denied: ") and str(reports) in err
    assert err.count("\n") == 1


def test_npz_and_parquet_failures_leave_nothing(tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError) as caught:
        io.write_npz(tmp_path / "a.npz", {"x": np.arange(2)})
    assert caught.value.filename == str(tmp_path / "a.npz") and _tree(tmp_path) == []


def test_remove_temps_clears_what_a_killed_run_left_in_its_folder(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "01_a.json").write_text("{}")
    (tmp_path / "metrics" / ".01_a.json.tmp-x1y2").write_text("{")  # killed mid-write
    (tmp_path / "figures" / ".bars.html.tmp-q" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden-but-mine").write_text("kept")
    assert io.remove_temps(tmp_path) == 2
    found = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert found == [".hidden-but-mine", "figures", "metrics", "metrics/01_a.json"]
