"""The canonical tables (DESIGN.md, "The data model") and their validation.

Every source is converted into these four tables; everything downstream reads only them.
Optional means optional: a column a source lacks is null, never invented. In particular
``events.user_id`` may be null (a click log without users), the ``events`` table may be empty
(a dataset of only reviews or only search judgements has no behaviour), and a review needs
only its ``rating`` (``text`` usually): ``reviews.user_id``, ``item_id`` and ``ts`` may be null.
Code reading the tables checks what is there (capabilities), not which dataset it is.
``conform`` turns a loader's DataFrame into the canonical column order and dtypes (adding
absent optional columns as null, never inventing values); ``validate_table`` and
``validate_dataset`` raise one ``SchemaError`` that names the table, the column, what was
expected and the first offending rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Event types of the canonical log; the first four are the core funnel, sources may add the rest.
CORE_EVENT_TYPES = ("search", "view", "cart", "purchase")
EVENT_TYPES = CORE_EVENT_TYPES + ("fav", "remove_from_cart")
ENTITY_LABELS = ("brand", "model", "category", "attribute")
#: Query and session intents where a source records them (``queries.intent``), in array order.
INTENTS = ("navigational", "exploratory", "comparison", "purchase_ready")
SENTIMENTS = ("negative", "neutral", "positive")
#: Timestamps outside this window are a unit or parsing bug (e.g. ms read as s, or 0 for missing).
TS_MIN = pd.Timestamp("1990-01-01", tz="UTC")
TS_MAX = pd.Timestamp("2100-01-01", tz="UTC")
TS_DTYPE = "datetime64[us, UTC]"
_SHOW = 5  # offending rows quoted in an error message


class SchemaError(ValueError):
    """A table does not match the canonical schema; the message says where and why."""


@dataclass(frozen=True)
class Column:
    """One canonical column. ``kind``: str, ts, float, int, dict, entities.

    ``required`` columns must come from the source; the others are added as null when
    the source lacks them. ``nullable=False`` forbids nulls.
    """

    name: str
    kind: str
    required: bool = False
    nullable: bool = True


TABLES: dict[str, tuple[Column, ...]] = {
    "events": (
        Column("user_id", "str"),  # null: a log without users (a session is still required)
        Column("session_id", "str", required=True, nullable=False),
        Column("ts", "ts", required=True, nullable=False),
        Column("event_type", "str", required=True, nullable=False),
        Column("item_id", "str"),
        Column("query_id", "str"),
        Column("price", "float"),
    ),
    "items": (
        Column("item_id", "str", required=True, nullable=False),
        Column("title", "str"),
        Column("brand", "str"),
        Column("category", "str"),
        Column("price", "float"),
        Column("attributes", "dict"),
        Column("description", "str"),
    ),
    "queries": (
        Column("query_id", "str", required=True, nullable=False),
        Column("text", "str", required=True, nullable=False),
        Column("intent", "str"),
        Column("entities", "entities"),
    ),
    "reviews": (
        Column("review_id", "str", required=True, nullable=False),
        Column("user_id", "str"),
        Column("item_id", "str"),
        Column("ts", "ts"),
        Column("rating", "int", required=True, nullable=False),
        Column("text", "str"),
        Column("sentiment", "str"),
    ),
}
KEYS = {"items": "item_id", "queries": "query_id", "reviews": "review_id"}


def columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]


def empty_table(table: str) -> pd.DataFrame:
    """A canonical table with no rows (for a source that lacks it, e.g. reviews)."""
    return conform(
        table,
        pd.DataFrame({c.name: pd.Series([], dtype=object) for c in TABLES[table] if c.required}),
    )


def known_user_events(
    events: pd.DataFrame, *, with_item: bool = False, col_user: str = "user_id"
) -> pd.DataFrame:
    """The events that belong to a user: those with a ``col_user``; ``with_item``: only those
    with an item too (a user's interactions, no searches). Anonymous events (a guest order, a
    session logged without a login) belong to no user, so every user-level task (recommending,
    retrieving, re-ranking, segmenting users) leaves them out here, rather than sorting a null
    among the user ids or counting guests as one user."""
    keep = events[col_user].notna()
    if with_item:
        keep &= events["item_id"].notna()
    return events[keep]


def _fail(
    table: str,
    column: str | None,
    what: str,
    df: pd.DataFrame,
    bad: np.ndarray,
    values: pd.Series | None = None,
) -> None:
    """Raise a SchemaError quoting the first offending row positions (and their values)."""
    rows = np.flatnonzero(bad)
    where = f"{table}.{column}" if column else table
    shown = rows[:_SHOW]
    if values is not None:
        quoted = ", ".join(_quote(values.iloc[i]) for i in shown)
        detail = f"rows {', '.join(map(str, shown))}: {quoted}"
    else:
        detail = f"rows {', '.join(map(str, shown))}"
    more = ", ..." if len(rows) > _SHOW else ""
    raise SchemaError(f"{where}: {len(rows)} {what} ({detail}{more})")


def _quote(v) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    return f"'{v}'" if isinstance(v, pd.Timestamp) else repr(v)


def _coerce(table: str, col: Column, s: pd.Series, df: pd.DataFrame) -> pd.Series:
    """Convert one column to its canonical dtype; raise on values that cannot be converted."""
    missing = s.isna().to_numpy()
    if col.kind == "str":
        if pd.api.types.is_float_dtype(s):  # ids read as floats (1.0): keep the integer text
            whole = s.dropna()
            if (whole == np.floor(whole)).all():
                s = s.astype("Int64")
        out = s.astype("str")
        return out.where(~missing, None).astype("str")
    if col.kind == "ts":
        out = _to_utc(s)
        _check(
            table,
            col.name,
            "values cannot be parsed as timestamps",
            df,
            out.isna().to_numpy() & ~missing,
            s,
        )
        return out
    if col.kind in ("float", "int"):
        out = pd.to_numeric(s, errors="coerce")
        _check(
            table,
            col.name,
            f"values cannot be parsed as {col.kind}",
            df,
            out.isna().to_numpy() & ~missing,
            s,
        )
        if col.kind == "int":
            out_f = out.astype("float64")
            _check(
                table,
                col.name,
                "values are not whole numbers",
                df,
                (out_f.notna() & (out_f != np.floor(out_f))).to_numpy(),
                s,
            )
            return out.astype("int64" if not out.isna().any() else "Int64")
        return out.astype("float64")
    if col.kind in ("dict", "entities"):
        want = dict if col.kind == "dict" else list
        vals = [
            None
            if _is_null(v)
            else (list(v) if want is list and isinstance(v, (tuple, np.ndarray)) else v)
            for v in s.tolist()
        ]
        bad = np.array([v is not None and not isinstance(v, want) for v in vals], dtype=bool)
        _check(table, col.name, f"values are not {want.__name__}s", df, bad, s)
        return pd.Series(vals, index=s.index, dtype=object)
    raise AssertionError(col.kind)


def _is_null(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _to_utc(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(s):
        out = s.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(s):
        raise SchemaError(
            f"timestamps must be parsed by the loader, got numbers ({s.name}); "
            "convert unix time with pd.to_datetime(..., unit='s', utc=True)"
        )
    else:
        out = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    return out.astype(TS_DTYPE)


def _check(table, column, what, df, bad, values=None) -> None:
    if bad.any():
        _fail(table, column, what, df, bad, values)


def conform(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` in canonical column order and dtypes, validated.

    Missing optional columns are added as null; extra columns are kept after the canonical
    ones (e.g. a movie rating on events). Raises SchemaError on anything that does not fit.
    """
    if table not in TABLES:
        raise SchemaError(f"unknown table {table!r}; canonical tables: {', '.join(TABLES)}")
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{table}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c.name for c in TABLES[table] if c.required and c.name not in df.columns]
    if missing:
        raise SchemaError(
            f"{table}: missing required column(s) {', '.join(missing)} "
            f"(expected columns: {', '.join(columns(table))}; "
            f"got: {', '.join(map(str, df.columns))})"
        )
    df = df.reset_index(drop=True)
    out = {}
    for col in TABLES[table]:
        s = df[col.name] if col.name in df.columns else pd.Series([None] * len(df), dtype=object)
        out[col.name] = _coerce(table, col, s, df)
    extra = [c for c in df.columns if c not in out]
    result = pd.DataFrame(out)
    for c in extra:
        result[c] = df[c].to_numpy()
    validate_table(table, result)
    return result


