"""Session lengths and durations, user activity, daily actives, the weekday × hour matrix."""

import pandas as pd
import pytest

from shopintent.data.schema import conform
from shopintent.eda import sessions


@pytest.fixture
def events():
    rows = [  # 2025-01-06 is a Monday
        ("u1", "s1", "2025-01-06 10:00", "view"),
        ("u1", "s1", "2025-01-06 10:05", "view"),
        ("u1", "s1", "2025-01-06 10:20", "cart"),
        ("u1", "s2", "2025-01-07 09:00", "view"),
        ("u2", "s3", "2025-01-06 23:30", "view"),
        ("u2", "s3", "2025-01-06 23:50", "purchase"),
    ]
    df = pd.DataFrame(rows, columns=["user_id", "session_id", "ts", "event_type"]).assign(
        item_id="i"
    )
    return conform("events", df)


def test_session_table_by_hand(events):
    t = sessions.session_table(events).set_index("session_id")
    assert list(t.index) == ["s1", "s3", "s2"]  # ordered by start
    assert t["events"].tolist() == [3, 2, 1]
    assert t["duration_min"].tolist() == pytest.approx(
        [20.0, 20.0, 0.0]
    )  # 10:00->10:20, 23:30->23:50
    assert t["n_view"].tolist() == [2, 1, 1] and t["n_cart"].tolist() == [1, 0, 0]
    assert t["n_purchase"].tolist() == [0, 1, 0] and "n_search" not in t
    stats = sessions.session_stats(t.reset_index()).set_index("variable")
    assert stats.loc["events_per_session", "mean"] == pytest.approx(2.0)  # (3+2+1)/3
    assert stats.loc["duration_min", "mean"] == pytest.approx(40 / 3)  # (20+20+0)/3


def test_length_counts_pool_long_sessions(events):
    counts = sessions.length_counts(sessions.session_table(events), cap=2)
    # lengths 3, 2, 1 -> capped 2, 2, 1
    assert counts.to_dict("list") == {
        "events": [1, 2],
        "sessions": [1, 2],
        "share": pytest.approx([1 / 3, 2 / 3]),
    }


def test_user_and_daily_activity(events):
    users = sessions.user_activity(events).set_index("user_id")
    assert users.loc["u1", ["events", "sessions", "active_days"]].tolist() == [4, 2, 2]
    assert users.loc["u2", ["events", "sessions", "active_days"]].tolist() == [2, 1, 1]
    daily = sessions.daily_activity(events)
    assert daily["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-06", "2025-01-07"]
    assert daily[["users", "sessions", "events"]].to_numpy().tolist() == [[2, 2, 5], [1, 1, 1]]
    per_user = sessions.activity_stats(sessions.user_activity(events)).set_index("variable")
    assert per_user.loc["events_per_user", "mean"] == pytest.approx(3.0)


def test_hour_weekday_matrix(events):
    m = sessions.hour_weekday_matrix(events)
    assert m.shape == (7, 24) and list(m.index) == list(sessions.WEEKDAYS)
    assert m.loc["Mon", 10] == 3 and m.loc["Mon", 23] == 2 and m.loc["Tue", 9] == 1
    assert m.to_numpy().sum() == 6
    by_start = sessions.hour_weekday_matrix(events, value="sessions")
    assert (
        by_start.loc["Mon", 10] == 1
        and by_start.loc["Mon", 23] == 1
        and by_start.to_numpy().sum() == 3
    )


def test_smoke_shop(smoke_shop):
    ev = smoke_shop.events
    t = sessions.session_table(ev)
    assert len(t) == ev["session_id"].nunique() and t["events"].sum() == len(ev)
    assert (t["duration_min"] >= 0).all()
    assert sessions.hour_weekday_matrix(ev).to_numpy().sum() == len(ev)
    daily = sessions.daily_activity(ev)
    assert daily["events"].sum() == len(ev) and daily["users"].max() <= ev["user_id"].nunique()
