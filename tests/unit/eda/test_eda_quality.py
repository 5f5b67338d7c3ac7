"""Data quality tables: counts, nulls, exact duplicates, time span, events per type."""

import pandas as pd
import pytest

from shopintent.data.schema import conform
from shopintent.eda import quality


def make_events(rows):
    """rows: (user, session, ts, type, item, price); searches get a query id."""
    df = pd.DataFrame(
        rows, columns=["user_id", "session_id", "ts", "event_type", "item_id", "price"]
    )
    df["query_id"] = [
        "q" + str(i) if t == "search" else None for i, t in enumerate(df["event_type"])
    ]
    return conform("events", df)


@pytest.fixture
def events():
    return make_events(
        [
            ("u1", "s1", "2025-01-01 00:00", "search", None, None),
            ("u1", "s1", "2025-01-01 00:01", "view", "a", 10.0),
            ("u1", "s1", "2025-01-01 00:01", "view", "a", 10.0),  # an exact copy of the row above
            ("u2", "s2", "2025-01-02 08:00", "view", "b", None),
            ("u2", "s2", "2025-01-03 12:00", "purchase", "b", 5.0),
        ]
    )


def test_exact_duplicates_are_counted_and_dropped(events):
    assert quality.duplicate_events(events) == {
        "count": 1,
        "share": 1 / 5,
        "order_lines": 0,
        "dropped": 1,
    }
    kept = quality.drop_duplicate_events(events)
    assert len(kept) == 4 and quality.duplicate_events(kept)["count"] == 0
    # Same item and time but another type is not a duplicate.
    other = events.copy()
    other.loc[2, "event_type"] = "cart"
    assert quality.duplicate_events(other)["count"] == 0


def test_repeated_order_lines_are_reported_and_kept(events):
    """Issue 18: the same item twice in one order (two equal purchase rows) is two order lines:
    reported among the exact duplicates, never dropped; a repeated view still is."""
    rows = pd.concat([events, events.iloc[[4, 4]]], ignore_index=True)
    dup = quality.duplicate_events(rows)
    assert (dup["count"], dup["order_lines"], dup["dropped"]) == (3, 2, 1)
    kept = quality.drop_duplicate_events(rows)
    assert len(kept) == 6
    assert (kept["event_type"] == "purchase").sum() == 3
    assert (kept["event_type"] == "view").sum() == 2


def test_a_quantity_column_takes_part_in_the_comparison(events):
    """Lines of one order that differ in quantity are no duplicates; equal ones are order lines."""
    rows = pd.concat([events, events.iloc[[4, 4]]], ignore_index=True)
    rows["quantity"] = [1, 1, 1, 1, 1, 2, 2]
    dup = quality.duplicate_events(rows)
    assert (dup["count"], dup["order_lines"], dup["dropped"]) == (2, 1, 1)
    assert len(quality.drop_duplicate_events(rows)) == 6


def test_row_and_null_counts(events):
    items = conform("items", pd.DataFrame({"item_id": ["a", "b"], "brand": ["Acme", None]}))
    rows = quality.row_counts({"events": events, "items": items})
    assert rows.to_dict("list") == {"table": ["events", "items"], "rows": [5, 2], "columns": [7, 7]}
    nulls = quality.null_counts({"events": events, "items": items}).set_index(["table", "column"])
    # events.price: rows 0 and 3 are null -> 2 of 5; items.brand: 1 of 2; items.title: 2 of 2.
    assert nulls.loc[("events", "price"), "nulls"] == 2
    assert nulls.loc[("events", "price"), "null_share"] == pytest.approx(0.4)
    assert nulls.loc[("items", "brand"), "null_share"] == pytest.approx(0.5)
    assert nulls.loc[("items", "title"), "null_share"] == pytest.approx(1.0)
    assert nulls.loc[("events", "user_id"), "nulls"] == 0


def test_time_span(events):
    span = quality.time_span(events)
    # 2025-01-01 00:00 -> 2025-01-03 12:00 = 2.5 days, events on 3 distinct days.
    assert span["start"] == pd.Timestamp("2025-01-01", tz="UTC")
    assert span["days"] == pytest.approx(2.5)
    assert span["active_days"] == 3


def test_event_type_counts_in_funnel_order(events):
    counts = quality.event_type_counts(events)
    assert counts["event_type"].tolist() == ["search", "view", "purchase"]
    assert counts["events"].tolist() == [1, 3, 1]
    assert counts["share"].tolist() == pytest.approx([0.2, 0.6, 0.2])
    assert counts["sessions"].tolist() == [1, 2, 1] and counts["users"].tolist() == [1, 2, 1]


def test_distribution_and_summary(events):
    d = quality.distribution(pd.Series([1, 2, 3, 4, None], name="x")).iloc[0]
    assert d["variable"] == "x" and d["count"] == 4
    assert d["mean"] == pytest.approx(2.5) and d["p50"] == pytest.approx(2.5)
    assert d["min"] == 1 and d["max"] == 4
    summary = quality.quality_summary({"events": events})
    assert (
        summary["events"],
        summary["duplicate_events"],
        summary["sessions"],
        summary["users"],
    ) == (5, 1, 2, 2)


def test_unavailable_tables_say_why():
    t = quality.unavailable(["a", "b"], "no prices")
    assert t.empty and list(t.columns) == ["a", "b"] and quality.reason(t) == "no prices"
    assert quality.reason(pd.DataFrame({"a": [1]})) is None


def test_smoke_shop(smoke_shop):
    nulls = quality.null_counts(smoke_shop.tables())
    search_share = (smoke_shop.events["event_type"] == "search").mean()
    # item_id is null exactly on searches.
    row = nulls[(nulls["table"] == "events") & (nulls["column"] == "item_id")].iloc[0]
    assert row["null_share"] == pytest.approx(search_share)
    counts = quality.event_type_counts(smoke_shop.events)
    assert counts["events"].sum() == len(smoke_shop.events)
    assert quality.duplicate_events(smoke_shop.events)["count"] == 0
