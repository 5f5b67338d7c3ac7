"""Splits: time order holds, leave-last-out holds out each user's latest item, the published
random protocols are seeded and keep their proportions, leakage is caught and named, and text
splits never put one (normalised) text on two sides."""

import numpy as np
import pandas as pd
import pytest

from shopintent.data.splits import (
    TextSplit,
    assert_no_leakage,
    leave_last_out,
    random_split,
    session_rec_split,
    stratified_user_split,
    temporal_split,
    temporal_text_split,
    text_grouped_split,
)
from shopintent.normalise import normalise_text

T0 = pd.Timestamp("2024-03-01", tz="UTC")


def _events(n_users=60, seed=0):
    """Interactions of users with 1..20 events each, minute-resolution times (so ties happen)."""
    r = np.random.default_rng(seed)
    counts = r.integers(1, 21, n_users)
    n = counts.sum()
    users = np.repeat([f"u{i:03d}" for i in range(n_users)], counts)
    minutes = r.integers(0, 60 * 24 * 30, n)
    df = pd.DataFrame(
        {
            "user_id": users,
            "session_id": [f"{u}-{m // 600}" for u, m in zip(users, minutes, strict=True)],
            "ts": T0 + pd.to_timedelta(minutes, unit="min"),
            "event_type": "purchase",
            "item_id": [f"i{j}" for j in r.integers(0, 50, n)],
            "price": 1.0,
        }
    )
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)  # not in time order


def test_temporal_split_cuts_at_the_quantile_without_leakage():
    ev = _events()
    s = temporal_split(ev, test_frac=0.2)
    assert s.protocol == "temporal-global-cutoff"
    assert len(s.train) + len(s.test) == len(ev) and s.val.empty
    assert len(s.test) / len(ev) == pytest.approx(0.2, abs=0.01)
    assert s.train["ts"].max() < s.cutoff <= s.test["ts"].min()
    assert_no_leakage(s.train, s.test, s.cutoff)
    assert_no_leakage(s.train, s.test)
    assert s.summary().loc["test", "rows"] == len(s.test)


def test_temporal_split_with_validation_and_an_explicit_cutoff():
    ev = _events()
    s = temporal_split(ev, cutoff="2024-03-25", val_frac=0.1)
    assert s.cutoff == pd.Timestamp("2024-03-25", tz="UTC")  # naive times read as UTC
    assert (s.test["ts"] >= s.cutoff).all()
    assert s.train["ts"].max() < s.val_cutoff <= s.val["ts"].min() <= s.val["ts"].max() < s.cutoff
    assert len(s.val) / len(ev) == pytest.approx(0.1, abs=0.01)
    assert len(s.train) + len(s.val) + len(s.test) == len(ev)
    assert_no_leakage(s.train, s.val, s.val_cutoff)
    with pytest.raises(ValueError, match="validation events"):
        temporal_split(ev, cutoff="2024-03-01 00:10", val_frac=0.5)


def test_leakage_is_caught_and_named():
    ev = _events()
    s = temporal_split(ev)
    late = s.test.index[0]
    leaky = pd.concat([s.train, s.test.loc[[late]]])
    with pytest.raises(
        AssertionError,
        match=rf"leakage: 1 training rows are at or after the cut-off .*index {late}",
    ):
        assert_no_leakage(leaky, s.test, s.cutoff)
    with pytest.raises(AssertionError, match="later than the earliest test event"):
        assert_no_leakage(pd.concat([s.train, s.test]), s.test)


def test_leave_last_out_holds_out_each_users_latest_item():
    ev = _events()
    s = leave_last_out(ev)
    assert s.protocol == "leave-last-out-user"
    counts = ev["user_id"].value_counts()
    qualifying = set(counts.index[counts >= 2])
    assert set(s.test["user_id"]) == qualifying
    assert s.test["user_id"].is_unique  # exactly one test item per qualifying user
    latest = ev.groupby("user_id")["ts"].max()
    assert (s.test["ts"].to_numpy() == latest.loc[s.test["user_id"]].to_numpy()).all()
    singles = set(counts.index[counts == 1])
    assert singles <= set(s.train["user_id"]) and not singles & set(s.test["user_id"])
    assert len(s.train) + len(s.test) == len(ev)
    assert_no_leakage(s.train, s.test, by="user_id")


