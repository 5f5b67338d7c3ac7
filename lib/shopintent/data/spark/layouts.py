"""What the generic layouts share on Spark: the pandas ``sources/layouts.py`` rules (the mapping,
its resolution against each file's header, the separator, the time formats), with the rows read
and checked by ``spark/rows.py`` (a bad row named by file, line, value and raw record).

Each file's header is read as pandas reads it; its mapped columns are renamed to the layout's
fields before parsing, so a bad row names the field, as in pandas. What the Spark path cannot
honour yet fails naming the option (``unsupported``): Parquet and ``.zip`` sources, an
``encoding`` other than UTF-8, more than one ``na_values`` spelling, and one column mapped to
two fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from shopintent.data.sources import layouts
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    header_columns,
    source_files,
)
from shopintent.data.spark import rows as R


class Unsupported(ValueError):
    """An option or input the Spark path of a layout does not honour yet."""


def unsupported(layout: str, option: str, why: str) -> Unsupported:
    return Unsupported(f"{layout} --engine spark: {option} {why}; prepare it with --engine pandas")


@dataclass
class LayoutRows:
    """Every file's good rows (fields as columns, plus ``_raw, _file, _block, _row``) joined,
    the mapping used per file name, the bad rows, the persisted frames, and the good rows
    counted per ``count_good`` condition."""

    layout: str
    rows: DataFrame
    used: dict[str, dict[str, str]]
    bad: BadRows
    persisted: list
    counts: dict[str, int]

    def meta(self) -> dict:
        """The keys every layout records (as ``sources.layouts.LayoutRows.meta``)."""
        columns = {name: dict(m) for name, m in self.used.items()}
        return {"layout": self.layout, "columns": columns, "bad_rows": self.bad.as_meta()}


def negative(rows: DataFrame, col: str = "price") -> list[Column]:
    """The reason a parsed row is bad when its ``col`` is negative (``checks.check_range``'s
    words); none when the file has no such field."""
    if col not in rows.columns:
        return []
    value = F.col(col)
    message = F.concat(F.lit(f"column {col}: "), value.cast("string"), F.lit(" is negative"))
    return [F.when(value < 0, message)]


def _check_options(layout: str, encoding: str | None, na_values: str | None) -> str | None:
    if encoding and encoding.lower().replace("-", "").replace("_", "") != "utf8":
        raise unsupported(layout, f"--encoding {encoding}", "reads UTF-8 files only so far")
    nas = [v.strip() for v in na_values.split(",")] if na_values else []
    if len(nas) > 1:
        raise unsupported(
            layout, f"--na-values {na_values}", "takes one further spelling of empty so far"
        )
    return nas[0] if nas else None


def _null(field: str, kind) -> Column:
    """An absent field: null, typed as the field's parse gives it (so files union)."""
    head = (kind[0] if isinstance(kind, tuple) else kind or "str").removesuffix("?")
    typ = {"float": "double", "int": "long", "unix_s": "timestamp", "unix_ms": "timestamp"}
    typ["datetime"] = "timestamp"
    return F.lit(None).cast(typ.get(head, "string")).alias(field)


def read_all(
    spark: SparkSession,
    source: Path,
    layout: str,
    fields: dict[str, bool],
    spec: dict[str, str | tuple],
    *,
    extra: Callable[[DataFrame], list[Column]] | None = None,
    count_good: dict[str, Column] | None = None,
    columns=None,
    sep: str | None = None,
    encoding: str | None = None,
    na_values: str | None = None,
    on_bad_rows: str = "error",
) -> LayoutRows:
    """``sources.layouts.read_all`` on Spark: each delimited file of ``source`` (name order)
    read, parsed by ``spec`` (field -> kind), checked (``extra``: the layout's own reasons a
    parsed row is bad) and reported; absent fields null. Two Spark jobs per file."""
    check_on_bad_rows(on_bad_rows)
    null_value = _check_options(layout, encoding, na_values)
    mapping = layouts.parse_mapping(columns)
    bad = BadRows()
    persisted: list = []
    frames, used, counts = [], {}, {}
    for i, path in enumerate(source_files(source, layout, layouts.PATTERNS)):
        if path.suffix in (".parquet", ".zip"):
            raise unsupported(layout, f"the file {path.name}", "reads CSV, TSV and .gz only")
        s = layouts._separator(path, sep)
        found = header_columns(path, s)
        fields_used = layouts.resolve(layout, fields, mapping, found, path)
        by_column: dict[str, str] = {}
        for field, col in fields_used.items():
            if by_column.setdefault(col, field) != field:
                raise unsupported(
                    layout,
                    f"--columns {by_column[col]}={col},{field}={col}",
                    "cannot read one column as two fields yet",
                )
        names = [by_column.get(c, f"_unused{j}") for j, c in enumerate(found)]
        rows, counted = R.check_file(
            spark,
            path,
            names,
            {f: k for f, k in spec.items() if f in fields_used},  # absent fields: not parsed
            on_bad_rows,
            bad,
            sep=s,
            file_index=i,
            extra=extra,
            count_good=count_good,
            null_value=null_value,
            persisted=persisted,
        )
        absent = [f for f in fields if f not in rows.columns]
        frames.append(rows.select(*rows.columns, *[_null(f, spec.get(f)) for f in absent]))
        used[path.name] = fields_used
        for k, v in counted.items():
            counts[k] = counts.get(k, 0) + v
    if not counts.get("good"):
        raise SourceError(f"{layout}: no valid rows in {source}")
    rows = frames[0]
    for f in frames[1:]:
        rows = rows.unionByName(f)
    return LayoutRows(layout, rows, used, bad, persisted, counts)
