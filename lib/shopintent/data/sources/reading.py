"""Reading publishers' original files, with errors that name the file, line and column.

Every loader reads through here, so every source fails the same way on bad input: a file
that is missing or empty, the wrong separator, a missing column, bytes that are not in the
expected encoding, a truncated or corrupt archive, or rows whose fields cannot be parsed.
With ``on_bad_rows="skip"`` unparseable rows are dropped instead and counted in a
``BadRows`` report (kept in the dataset's ``meta.json``). Line numbers count from 1 and
include the header; they assume one record per line, as all supported sources have.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ON_BAD_ROWS = ("error", "skip")
_EXAMPLES = 5


class SourceError(ValueError):
    """An original file is not what its loader expects; the message says where and why."""


@dataclass
class BadRows:
    """Rows skipped under ``on_bad_rows="skip"``: a count per file and the first reasons."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: Path, lines: np.ndarray, reason: str | list[str]) -> None:
        """Count ``lines`` as skipped; ``reason`` is one for all or one per line."""
        name = Path(path).name
        self.counts[name] = self.counts.get(name, 0) + len(lines)
        ex = self.examples.setdefault(name, [])
        reasons = [reason] * len(lines) if isinstance(reason, str) else list(reason)
        ex.extend(f"line {int(n)}: {r}" for n, r in list(zip(lines, reasons, strict=True))[: _EXAMPLES - len(ex)])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_meta(self) -> dict:
        return {"total": self.total, "per_file": self.counts, "examples": self.examples}


def check_on_bad_rows(value: str) -> None:
    if value not in ON_BAD_ROWS:
        raise ValueError(f"on_bad_rows must be one of {', '.join(ON_BAD_ROWS)}, got {value!r}")


def source_files(source: Path, dataset: str, patterns: tuple[str, ...]) -> list[Path]:
    """The files of ``source`` (a file, or a folder searched for ``patterns``), sorted."""
    source = Path(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise SourceError(f"{dataset}: {source} does not exist")
    files = sorted({p for pat in patterns for p in source.glob(pat) if p.is_file()})
    if not files:
        raise SourceError(f"{dataset}: no file matching {', '.join(patterns)} in {source}")
    return files


def source_file(source: Path, dataset: str, names: tuple[str, ...]) -> Path:
    """The first of ``names`` (e.g. ``train.csv``, ``train.csv.zip``) found in the folder ``source``."""
    source = Path(source)
    if source.is_file() and source.name in names:
        return source
    for name in names:
        if (source / name).is_file():
            return source / name
    raise SourceError(f"{dataset}: expected {' or '.join(names)} in {source}")


def _open_text(path: Path, encoding: str, errors: str = "strict") -> io.TextIOBase:
    """A text stream of a plain, .gz or single-member .zip file."""
    if path.suffix == ".gz":
        import gzip

        return gzip.open(path, "rt", encoding=encoding, errors=errors, newline="")
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/") and not m.startswith("__MACOSX")]
            if len(members) != 1:
                raise SourceError(f"{path}: expected one file in the zip archive, found {len(members)}")
            data = zf.read(members[0])
        return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors=errors, newline="")
    return open(path, encoding=encoding, errors=errors, newline="")


def _first_line(path: Path, encoding: str) -> str:
    try:  # decoding is done in chunks: bad bytes further down must not fail the header
        with _open_text(path, encoding, errors="replace") as f:
            line = f.readline().rstrip("\r\n")
    except (EOFError, OSError, zipfile.BadZipFile) as err:
        raise SourceError(f"{path}: truncated or corrupt file ({err})") from None
    if "\ufffd" in line:
        raise SourceError(f"{path} line 1: bytes that are not valid {encoding}")
    return line


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep)) if line else []


def _check_header(path: Path, line: str, columns: list[str], sep: str, header: bool) -> None:
    if not line:
        raise SourceError(f"{path}: the file is empty (expected {'a header with ' if header else ''}"
                          f"columns {', '.join(columns)})")
    fields = _split(line, sep)
    others = [s for s in (",", ";", "\t", "|") if s != sep and len(_split(line, s)) > len(fields)]
    if header:
        missing = [c for c in columns if c not in fields]
        if not missing:
            return
        hint = f"; the header looks separated by {others[0]!r}, expected {sep!r}" if others else ""
        raise SourceError(f"{path} line 1: missing column(s) {', '.join(missing)} "
                          f"(expected {', '.join(columns)}; found {', '.join(fields)}){hint}")
    if len(fields) != len(columns):
        hint = f"; the line looks separated by {others[0]!r}, expected {sep!r}" if others else ""
        raise SourceError(f"{path} line 1: expected {len(columns)} fields ({', '.join(columns)}) "
                          f"separated by {sep!r}, found {len(fields)}{hint}")