def test_leave_last_out_validation_ties_and_sessions():
    ev = pd.DataFrame(
        {
            "user_id": ["a"] * 4 + ["b"] * 2,
            "session_id": ["s1", "s1", "s2", "s2", "s3", "s3"],
            "ts": T0 + pd.to_timedelta([0, 1, 2, 2, 0, 5], unit="min"),
            "item_id": ["x", "y", "z", "w", "x", "y"],
        }
    )
    s = leave_last_out(ev, validation=True)
    # user a: z and w tie at minute 2; the larger item id (z) counts as later -> test z, val w
    assert list(s.test["item_id"]) == ["z"] and list(s.val["item_id"]) == ["w"]
    assert set(s.train["user_id"]) == {"a", "b"}  # b has 2 < 3 interactions: train only
    # the same rows in another order give the same split
    again = leave_last_out(ev.iloc[::-1], validation=True)
    assert list(again.test.index) == list(s.test.index) and list(again.val.index) == list(
        s.val.index
    )
    by_session = leave_last_out(ev, by="session")
    assert by_session.protocol == "leave-last-out-session"
    assert sorted(by_session.test["item_id"]) == ["y", "y", "z"]
    with pytest.raises(ValueError, match="searches"):
        leave_last_out(ev.assign(item_id=[None, "y", "z", "w", "x", "y"]))
    leaky = pd.concat([s.train, s.test.iloc[:0]]).copy()
    leaky.loc[0, "ts"] = T0 + pd.Timedelta(minutes=10)  # a's first row moved after its test event
    with pytest.raises(AssertionError, match="user_id 'a'"):
        assert_no_leakage(leaky, s.test, by="user_id")


def test_random_split_is_seeded_and_exact():
    ev = _events()
    s = random_split(ev, seed=3)
    assert s.protocol == "tfrs-random-80-20"
    assert len(s.test) == round(0.2 * len(ev)) and len(s.train) + len(s.test) == len(ev)
    assert not set(s.train.index) & set(s.test.index)
    assert s.test.index.equals(random_split(ev, seed=3).test.index)
    assert not s.test.index.equals(random_split(ev, seed=4).test.index)


def test_stratified_user_split_keeps_each_users_share():
    ev = _events()
    s = stratified_user_split(ev, ratio=0.75, seed=0)
    assert s.protocol == "msr-stratified-75-25"
    assert len(s.train) + len(s.test) == len(ev) and not set(s.train.index) & set(s.test.index)
    n = ev["user_id"].value_counts()
    n_train = s.train["user_id"].value_counts().reindex(n.index, fill_value=0)
    # round(0.75 n) per user: the share is within half a row of 75%
    assert (np.abs(n_train - 0.75 * n) <= 0.5).all()
    assert abs(len(s.train) / len(ev) - 0.75) < 0.02
    assert s.test.index.equals(stratified_user_split(ev, seed=0).test.index)
    assert not s.test.index.equals(stratified_user_split(ev, seed=1).test.index)


def test_text_split_caps_each_part_to_a_seeded_sample_in_time_order():
    texts = pd.DataFrame(
        {
            "text": [f"q{i}" for i in range(100)],
            "ts": T0 + pd.to_timedelta(np.arange(100), unit="h"),
        }
    )
    parts = (texts.iloc[:70], texts.iloc[70:80], texts.iloc[80:])
    a = TextSplit.capped(parts, (20, 50, 5), seed=3, stream="queries", cutoff=texts["ts"][80])
    b = TextSplit.capped(parts, (20, 50, 5), seed=3, stream="queries", cutoff=texts["ts"][80])
    assert [len(p) for p in a.parts().values()] == [20, 10, 5]  # a part below its cap is kept whole
    assert a.train.equals(b.train) and a.train["ts"].is_monotonic_increasing
    assert not a.train.equals(
        TextSplit.capped(parts, (20, 50, 5), seed=4, stream="queries", cutoff=None).train
    )
    table = a.summary()
    assert (
        list(table.columns) == ["texts", "distinct_texts", "first", "last"]
        and table.index.name == "temporal-global-cutoff"
    )
    assert table.loc["test", "first"] >= a.cutoff


def _repeated_texts(n_texts=120, seed=0):
    """Reviews whose texts repeat 1-6 times, copies differing in case and spacing as real copies
    do, with labels skewed as real reviews (most positive) and one label per text."""
    r = np.random.default_rng(seed)
    copies = r.integers(1, 7, n_texts)
    label = r.choice(["negative", "neutral", "positive"], n_texts, p=[0.15, 0.15, 0.7])
    rows = [
        {
            "text": f"Review {i}  says {label[i]}" if k % 2 else f"review {i} SAYS {label[i]} ",
            "label": label[i],
            "ts": T0 + pd.Timedelta(hours=int(r.integers(0, 2000))),
        }
        for i in range(n_texts)
        for k in range(copies[i])
    ]
    return pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)


def _sides(split, col="text"):
    return {name: set(normalise_text(p[col])) for name, p in split_parts(split).items()}


def split_parts(split):
    return {"train": split.train, "val": split.val, "test": split.test}


