"""Sessions and activity: how long sessions are, how active users are, and when they shop.

Times are UTC, as stored: a shop's local hour of day may differ by its time-zone offset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.data.schema import EVENT_TYPES, known_user_events
from shopintent.eda.quality import distribution, unavailable

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def session_table(events: pd.DataFrame) -> pd.DataFrame:
    """One row per session: ``session_id, user_id, start, end, duration_min, events`` and one
    count column per event type present (``n_view``, ``n_cart``, ...), ordered by start.

    Duration is last minus first event time, so a one-event session lasts 0 minutes.
    """
    code, ids = pd.factorize(events["session_id"])
    g = events.groupby(code, sort=True)
    out = g.agg(
        user_id=("user_id", "first"),
        start=("ts", "min"),
        end=("ts", "max"),
        events=("event_type", "size"),
    )
    out.insert(0, "session_id", ids[out.index])
    out["duration_min"] = (out["end"] - out["start"]) / pd.Timedelta(minutes=1)
    present = set(events["event_type"].unique())
    types = [t for t in EVENT_TYPES if t in present] + sorted(present - set(EVENT_TYPES))
    type_code = pd.Index(types).get_indexer(events["event_type"])
    counts = np.bincount(code * len(types) + type_code, minlength=len(ids) * len(types))
    count_cols = [f"n_{t}" for t in types]
    out[count_cols] = counts.reshape(len(ids), len(types))[out.index]
    out = out.sort_values(["start"], kind="stable", ignore_index=True)
    return out[["session_id", "user_id", "start", "end", "duration_min", "events", *count_cols]]


def session_stats(sessions: pd.DataFrame) -> pd.DataFrame:
    """Distribution of events per session and session duration (minutes), from ``session_table``."""
    return distribution(
        {"events_per_session": sessions["events"], "duration_min": sessions["duration_min"]}
    )


def length_counts(sessions: pd.DataFrame, cap: int = 30) -> pd.DataFrame:
    """How many sessions have 1, 2, ... events: ``events, sessions, share``; lengths above
    ``cap`` are pooled in the row ``events == cap`` (read it as "cap or more")."""
    length = sessions["events"].clip(upper=cap)
    out = length.value_counts().sort_index().rename("sessions").rename_axis("events").reset_index()
    out["share"] = out["sessions"] / len(sessions) if len(sessions) else np.nan
    return out


def user_activity(events: pd.DataFrame) -> pd.DataFrame:
    """One row per user: ``user_id, events, sessions, active_days, first_ts, last_ts``,
    most events first. ``active_days``: distinct UTC days with at least one event. Events
    without a user are left out (``attrs["reason"]`` says so when none has one)."""
    events = known_user_events(events)
    if events.empty:
        return unavailable(
            ["user_id", "events", "sessions", "active_days", "first_ts", "last_ts"],
            "the log has no user ids",
        )
    day = events["ts"].dt.floor("D")
    g = events.assign(day=day).groupby("user_id", sort=False)
    out = g.agg(
        events=("event_type", "size"),
        sessions=("session_id", "nunique"),
        active_days=("day", "nunique"),
        first_ts=("ts", "min"),
        last_ts=("ts", "max"),
    )
    return out.sort_values("events", ascending=False, kind="stable").reset_index()


def activity_stats(users: pd.DataFrame) -> pd.DataFrame:
    """Distribution of events, sessions and active days per user, from ``user_activity``."""
    return distribution(
        {
            "events_per_user": users["events"],
            "sessions_per_user": users["sessions"],
            "active_days_per_user": users["active_days"],
        }
    )


def daily_activity(events: pd.DataFrame) -> pd.DataFrame:
    """Per UTC day with events: ``date, users, sessions, events`` (active users per day)."""
    day = events["ts"].dt.floor("D")
    g = events.assign(date=day).groupby("date")
    return g.agg(
        users=("user_id", "nunique"),
        sessions=("session_id", "nunique"),
        events=("event_type", "size"),
    ).reset_index()


def hour_weekday_matrix(events: pd.DataFrame, value: str = "events") -> pd.DataFrame:
    """A 7 × 24 table of activity: rows Mon..Sun, columns UTC hour 0..23.

    ``value``: "events" counts events; "sessions" counts sessions by their start time.
    """
    if value == "sessions":
        ts = events.groupby("session_id")["ts"].min()
    elif value == "events":
        ts = events["ts"]
    else:
        raise ValueError(f"value must be 'events' or 'sessions', got {value!r}")
    cell = ts.dt.day_of_week.to_numpy() * 24 + ts.dt.hour.to_numpy()
    counts = np.bincount(cell, minlength=7 * 24).reshape(7, 24)
    return pd.DataFrame(
        counts, index=pd.Index(WEEKDAYS, name="weekday"), columns=pd.Index(range(24), name="hour")
    )
