"""Reading a publisher's delimited file on Spark, with the pandas loaders' row rules.

A file is read as text, one row per physical line, each carrying its raw record and its place
in the file (``_block``: the byte offset of the split it was read from; ``_row``: its index in
that split), so that a bad row can be named like the pandas path names it: file, line number
and value, plus the raw record. The header line is the first row of the split at offset 0.
Fields are parsed with Spark's CSV parser (``from_csv``) into strings, then by the same ``SPEC``
kinds as ``sources/checks.parse`` (``"id"``, ``"float?"``, ``("datetime", format)``,
``("choice", values)``...), here as column expressions: each row gets the reason it is bad
(the first failing check, in spec order, as in pandas) or null.

``report`` then does what ``on_bad_rows`` says with one aggregation over the file: ``error``
raises ``SourceError`` naming the first bad line; ``skip`` counts the bad rows per file in the
loader's ``BadRows`` (the same report as pandas, kept in ``meta.json``), with the first
examples and their raw records.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from shopintent.data.schema import TS_MAX, TS_MIN
from shopintent.data.sources.checks import _KINDS, _TS_RANGE
from shopintent.data.sources.reading import COMPRESSED, EXAMPLES, BadRows, SourceError

#: the reason a row is bad (null when it is good)
REASON = "_reason"
#: strftime directives and their Java DateTimeFormatter patterns
_DIRECTIVES = {
    "%Y": "yyyy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%z": "xx",
    "%%": "%",
}


def java_time_format(fmt: str) -> str:
    """A strftime pattern (``%Y-%m-%d %H:%M:%S UTC``) as a Java one (``yyyy-MM-dd HH:mm:ss
    'UTC'``); literal letters are quoted. Fails on a directive it does not know."""
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%":
            d = fmt[i : i + 2]
            if d not in _DIRECTIVES:
                raise ValueError(f"time format {fmt!r}: {d!r} has no Spark equivalent here")
            out.append(_DIRECTIVES[d])
            i += 2
        else:
            j = i
            while j < len(fmt) and fmt[j] != "%":
                j += 1
            text = fmt[i:j].replace("'", "''")
            out.append(f"'{text}'" if re.search(r"[A-Za-z']", text) else text)
            i = j
    return "".join(out)


def read_lines(
    spark: SparkSession, path: Path, columns: list[str], *, sep: str = ",", file_index: int = 0
) -> DataFrame:
    """The data lines of one delimited file with a header: ``columns`` as strings (null when
    empty), ``_raw`` (the line), ``_file``, ``_block``, ``_row``, ``_malformed`` (the wrong
    number of fields, or a quote that never closes) and ``_blank``.

    ``columns`` must be the file's header, in order (``reading.header_columns``).
    """
    text = spark.read.text(str(path)).select(
        F.col("value").alias("_raw"),
        F.lit(file_index).alias("_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        # numbered before anything else runs: the row's index within its split
        (F.monotonically_increasing_id() - F.spark_partition_id().cast("long") * (1 << 33)).alias(
            "_row"
        ),
    )
    text = text.filter(~((F.col("_block") == 0) & (F.col("_row") == 0)))  # the header line
    schema = StructType(
        [StructField(c, StringType()) for c in columns] + [StructField("_corrupt", StringType())]
    )
    parsed = F.from_csv(
        "_raw",
        schema.simpleString().removeprefix("struct<").removesuffix(">").replace(":", " "),
        {"sep": sep, "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt"},
    )
    rec = text.withColumn("_rec", parsed)
    return rec.select(
        *[F.col(f"_rec.{c}").alias(c) for c in columns],
        "_raw",
        "_file",
        "_block",
        "_row",
        F.col("_rec._corrupt").isNotNull().alias("_malformed"),
        (F.trim("_raw") == "").alias("_blank"),
    )


def _empty(col: str) -> Column:
    return F.col(col).isNull() | (F.trim(F.col(col)) == "")


def _quoted(c: Column) -> Column:
    return F.concat(F.lit("'"), c, F.lit("'"))


def parse(rows: DataFrame, spec: dict[str, str | tuple]) -> tuple[DataFrame, list[Column]]:
    """``rows`` with each spec column parsed, and the reason each check finds a row bad (in
    spec order: a row bad in several columns is named by its first, as in pandas).

    The raw value of each parsed column stays in ``_s_<column>`` for messages.
    """
    reasons: list[Column] = []
    out = rows
    for col, kind in spec.items():
        head = kind[0] if isinstance(kind, tuple) else kind
        optional = head.endswith("?")
        name = head.removesuffix("?")
        raw = F.col(f"_s_{col}")
        out = out.withColumn(f"_s_{col}", F.col(col))
        empty = _empty(f"_s_{col}")
        outside = None
        if name in ("str", "id"):
            value = F.when(~empty, raw)
            if name == "id":
                value = F.when(~raw.contains('"'), value)
        elif name in ("int", "float"):
            num = F.expr(f"try_cast(`_s_{col}` as double)")
            finite = ~F.isnan(num) & (F.abs(num) != float("inf"))
            value = F.when(~empty & finite, num)
            if name == "int":
                value = F.when(value == F.floor(value), value.cast("long"))
        elif name in ("unix_s", "unix_ms"):
            num = F.expr(f"try_cast(`_s_{col}` as double)")
            secs = num / 1000 if name == "unix_ms" else num
            outside = (secs < TS_MIN.timestamp()) | (secs >= TS_MAX.timestamp())
            value = F.when(~empty & ~outside, F.timestamp_micros((secs * 1e6).cast("long")))
        elif name == "datetime":
            fmt = java_time_format(kind[1])
            value = F.when(~empty, F.try_to_timestamp(raw, F.lit(fmt)))
            outside = (value < F.lit(TS_MIN.to_pydatetime())) | (
                value >= F.lit(TS_MAX.to_pydatetime())
            )
            value = F.when(~outside, value)
        elif name == "choice":
            value = F.when(raw.isin(list(kind[1])), raw)
        else:
            raise ValueError(f"{col}: kind {kind!r} is not supported on Spark")
        if name == "choice":
            what = f"one of {', '.join(map(str, kind[1]))}"
        elif name == "id":
            what = None  # the stray quote or the empty value, decided per row below
        else:
            what = _KINDS[name] + (f" like {kind[1]!r}" if name == "datetime" else "")
        if outside is not None:
            reasons.append(
                F.when(
                    ~empty & outside.isNotNull() & outside,
                    F.concat(F.lit(f"column {col}: "), _quoted(raw), F.lit(f" is {_TS_RANGE}")),
                )
            )
        invalid = (~empty & value.isNull()) | (F.lit(not optional) & empty)
        if what is None:
            what_col = F.when(raw.contains('"'), F.lit(_KINDS["id"])).otherwise(
                F.lit(_KINDS["str"])
            )
        else:
            what_col = F.lit(what)
        shown = F.when(raw.isNull(), F.lit("None")).otherwise(_quoted(raw))
        reasons.append(
            F.when(
                invalid,
                F.concat(F.lit(f"column {col}: "), shown, F.lit(" is not "), what_col),
            )
        )
        out = out.withColumn(col, value)
    return out, reasons


def flag(rows: DataFrame, reasons: list[Column]) -> DataFrame:
    """``rows`` with ``_reason``: a malformed or blank line first, then the first check failing."""
    return rows.withColumn(
        REASON,
        F.coalesce(
            F.when(F.col("_blank"), F.lit("a blank line")),
            F.when(F.col("_malformed"), F.lit("wrong number of fields")),
            *reasons,
        ),
    )


def report(rows: DataFrame, path: Path, on_bad_rows: str, bad: BadRows) -> None:
    """Count the file's lines and bad rows in one pass; fail on the first bad line (``error``) or
    record the count, the first examples (line, reason, raw record) and the lines read."""
    blocks = (
        rows.groupBy("_block")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.count(REASON).alias("bad"),
            F.sum(F.col("_malformed").cast("long")).alias("malformed"),
        )
        .orderBy("_block")
        .collect()
    )
    # line of a row = 1 (header) + the rows of earlier splits + its index in its split (+1 for
    # the split at offset 0, whose row 0 is the header)
    offsets = {}
    before = 1
    for b in blocks:
        offsets[b["_block"]] = before - (1 if b["_block"] == 0 else 0)
        before += b["n"]
    total_bad = sum(b["bad"] for b in blocks)
    name = Path(path).name
    records = sum(b["n"] for b in blocks)
    malformed = sum(b["malformed"] or 0 for b in blocks)
    bad.lines[name] = {
        "lines": records + 1,
        "header": 1,
        "records": records - malformed,
        "malformed": malformed,
    }
    if not total_bad:
        return
    first = (
        rows.filter(F.col(REASON).isNotNull())
        .orderBy("_block", "_row")
        .select("_block", "_row", REASON, "_raw")
        .limit(EXAMPLES)
        .collect()
    )
    lines = [offsets[r["_block"]] + r["_row"] + 1 for r in first]
    if on_bad_rows == "error":
        more = f" ({total_bad} bad rows in this file)" if total_bad > 1 else ""
        raise SourceError(
            f"{path} line {lines[0]}: {first[0][REASON]}{more}; the record: {first[0]['_raw']!r}"
        )
    bad.add(
        path,
        np.array(lines),
        [f"{r[REASON]}; the record: {r['_raw']!r}" for r in first],
    )
    bad.counts[name] += total_bad - len(first)


def ends_without_newline(path: Path) -> bool:
    """Whether the file's last byte is not a newline (a plain file is read from its end; a
    compressed one is streamed, which costs a read of the whole file)."""
    path = Path(path)
    if path.suffix not in COMPRESSED:
        with open(path, "rb") as f:
            f.seek(0, 2)
            if f.tell() == 0:
                return False
            f.seek(-1, 2)
            return f.read(1) not in (b"\n", b"\r")
    import gzip

    last = b""
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            last = chunk[-1:]
    return bool(last) and last not in (b"\n", b"\r")


def last_line_cut_short(rows: DataFrame, columns: list[str]) -> DataFrame:
    """For a file ending without a newline: mark its last line bad unless it is complete by
    type, the same rule as ``reading.read_csv``: all its fields, its last field as wide as in
    every other line (a date, a UUID)."""
    col = columns[-1]
    key = F.struct("_block", "_row")
    last = rows.agg(F.max(key).alias("k")).collect()[0]["k"]
    is_last = (F.col("_block") == last["_block"]) & (F.col("_row") == last["_row"])
    widths = (
        rows.filter(~is_last & F.col(col).isNotNull())
        .agg(F.min(F.length(col)).alias("lo"), F.max(F.length(col)).alias("hi"))
        .collect()[0]
    )
    complete = (
        F.lit(widths["lo"] is not None and widths["lo"] == widths["hi"])
        & F.col(col).isNotNull()
        & (F.length(col) == F.lit(widths["lo"] or 0))
    )
    reason = F.when(F.col("_malformed"), F.lit("wrong number of fields (a truncated line?)"))
    reason = F.coalesce(
        reason,
        F.when(
            ~complete,
            F.concat(
                F.lit(f"column {col}: "),
                F.when(F.col(col).isNull(), F.lit("None")).otherwise(_quoted(F.col(col))),
                F.lit(
                    " ends the file without a newline and may be cut short (a truncated download?)"
                ),
            ),
        ),
    )
    return rows.withColumn("_cut", F.when(is_last, reason))
