"""Reading publishers' original files, with errors that name the file, line and column.

Every loader reads through here, so every source fails the same way on bad input: a file
that is missing or empty, the wrong separator, a missing column, bytes that are not in the
expected encoding, a truncated or corrupt archive, or rows whose fields cannot be parsed.
With ``on_bad_rows="skip"`` unparseable rows are dropped instead and counted in a
``BadRows`` report (kept in the dataset's ``meta.json``). Line numbers count from 1 and
include the header.

Every physical line is accounted for: none of the supported delimited formats has multi-line
fields, so after reading a file the lines in it must equal the header plus the records parsed
plus the lines skipped as malformed. When they do not (a stray ``"`` that opens a quoted field
running over many lines), the read fails naming the line where that field starts, whatever
``on_bad_rows`` says. A UTF-8 byte-order mark is stripped; the header is taken literally (no
implicit index column); a last line without a final newline is accepted only when it is
complete by type (all its fields, the last one as wide as in every other line: a date, a
UUID), otherwise it is reported as possibly cut short. ``BadRows`` also records the lines
read per file and the duplicate rows found. The row-level checks of what was read (types,
ranges, times, duplicate keys) are in ``checks``.
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
#: bad rows quoted in a message or kept as examples in the report
EXAMPLES = 5


class SourceError(ValueError):
    """An original file is not what its loader expects; the message says where and why."""


@dataclass
class BadRows:
    """Rows skipped under ``on_bad_rows="skip"``: a count per file and the first reasons."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    #: per file: physical lines, header lines, records parsed, lines the reader skipped
    lines: dict[str, dict] = field(default_factory=dict)
    #: per file: exact duplicate rows found, whether they were dropped, and the first examples
    duplicates: dict[str, dict] = field(default_factory=dict)

    def add(self, path: Path, lines: np.ndarray, reason: str | list[str]) -> None:
        """Count ``lines`` as skipped; ``reason`` is one for all or one per line."""
        name = Path(path).name
        self.counts[name] = self.counts.get(name, 0) + len(lines)
        ex = self.examples.setdefault(name, [])
        reasons = [reason] * len(lines) if isinstance(reason, str) else list(reason)
        ex.extend(
            f"line {int(n)}: {r}"
            for n, r in list(zip(lines, reasons, strict=True))[: EXAMPLES - len(ex)]
        )

    def add_duplicates(
        self, path: Path, lines: np.ndarray, firsts: np.ndarray, dropped: bool
    ) -> None:
        """Record exact duplicate rows at ``lines`` (each repeating the row at ``firsts``)."""
        entry = self.duplicates.setdefault(
            Path(path).name, {"rows": 0, "dropped": dropped, "examples": []}
        )
        entry["rows"] += len(lines)
        room = EXAMPLES - len(entry["examples"])
        entry["examples"].extend(
            f"line {int(n)} repeats line {int(f)}"
            for n, f in list(zip(lines, firsts, strict=True))[: max(room, 0)]
        )

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_meta(self) -> dict:
        return {
            "total": self.total,
            "per_file": self.counts,
            "examples": self.examples,
            "lines_read": self.lines,
            "duplicates": self.duplicates,
        }


def check_on_bad_rows(value: str) -> None:
    if value not in ON_BAD_ROWS:
        raise ValueError(f"on_bad_rows must be one of {', '.join(ON_BAD_ROWS)}, got {value!r}")


#: endings of a compressed copy of a file: ``x.csv`` and ``x.csv.gz`` are the same data
COMPRESSED = (".gz", ".zip")


def _plain_name(path: Path) -> str:
    name = Path(path).name
    for ext in COMPRESSED:
        name = name.removesuffix(ext)
    return name


def refuse_copies(files: list[Path], dataset: str) -> None:
    """Fail if one file is present both plain and compressed (``2019-Oct.csv`` and ``.csv.gz``)."""
    seen: dict[str, Path] = {}
    for path in files:
        other = seen.setdefault(_plain_name(path), path)
        if other != path:
            raise SourceError(
                f"{dataset}: {other.name} and {path.name} in {path.parent} hold the same file "
                "plain and compressed: reading both would count every row twice; keep one"
            )


