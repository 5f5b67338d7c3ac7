"""Logs with anonymous sessions (no user id, e.g. guest orders): user-level steps leave them out."""

import pandas as pd

from shopintent.explain.ranking import split_for_ranking
from shopintent.studies.two_tower_retrieval import sample_users


def _log():
    ts = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    return pd.DataFrame(
        {
            "user_id": ["u1", None, "u2", None, "u1", "u3", None, "u2", "u3", "u1"],
            "session_id": [f"s{i}" for i in range(10)],
            "ts": ts,
            "event_type": "purchase",
            "item_id": list("abcabcabca"),
        }
    )


def test_two_tower_user_sample_leaves_anonymous_events_out():
    log = _log()
    assert sample_users(log, None)["user_id"].notna().all()
    assert len(sample_users(log, None)) == 7
    two = sample_users(log, 2, seed=1)
    assert two["user_id"].nunique() == 2 and two["user_id"].notna().all()


def test_ranking_split_leaves_anonymous_events_out():
    parts = split_for_ranking(_log(), test_frac=0.2, val_frac=0.1)
    assert all(p["user_id"].notna().all() for p in parts)
    assert sum(len(p) for p in (parts[2], parts[3])) == 7
