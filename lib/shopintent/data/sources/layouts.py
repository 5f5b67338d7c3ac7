"""What the generic layouts share (``clicks``, ``orders``, ``reviews``, ``judgements``): a user's
own CSV, TSV or Parquet files whose columns a mapping names, read so that every line is
accounted for and every bad row is named by file, line and column.

The mapping says which source column holds each of the layout's fields, given either inline
(``session=SessionId,item=ItemId,time=Timestamp``) or as a JSON file (``{"session":
"SessionId", ...}``, a path ending in ``.json``). A field left out of the mapping is read from a
column of its own name when the file has one; an optional field found nowhere is null, never
invented. A mapped column the file lacks, a required field with no column and a field the
layout does not have each fail naming the file, the field and the columns found.

Files: ``source`` is one file or a folder, whose ``*.csv``, ``*.tsv``, ``*.txt`` (each maybe
``.gz`` or ``.zip``) and ``*.parquet`` files are all read, in name order, with one mapping.
Delimited files need a header line; the separator is ``,`` (``\\t`` for ``.tsv``) unless
``sep`` says otherwise (``tab`` or ``\\t`` for a tab); ``encoding`` is UTF-8 unless given;
``na_values`` (``NA,null``) are further spellings of an empty field. In a Parquet file the
"line" of a row is its number from 1 (there is no header line); its values are read as text
like a CSV's, so the same checks apply.

Times (``time_format``): ``iso`` (the default: ``2024-05-01 10:00:00``, ``2024-05-01T10:00Z``,
``2024-05-01``; without a zone, UTC), ``unix_s``, ``unix_ms``, or a ``strftime`` pattern such
as ``%d/%m/%Y %H:%M``. A time that does not parse, or lies outside [1990, 2100), is a bad row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shopintent.data.sources.checks import parse
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    header_columns,
    read_csv,
    source_files,
)

PATTERNS = tuple(f"*.{ext}{z}" for ext in ("csv", "tsv", "txt") for z in ("", ".gz", ".zip")) + (
    "*.parquet",
)
#: the options every layout's ``load`` takes besides ``source``
OPTIONS = ("on_bad_rows", "columns", "sep", "encoding", "na_values", "time_format")
TIME_FORMATS = ("iso", "unix_s", "unix_ms")


def parse_mapping(value: str | dict | Path | None, option: str = "--columns") -> dict:
    """``a=B,c=D`` or a JSON file of an object (or a dict already) as a dict; ``a=B|C`` gives a
    list of values (several source values of one field, e.g. event types)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    text = str(value).strip()
    if text.endswith(".json") or (Path(text).suffix and Path(text).is_file()):
        try:
            found = json.loads(Path(text).read_text(encoding="utf-8"))
        except OSError as err:
            raise ValueError(f"{option} {text}: cannot read the mapping file ({err})") from None
        except ValueError as err:
            raise ValueError(f"{option} {text}: not valid JSON ({err})") from None
        if not isinstance(found, dict) or not all(isinstance(k, str) for k in found):
            raise ValueError(f"{option} {text}: expected a JSON object {{field: column}}")
        return found
    out: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, val = part.partition("=")
        if not eq or not key.strip() or not val.strip():
            raise ValueError(
                f"{option}: {part!r} is not FIELD=COLUMN (e.g. session=SessionId,item=ItemId), "
                "nor a .json mapping file"
            )
        vals = [v.strip() for v in val.split("|")]
        out[key.strip()] = vals if len(vals) > 1 else vals[0]
    return out


def time_kind(time_format: str | None, optional: bool = False) -> str | tuple:
    """The ``checks.parse`` kind of a ``time_format`` option (``optional``: empty is null)."""
    fmt = time_format or "iso"
    q = "?" if optional else ""
    if fmt == "iso":
        return ("datetime" + q, "ISO8601")
    if fmt in ("unix_s", "unix_ms"):
        return fmt + q
    if "%" in fmt:
        return ("datetime" + q, fmt)
    raise ValueError(
        f"--time-format {fmt!r}: expected {', '.join(TIME_FORMATS)} or a strftime pattern "
        "such as '%Y-%m-%d %H:%M:%S'"
    )


def _separator(path: Path, sep: str | None) -> str:
    if sep in ("tab", "\\t"):
        return "\t"
    if sep:
        return sep
    plain = path.name.removesuffix(".gz").removesuffix(".zip")
    return "\t" if plain.endswith(".tsv") else ","


def resolve(
    layout: str, fields: dict[str, bool], mapping: dict, found: list[str], path: Path
) -> dict[str, str]:
    """Field -> source column for the fields present in a file with columns ``found``."""
    unknown = [k for k in mapping if k not in fields]
    if unknown:
        raise ValueError(
            f"{layout}: --columns names unknown field(s) {', '.join(unknown)} "
            f"(the {layout} layout has: {', '.join(fields)})"
        )
    out = {}
    listed = ", ".join(found)
    for field, required in fields.items():
        col = mapping.get(field)
        if col is not None and not isinstance(col, str):
            raise ValueError(f"{layout}: --columns {field}: one column name expected, got {col!r}")
        if col is None:
            if field in found:
                out[field] = field
            elif required:
                raise SourceError(
                    f"{path} line 1: no column for the required field {field} of the {layout} "
                    f"layout (map it with --columns {field}=COLUMN; columns found: {listed})"
                )
        elif col in found:
            out[field] = col
        else:
            raise SourceError(
                f"{path} line 1: field {field} is mapped to column {col!r}, which the file "
                f"lacks (columns found: {listed})"
            )
    return out


