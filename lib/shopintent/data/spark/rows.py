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
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pyspark import StorageLevel
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
            # letters are pattern letters in Java: quote them; a quote is written twice
            out.append(
                re.sub(
                    r"[A-Za-z]+|'",
                    lambda m: "''" if m.group() == "'" else f"'{m.group()}'",
                    fmt[i:j],
                )
            )
            i = j
    return "".join(out)


def read_lines(
    spark: SparkSession,
    path: Path,
    columns: list[str],
    *,
    sep: str = ",",
    file_index: int = 0,
    header: bool = True,
    null_value: str | None = None,
) -> DataFrame:
    """The data lines of one delimited file: ``columns`` as strings (null when empty), ``_raw``
    (the line), ``_file``, ``_block``, ``_row``, ``_malformed`` (the wrong number of fields, or a
    quote that never closes) and ``_blank``.

    ``columns`` must be the file's fields, in order (with a header: ``reading.header_columns``).
    ``null_value``: a further spelling of an empty field (``NA``), as pandas' ``na_values``.
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
    if header:
        text = text.filter(~((F.col("_block") == 0) & (F.col("_row") == 0)))  # the header line
    schema = StructType(
        [StructField(c, StringType()) for c in columns] + [StructField("_corrupt", StringType())]
    )
    parsed = F.from_csv(
        "_raw",
        schema.simpleString().removeprefix("struct<").removesuffix(">").replace(":", " "),
        {
            "sep": sep,
            "mode": "PERMISSIVE",
            "columnNameOfCorruptRecord": "_corrupt",
            **({"nullValue": null_value} if null_value else {}),
        },
    )
    # explode of a one-element array: a barrier that makes Spark parse each line once (else
    # the optimiser inlines from_csv into every reference to one of its fields)
    rec = text.select("*", F.explode(F.array(parsed)).alias("_rec"))
    return rec.select(
        *[F.col(f"_rec.{c}").alias(c) for c in columns],
        "_raw",
        "_file",
        "_block",
        "_row",
        F.col("_rec._corrupt").isNotNull().alias("_malformed"),
        (F.trim("_raw") == "").alias("_blank"),
    )


def _quoted(c: Column) -> Column:
    return F.concat(F.lit("'"), c, F.lit("'"))


def barrier(df: DataFrame) -> DataFrame:
    """``df`` unchanged, behind a node the optimiser does not merge projections across (the
    explode of a one-element array): an expression computed before it is computed once per row,
    not once per reference after it (without this, parsing a line costs dozens of parses)."""
    return df.select(F.explode(F.array(F.struct(*df.columns))).alias("_b")).select("_b.*")


def _first_pass(col: str, name: str, kind) -> Column:
    """The parse of one raw string column, before the checks: a double, a timestamp, or the
    string itself (a datetime outside the plausible window is still returned here)."""
    raw = F.col(col)
    if name in ("int", "float", "unix_s", "unix_ms"):
        return F.expr(f"try_cast(`{col}` as double)")
    if name == "datetime" and kind[1] == "ISO8601":
        # pandas' format="ISO8601": Spark's own cast reads the ISO forms (a date; a time with
        # or without seconds, fraction, "T" and zone; no zone is the session's UTC)
        return F.expr(f"try_cast(`{col}` as timestamp)")
    if name == "datetime":
        return F.try_to_timestamp(raw, F.lit(java_time_format(kind[1])))
    if name in ("str", "id", "choice"):
        return raw
    raise ValueError(f"{col}: kind {kind!r} is not supported on Spark")


def parse(rows: DataFrame, spec: dict[str, str | tuple]) -> tuple[DataFrame, list[Column]]:
    """``rows`` with each spec column parsed, and the reason each check finds a row bad (in
    spec order: a row bad in several columns is named by its first, as in pandas).

    The raw value of each parsed column stays in ``_s_<column>`` for messages.
    """
    kinds = {}
    first = []
    for col, kind in spec.items():
        head = kind[0] if isinstance(kind, tuple) else kind
        kinds[col] = (head.removesuffix("?"), head.endswith("?"), kind)
        first += [
            F.col(col).alias(f"_s_{col}"),
            _first_pass(col, kinds[col][0], kind).alias(f"_v_{col}"),
        ]
    out = barrier(rows.select(*[c for c in rows.columns if c not in spec], *first))
    reasons: list[Column] = []
    values = []
    for col, (name, optional, kind) in kinds.items():
        raw, v = F.col(f"_s_{col}"), F.col(f"_v_{col}")
        empty = raw.isNull() | (F.trim(raw) == "")
        outside = None
        if name == "str":
            value = F.when(~empty, raw)
        elif name == "id":
            value = F.when(~empty & ~raw.contains('"'), raw)
        elif name in ("int", "float"):
            finite = ~F.isnan(v) & (F.abs(v) != float("inf"))
            value = F.when(~empty & finite, v)
            if name == "int":
                value = F.when(value == F.floor(value), value.cast("long"))
        elif name in ("unix_s", "unix_ms"):
            secs = v / 1000 if name == "unix_ms" else v
            outside = (secs < TS_MIN.timestamp()) | (secs >= TS_MAX.timestamp())
            value = F.when(~empty & ~outside, F.timestamp_micros((secs * 1e6).cast("long")))
        elif name == "datetime":
            outside = (v < F.lit(TS_MIN.to_pydatetime())) | (v >= F.lit(TS_MAX.to_pydatetime()))
            value = F.when(~empty & ~outside, v)
        else:  # choice
            value = F.when(raw.isin(list(kind[1])), raw)
        if name == "choice":
            what = F.lit(f"one of {', '.join(map(str, kind[1]))}")
        elif name == "id":  # a stray quote, or an empty value
            what = F.when(raw.contains('"'), F.lit(_KINDS["id"])).otherwise(F.lit(_KINDS["str"]))
        else:
            what = F.lit(_KINDS[name] + (f" like {kind[1]!r}" if name == "datetime" else ""))
        if outside is not None:
            reasons.append(
                F.when(
                    ~empty & outside.isNotNull() & outside,
                    F.concat(F.lit(f"column {col}: "), _quoted(raw), F.lit(f" is {_TS_RANGE}")),
                )
            )
        invalid = (~empty & value.isNull()) | (F.lit(not optional) & empty)
        shown = F.when(raw.isNull(), F.lit("None")).otherwise(_quoted(raw))
        reasons.append(
            F.when(invalid, F.concat(F.lit(f"column {col}: "), shown, F.lit(" is not "), what))
        )
        values.append(value.alias(col))
    return out.select("*", *values), reasons


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


def report(
    rows: DataFrame,
    path: Path,
    on_bad_rows: str,
    bad: BadRows,
    count_good: dict[str, Column] | None = None,
    header: bool = True,
) -> dict[str, int]:
    """Count the file's lines and bad rows in one pass; fail on the first bad line (``error``) or
    record the count, the first examples (line, reason, raw record) and the lines read.

    Returns the good rows (``"good"``) and, in the same pass, how many good rows meet each
    condition of ``count_good``.
    """
    good = F.col(REASON).isNull()
    conditions = {"good": F.lit(True), **(count_good or {})}
    blocks = (
        rows.groupBy("_block")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.count(REASON).alias("bad"),
            F.sum(F.col("_malformed").cast("long")).alias("malformed"),
            *[F.count_if(good & c).alias(f"_good_{k}") for k, c in conditions.items()],
        )
        .collect()
    )
    # one row per split: sorted here (an orderBy would cost Spark a sampling job and a shuffle)
    blocks = sorted(blocks, key=lambda b: b["_block"])
    totals = {k: sum(b[f"_good_{k}"] for b in blocks) for k in conditions}
    # line of a row = the header + the rows of earlier splits + its index in its split (+1; in
    # the split at offset 0, row 0 is the header)
    n_header = 1 if header else 0
    offsets = {}
    before = n_header
    for b in blocks:
        offsets[b["_block"]] = before - (n_header if b["_block"] == 0 else 0)
        before += b["n"]
    total_bad = sum(b["bad"] for b in blocks)
    name = Path(path).name
    records = sum(b["n"] for b in blocks)
    malformed = sum(b["malformed"] or 0 for b in blocks)
    bad.lines[name] = {
        "lines": records + n_header,
        "header": n_header,
        "records": records - malformed,
        "malformed": malformed,
    }
    if not total_bad:
        return totals
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
    return totals


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


def check_file(
    spark: SparkSession,
    path: Path,
    columns: list[str],
    spec: dict[str, str | tuple],
    on_bad_rows: str,
    bad: BadRows,
    *,
    header: bool = True,
    sep: str = ",",
    file_index: int = 0,
    extra: Callable[[DataFrame], list[Column]] | None = None,
    count_good: dict[str, Column] | None = None,
    null_value: str | None = None,
    persisted: list[DataFrame] | None = None,
) -> tuple[DataFrame, dict[str, int]]:
    """One file read, parsed by ``spec`` and checked (``extra``: further reasons a parsed row is
    bad, after the spec's), its bad rows reported and its exact duplicate lines counted (kept).

    Returns the good rows (persisted: computed once, reused by later steps; the persisted frame
    is appended to ``persisted`` for ``SparkShop.save`` to free) and the counts of ``report``.
    Two Spark jobs.
    """
    rows = read_lines(
        spark,
        path,
        columns,
        sep=sep,
        file_index=file_index,
        header=header,
        null_value=null_value,
    )
    first = []
    if ends_without_newline(path):
        rows = last_line_cut_short(rows, columns)
        first = [F.col("_cut")]
    for col in spec:
        if col not in columns:  # an optional column absent from the file: null
            rows = rows.withColumn(col, F.lit(None).cast("string"))
    rows, reasons = parse(rows, spec)
    rows = flag(rows, first + reasons + (extra(rows) if extra else []))
    # parsed once, then reused by the report, the duplicate count and every later step (in
    # memory, spilling to disk; SparkShop.save unpersists it); only the columns those steps
    # read are kept: the raw strings and first parses of each field (``_s_*``, ``_v_*``) would
    # double the cache. The cache is itself the barrier after the checks (each column is
    # computed once as it is stored): a ``barrier`` here, copying every column into a struct
    # and out, cost about a third of the parse
    keep = [*spec, "_raw", "_file", "_block", "_row", "_malformed", REASON]
    rows = rows.select(*keep).persist(StorageLevel.MEMORY_AND_DISK)
    if persisted is not None:
        persisted.append(rows)
    try:
        counts = report(rows, path, on_bad_rows, bad, count_good, header=header)
    except BaseException:
        rows.unpersist()  # the file is refused: nothing of it is kept
        raise
    good = rows.filter(F.col(REASON).isNull()).select(*spec, "_raw", "_file", "_block", "_row")
    count_duplicates(good, path, bad)
    return good, counts


def count_duplicates(good: DataFrame, path: Path, bad: BadRows) -> None:
    """Exact duplicate lines among a file's good rows: counted in ``bad.duplicates``, kept (as
    the pandas loaders of event logs do: a log may record one action twice)."""
    repeats = (
        good.groupBy("_raw")
        .count()
        .agg(F.sum(F.col("count") - 1).alias("extra"))
        .collect()[0]["extra"]
    )
    if repeats:
        entry = bad.duplicates.setdefault(
            Path(path).name, {"rows": 0, "dropped": False, "examples": []}
        )
        entry["rows"] += int(repeats)
