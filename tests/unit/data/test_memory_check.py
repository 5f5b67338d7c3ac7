"""The early stop of a pandas prepare that would not fit in memory: estimated from the source's
size, raised before anything is read, naming --engine spark; and the ways to override it."""

import gzip
import sys

import pytest

from shopintent.cli import main
from shopintent.data import memory, registry


@pytest.fixture
def tiny_machine(monkeypatch):
    """A machine with 1 MB free."""
    monkeypatch.delenv(memory.IGNORE_ENV, raising=False)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10**6)


@pytest.fixture
def log(tmp_path, monkeypatch):
    """A 200 kB 'rees46' file whose loader must not run (the check comes first)."""
    path = tmp_path / "2019-Oct.csv"
    path.write_text("x" * 200_000)

    def never(*args, **kwargs):
        raise AssertionError("the source was read before the memory check")

    monkeypatch.setattr("shopintent.data.sources.rees46.load", never)
    return path


def test_a_source_too_large_stops_before_reading_and_names_spark(tiny_machine, log, data_root):
    with pytest.raises(memory.TooBigForPandas) as err:
        registry.prepare("rees46", source=log, save_as="big")
    message = str(err.value)
    need = memory.estimate("rees46", log) / 1e6
    assert message.startswith(f"big: the source (200 kB) needs about {need:.0f} MB in pandas")
    assert "this machine has 1 MB free; prepare it with --engine spark" in message
    assert not (data_root / "processed" / "big").exists()


def test_the_command_line_exits_2_with_the_message(tiny_machine, log, data_root, capsys):
    argv = ["data", "prepare", "--dataset", "rees46", "--source", str(log)]
    assert main(argv) == 2
    assert "prepare it with --engine spark" in capsys.readouterr().err
    # the flag skips the check: the (fake) loader runs and fails its own way
    with pytest.raises(AssertionError, match="read before the memory check"):
        main([*argv, "--ignore-memory-check"])


def test_the_environment_variable_skips_the_check(tiny_machine, log, monkeypatch):
    monkeypatch.setenv(memory.IGNORE_ENV, "1")
    with pytest.raises(AssertionError, match="read before the memory check"):
        registry.prepare("rees46", source=log, save_as="big")


def test_the_synthetic_shop_by_events_is_checked_by_its_size(tiny_machine, data_root):
    with pytest.raises(
        memory.TooBigForPandas,
        match=r"synthetic-e10000000: the source "
        r"\(10,000,000 events\) needs about 6\.0 GB",
    ):
        registry.prepare("synthetic", n_events=10**7)
    # on Spark's layout the shop is written block by block: no check, no pandas
    assert memory.estimate("synthetic", n_events=10**7) == 10**7 * memory.SYNTHETIC_BYTES_PER_EVENT


def test_a_source_that_fits_is_prepared(shared_data, data_root, monkeypatch):
    monkeypatch.delenv(memory.IGNORE_ENV, raising=False)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10**10)
    src = shared_data / "rees46-2019oct-head1000" / "2019-Oct-sample.csv"
    assert registry.prepare("rees46", source=src, save_as="small").is_dir()


def test_compressed_and_parquet_files_are_scaled_by_their_measured_factors(tmp_path):
    plain = tmp_path / "a.csv"
    plain.write_bytes(b"1" * 1000)
    packed = tmp_path / "gz" / "a.csv.gz"
    packed.parent.mkdir()
    packed.write_bytes(gzip.compress(b"1" * 100_000))
    n = packed.stat().st_size
    assert memory.estimate("taobao", plain) == 1000 * memory.RAM_PER_BYTE["taobao"]
    assert memory.estimate("taobao", packed.parent) == int(
        n * memory.INFLATION[".gz"] * memory.RAM_PER_BYTE["taobao"]
    )
    table = tmp_path / "t.parquet"
    table.write_bytes(b"0" * 100)
    assert memory.estimate("orders", table) == 100 * memory.PARQUET_RAM_PER_BYTE


def test_free_memory_comes_from_proc_meminfo_without_psutil(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil now raises ImportError
    free = memory.available_bytes()
    assert free is None or free > 0