def _read_files(
    source: Path,
    layout: str,
    fields: dict[str, bool],
    spec: dict[str, str | tuple],
    *,
    columns=None,
    sep: str | None = None,
    encoding: str | None = None,
    na_values: str | None = None,
    on_bad_rows: str = "error",
    bad: BadRows,
    multiline: bool = False,
) -> Iterator[tuple[Path, pd.DataFrame, dict[str, str]]]:
    """Each file of ``source``: its rows with one column per field (absent fields null), parsed
    by ``spec`` (field -> ``checks.parse`` kind, for the fields present), plus ``_line``; and
    the mapping used (field -> source column). ``multiline``: quoted fields may hold line
    breaks (free text), see ``reading.read_csv``."""
    check_on_bad_rows(on_bad_rows)
    mapping = parse_mapping(columns)
    encoding = encoding or "utf-8"
    nas = tuple(v.strip() for v in na_values.split(",")) if na_values else ()
    for path in source_files(source, layout, PATTERNS):
        if path.suffix == ".parquet":
            raw, used = _read_parquet(path, layout, fields, mapping, nas, bad)
        else:
            s = _separator(path, sep)
            used = resolve(layout, fields, mapping, header_columns(path, s, encoding), path)
            cols = list(dict.fromkeys(used.values()))
            raw = read_csv(
                path,
                cols,
                sep=s,
                encoding=encoding,
                na_values=nas,
                on_bad_rows=on_bad_rows,
                bad=bad,
                multiline=multiline,
            )
            quoted = raw.attrs.get("quoted", True)
            raw = pd.DataFrame({f: raw[c] for f, c in used.items()} | {"_line": raw["_line"]})
            raw.attrs["quoted"] = quoted
        for field in fields:
            if field not in raw.columns:
                raw[field] = None
        kinds = {f: k for f, k in spec.items() if f in used}
        yield path, parse(raw, path, kinds, on_bad_rows=on_bad_rows, bad=bad), used


def _read_parquet(
    path: Path,
    layout: str,
    fields: dict[str, bool],
    mapping: dict,
    nas: tuple[str, ...],
    bad: BadRows,
) -> tuple[pd.DataFrame, dict[str, str]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        used = resolve(layout, fields, mapping, names, path)
        table = pq.read_table(path, columns=list(dict.fromkeys(used.values())))
    except (OSError, pa.ArrowInvalid) as err:
        raise SourceError(f"{path}: truncated or corrupt Parquet file ({err})") from None
    text = {}
    for col in table.column_names:
        try:
            text[col] = pc.cast(table[col], pa.string()).to_pandas().astype(object)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise SourceError(
                f"{path}: column {col} holds {table.schema.field(col).type}, not values "
                "that read as text"
            ) from None
    n = table.num_rows
    raw = pd.DataFrame({f: text[c] for f, c in used.items()})
    raw = raw.where(raw.notna() & ~raw.isin(nas), None) if len(raw.columns) else raw
    raw["_line"] = range(1, n + 1)
    raw.attrs["quoted"] = False  # no stray quotes in a typed file
    bad.lines[path.name] = {"lines": n, "header": 0, "records": n, "malformed": 0}
    return raw, used


@dataclass(frozen=True)
class LayoutRows:
    """All files of a layout read: their rows together (``_line`` dropped), the mapping used
    per file name (field -> source column) and the bad rows counted."""

    layout: str
    rows: pd.DataFrame
    used: dict[str, dict[str, str]]
    bad: BadRows

    def meta(self) -> dict:
        """The ``meta.json`` keys every layout records: its name, the columns read per file and
        the bad rows."""
        columns = {name: dict(m) for name, m in self.used.items()}
        return {"layout": self.layout, "columns": columns, "bad_rows": self.bad.as_meta()}


#: a layout's per-file conversion: (path, rows, mapping, bad) -> the rows kept
Convert = Callable[[Path, pd.DataFrame, dict[str, str], BadRows], pd.DataFrame]


def read_all(
    source: Path,
    layout: str,
    fields: dict[str, bool],
    spec: dict[str, str | tuple],
    convert: Convert,
    **options,
) -> LayoutRows:
    """Every file of ``source`` read, each converted by the layout's ``convert`` (its own row
    checks; ``on_bad_rows`` it takes from its loader) and the results joined. ``options``:
    ``columns``, ``sep``, ``encoding``, ``na_values``, ``on_bad_rows``, ``multiline`` (see
    ``_read_files``). The one loop of the four layouts, so that each records the same
    ``columns`` and ``bad_rows`` meta and fails the same way on a source with no valid rows."""
    bad = BadRows()
    frames, used = [], {}
    for path, rows, mapping in _read_files(source, layout, fields, spec, bad=bad, **options):
        frames.append(convert(path, rows, mapping, bad))
        used[path.name] = mapping
    rows = pd.concat([f.drop(columns="_line") for f in frames], ignore_index=True)
    if rows.empty:
        raise SourceError(f"{layout}: no valid rows in {source}")
    return LayoutRows(layout, rows, used, bad)


def first_seen(raw: pd.DataFrame, key: str, col: str) -> tuple[pd.Series, int]:
    """``col``'s first non-null value per ``key`` (in file order) and how many keys have
    several distinct values."""
    known = raw.dropna(subset=[col])
    first = known.drop_duplicates(key).set_index(key)[col]
    several = int((known.groupby(key)[col].nunique() > 1).sum())
    return first, several
