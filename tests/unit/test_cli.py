"""The `shopintent` command line round trip on the smoke profile."""

import subprocess
import sys
from pathlib import Path

import pytest

from shopintent.cli import main
from shopintent.data.registry import dataset_dir, load


def test_prepare_then_list_then_load(data_root, capsys):
    assert main(["data", "prepare", "--dataset", "synthetic", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    path = data_root / "processed" / "synthetic-smoke"
    assert dataset_dir("synthetic", "smoke") == path.resolve()
    assert f"-> {path.resolve()}" in out and "events " in out
    for table in ("events", "items", "queries", "reviews", "session_truth"):
        assert (path / f"{table}.parquet").is_file()
    shop = load("synthetic", "smoke")  # validates on load
    assert main(["data", "list"]) == 0
    listing = capsys.readouterr().out
    assert "synthetic-smoke" in listing and f"events {len(shop.events):,}" in listing


def test_list_with_nothing_prepared_says_how_to_start(data_root, capsys):
    assert main(["data", "list"]) == 0
    assert "shopintent data prepare" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, valid",
    [
        (["--dataset", "nope"], "'synthetic'"),
        (["--profile", "huge"], "'smoke', 'default', 'full'"),
    ],
)
def test_unknown_names_fail_with_the_valid_ones(data_root, capsys, args, valid):
    with pytest.raises(SystemExit) as exc:
        main(["data", "prepare", *args])
    assert exc.value.code == 2
    assert valid in capsys.readouterr().err


def test_loading_an_unprepared_dataset_says_how_to_prepare_it(data_root):
    with pytest.raises(
        FileNotFoundError, match="shopintent data prepare --dataset synthetic --profile full"
    ):
        load("synthetic", "full")


def test_command_line_starts_without_tensorflow(data_root):
    code = (
        "import sys; from shopintent.cli import main; main(['data', 'list']); "
        "heavy = [m for m in ('tensorflow', 'keras', 'keras_hub', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_installed_entry_point_answers(data_root):
    script = Path(sys.executable).parent / "shopintent"
    exe = subprocess.run([str(script), "data", "list"], capture_output=True, text=True)
    assert exe.returncode == 0, exe.stderr


def test_own_logs_in_a_public_layout_get_their_own_name(data_root, shared_data, capsys):
    source = shared_data / "rees46-2019oct-head1000"
    assert (
        main(
            ["data", "prepare", "--dataset", "rees46", "--source", str(source), "--name", "myshop"]
        )
        == 0
    )
    shop = load("myshop")
    assert (
        len(shop.events) == 1000
        and shop.meta["dataset"] == "myshop"
        and shop.meta["format"] == "rees46"
    )
    assert main(["data", "list"]) == 0
    assert "myshop" in capsys.readouterr().out
    assert (
        main(
            ["data", "prepare", "--dataset", "rees46", "--source", str(source), "--name", "taobao"]
        )
        == 2
    )
    assert "--name 'taobao'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="prepared under own names: myshop"):
        load("othershop")


def test_prepare_prints_the_loaders_notes(data_root, shared_data, capsys):
    source = shared_data / "amazon-reviews-2018-all-beauty-5core"
    assert main(["data", "prepare", "--dataset", "amazon-reviews", "--source", str(source)]) == 0
    assert (
        "  reviews: 4,219 with 1,363 distinct texts; 3,807 share their text with another item"
        in capsys.readouterr().out
    )
