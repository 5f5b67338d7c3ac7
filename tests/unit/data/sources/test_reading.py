"""Shared reading of original files: line numbers stay true when bad rows are skipped."""

import pytest

from shopintent.data.sources.checks import parse
from shopintent.data.sources.reading import BadRows, SourceError, read_csv

COLUMNS = ["a", "b"]


def _write(tmp_path, data: bytes):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    return path


def test_too_many_fields_fail_with_the_line(tmp_path):
    path = _write(tmp_path, b"a,b\n1,2\n3,4,5\n")
    with pytest.raises(SourceError, match=r"x.csv line 3: expected 2 fields, found 3"):
        read_csv(path, COLUMNS)


def test_skipped_rows_do_not_shift_later_line_numbers(tmp_path):
    path = _write(tmp_path, b"a,b\n1,2\n3,4,5\n\xff,6\n7,x\n8,9\n")
    bad = BadRows()
    df = read_csv(path, COLUMNS, on_bad_rows="skip", bad=bad)
    assert df["_line"].tolist() == [2, 5, 6]  # lines 3 (fields) and 4 (bytes) skipped
    assert bad.counts == {"x.csv": 2}
    with pytest.raises(SourceError, match=r"x.csv line 5: column b: 'x' is not an integer"):
        parse(df, path, {"a": "int", "b": "int"})
    kept = parse(df, path, {"a": "int", "b": "int"}, on_bad_rows="skip", bad=bad)
    assert kept["a"].tolist() == [1, 8] and bad.total == 3
    assert bad.examples["x.csv"][-1] == "line 5: column b: 'x' is not an integer"


def test_a_line_truncated_inside_quotes_is_named(tmp_path):
    path = _write(tmp_path, b'a,b\n1,"two"\n3,"fo')
    with pytest.raises(SourceError, match=r"x.csv line 3: a quoted field never ends"):
        read_csv(path, COLUMNS)