def validate_table(table: str, df: pd.DataFrame) -> None:
    """Check one canonical table's columns, nulls, keys and value domains."""
    for col in TABLES[table]:
        if col.name not in df.columns:
            raise SchemaError(
                f"{table}: missing column {col.name} "
                f"(expected columns: {', '.join(columns(table))})"
            )
        s = df[col.name]
        if col.kind == "ts" and str(s.dtype) != TS_DTYPE:
            raise SchemaError(f"{table}.{col.name}: expected dtype {TS_DTYPE}, got {s.dtype}")
        if not col.nullable:
            _check(
                table, col.name, "null values where a value is required", df, s.isna().to_numpy()
            )
        if col.kind == "ts":
            bad = (s.notna() & ((s < TS_MIN) | (s >= TS_MAX))).to_numpy()
            _check(
                table,
                col.name,
                f"timestamps outside [{TS_MIN.date()}, {TS_MAX.date()})",
                df,
                bad,
                s,
            )
    if table in KEYS:
        key = KEYS[table]
        _check(
            table, key, "duplicate keys", df, df[key].duplicated(keep="first").to_numpy(), df[key]
        )
    if table == "events":  # may be empty: a source without behaviour has no events
        _check(
            table,
            "event_type",
            f"unknown event types (expected one of {', '.join(EVENT_TYPES)})",
            df,
            ~df["event_type"].isin(EVENT_TYPES).to_numpy(),
            df["event_type"],
        )
        is_search = (df["event_type"] == "search").to_numpy()
        _check(
            table,
            "query_id",
            "search events without a query_id",
            df,
            is_search & df["query_id"].isna().to_numpy(),
        )
        _check(
            table,
            "item_id",
            "non-search events without an item_id",
            df,
            ~is_search & df["item_id"].isna().to_numpy(),
            df["event_type"],
        )
    if "price" in df.columns:
        _check(
            table,
            "price",
            "negative or infinite prices",
            df,
            (
                df["price"].notna() & ~np.isfinite(df["price"].fillna(0)) | (df["price"] < 0)
            ).to_numpy(),
            df["price"],
        )
    if table == "reviews":
        _check(
            table,
            "rating",
            "ratings outside 1..5",
            df,
            ~df["rating"].between(1, 5).to_numpy(),
            df["rating"],
        )
        _check(
            table,
            "sentiment",
            f"unknown sentiments (expected one of {', '.join(SENTIMENTS)})",
            df,
            (df["sentiment"].notna() & ~df["sentiment"].isin(SENTIMENTS)).to_numpy(),
            df["sentiment"],
        )
    if table == "queries":
        _validate_entities(df)


