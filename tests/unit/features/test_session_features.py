"""Session prefixes and their features: labels and counts on hand-made sessions, no purchase or
later event inside a prefix, and no feature that reads the future."""

import numpy as np
import pandas as pd
import pytest

from shopintent.features import sessions as fs

T0 = pd.Timestamp("2025-01-01 10:00", tz="UTC")


def _events(rows):
    df = pd.DataFrame(
        rows, columns=["user_id", "session_id", "minute", "event_type", "item_id", "query_id"]
    )
    df["ts"] = T0 + pd.to_timedelta(df.pop("minute"), unit="min")
    df["price"] = np.nan
    return df[["user_id", "session_id", "ts", "event_type", "item_id", "query_id", "price"]]


ITEMS = pd.DataFrame(
    {
        "item_id": ["i1", "i2", "i3"],
        "title": ["a", "b", "c"],
        "brand": ["B1", "B1", "B2"],
        "category": ["c.x", "c.x", "c.y"],
        "price": [10.0, 40.0, 20.0],
    }
)

EVENTS = _events(
    [
        # A: u1 searches, views i1 twice, carts, buys, then views i2 after the purchase
        ("u1", "A", 0, "search", None, "q1"),
        ("u1", "A", 1, "view", "i1", None),
        ("u1", "A", 2, "view", "i1", None),
        ("u1", "A", 3, "cart", "i1", None),
        ("u1", "A", 4, "purchase", "i1", None),
        ("u1", "A", 5, "view", "i2", None),
        # B: u1 again, later, browses without buying
        ("u1", "B", 60, "view", "i2", None),
        ("u1", "B", 62, "view", "i3", None),
        # C: a purchase with nothing observable before it
        ("u2", "C", 0, "purchase", "i3", None),
        ("u2", "C", 1, "view", "i3", None),
        # D: u2 carts but does not buy
        ("u2", "D", 90, "view", "i1", None),
        ("u2", "D", 91, "cart", "i1", None),
        ("u2", "D", 93, "view", "i3", None),
    ]
)


@pytest.fixture(scope="module")
def hand():
    return fs.build_examples(EVENTS, ITEMS)


def test_prefixes_stop_before_the_first_purchase(hand):
    p = hand.prefixes
    assert (p["event_type"] != "purchase").all()
    assert p.groupby("session_id").size().to_dict() == {"A": 4, "B": 2, "D": 3}
    a = p[p["session_id"] == "A"]
    assert a["k"].tolist() == [1, 2, 3, 4] and a["is_full"].tolist() == [False, False, False, True]
    assert a["event_type"].tolist() == ["search", "view", "view", "cart"]
    assert a["ts"].max() < T0 + pd.Timedelta(minutes=4)  # nothing at or after the purchase


def test_labels_and_dropped_sessions(hand):
    s = hand.sessions.set_index("session_id")
    assert s["label"].to_dict() == {"A": 1, "B": 0, "D": 0}
    assert s["n_events"].to_dict() == {"A": 4, "B": 2, "D": 3}
    assert hand.counts["sessions_without_observable_events"] == 1  # C: the purchase came first
    assert (hand.prefixes.groupby("session_id")["label"].nunique() == 1).all()


def test_counts_and_session_features_by_hand(hand):
    p = hand.prefixes.set_index(["session_id", "k"])
    assert p.loc[
        ("A", 4), ["n_search", "n_view", "n_cart", "n_distinct_items", "max_item_views"]
    ].tolist() == [1, 2, 1, 1, 2]
    assert p.loc[("A", 3), "repeat_share"] == pytest.approx(0.5)
    assert (
        np.isnan(p.loc[("A", 3), "events_since_cart"]) and p.loc[("A", 4), "events_since_cart"] == 0
    )
    assert p.loc[("D", 3), "events_since_cart"] == 1
    assert p.loc[("A", 2), "last_log_gap"] == pytest.approx(np.log1p(60))
    assert p.loc[("D", 3), "duration_log_s"] == pytest.approx(np.log1p(180))
    # price relative to the category median (c.x: 10 and 40 -> 25; c.y: 20)
    assert p.loc[("A", 2), "rel_price_last"] == pytest.approx(np.log(10 / 25))
    assert p.loc[("B", 2), "rel_price_mean"] == pytest.approx(
        np.log(40 / 25) / 2
    )  # i2 and i3 (at its median)
    assert p.loc[("B", 2), "rel_price_max"] == pytest.approx(np.log(40 / 25))
    assert p.loc[("D", 2), "cart_rel_price"] == pytest.approx(np.log(10 / 25))


