"""Notebook 08's session-model steps on tiny data: validation samples, the search from the
published defaults, the hybrid's parts picked on validation, the leave-last-out speed and HR@20
interval, the gap sentence computed from a table, and the session-rec window, test sample,
per-prefix metrics (their means are the protocol's), session-grouped intervals and keys."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.recommenders import registry
from shopintent.models.recommenders.sequential import protocol as sr
from shopintent.models.recommenders.sequential.data import NextItems, Sequences
from shopintent.reporting import check_metrics
from shopintent.studies import session_models as sessions
from shopintent.studies import session_rec

ITEMS = pd.Index([f"i{n}" for n in range(8)])
TRAIN = Sequences.from_lists(
    [[0, 1, 2], [1, 2, 3], [0, 1, 3], [4, 5, 6], [5, 6, 7], [2, 3, 4]],
    ITEMS,
    groups=[f"t{n}" for n in range(6)],
)
VAL = NextItems(
    Sequences.from_lists([[0], [4, 5], [1], [5]], ITEMS, groups=list("abcd")),
    np.array([1, 6, 2, 6]),
)
SMOKE = sessions.Settings.for_profile("smoke")


def test_validation_sample_is_seeded_and_keeps_rows_aligned():
    assert sessions.validation_sample(VAL, 0) is VAL and sessions.validation_sample(VAL, 9) is VAL
    a, b = (sessions.validation_sample(VAL, 2, seed=3) for _ in range(2))
    assert len(a) == 2 and list(a.inputs.groups) == list(b.inputs.groups)
    rows = [list(VAL.inputs.groups).index(g) for g in a.inputs.groups]
    assert list(a.targets) == list(VAL.targets[rows])


def test_search_starts_at_the_defaults_and_draws_points_from_the_grid():
    default = sessions.Settings.for_profile("default", search_points=2)
    model, table, seconds = sessions.search("sr", TRAIN, VAL, default, "default", log=None)
    assert len(table) == 3 and sorted(table["point"]) == ["defaults", "sampled", "sampled"]
    defaults = table[table["point"] == "defaults"].iloc[0]
    assert (defaults["steps"], defaults["weighting"], defaults["pruning"]) == (10, "div", 20)
    grid = registry.get("sr").grid("default")
    for _, row in table.iterrows():
        assert row["steps"] in grid["steps"] and row["weighting"] in grid["weighting"]
    assert table["val_ndcg@10"].is_monotonic_decreasing and seconds >= 0
    assert model.steps == table.iloc[0]["steps"]  # the returned model is the best row's
    none = sessions.Settings.for_profile("default", search_points=0)
    assert len(sessions.search("sr", TRAIN, VAL, none, "default", log=None)[1]) == 1
    summary = sessions.search_summary({"sr": table})
    assert summary.loc["sr", "points"] == 3 and "steps=" in summary.loc["sr", "chosen"]


def test_gru4rec_takes_the_profiles_size():
    default = sessions.Settings.for_profile("default")
    fixed = sessions.gru4rec_fixed(default, seed=1)
    assert fixed == {"epochs": 10, "seed": 1, "layers": [100], "n_sample": 512}
    # a large log trains fewer epochs (450k clicks per search point), never fewer than 2
    assert sessions.gru4rec_fixed(default, 1, clicks=140_000)["epochs"] == 3
    assert sessions.gru4rec_fixed(default, 1, clicks=10_000)["epochs"] == 10
    assert sessions.gru4rec_fixed(default, 1, clicks=10_000_000)["epochs"] == 2
    assert sessions.gru4rec_fixed(sessions.Settings.for_profile("full"), 1) == {
        "epochs": 10,
        "seed": 1,
    }


def test_hybrid_parts_are_the_best_on_validation_never_the_test():
    fitted = sessions.Fitted()
    for name in ("sknn", "vsknn", "sr"):
        fitted.models[name] = registry.create(name).fit(TRAIN)
    fitted.models["lstm"] = registry.create("sequence_popularity").fit(TRAIN)  # a stand-in
    fitted.val_scores = {"sknn": 0.2, "vsknn": 0.3, "sr": 0.9}  # sr: no neighbourhood model
    sessions.add_hybrid(fitted, TRAIN, VAL, log=None)
    assert fitted.hybrid_parts == ("vsknn", "lstm") and "lstm" in fitted.val_scores
    hybrid = fitted.models["hybrid"]
    assert hybrid.weight_ in hybrid.weights and fitted.points["hybrid"] == {
        "weight": hybrid.weight_
    }
    assert sessions.best_by_validation({"a": np.nan, "b": None}, ("a", "b")) is None


def test_gap_sentence_is_computed_from_the_table():
    t = pd.DataFrame({"hr": [0.50, 0.40, 0.45, 0.30]}, index=["vstan", "sknn", "hybrid", "lstm"])
    text = sessions.gap_sentence(t, "hr", "P")
    assert text.startswith("P, hr: best neighbourhood model vstan 0.5000; best neural model lstm")
    assert "lstm (0.3000) falls short by 0.2000 (40% of it)" in text
    assert "hybrid (0.4500) falls short by 0.0500 (10% of it)" in text
    fitted = sessions.Fitted(points={"hybrid": {"weight": 0.25}}, hybrid_parts=("vstan", "lstm"))
    assert "weight 0.25 on vstan and 0.75 on lstm" in sessions.gap_sentence(t, "hr", "P", fitted)
    t.loc["lstm", "hr"] = 0.6
    assert "lstm (0.6000) reaches it (+0.1000)" in sessions.gap_sentence(t, "hr", "P")
    assert "no neighbourhood" in sessions.gap_sentence(t.drop(["vstan", "sknn"]), "hr", "P")


def test_leave_last_out_rows_carry_speed_and_the_recall_interval(smoke_shop):
    from shopintent.models.recommenders.sequential.data import sequence_split

    keep = np.sort(smoke_shop.events["user_id"].unique())[:60]
    split = sequence_split(smoke_shop.events[smoke_shop.events["user_id"].isin(keep)],
                           smoke_shop.items, by="user")  # fmt: skip
    models = {"popularity": registry.create("sequence_popularity").fit(split.train)}
    rows, recs = sessions.evaluate_leave_last_out(models, split, {"popularity": 1.5}, n_boot=50)
    row = rows[0]
    assert row["recall@20_low"] <= row["recall@20"] <= row["recall@20_high"]
    assert row["fit_seconds"] == 1.5 and row["predict_ms"] > 0
    fitted = sessions.Fitted(points={"sknn": {"k": 50, "similarity": "cosine"}})
    keys = sessions.leave_last_out_metrics(rows, fitted)
    assert keys["recs/popularity/fit_seconds"] == 1.5 and keys["recs/sknn/chosen/k"] == 50
    assert "recs/sknn/chosen/similarity" not in keys and check_metrics(keys)


T0 = pd.Timestamp("2016-05-01", tz="UTC")


def _clicks():
    rows = [
        ("a", 0.0, "i0"), ("a", 0.1, "i1"), ("a", 0.2, "i2"),
        ("b", 1.0, "i1"), ("b", 1.1, "i2"),
        ("e", 2.0, "i0"), ("e", 2.1, "i1"), ("e", 2.2, "i2"), ("e", 2.3, "i3"),
        ("c", 9.5, "i0"), ("c", 9.6, "i1"), ("c", 9.7, "i2"),
        ("d", 9.2, "i1"), ("d", 10.0, "i2"), ("d", 10.1, "i3"),
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=["session_id", "day", "item_id"])
    df["ts"] = T0 + pd.to_timedelta(df.pop("day"), unit="D")
    df["event_type"] = "view"
    return df


def test_recent_clicks_keep_every_test_session_and_the_newest_training_sessions():
    clicks = _clicks()
    # test sessions c, d (ending in the last day); training sessions newest first: e (4 clicks),
    # b (2), a (3)
    kept = session_rec.recent_clicks(clicks, max_train_clicks=6, days=1)
    assert sorted(kept["session_id"].unique()) == ["b", "c", "d", "e"]
    kept = session_rec.recent_clicks(clicks, max_train_clicks=5, days=1)
    assert sorted(kept["session_id"].unique()) == ["c", "d", "e"]
    kept = session_rec.recent_clicks(clicks, max_train_clicks=3, days=1)
    assert sorted(kept["session_id"].unique()) == ["c", "d"]
    assert len(session_rec.recent_clicks(clicks, 0, days=1)) == len(clicks)


def test_sampled_test_sessions_keep_their_click_times():
    data = sr.session_rec_data(_clicks(), pd.DataFrame({"item_id": ITEMS}), days=1)
    assert list(data.test.groups) == ["d", "c"]
    one = session_rec.sample_test_sessions(data, 1, seed=0)
    assert len(one.test) == 1 and one.counts["test_sessions_before_sampling"] == 2
    row = list(data.test.groups).index(one.test.groups[0])
    lo, hi = data.test.indptr[row], data.test.indptr[row + 1]
    np.testing.assert_array_equal(one.test_times, data.test_times[lo:hi])
    assert one.counts["prefixes"] == len(one.test.items) - 1
    assert session_rec.sample_test_sessions(data, 5) is data


def test_rows_are_the_protocols_means_with_intervals_over_sessions():
    data = sr.session_rec_data(_clicks(), pd.DataFrame({"item_id": ITEMS}), days=1)
    model = registry.create("sequence_popularity").fit(data.train)
    prefixes = sr.all_prefixes(data.test, data.test_times)
    lists = sr.session_rec_lists(model, prefixes, data.trained, 2)
    means = sr.session_rec_metrics(lists, prefixes, 2)
    values = session_rec.per_prefix(lists, prefixes, 2)
    assert values["hr"].mean() == pytest.approx(means["session_rec/next_item/hr@2"])
    assert values["mrr"].mean() == pytest.approx(means["session_rec/next_item/mrr@2"])
    for metric in ("precision", "recall"):
        key = f"session_rec/all_subsequent/{metric}@2"
        assert values[metric].mean() == pytest.approx(means[key])
    row = session_rec.row("popularity", model, data, 0.5, k=2, n_boot=200)
    assert row["next_item/hr@2"] == pytest.approx(means["session_rec/next_item/hr@2"])
    assert row["next_item/hr@2_low"] <= row["next_item/hr@2"] <= row["next_item/hr@2_high"]
    keys = session_rec.metrics([row], data, {"popularity": {"k": 3}})
    assert check_metrics(keys)
    assert keys["recs/session_rec/popularity/next_item/hr@2"] == row["next_item/hr@2"]
    assert keys["recs/session_rec/protocol/session-rec-time-last-1-days"] == 1
    assert keys["recs/session_rec/popularity/chosen/k"] == 3
    assert keys["recs/session_rec/data/test_sessions"] == 2
