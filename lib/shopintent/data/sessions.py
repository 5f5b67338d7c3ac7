"""Sessionisation: cutting a user's event stream into sessions at gaps of inactivity."""

from __future__ import annotations

import pandas as pd

DEFAULT_GAP = pd.Timedelta(minutes=30)


def sessionize(
    events: pd.DataFrame, gap: pd.Timedelta | str = DEFAULT_GAP, prefix: str = ""
) -> pd.Series:
    """Session ids for ``events`` (columns ``user_id``, ``ts``): a new session starts at a user's
    first event and after every gap longer than ``gap``. Ids read ``<prefix><user>-<n>``, n from 1.

    Returns a Series aligned with ``events.index``; ties in time keep their input order.
    """
    gap = pd.Timedelta(gap)
    if gap <= pd.Timedelta(0):
        raise ValueError(f"the session gap must be positive, got {gap}")
    ordered = events[["user_id", "ts"]].sort_values(["user_id", "ts"], kind="stable")
    user = ordered["user_id"].astype(str)
    new_user = user.ne(user.shift())
    new_session = new_user | ordered["ts"].diff().gt(gap)
    number = new_session.astype(int).groupby(user.to_numpy()).cumsum()
    ids = prefix + user + "-" + number.astype(str)
    return ids.reindex(events.index)


def parse_gap(value: str | pd.Timedelta) -> pd.Timedelta:
    """A session gap from text such as ``30min`` or ``1h``; a clear ValueError otherwise."""
    try:
        gap = pd.Timedelta(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"session gap {value!r} is not a duration like 30min or 1h") from None
    if pd.isna(gap) or gap <= pd.Timedelta(0):
        raise ValueError(f"session gap {value!r} must be a positive duration like 30min or 1h")
    return gap