def source_files(source: Path, dataset: str, patterns: tuple[str, ...]) -> list[Path]:
    """The files of ``source`` (a file, or a folder searched for ``patterns``), sorted.

    A folder holding one file both plain and compressed is refused (its rows would be read twice).
    """
    source = Path(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise SourceError(f"{dataset}: {source} does not exist")
    files = sorted({p for pat in patterns for p in source.glob(pat) if p.is_file()})
    if not files:
        raise SourceError(f"{dataset}: no file matching {', '.join(patterns)} in {source}")
    refuse_copies(files, dataset)
    return files


def source_file(source: Path, dataset: str, names: tuple[str, ...]) -> Path:
    """The first of ``names`` (e.g. ``train.csv``, ``train.csv.zip``) found in folder ``source``.

    Two of ``names`` that are one file plain and compressed are refused when both are present.
    """
    source = Path(source)
    if source.is_file() and source.name in names:
        return source
    found = [source / name for name in names if (source / name).is_file()]
    if found:
        refuse_copies(found, dataset)
        return found[0]
    raise SourceError(f"{dataset}: expected {' or '.join(names)} in {source}")


BOM = b"\xef\xbb\xbf"


class _Counter(io.RawIOBase):
    """A byte stream that counts the newlines passing through it and keeps the last byte."""

    def __init__(self, raw):
        self._raw = raw
        self.newlines = 0
        self.quotes = 0
        self.size = 0
        self.last = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            chunk = bytes(memoryview(buffer)[:n])
            self.newlines += chunk.count(b"\n")
            self.quotes += chunk.count(b'"')
            self.size += n
            self.last = chunk[-1:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()

    def physical_lines(self) -> int:
        """Lines in the stream: a last line without a newline counts too."""
        return self.newlines + (1 if self.size and self.last != b"\n" else 0)


def _open_counted(
    path: Path, encoding: str, errors: str = "strict"
) -> tuple[io.TextIOBase, _Counter]:
    """A text stream of a plain, .gz or single-member .zip file, past any UTF-8 byte-order
    mark, and the counter of its bytes."""
    if path.suffix == ".gz":
        import gzip

        raw = gzip.open(path, "rb")
    elif path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            members = [
                m for m in zf.namelist() if not m.endswith("/") and not m.startswith("__MACOSX")
            ]
            if len(members) != 1:
                raise SourceError(
                    f"{path}: expected one file in the zip archive, found {len(members)}"
                )
            raw = io.BytesIO(zf.read(members[0]))
    else:
        raw = open(path, "rb")  # noqa: SIM115 - closed with the text stream
    try:
        if raw.read(len(BOM)) != BOM:
            raw.seek(0)
    except BaseException:
        raw.close()
        raise
    counter = _Counter(raw)
    text = io.TextIOWrapper(
        io.BufferedReader(counter, buffer_size=1 << 20),
        encoding=encoding,
        errors=errors,
        newline="",
    )
    return text, counter


def _open_text(path: Path, encoding: str, errors: str = "strict") -> io.TextIOBase:
    """A text stream of a plain, .gz or single-member .zip file (UTF-8 byte-order mark skipped)."""
    return _open_counted(path, encoding, errors)[0]


def _first_line(path: Path, encoding: str) -> str:
    try:  # decoding is done in chunks: bad bytes further down must not fail the header
        with _open_text(path, encoding, errors="replace") as f:
            line = f.readline().rstrip("\r\n")
    except (EOFError, OSError, zipfile.BadZipFile) as err:
        raise SourceError(f"{path}: truncated or corrupt file ({err})") from None
    if "\ufffd" in line:
        raise SourceError(f"{path} line 1: bytes that are not valid {encoding}")
    return line


def header_columns(path: Path, sep: str = ",", encoding: str = "utf-8") -> list[str]:
    """The column names on a delimited file's first line (for a loader with optional columns);
    an empty file fails naming it."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    line = _first_line(path, encoding)
    if not line:
        raise SourceError(f"{path}: the file is empty (expected a header line)")
    return _split(line, sep)


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep)) if line else []


def _check_header(path: Path, line: str, columns: list[str], sep: str, header: bool) -> None:
    if not line:
        raise SourceError(
            f"{path}: the file is empty (expected {'a header with ' if header else ''}"
            f"columns {', '.join(columns)})"
        )
    fields = _split(line, sep)
    others = [s for s in (",", ";", "\t", "|") if s != sep and len(_split(line, s)) > len(fields)]
    if header:
        missing = [c for c in columns if c not in fields]
        if not missing:
            return
        hint = f"; the header looks separated by {others[0]!r}, expected {sep!r}" if others else ""
        raise SourceError(
            f"{path} line 1: missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(columns)}; found {', '.join(fields)}){hint}"
        )
    if len(fields) != len(columns):
        hint = f"; the line looks separated by {others[0]!r}, expected {sep!r}" if others else ""
        raise SourceError(
            f"{path} line 1: expected {len(columns)} fields ({', '.join(columns)}) "
            f"separated by {sep!r}, found {len(fields)}{hint}"
        )


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


def read_csv(
    path: Path,
    columns: list[str],
    *,
    sep: str = ",",
    header: bool = True,
    encoding: str = "utf-8",
    na_values: tuple[str, ...] = (),
    on_bad_rows: str = "error",
    bad: BadRows | None = None,
    multiline: bool = False,
) -> pd.DataFrame:
    """``columns`` of a delimited file as strings (missing fields as None) plus ``_line``.

    ``multiline=True`` accepts quoted fields holding line breaks (review texts): ``_line`` is
    then the line where each record starts, and the lines read are accounted for as records
    (found by the csv module) plus the continuation lines inside them.

    ``header=False`` names the fields ``columns`` in order. Fails, or with
    ``on_bad_rows="skip"`` drops and counts, rows with the wrong number of fields, bytes that
    are not ``encoding`` and a last line that may be cut short. Always fails when a record
    spans lines (see the module's docstring); the lines read are recorded in ``bad.lines``.
    """
    check_on_bad_rows(on_bad_rows)
    bad = bad if bad is not None else BadRows()
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    first_line = _first_line(path, encoding)
    _check_header(path, first_line, columns, sep, header)
    n_header = 1 if header else 0
    width = len(_split(first_line, sep)) if header else len(columns)
    skipped: list[int] = []  # file line numbers of rows with the wrong number of fields
    counted: list[_Counter] = []

    def read(errors: str) -> pd.DataFrame:
        skipped.clear()
        text, counter = _open_counted(path, encoding, errors)
        counted[:] = [counter]
        with text as f, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(
                f,
                sep=sep,
                header=0 if header else None,
                names=None if header else columns,
                dtype=str,
                keep_default_na=False,
                na_values=list(na_values),
                engine="c",
                index_col=False,
                skip_blank_lines=False,
                on_bad_lines="error" if on_bad_rows == "error" else "warn",
            )
        widened = False
        for w in caught:  # "Skipping line 7: expected 5 fields, saw 6" (1-based file lines)
            skipped.extend(int(n) for n in re.findall(r"Skipping line (\d+)", str(w.message)))
            widened |= "does not match length of data" in str(w.message)
        if (
            widened
        ):  # the first data line has more fields than the header: pandas would drop the rest
            _extra_field_on_first_line(path, sep, width, n_header + 1, on_bad_rows)
            skipped.append(n_header + 1)
            df = df.iloc[1:]
        # Line of each kept row: the data lines in order, minus those skipped (checked below).
        lines = np.arange(n_header + 1, n_header + 1 + len(df) + len(skipped))
        if multiline:
            lines = _record_starts(path, encoding, sep)[n_header:]
        df = df.reset_index(drop=True)
        df["_line"] = np.setdiff1d(lines, skipped, assume_unique=True)[: len(df)]
        return df

    marked = False
    try:
        try:
            df = read("strict")
        except UnicodeDecodeError:
            n, detail = _bad_byte_line(path, encoding)
            if on_bad_rows == "error":
                raise SourceError(
                    f"{path} line {n}: bytes that are not valid {encoding} ({detail})"
                ) from None
            df = read("replace")
            marked = True
        except pd.errors.ParserError as err:
            if not multiline:
                _fail_on_multiline_record(path, encoding, sep)
            m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
            eof = re.search(r"EOF inside string starting at row (\d+)", str(err))
            if m:
                where = (
                    f" line {m.group(2)}: expected {m.group(1)} fields, "
                    f"found {m.group(3)} (a stray {sep!r}?)"
                )
            elif eof:  # pandas counts the file's lines from 0
                where = (
                    f" line {int(eof.group(1)) + 1}: a quoted field never ends (truncated file?)"
                )
            else:
                where = f": {err}"
            raise SourceError(f"{path}{where}") from None
    except (EOFError, OSError, zipfile.BadZipFile) as err:
        raise SourceError(f"{path}: truncated or corrupt file ({err})") from None
    counter = counted[0]
    physical = counter.physical_lines()
    if multiline:
        _account_records(path, encoding, sep, physical, n_header, df, skipped, bad)
    else:
        _account(path, encoding, sep, physical, n_header, df, skipped, bad)
    if skipped:
        bad.add(path, np.array(skipped), "wrong number of fields")
    if marked:
        df = _drop_marked(df, path, bad)
    if len(df) and counter.last not in (b"\n", b"\r") and int(df["_line"].iat[-1]) == physical:
        df = _check_last_line(df, path, encoding, sep, width, on_bad_rows, bad)
    df = _drop_blank(df, path, on_bad_rows, bad)
    lines = df["_line"].to_numpy()
    df = df[columns]  # other columns of the file are not needed
    df = df.astype(object).where(df.notna(), None)
    df["_line"] = lines
    df.attrs["quoted"] = counter.quotes > 0  # parse checks ids for stray quotes only then
    return df


def _account(
    path: Path,
    encoding: str,
    sep: str,
    physical: int,
    n_header: int,
    df: pd.DataFrame,
    skipped: list[int],
    bad: BadRows,
) -> None:
    """Every physical line is the header, a record read, or a line skipped as malformed."""
    records = len(df)
    bad.lines[path.name] = {
        "lines": physical,
        "header": n_header,
        "records": records,
        "malformed": len(skipped),
    }
    if physical == n_header + records + len(skipped):
        return
    _fail_on_multiline_record(path, encoding, sep)
    raise SourceError(
        f"{path}: {physical:,} lines, but {n_header} header + {records:,} records + "
        f"{len(skipped):,} skipped lines account for {n_header + records + len(skipped):,} "
        "(carriage returns inside a line?)"
    )


def _record_starts(path: Path, encoding: str, sep: str) -> np.ndarray:
    """The line (from 1) where each record of the file starts, header included."""
    starts, prev = [], 0
    with _open_text(path, encoding, errors="replace") as f:
        reader = csv.reader(f, delimiter=sep)
        try:
            for _ in reader:
                starts.append(prev + 1)
                prev = reader.line_num
        except csv.Error as err:
            raise SourceError(
                f"{path} line {prev + 1}: a quoted field starts on this line and never ends "
                f"({err}): a stray '\"' or a truncated file?"
            ) from None
    return np.array(starts, dtype=np.int64)


def _account_records(
    path: Path,
    encoding: str,
    sep: str,
    physical: int,
    n_header: int,
    df: pd.DataFrame,
    skipped: list[int],
    bad: BadRows,
) -> None:
    """With multi-line fields: every record is the header, a record read or a malformed line,
    and the other lines continue a quoted field."""
    n = len(_record_starts(path, encoding, sep))
    records = len(df)
    bad.lines[path.name] = {
        "lines": physical,
        "header": n_header,
        "records": records,
        "malformed": len(skipped),
        "continuation": physical - n,
    }
    if n != n_header + records + len(skipped):
        raise SourceError(
            f"{path}: {n:,} records, but {n_header} header + {records:,} read + "
            f"{len(skipped):,} skipped account for {n_header + records + len(skipped):,}"
        )


def _fail_on_multiline_record(path: Path, encoding: str, sep: str) -> None:
    """Raise naming the first record that spans lines (a quoted field with a newline), if any.

    Slow (the csv module, line by line): called only once a read went wrong.
    """
    prev = 0
    with _open_text(path, encoding, errors="replace") as f:
        reader = csv.reader(f, delimiter=sep)
        try:
            for _ in reader:
                if reader.line_num - prev > 1:
                    break
                prev = reader.line_num
            else:
                return
        except (
            csv.Error
        ) as err:  # e.g. a field over the csv module's size limit: the quote never closed
            raise SourceError(
                f"{path} line {prev + 1}: a quoted field starts on this line and does not "
                f"end on it ({err}); this format has no multi-line fields: a stray '\"'?"
            ) from None
    raise SourceError(
        f"{path} line {prev + 1}: a quoted field starts on this line and ends on line "
        f"{reader.line_num}, merging {reader.line_num - prev} lines into one record; this format "
        "has no multi-line fields: a stray '\"'?"
    )


def _extra_field_on_first_line(
    path: Path, sep: str, width: int, line: int, on_bad_rows: str
) -> None:
    if on_bad_rows == "error":
        raise SourceError(
            f"{path} line {line}: expected {width} fields, found more (a stray {sep!r}?)"
        )


def _check_last_line(
    df: pd.DataFrame,
    path: Path,
    encoding: str,
    sep: str,
    width: int,
    on_bad_rows: str,
    bad: BadRows,
) -> pd.DataFrame:
    """A last line without a final newline must be complete: all its fields, the last one as wide
    as in every other line (a date, a UUID). Otherwise it may be cut short: fail, or skip it."""
    line = int(df["_line"].iat[-1])
    found = len(_split(_last_line(path, encoding), sep))
    names = [c for c in df.columns if c != "_line"]
    if found < width:
        reason = (
            f"expected {width} fields, found {found}: column(s) {', '.join(names[found:])} "
            "missing (a truncated line?)"
        )
    else:
        col = names[-1]
        values = df[col].iloc[:-1].dropna().astype(str)
        value = df[col].iat[-1]
        widths = values.str.len()
        if (
            len(values)
            and widths.min() == widths.max()
            and isinstance(value, str)
            and len(value) == widths.iat[0]
        ):
            return df
        reason = (
            f"column {col}: {value!r} ends the file without a newline and may be cut short "
            "(a truncated download?)"
        )
    if on_bad_rows == "error":
        raise SourceError(f"{path} line {line}: {reason}")
    bad.add(path, np.array([line]), reason)
    return df.iloc[:-1]


def _last_line(path: Path, encoding: str) -> str:
    """The file's last line (a plain file is read from its end; a compressed one streamed)."""
    if path.suffix not in COMPRESSED:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 65536))
            tail = f.read()
    else:
        tail = b""
        with _open_text(path, "latin-1") as f:  # latin-1 maps bytes 1:1
            while chunk := f.read(1 << 20):
                tail = (tail + chunk.encode("latin-1"))[-65536:]
    return tail.decode(encoding, "replace").splitlines()[-1]


def _drop_blank(df: pd.DataFrame, path: Path, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    """Blank lines are records with no fields: fail on them, or skip and count them."""
    text = df.drop(columns="_line")
    if text.empty:
        return df
    first = text.iloc[:, 0]
    maybe = (first.isna() | (first == "")).to_numpy()
    if not maybe.any():
        return df
    sub = text[maybe]
    blank = np.zeros(len(text), dtype=bool)
    blank[np.flatnonzero(maybe)] = (sub.isna() | (sub == "")).all(axis=1).to_numpy()
    if not blank.any():
        return df
    lines = df["_line"].to_numpy()[blank]
    if on_bad_rows == "error":
        more = f" ({len(lines)} such lines)" if len(lines) > 1 else ""
        raise SourceError(f"{path} line {lines[0]}: a blank line{more}")
    bad.add(path, lines, "a blank line")
    return df[~blank].reset_index(drop=True)


def _drop_marked(df: pd.DataFrame, path: Path, bad: BadRows) -> pd.DataFrame:
    text = df.drop(columns="_line")
    marked = (
        text.apply(lambda s: s.str.contains("\ufffd", regex=False, na=False)).any(axis=1).to_numpy()
    )
    lines = df["_line"].to_numpy()[marked]
    if len(lines):
        bad.add(path, lines, "undecodable bytes")
    return df[~marked]


def read_jsonl(
    path: Path, required: tuple[str, ...], *, on_bad_rows: str = "error", bad: BadRows | None = None
) -> pd.DataFrame:
    """A JSON-lines file (plain or .gz) as a DataFrame plus ``_line``.

    Every object needs ``required``.
    """
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
                    reason = (
                        str(err)
                        if "key" in str(err) or "object" in str(err)
                        else f"not valid JSON ({err})"
                    )
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
