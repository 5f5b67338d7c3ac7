"""RFM features, quantile scores with ties, segments and their conversion."""

import pandas as pd
import pytest

from shopintent.data.schema import conform
from shopintent.eda import segments


def test_quantile_scores_on_distinct_values():
    s = pd.Series(range(1, 11))
    # ten values into five equal bins of two
    assert segments.quantile_scores(s).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert segments.quantile_scores(s, higher_is_better=False).tolist() == [
        5,
        5,
        4,
        4,
        3,
        3,
        2,
        2,
        1,
        1,
    ]


def test_quantile_scores_with_ties():
    s = pd.Series([1, 1, 1, 1, 1, 1, 2, 2, 3, 4])
    with pytest.raises(ValueError, match="Bin edges must be unique"):
        pd.qcut(s, 5)  # why plain qcut is not enough
    # bins by order: 1 1 2 2 3 3 | 4 4 | 5 5; the six 1s share the lowest (1), the two 2s get 4
    assert segments.quantile_scores(s).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert segments.quantile_scores(pd.Series([7, 7, 7])).tolist() == [1, 1, 1]
    with_null = segments.quantile_scores(pd.Series([1.0, None, 3.0]))
    assert with_null.isna().tolist() == [False, True, False] and with_null.dropna().tolist() == [
        1,
        5,
    ]


def make_events(rows):
    """rows: (user, session, ts, type, price)."""
    df = pd.DataFrame(rows, columns=["user_id", "session_id", "ts", "event_type", "price"]).assign(
        item_id="i"
    )
    return conform("events", df)


RFM_ROWS = [
    ("u1", "s1", "2025-01-01", "view", 10.0),
    ("u1", "s1", "2025-01-01", "purchase", 10.0),
    ("u1", "s2", "2025-01-10", "purchase", 5.0),
    ("u1", "s2", "2025-01-10", "purchase", 7.0),
    ("u2", "s3", "2025-01-05", "view", 3.0),
]


def test_rfm_features_by_hand():
    rfm = segments.rfm_features(make_events(RFM_ROWS)).set_index("user_id")
    # log ends 2025-01-10: u1 last seen then (0 days), u2 on 01-05 (5 days)
    assert rfm["recency_days"].tolist() == pytest.approx([0.0, 5.0])
    assert rfm["frequency"].tolist() == [2, 1]
    assert rfm["monetary"].tolist() == pytest.approx([22.0, 0.0])  # 10 + 5 + 7; u2 bought nothing
    assert rfm["purchases"].tolist() == [3, 0] and rfm["purchase_sessions"].tolist() == [2, 0]
    assert "reason" not in rfm.attrs
    later = segments.rfm_features(make_events(RFM_ROWS), now="2025-01-11")
    assert later["recency_days"].tolist() == pytest.approx([1.0, 6.0])


def test_rfm_without_prices_or_purchases_says_why():
    no_prices = make_events([(u, s, t, e, None) for u, s, t, e, _ in RFM_ROWS])
    rfm = segments.rfm_features(no_prices)
    assert (
        rfm["monetary"].isna().all()
        and rfm.attrs["reason"] == "monetary is null: purchases carry no prices"
    )
    seg = segments.rfm_segments(rfm)
    assert seg["m_score"].isna().all() and seg["rfm_code"].str.endswith("-").all()
    views = make_events([r for r in RFM_ROWS if r[3] == "view"])
    rfm = segments.rfm_features(views)
    assert rfm.attrs["reason"] == "monetary is null: the log has no purchases"
    summary = segments.segment_summary(segments.rfm_segments(rfm))
    assert summary["session_conversion"].isna().all() and summary["buyer_share"].isna().all()


def test_segment_grid():
    assert (
        segments.SEGMENT_GRID[4, 4] == "champions" and segments.SEGMENT_GRID[0, 0] == "hibernating"
    )
    assert segments.SEGMENT_GRID[0, 4] == "cant_lose" and segments.SEGMENT_GRID[4, 0] == "new"
    assert set(segments.SEGMENT_GRID.ravel()) == set(segments.SEGMENTS)


def test_rfm_segments_codes():
    rfm = pd.DataFrame(
        {
            "user_id": list("abcde"),
            "recency_days": [0.0, 1, 2, 3, 4],
            "frequency": [9, 7, 5, 3, 1],
            "monetary": [50.0, 40, 30, 20, 10],
            "purchases": [1] * 5,
            "purchase_sessions": [1] * 5,
        }
    )
    seg = segments.rfm_segments(rfm).set_index("user_id")
    # five users, five bins of one: a is best on every axis, e worst
    assert seg["rfm_code"].tolist() == ["555", "444", "333", "222", "111"]
    assert seg["segment"].tolist() == [
        "champions",
        "loyal",
        "need_attention",
        "hibernating",
        "hibernating",
    ]


def test_segment_summary_by_hand():
    seg = pd.DataFrame(
        {
            "segment": ["champions", "champions", "hibernating"],
            "recency_days": [1.0, 3.0, 30.0],
            "frequency": [4, 6, 2],
            "monetary": [30.0, 0.0, 5.0],
            "purchases": [3, 0, 1],
            "purchase_sessions": [2, 0, 1],
        }
    )
    s = segments.segment_summary(seg).set_index("segment")
    assert s["users"].tolist() == [2, 1] and s["user_share"].tolist() == pytest.approx(
        [2 / 3, 1 / 3]
    )
    assert s.loc["champions", "buyer_share"] == pytest.approx(0.5)  # 1 of 2 bought
    assert s.loc["champions", "session_conversion"] == pytest.approx(0.2)  # (2 + 0) / (4 + 6)
    assert s.loc["hibernating", "session_conversion"] == pytest.approx(0.5)  # 1 / 2
    assert s.loc["champions", "mean_recency_days"] == pytest.approx(2.0)


def test_smoke_shop(smoke_shop):
    ev = smoke_shop.events
    seg = segments.rfm_segments(segments.rfm_features(ev))
    assert len(seg) == ev["user_id"].nunique()
    assert seg[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    summary = segments.segment_summary(seg)
    assert summary["users"].sum() == len(seg)
    buys = ev[ev["event_type"] == "purchase"]["session_id"].nunique()
    total = (summary["session_conversion"] * summary["users"] * summary["mean_frequency"]).sum()
    assert total == pytest.approx(buys)  # conversions add back up to all purchase sessions
