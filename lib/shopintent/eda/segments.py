"""User segments from recency, frequency and monetary value (RFM).

Features per user, over all users with events (not only buyers, so that segments can be compared
by conversion): recency = days from the user's last event to the end of the log; frequency =
sessions; monetary = total price of the user's purchases (0 for a user who bought nothing; None
when the log has no purchases or no prices). Each is scored 1–5 by quintile (5 = best: most
recent, most frequent, highest spend), and the classic R×F grid names the segment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.data.schema import known_user_events
from shopintent.eda.quality import unavailable

RFM_COLUMNS = [
    "user_id",
    "last_ts",
    "recency_days",
    "frequency",
    "monetary",
    "purchases",
    "purchase_sessions",
]

#: the columns of ``segment_summary``
SUMMARY_COLUMNS = [
    "segment",
    "users",
    "user_share",
    "mean_recency_days",
    "mean_frequency",
    "mean_monetary",
    "buyer_share",
    "session_conversion",
]

#: Segment of each (R, F) score pair: SEGMENT_GRID[r - 1][f - 1], after the widely used RFM map.
_GRID_ROWS = {
    1: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    4: ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
    5: ["new", "potential_loyalist", "potential_loyalist", "champions", "champions"],
}
SEGMENT_GRID = np.array([_GRID_ROWS[r] for r in range(1, 6)], dtype=object)
SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
)


def rfm_features(events: pd.DataFrame, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per user: ``user_id, last_ts, recency_days, frequency, monetary, purchases,
    purchase_sessions``.

    ``now`` (default: the last event time of the log) is the date recency is measured to.
    ``attrs["reason"]`` says why monetary is all null, when it is.
    """
    if events.empty:
        return unavailable(RFM_COLUMNS, "no events")
    now = events["ts"].max() if now is None else pd.Timestamp(now)
    events = known_user_events(events)  # segments are of known users
    if events.empty:
        return unavailable(RFM_COLUMNS, "the log has no user ids")
    now = now.tz_localize("UTC") if now.tzinfo is None else now  # naive times are read as UTC
    g = events.groupby("user_id", sort=True)
    out = g.agg(last_ts=("ts", "max"), frequency=("session_id", "nunique"))
    out["recency_days"] = (now - out["last_ts"]) / pd.Timedelta(days=1)
    bought = events[events["event_type"] == "purchase"]
    pg = bought.groupby("user_id")
    out["purchases"] = pg.size().reindex(out.index, fill_value=0).astype(np.int64)
    out["purchase_sessions"] = (
        pg["session_id"].nunique().reindex(out.index, fill_value=0).astype(np.int64)
    )
    why = None
    if bought.empty:
        why = "the log has no purchases"
    elif bought["price"].notna().sum() == 0:
        why = "purchases carry no prices"
    if why is None:
        out["monetary"] = pg["price"].sum(min_count=1).reindex(out.index).fillna(0.0)
    else:
        out["monetary"] = np.nan
    out = out.reset_index()[RFM_COLUMNS]
    if why:
        out.attrs["reason"] = f"monetary is null: {why}"
    return out


def quantile_scores(values: pd.Series, q: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Quantile scores 1..q (q = best) of ``values`` with ``pd.qcut``; null values get no score.

    qcut is applied to the values' order (``rank(method="first")``), so the q bins are always
    equal in size even when many values tie (a plain qcut fails on repeated bin edges); tied
    values then all take the lowest score any of them got, so equal users share a score (and a
    value held by most users scores low: 60% of users with one session all get F = 1). A single
    distinct value scores 1 everywhere.
    """
    v = pd.to_numeric(values, errors="coerce")
    v = v if higher_is_better else -v
    known = v.dropna()
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if known.empty:
        return out
    if known.nunique() == 1:
        out.loc[known.index] = 1
        return out
    # Ranks 1..n are distinct, so qcut's edges 1 + (n-1)k/q never repeat for n >= 2.
    binned = pd.qcut(known.rank(method="first"), q, labels=False)
    score = (binned + 1).groupby(known).transform("min").astype(np.int64)
    out.loc[known.index] = score.to_numpy()
    return out


def rfm_segments(rfm: pd.DataFrame, q: int = 5) -> pd.DataFrame:
    """``rfm`` plus ``r_score, f_score, m_score`` (1..q), ``rfm_code`` (e.g. "545") and ``segment``.

    The segment uses R and F only (``SEGMENT_GRID``, defined for q = 5); M is left null when
    monetary is unknown, and its code digit is then "-".
    """
    out = rfm.copy()
    out["r_score"] = quantile_scores(out["recency_days"], q, higher_is_better=False)
    out["f_score"] = quantile_scores(out["frequency"], q)
    out["m_score"] = quantile_scores(out["monetary"], q)
    digits = [out[c].astype("string").fillna("-") for c in ("r_score", "f_score", "m_score")]
    out["rfm_code"] = (digits[0] + digits[1] + digits[2]).astype(str)
    if q == 5 and len(out):
        r = out["r_score"].to_numpy(dtype=np.int64) - 1
        f = out["f_score"].to_numpy(dtype=np.int64) - 1
        out["segment"] = SEGMENT_GRID[r, f]
    else:
        out["segment"] = pd.Series([None] * len(out), dtype=object)
    out.attrs.update(rfm.attrs)
    return out


def segment_summary(segments: pd.DataFrame) -> pd.DataFrame:
    """Per segment: ``segment, users, user_share, mean_recency_days, mean_frequency,
    mean_monetary, buyer_share, session_conversion`` in ``SEGMENTS`` order.

    ``buyer_share`` = users with a purchase / users; ``session_conversion`` = sessions with a
    purchase / sessions of the segment's users. Both NaN when the log has no purchases.
    """
    cols = SUMMARY_COLUMNS
    if segments.empty or segments["segment"].isna().all():
        return unavailable(
            cols, segments.attrs.get("reason") or "no segments (named only for q = 5)"
        )
    g = segments.groupby("segment")
    out = pd.DataFrame(
        {
            "users": g.size(),
            "mean_recency_days": g["recency_days"].mean(),
            "mean_frequency": g["frequency"].mean(),
            "mean_monetary": g["monetary"].mean(),
            "buyer_share": segments["purchases"].gt(0).groupby(segments["segment"]).mean(),
            "session_conversion": g["purchase_sessions"].sum() / g["frequency"].sum(),
        }
    )
    no_purchases = segments["purchases"].sum() == 0
    if no_purchases:
        out[["buyer_share", "session_conversion"]] = np.nan
    out.insert(1, "user_share", out["users"] / out["users"].sum())
    order = [s for s in SEGMENTS if s in out.index]
    out = out.loc[order].rename_axis("segment").reset_index()[cols]
    out.attrs.update(segments.attrs)
    return out