@pytest.mark.parametrize("col_label", ["label", None])
def test_text_grouped_split_keeps_every_text_on_one_side(col_label):
    table = _repeated_texts()
    s = text_grouped_split(table, 0.2, 0.1, seed=3, col_label=col_label)
    sides = _sides(s)
    assert sides["train"].isdisjoint(sides["test"]) and sides["train"].isdisjoint(sides["val"])
    assert sides["val"].isdisjoint(sides["test"])
    assert sorted([*s.train.index, *s.val.index, *s.test.index]) == list(table.index)
    assert s.protocol == ("text-grouped-stratified" if col_label else "text-grouped-random")
    assert 0.1 < len(s.test) / len(table) < 0.3 and 0.03 < len(s.val) / len(table) < 0.2
    again = text_grouped_split(table, 0.2, 0.1, seed=3, col_label=col_label)
    assert again.test.index.equals(s.test.index)  # seeded
    assert not text_grouped_split(table, seed=4, col_label=col_label).test.index.equals(
        s.test.index
    )


def test_text_grouped_split_stratifies_by_label_as_scikit_learn_does():
    from sklearn.model_selection import StratifiedGroupKFold

    table = _repeated_texts(300, seed=1)
    s = text_grouped_split(table, 0.2, 0.0, seed=5, col_label="label")
    groups = pd.factorize(normalise_text(table["text"]))[0]
    _, held = next(
        StratifiedGroupKFold(5, shuffle=True, random_state=5).split(
            table, table["label"], groups=groups
        )
    )
    assert sorted(s.test.index) == sorted(table.index[held]) and s.val.empty
    shares = s.test["label"].value_counts(normalize=True)
    overall = table["label"].value_counts(normalize=True)
    assert (abs(shares - overall) < 0.05).all()


def test_text_grouped_split_refuses_what_it_cannot_split():
    table = pd.DataFrame({"text": ["a", "A ", "b"], "label": ["x", "x", "y"]})
    with pytest.raises(ValueError, match="2 distinct texts"):
        text_grouped_split(table)
    with pytest.raises(ValueError, match="below 1"):
        text_grouped_split(_repeated_texts(), 0.5, 0.5)


def test_temporal_text_split_drops_texts_seen_earlier():
    table = _repeated_texts().sort_values("ts", ignore_index=True)
    plain = temporal_split(table, test_frac=0.2, val_frac=0.1)
    s = temporal_text_split(table, 0.2, 0.1)
    sides = _sides(s)
    assert sides["train"].isdisjoint(sides["val"] | sides["test"])
    assert sides["val"].isdisjoint(sides["test"])
    assert s.train.equals(plain.train) and s.cutoff == plain.cutoff
    seen = set(normalise_text(plain.train["text"]))
    n_val_seen = int(normalise_text(plain.val["text"]).isin(seen).sum())
    assert s.dropped["val"] == n_val_seen == len(plain.val) - len(s.val) > 0
    assert s.dropped["test"] == len(plain.test) - len(s.test) > 0
    assert s.protocol == "temporal-global-cutoff-new-texts"


def _clicks(rows):
    """(session, day offset from T0, item) -> a click table, shuffled."""
    df = pd.DataFrame(rows, columns=["session_id", "day", "item_id"])
    df["ts"] = T0 + pd.to_timedelta(df.pop("day"), unit="D")
    return df.sample(frac=1.0, random_state=3).reset_index(drop=True)


def test_session_rec_split_by_session_end_drops_unseen_items_and_short_sessions():
    ev = _clicks(
        [
            ("a", 0, "x"), ("a", 0.1, "y"), ("a", 0.2, "x"),  # train
            ("b", 1, "y"), ("b", 1.1, "z"),  # train
            ("c", 2, "w"),  # train but one click: dropped, so w is unseen
            ("d", 2.9, "x"), ("d", 3.5, "y"),  # starts before the cut, ends after: test
            ("e", 3.6, "x"), ("e", 3.7, "w"), ("e", 3.8, "v"),  # w, v unseen -> one click: out
            ("f", 3.9, "z"), ("f", 3.95, "w"), ("f", 4, "z"),  # w removed, z z kept
        ]
    )  # fmt: skip
    s = session_rec_split(ev, days=1)
    assert s.protocol == "session-rec-time-last-1-days" and s.val.empty
    assert s.cutoff == T0 + pd.Timedelta(days=3)  # newest click (day 4) minus one day
    assert list(s.train["session_id"]) == ["a", "a", "a", "b", "b"]
    assert list(s.train["item_id"]) == ["x", "y", "x", "y", "z"]  # time order, repeats kept
    assert list(s.test["session_id"]) == ["d", "d", "f", "f"]
    assert list(s.test["item_id"]) == ["x", "y", "z", "z"]
    assert s.train["ts"].max() <= s.cutoff  # no training session reaches past the cut
    # validation = the same rule on train: b ends in the last half day; z is unseen in a, so b
    # keeps one click and goes
    inner = session_rec_split(s.train, days=0.5)
    assert inner.protocol == "session-rec-time-last-0.5-days"
    assert set(inner.train["session_id"]) == {"a"} and inner.test.empty


def test_session_rec_split_refuses_rows_without_items():
    ev = _clicks([("a", 0, "x"), ("a", 1, None)])
    with pytest.raises(ValueError, match="no item_id"):
        session_rec_split(ev)