def _bad_byte_line(path: Path, encoding: str) -> tuple[int, str]:
    """Line number (1-based) and detail of the first line that does not decode."""
    with _open_text(path, "latin-1") as f:  # latin-1 never fails: re-encode to find the bad line
        for n, line in enumerate(f, start=1):
            raw = line.encode("latin-1")
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as err:
                return n, f"byte {raw[err.start]:#04x} at column {err.start + 1}"
    return 0, "undecodable bytes"


def read_csv(path: Path, columns: list[str], *, sep: str = ",", header: bool = True,
             encoding: str = "utf-8", na_values: tuple[str, ...] = (), on_bad_rows: str = "error",
             bad: BadRows | None = None) -> pd.DataFrame:
    """``columns`` of a delimited file as strings (missing fields as None) plus ``_line``.

    ``header=False`` names the fields ``columns`` in order. Fails, or with
    ``on_bad_rows="skip"`` drops and counts, rows with the wrong number of fields or
    bytes that are not ``encoding``.
    """
    check_on_bad_rows(on_bad_rows)
    bad = bad if bad is not None else BadRows()
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    _check_header(path, _first_line(path, encoding), columns, sep, header)
    skipped: list[int] = []  # file line numbers of rows with the wrong number of fields

    def read(errors: str) -> pd.DataFrame:
        with _open_text(path, encoding, errors) as f, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(f, sep=sep, header=0 if header else None, names=None if header else columns,
                             dtype=str, keep_default_na=False, na_values=list(na_values), engine="c",
                             on_bad_lines="error" if on_bad_rows == "error" else "warn")
        for w in caught:  # "Skipping line 7: expected 5 fields, saw 6" (1-based file lines)
            skipped.extend(int(n) for n in re.findall(r"Skipping line (\d+)", str(w.message)))
        # Line of each kept row: the data lines in order, minus those skipped.
        first = 2 if header else 1
        lines = np.arange(first, first + len(df) + len(skipped))
        df["_line"] = np.setdiff1d(lines, skipped, assume_unique=True)[: len(df)]
        return df

    try:
        df = read("strict")
    except UnicodeDecodeError:
        n, detail = _bad_byte_line(path, encoding)
        if on_bad_rows == "error":
            raise SourceError(f"{path} line {n}: bytes that are not valid {encoding} ({detail})") from None
        skipped.clear()
        df = _drop_marked(read("replace"), path, bad)
    except pd.errors.ParserError as err:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        eof = re.search(r"EOF inside string starting at row (\d+)", str(err))
        if m:
            where = f" line {m.group(2)}: expected {m.group(1)} fields, found {m.group(3)} (a stray {sep!r}?)"
        elif eof:  # pandas counts the file's lines from 0
            where = f" line {int(eof.group(1)) + 1}: a quoted field never ends (truncated file?)"
        else:
            where = f": {err}"
        raise SourceError(f"{path}{where}") from None
    except (EOFError, OSError, zipfile.BadZipFile) as err:
        raise SourceError(f"{path}: truncated or corrupt file ({err})") from None
    if skipped:
        bad.add(path, np.array(skipped), "wrong number of fields")
    lines = df["_line"].to_numpy()
    df = df[columns]  # other columns of the file are not needed
    df = df.astype(object).where(df.notna(), None)
    df["_line"] = lines
    return df


def _drop_marked(df: pd.DataFrame, path: Path, bad: BadRows) -> pd.DataFrame:
    text = df.drop(columns="_line")
    marked = text.apply(lambda s: s.str.contains("\ufffd", regex=False, na=False)).any(axis=1).to_numpy()
    lines = df["_line"].to_numpy()[marked]
    if len(lines):
        bad.add(path, lines, "undecodable bytes")
    return df[~marked]