def test_user_history_uses_only_earlier_sessions(hand):
    s = hand.sessions.set_index("session_id")
    assert s.loc["A", "user_sessions"] == 0 and np.isnan(s.loc["A", "user_conversion"])
    b = s.loc["B"]
    assert (b["user_sessions"], b["user_purchase_sessions"], b["user_conversion"]) == (1, 1, 1.0)
    assert (b["user_events"], b["user_carts"]) == (
        6,
        1,
    )  # all of A, its purchase and later view too
    assert b["user_recency_h"] == pytest.approx(np.log1p(55 / 60))  # A's last event at minute 5
    d = s.loc[
        "D"
    ]  # u2's session C had a purchase (and no observable events): it still counts as history
    assert (d["user_sessions"], d["user_purchase_sessions"]) == (1, 1)


def test_item_history_counts_events_before_the_session_start(hand):
    p = hand.prefixes.set_index(["session_id", "k"])
    # B starts at minute 60: i2 was viewed once before (A's post-purchase view), never bought
    assert p.loc[("B", 1), "item_views"] == pytest.approx(np.log1p(1))
    assert p.loc[("B", 1), "item_conv"] == pytest.approx(0.1 / 3)
    # D starts at minute 90: i1 had 2 views and 1 purchase before
    assert p.loc[("D", 1), "item_conv"] == pytest.approx(1.1 / 4)
    assert np.isnan(p.loc[("A", 1), "item_conv"])  # a search has no item


def test_cut_ends_the_prefix_early():
    cut = pd.Series(False, index=EVENTS.index)
    cut.iloc[2] = True  # A's second view
    ex = fs.build_examples(EVENTS, ITEMS, cut)
    assert ex.prefixes.groupby("session_id").size()["A"] == 2
    assert ex.sessions.set_index("session_id").loc["A", "label"] == 1


def test_prefixes_of_the_synthetic_shop_end_before_the_purchase(smoke_shop):
    truth = smoke_shop.extras["session_truth"].set_index("session_id")
    ex = fs.build_examples(smoke_shop.events, smoke_shop.items)
    assert (ex.prefixes["event_type"] != "purchase").all()
    assert ex.sessions.set_index("session_id")["label"].eq(truth["purchased"].astype(int)).all()


FEATURE_COLUMNS = (
    [c for c in fs.HANDMADE_FEATURES if c != "k"]
    + [f"ev_{c}" for c in fs.EVENT_NUMERIC]
    + ["has_history", "event_type", "item_id", "query_id", "category", "brand"]
)