def _validate_entities(queries: pd.DataFrame) -> None:
    bad = np.zeros(len(queries), dtype=bool)
    for i, (text, ents) in enumerate(
        zip(queries["text"].tolist(), queries["entities"].tolist(), strict=True)
    ):
        if ents is None:
            continue
        for e in ents:
            if not (
                isinstance(e, dict)
                and {"start", "end", "label"} <= e.keys()
                and 0 <= int(e["start"]) < int(e["end"]) <= len(text)
            ):
                bad[i] = True
                break
    _check(
        "queries",
        "entities",
        "entity spans that are not {start, end, label} inside the text",
        queries,
        bad,
        queries["entities"],
    )


def validate_dataset(
    events: pd.DataFrame, items: pd.DataFrame, queries: pd.DataFrame, reviews: pd.DataFrame
) -> None:
    """Each table, then the references between them (every event's item and query exist)."""
    for name, df in (
        ("events", events),
        ("items", items),
        ("queries", queries),
        ("reviews", reviews),
    ):
        validate_table(name, df)
    known_items = pd.Index(items["item_id"])  # keys are unique (checked above)
    for name, df in (("events", events), ("reviews", reviews)):
        ids = df["item_id"]
        _check(
            name,
            "item_id",
            "item ids not found in items.item_id",
            df,
            (ids.notna() & ~_known(ids, known_items)).to_numpy(),
            ids,
        )
    q = events["query_id"]
    _check(
        "events",
        "query_id",
        "query ids not found in queries.query_id",
        events,
        (q.notna() & ~_known(q, pd.Index(queries["query_id"]))).to_numpy(),
        q,
    )


def _known(values: pd.Series, keys: pd.Index) -> pd.Series:
    """``values.isin(keys)`` through a hash lookup (Series.isin on strings is ~50x slower)."""
    return pd.Series(keys.get_indexer(values) >= 0, index=values.index)