def read_jsonl(path: Path, required: tuple[str, ...], *, on_bad_rows: str = "error",
               bad: BadRows | None = None) -> pd.DataFrame:
    """A JSON-lines file (plain or .gz) as a DataFrame plus ``_line``; every object needs ``required``."""
    check_on_bad_rows(on_bad_rows)
    bad = bad if bad is not None else BadRows()
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    records, lines = [], []
    try:
        with _open_text(path, "utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError("not a JSON object")
                    missing = [k for k in required if k not in obj]
                    if missing:
                        raise ValueError(f"missing key(s) {', '.join(missing)}")
                except ValueError as err:
                    reason = str(err) if "key" in str(err) or "object" in str(err) else f"not valid JSON ({err})"
                    if on_bad_rows == "error":
                        raise SourceError(f"{path} line {n}: {reason}") from None
                    bad.add(path, np.array([n]), reason)
                    continue
                records.append(obj)
                lines.append(n)
    except UnicodeDecodeError:
        n, detail = _bad_byte_line(path, "utf-8")
        raise SourceError(f"{path} line {n}: bytes that are not valid utf-8 ({detail})") from None
    except (EOFError, OSError, zipfile.BadZipFile) as err:
        raise SourceError(f"{path}: truncated or corrupt file ({err})") from None
    if not records:
        raise SourceError(f"{path}: no records (expected JSON objects with {', '.join(required)})")
    df = pd.DataFrame.from_records(records)
    df["_line"] = lines
    return df


def _plain(v):
    """numpy scalars as plain Python values, so messages read 4.5 rather than np.float64(4.5)."""
    return v.item() if isinstance(v, np.generic) else v


def reject_rows(raw: pd.DataFrame, path: Path, invalid: np.ndarray, col: str, what: str, on_bad_rows: str,
                bad: BadRows) -> pd.DataFrame:
    """Fail on (or skip and count) the rows where ``invalid``, naming file, line, column and value.

    For checks ``parse`` cannot express (a range, a reference to another file, a duplicate).
    """
    if not invalid.any():
        return raw
    first = np.flatnonzero(invalid)[0]
    reason = f"column {col}: {_plain(raw[col].iat[first])!r} {what}"
    if on_bad_rows == "error":
        raise SourceError(f"{path} line {raw['_line'].iat[first]}: {reason}")
    bad.add(path, raw["_line"].to_numpy()[invalid], reason)
    return raw[~invalid].reset_index(drop=True)


#: kinds understood by ``parse``: what a bad value "is not"
_KINDS = {"str": "a non-empty value", "int": "an integer", "float": "a number", "unix_s": "unix seconds",
          "datetime": "a date-time"}


def parse(df: pd.DataFrame, path: Path, spec: dict[str, str | tuple], *, on_bad_rows: str = "error",
          bad: BadRows | None = None) -> pd.DataFrame:
    """Parse string columns by ``spec``; a bad value fails naming file, line, column and value.

    Kinds: ``"str"`` (required), ``"int"``, ``"float"``, ``"unix_s"`` (to UTC timestamps),
    ``("datetime", format)`` and ``("choice", values)``; a trailing ``"?"`` (``"float?"``)
    allows empty values (returned as null).
    """
    bad = bad if bad is not None else BadRows()
    out = df.copy()
    keep = np.ones(len(df), dtype=bool)
    for col, kind in spec.items():
        s = df[col]
        optional = isinstance(kind, str) and kind.endswith("?")
        kind = kind[:-1] if optional else kind
        empty = s.isna().to_numpy() | (s.astype(str).str.strip() == "").to_numpy()
        name = kind[0] if isinstance(kind, tuple) else kind
        if name == "str":
            parsed = s.where(~empty, None)
        elif name in ("int", "float"):
            parsed = pd.to_numeric(s.where(~empty, None), errors="coerce")
            if name == "int":
                parsed = parsed.where(parsed == np.floor(parsed))
        elif name == "unix_s":
            num = pd.to_numeric(s.where(~empty, None), errors="coerce")
            parsed = pd.to_datetime(num, unit="s", utc=True, errors="coerce")
        elif name == "datetime":
            parsed = pd.to_datetime(s.where(~empty, None), format=kind[1], utc=True, errors="coerce")
        elif name == "choice":
            parsed = s.where(s.isin(kind[1]))
        else:
            raise AssertionError(kind)
        invalid = (~empty & pd.isna(parsed).to_numpy()) | (empty & (not optional))
        if invalid.any():
            what = (f"one of {', '.join(map(str, kind[1]))}" if name == "choice"
                    else f"{_KINDS[name]}" + (f" like {kind[1]!r}" if name == "datetime" else ""))
            if on_bad_rows == "error":
                rows = np.flatnonzero(invalid)
                first = rows[0]
                raise SourceError(f"{path} line {df['_line'].iat[first]}: column {col}: {_plain(s.iat[first])!r} is not "
                                  f"{what}" + (f" ({len(rows)} such rows)" if len(rows) > 1 else ""))
            new = invalid & keep  # a row bad in several columns is counted once
            if new.any():
                bad.add(path, df["_line"].to_numpy()[new],
                        [f"column {col}: {_plain(v)!r} is not {what}" for v in s[new].iloc[:_EXAMPLES]]
                        + [""] * max(0, int(new.sum()) - _EXAMPLES))
            keep &= ~invalid
        out[col] = parsed
    return out[keep].reset_index(drop=True)