@pytest.mark.parametrize("perturbation", ["delete", "scramble"])
def test_no_feature_reads_the_future(smoke_shop, perturbation):
    """Deleting or scrambling every event after an instant T changes no feature of a prefix that
    ends by T: not its session's later events, not other sessions' future, not later purchases."""
    events = smoke_shop.events
    base = fs.build_examples(events, smoke_shop.items)
    purchases = events.loc[events["event_type"] == "purchase", "ts"].sort_values()
    t = purchases.iloc[len(purchases) * 3 // 5] - pd.Timedelta(
        seconds=1
    )  # a session is about to buy
    after = events["ts"] > t
    if perturbation == "delete":
        changed = events[~after]
    else:
        r = np.random.default_rng(0)
        changed = events.copy()
        n = int(after.sum())
        changed.loc[after, "event_type"] = r.choice(["view", "cart", "purchase"], n)
        changed.loc[after, "item_id"] = r.choice(smoke_shop.items["item_id"].to_numpy(), n)
        changed.loc[after, "price"] = r.uniform(1, 1000, n)
    again = fs.build_examples(changed, smoke_shop.items)
    key = ["session_id", "k"]
    before = base.prefixes[base.prefixes["ts"] <= t].set_index(key)[FEATURE_COLUMNS]
    other = again.prefixes.set_index(key)
    assert before.index.isin(other.index).all()
    pd.testing.assert_frame_equal(
        before, other.loc[before.index, FEATURE_COLUMNS], check_dtype=False
    )
    assert len(before) > 5000
    if perturbation == "delete":  # the check has teeth: some of these prefixes' outcomes did change
        assert (
            base.prefixes.set_index(key).loc[before.index, "label"]
            != other.loc[before.index, "label"]
        ).any()


def test_sequence_rows_score_every_prefix_once():
    p = pd.DataFrame({"k": [1, 2, 3, 4, 5, 1, 2], "n_events": [5] * 5 + [2] * 2})
    index, target = fs.sequence_rows(p, max_len=3)
    assert index.tolist() == [[0, 1, 2], [5, 6, -1], [1, 2, 3], [2, 3, 4]]
    assert target.tolist() == [
        [True] * 3,
        [True, True, False],
        [False, False, True],
        [False, False, True],
    ]
    scored = np.sort(index[target])
    assert scored.tolist() == list(range(7))


def test_vocabulary_unknown_and_padding():
    p = pd.DataFrame(
        {
            "event_type": ["view", "view", "cart"],
            "item_id": ["a", "a", "b"],
            "category": ["x", "x", None],
            "brand": [None, None, None],
        }
    )
    v = fs.Vocabulary.fit(p, min_count=2, item_min_count=2)
    assert v.encode("item_id", pd.Series(["a", "b", "zzz", None])).tolist() == [2, 1, 1, 1]
    assert fs.Vocabulary.fit(p).encode("item_id", pd.Series(["a", "b"])).tolist() == [
        1,
        1,
    ]  # no item ids
    assert v.encode("category", pd.Series(["x", None])).tolist() == [2, 1]
    assert v.encode("event_type", pd.Series(["cart", "view", "fav"])).tolist() == [2, 3, 1]
    assert fs.Vocabulary.from_json(v.to_json()).values == v.values


def test_text_rows_point_into_items_then_queries():
    p = pd.DataFrame({"item_id": ["i2", None, "i9"], "query_id": [None, "q1", None]})
    assert fs.text_rows(p, ["i1", "i2"], ["q0", "q1"]).tolist() == [2, 4, 0]


def test_a_log_without_purchases_gives_unlabelled_sessions():
    """Issue 18: an empty map of first purchase times used to fail on its datetime dtype."""
    ex = fs.build_examples(EVENTS[EVENTS["event_type"] != "purchase"], ITEMS)
    assert len(ex.sessions) == 4
    assert ex.sessions["label"].sum() == 0
    assert ex.sessions["first_purchase"].isna().all()
    assert len(ex.prefixes) == ex.counts["observable_events"] > 0


def test_a_log_of_purchases_only_has_no_examples():
    """No event before any purchase: no prefix, no session kept, and no crash."""
    ex = fs.build_examples(EVENTS[EVENTS["event_type"] == "purchase"], ITEMS)
    assert len(ex.sessions) == 0 and len(ex.prefixes) == 0
    assert ex.counts["sessions_without_observable_events"] == 2
    assert str(ex.sessions["start"].dtype) == str(EVENTS["ts"].dtype)


def test_an_empty_log_has_no_examples():
    ex = fs.build_examples(EVENTS.iloc[:0], ITEMS)
    assert len(ex.sessions) == 0 and len(ex.prefixes) == 0
