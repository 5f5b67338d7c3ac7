"""``layouts.read_all``: the one loop the generic layouts share (files in name order, each
converted, mappings and bad rows collected, no valid rows refused)."""

import pytest

from shopintent.data.sources import layouts
from shopintent.data.sources.checks import check_range
from shopintent.data.sources.reading import SourceError

FIELDS = {"item": True, "price": False}
SPEC = {"item": "id", "price": "float?"}


def _source(tmp_path):
    (tmp_path / "a.csv").write_text("Item,price\ni1,2.5\ni2,-1\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("Item\ni3\n", encoding="utf-8")
    return tmp_path


def _no_negative_price(path, rows, mapping, bad):
    return check_range(rows, path, "price", 0, None, "skip", bad)


def test_read_all_joins_converted_files_and_records_mappings_and_bad_rows(tmp_path):
    got = layouts.read_all(
        _source(tmp_path),
        "toy",
        FIELDS,
        SPEC,
        _no_negative_price,
        columns="item=Item",
        on_bad_rows="skip",
    )
    assert got.rows["item"].tolist() == ["i1", "i3"]
    assert "_line" not in got.rows.columns
    assert got.used == {"a.csv": {"item": "Item", "price": "price"}, "b.csv": {"item": "Item"}}
    meta = got.meta()
    assert meta["layout"] == "toy"
    assert meta["columns"] == got.used
    assert meta["bad_rows"]["per_file"] == {"a.csv": 1}


def test_read_all_refuses_a_source_with_no_valid_rows(tmp_path):
    (tmp_path / "a.csv").write_text("item,price\ni1,-1\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"toy: no valid rows in"):
        layouts.read_all(tmp_path, "toy", FIELDS, SPEC, _no_negative_price, on_bad_rows="skip")
