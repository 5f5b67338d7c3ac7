"""Row-level checks of a table a loader has read: values parsed by kind, ranges, plausible
times and duplicate keys. A bad row fails naming its file, line, column and value, or, with
``on_bad_rows="skip"``, is dropped and counted in the loader's ``BadRows`` report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.schema import TS_MAX, TS_MIN
from shopintent.data.sources.reading import EXAMPLES, BadRows, SourceError


def _plain(v):
    """numpy scalars as plain Python values, so messages read 4.5 rather than np.float64(4.5)."""
    return v.item() if isinstance(v, np.generic) else v


def reject_rows(
    raw: pd.DataFrame,
    path: Path,
    invalid: np.ndarray,
    col: str,
    what: str,
    on_bad_rows: str,
    bad: BadRows,
) -> pd.DataFrame:
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
_KINDS = {
    "str": "a non-empty value",
    "id": "an id: it holds a '\"' (a stray quote?)",
    "int": "an integer",
    "float": "a number",
    "unix_s": "unix seconds",
    "unix_ms": "unix milliseconds",
    "datetime": "a date-time",
}
#: the window of plausible timestamps (as in the schema): outside it, a unit or parsing bug
_TS_RANGE = f"outside [{TS_MIN.date()}, {TS_MAX.date()})"


def parse(
    df: pd.DataFrame,
    path: Path,
    spec: dict[str, str | tuple],
    *,
    on_bad_rows: str = "error",
    bad: BadRows | None = None,
) -> pd.DataFrame:
    """Parse string columns by ``spec``; a bad value fails naming file, line, column and value.

    Kinds: ``"str"`` (required), ``"id"`` (a required str without ``"``: in these formats a
    quote inside an id is a stray one, e.g. a quote that opened on another line), ``"int"``,
    ``"float"`` (finite), ``"unix_s"`` and ``"unix_ms"`` (to UTC timestamps),
    ``("datetime", format)`` (``format`` may be ``"ISO8601"``; times without a zone are UTC) and
    ``("choice", values)``; a trailing ``"?"`` (``"float?"``, ``("datetime?", format)``)
    allows empty values (returned as null). Times outside [1990, 2100) are bad rows too,
    named like the others.
    """
    bad = bad if bad is not None else BadRows()
    out = df.copy()
    keep = np.ones(len(df), dtype=bool)
    for col, kind in spec.items():
        s = df[col]
        head = kind[0] if isinstance(kind, tuple) else kind
        optional = head.endswith("?")
        if optional:
            kind = (head[:-1], *kind[1:]) if isinstance(kind, tuple) else kind[:-1]
        empty = s.isna().to_numpy() | (s.astype(str).str.strip() == "").to_numpy()
        name = kind[0] if isinstance(kind, tuple) else kind
        if name == "str":
            parsed = s.where(~empty, None)
        elif name == "id":
            parsed = s.where(~empty, None)
            if df.attrs.get("quoted", True):  # a file without any '"' cannot have a stray one
                parsed = parsed.where(
                    ~s.astype(str).str.contains('"', regex=False).to_numpy(), None
                )
        elif name in ("int", "float"):
            parsed = pd.to_numeric(s.where(~empty, None), errors="coerce")
            parsed = parsed.where(np.isfinite(parsed.astype("float64")))
            if name == "int":
                parsed = parsed.where(parsed == np.floor(parsed))
        elif name in ("unix_s", "unix_ms"):
            num = pd.to_numeric(s.where(~empty, None), errors="coerce").astype("float64")
            num = num / 1000 if name == "unix_ms" else num
            outside = (num < TS_MIN.timestamp()) | (num >= TS_MAX.timestamp())
            keep = _range_fail(df, path, col, s, outside.to_numpy(), keep, on_bad_rows, bad)
            parsed = pd.to_datetime(num.where(~outside), unit="s", utc=True, errors="coerce")
            empty = empty | outside.to_numpy()  # reported already
        elif name == "datetime":
            parsed = pd.to_datetime(
                s.where(~empty, None), format=kind[1], utc=True, errors="coerce"
            )
            outside = (parsed < TS_MIN) | (parsed >= TS_MAX)
            keep = _range_fail(df, path, col, s, outside.to_numpy(), keep, on_bad_rows, bad)
            empty = empty | outside.to_numpy()
        elif name == "choice":
            parsed = s.where(s.isin(kind[1]))
        else:
            raise AssertionError(kind)
        invalid = (~empty & pd.isna(parsed).to_numpy()) | (empty & (not optional) & keep)
        if invalid.any():
            what = (
                f"one of {', '.join(map(str, kind[1]))}"
                if name == "choice"
                else f"{_KINDS[name]}" + (f" like {kind[1]!r}" if name == "datetime" else "")
            )
            if name == "id":
                first_bad = s.iat[int(np.flatnonzero(invalid)[0])]
                what = (
                    _KINDS["id"]
                    if isinstance(first_bad, str) and '"' in first_bad
                    else _KINDS["str"]
                )
            if on_bad_rows == "error":
                rows = np.flatnonzero(invalid)
                first = rows[0]
                raise SourceError(
                    f"{path} line {df['_line'].iat[first]}: column {col}: "
                    f"{_plain(s.iat[first])!r} is not "
                    f"{what}" + (f" ({len(rows)} such rows)" if len(rows) > 1 else "")
                )
            new = invalid & keep  # a row bad in several columns is counted once
            if new.any():
                bad.add(
                    path,
                    df["_line"].to_numpy()[new],
                    [f"column {col}: {_plain(v)!r} is not {what}" for v in s[new].iloc[:EXAMPLES]]
                    + [""] * max(0, int(new.sum()) - EXAMPLES),
                )
            keep &= ~invalid
        out[col] = parsed
    return out[keep].reset_index(drop=True)


def _range_fail(
    df: pd.DataFrame,
    path: Path,
    col: str,
    s: pd.Series,
    outside: np.ndarray,
    keep: np.ndarray,
    on_bad_rows: str,
    bad: BadRows,
) -> np.ndarray:
    """Fail on (or count) times outside [1990, 2100); returns ``keep`` without them."""
    if not outside.any():
        return keep
    rows = np.flatnonzero(outside)
    if on_bad_rows == "error":
        more = f" ({len(rows)} such rows)" if len(rows) > 1 else ""
        raise SourceError(
            f"{path} line {df['_line'].iat[rows[0]]}: column {col}: {_plain(s.iat[rows[0]])!r} is "
            f"{_TS_RANGE}{more}"
        )
    new = outside & keep
    if new.any():
        bad.add(path, df["_line"].to_numpy()[new], f"column {col}: a time {_TS_RANGE}")
    return keep & ~outside


def check_range(
    raw: pd.DataFrame,
    path: Path,
    col: str,
    lo: float | None,
    hi: float | None,
    on_bad_rows: str,
    bad: BadRows,
    *,
    hi_open: bool = False,
) -> pd.DataFrame:
    """Fail on (or skip and count) rows with ``col`` outside [lo, hi] (``hi_open``: [lo, hi))."""
    v = raw[col]
    invalid = np.zeros(len(raw), dtype=bool)
    if lo is not None:
        invalid |= (v < lo).to_numpy()
    if hi is not None:
        invalid |= ((v >= hi) if hi_open else (v > hi)).to_numpy()
    lo_s = "" if lo is None else f"{lo:g}"
    hi_s = "" if hi is None else f"{hi:g}"
    what = (
        "is negative"
        if lo == 0 and hi is None
        else f"is outside [{lo_s}, {hi_s}{')' if hi_open else ']'}"
    )
    return reject_rows(raw, path, invalid, col, what, on_bad_rows, bad)


def check_times(
    raw: pd.DataFrame, path: Path, col: str, on_bad_rows: str, bad: BadRows
) -> pd.DataFrame:
    """Fail on (or skip and count) rows whose computed time ``col`` is outside [1990, 2100)."""
    ts = raw[col]
    invalid = (ts.isna() | (ts < TS_MIN) | (ts >= TS_MAX)).to_numpy()
    return reject_rows(raw, path, invalid, col, f"gives a time {_TS_RANGE}", on_bad_rows, bad)


def duplicates(
    raw: pd.DataFrame,
    path: Path,
    bad: BadRows,
    *,
    key: list[str] | None = None,
    drop: bool = True,
    on_bad_rows: str = "error",
    probe: list[str] | None = None,
) -> pd.DataFrame:
    """Count exact duplicate rows (all fields equal) in ``bad.duplicates``; drop them when ``drop``.

    With ``key``, rows that repeat a key with other values are bad rows (fail, or skip and count).
    ``probe`` (a few discriminating columns) only speeds this up: all fields are compared among
    the rows that repeat the probe.
    """
    cols = [c for c in raw.columns if c != "_line"]
    if probe:
        maybe = raw.duplicated(probe, keep=False).to_numpy()
        exact = np.zeros(len(raw), dtype=bool)
        exact[maybe] = raw[maybe].duplicated(cols, keep="first").to_numpy()
    else:
        exact = raw.duplicated(cols, keep="first").to_numpy()
    if exact.any():
        rows = np.flatnonzero(exact)
        firsts = []
        for i in rows[:EXAMPLES]:
            same = np.ones(len(raw), dtype=bool)
            for c in cols:
                a, v = raw[c], raw[c].iat[i]
                same &= (a.isna() if pd.isna(v) else (a == v).fillna(False)).to_numpy()
            firsts.append(raw["_line"].iat[int(np.flatnonzero(same)[0])])
        bad.add_duplicates(path, raw["_line"].to_numpy()[rows[:EXAMPLES]], np.array(firsts), drop)
        bad.duplicates[Path(path).name]["rows"] += len(rows) - len(rows[:EXAMPLES])
        if drop:
            raw = raw[~exact].reset_index(drop=True)
    if key:
        repeated = raw.duplicated(key, keep="first").to_numpy()
        named = f" ({', '.join(key)})" if len(key) > 1 else ""
        raw = reject_rows(
            raw,
            path,
            repeated,
            key[-1],
            f"repeats the key{named} of an earlier line with other values",
            on_bad_rows,
            bad,
        )
    return raw
