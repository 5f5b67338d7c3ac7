"""Data quality: what is in each table, what is missing, what is duplicated, what time it covers.

Also the two conventions every ``shopintent.eda`` module follows for data that cannot support
a result: a table comes back empty with its usual columns and ``attrs["reason"]`` (built by
``unavailable``); a scalar comes back ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from shopintent.data.schema import EVENT_TYPES

#: Quantiles shown by ``distribution`` (as column names p10, p25, ...).
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)


def unavailable(columns: list[str], reason: str) -> pd.DataFrame:
    """An empty table with ``columns``, saying in ``attrs["reason"]`` why it is empty."""
    out = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    out.attrs["reason"] = reason
    return out


def reason(table: pd.DataFrame) -> str | None:
    """Why ``table`` is empty, or None when it is a real result."""
    return table.attrs.get("reason")


def distribution(values: pd.Series | Mapping[str, pd.Series]) -> pd.DataFrame:
    """Count, mean, quantiles (p10..p99) and extremes of one or more numeric series.

    A mapping gives one row per name; nulls are left out of every statistic.
    """
    named = values if isinstance(values, Mapping) else {values.name or "value": values}
    rows = []
    for name, s in named.items():
        s = pd.to_numeric(pd.Series(s), errors="coerce").dropna()
        q = s.quantile(QUANTILES).to_numpy() if len(s) else np.full(len(QUANTILES), np.nan)
        rows.append(
            [
                name,
                len(s),
                s.mean() if len(s) else np.nan,
                s.min() if len(s) else np.nan,
                *q,
                s.max() if len(s) else np.nan,
            ]
        )
    cols = ["variable", "count", "mean", "min", *[f"p{round(p * 100)}" for p in QUANTILES], "max"]
    return pd.DataFrame(rows, columns=cols)


def row_counts(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows and columns of each table (e.g. ``shop.tables()``), in the mapping's order."""
    return pd.DataFrame(
        {
            "table": list(tables),
            "rows": [len(df) for df in tables.values()],
            "columns": [df.shape[1] for df in tables.values()],
        }
    )


def null_counts(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Nulls per column of each table: ``table, column, rows, nulls, null_share``.

    A column that is entirely null is one the source does not have (DESIGN.md: never invented).
    """
    frames = []
    for name, df in tables.items():
        nulls = df.isna().sum()
        frames.append(
            pd.DataFrame(
                {
                    "table": name,
                    "column": nulls.index.astype(str),
                    "rows": len(df),
                    "nulls": nulls.to_numpy(dtype=np.int64),
                }
            )
        )
    if not frames:
        return unavailable(["table", "column", "rows", "nulls", "null_share"], "no tables given")
    out = pd.concat(frames, ignore_index=True)
    out["null_share"] = out["nulls"] / out["rows"].where(out["rows"] > 0)
    return out


#: Event types whose exact repeats are order lines, not logging errors: a retailer's invoice
#: may list the same item twice (two lines, or one line per unit), so two purchase rows equal in
#: every column (``quantity`` too, where the log has one) are still two things bought.
ORDER_LINE_EVENTS = ("purchase",)


def duplicate_mask(events: pd.DataFrame) -> np.ndarray:
    """Rows that ``drop_duplicate_events`` drops: exact copies (every column, incl. an extra
    ``quantity``, equal to an earlier row) of an event that is not an order line.

    The rule: a repeated view, search, cart or other event at the same time is a logging
    artefact (a double-sent tracker call) and counts once; a repeated purchase row is a repeated
    order line of the same order (``ORDER_LINE_EVENTS``) and is kept. Both are reported by
    ``duplicate_events``.
    """
    copies = events.duplicated(keep="first").to_numpy()
    if "event_type" in events:
        copies = copies & ~events["event_type"].isin(ORDER_LINE_EVENTS).to_numpy()
    return copies


def duplicate_events(events: pd.DataFrame) -> dict[str, float]:
    """Exact duplicate events (every column equal to an earlier row): ``count`` and ``share``
    of all of them, ``order_lines`` (those that are purchases: repeated order lines, kept) and
    ``dropped`` (the rest, which ``drop_duplicate_events`` removes)."""
    count = int(events.duplicated(keep="first").sum())
    dropped = int(duplicate_mask(events).sum())
    return {
        "count": count,
        "share": count / len(events) if len(events) else None,
        "order_lines": count - dropped,
        "dropped": dropped,
    }


def drop_duplicate_events(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` without exact duplicates that are not order lines (see ``duplicate_mask``):
    the first of each copy kept, repeated purchase rows all kept, order unchanged."""
    mask = duplicate_mask(events)
    return events[~mask] if mask.any() else events


def time_span(events: pd.DataFrame) -> dict[str, object]:
    """First and last event time and the span in days.

    Also on how many distinct UTC days there are events.
    """
    ts = events["ts"].dropna() if "ts" in events else pd.Series([], dtype="datetime64[us, UTC]")
    if ts.empty:
        return {
            "start": None,
            "end": None,
            "days": None,
            "active_days": None,
            "reason": "no event timestamps",
        }
    start, end = ts.min(), ts.max()
    return {
        "start": start,
        "end": end,
        "days": (end - start) / pd.Timedelta(days=1),
        "active_days": int(ts.dt.floor("D").nunique()),
    }


def event_type_counts(events: pd.DataFrame) -> pd.DataFrame:
    """Events, sessions and users per event type: ``event_type, events, share, sessions, users``.

    Canonical types first, in funnel order (types the log does not have are left out).
    """
    g = events.groupby("event_type", observed=True)
    out = pd.DataFrame(
        {"events": g.size(), "sessions": g["session_id"].nunique(), "users": g["user_id"].nunique()}
    )
    order = [t for t in EVENT_TYPES if t in out.index] + sorted(set(out.index) - set(EVENT_TYPES))
    out = out.loc[order].rename_axis("event_type").reset_index()
    out.insert(2, "share", out["events"] / len(events) if len(events) else np.nan)
    return out


def quality_summary(tables: Mapping[str, pd.DataFrame]) -> dict[str, object]:
    """The headline facts about ``tables`` (which must include ``events``) in one flat dict."""
    events = tables["events"]
    dup = duplicate_events(events)
    span = time_span(events)
    return {
        "events": len(events),
        "duplicate_events": dup["count"],
        "duplicate_share": dup["share"],
        "duplicate_order_lines": dup["order_lines"],
        "sessions": int(events["session_id"].nunique()),
        "users": int(events["user_id"].nunique()),
        "start": span["start"],
        "end": span["end"],
        "days": span["days"],
        "active_days": span["active_days"],
    }
