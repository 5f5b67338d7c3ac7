"""Sequential recommenders: sequences and their split, baselines, the LSTM and self-attention."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopintent.models.recommenders.sequential import base as sq
from shopintent.models.recommenders.sequential import data as sd

ITEMS = pd.Index([f"i{n}" for n in range(8)])


def _events(rows):
    """rows: (user, session, minute, event_type, item)."""
    frame = pd.DataFrame(rows, columns=["user_id", "session_id", "minute", "event_type", "item_id"])
    frame["ts"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        frame.pop("minute"), unit="min"
    )
    return frame


def _catalogue():
    return pd.DataFrame({"item_id": ITEMS})


# ---- data ------------------------------------------------------------------------------------


def test_first_interactions_keep_each_item_once_at_its_first_time():
    ev = _events(
        [
            ("u", "s1", 0, "view", "i1"),
            ("u", "s1", 1, "search", None),
            ("u", "s1", 2, "cart", "i1"),
            ("u", "s1", 3, "view", "i2"),
            ("u", "s2", 9, "view", "i1"),
            ("u", "s2", 10, "view", "i3"),
        ]
    )
    first = sd.first_interactions(ev, "user")
    assert first["item_id"].tolist() == ["i1", "i2", "i3"]
    assert sd.first_interactions(ev, "session")["item_id"].tolist() == ["i1", "i2", "i1", "i3"]


def test_sequence_split_holds_out_the_last_new_item_and_the_one_before():
    ev = _events(
        [
            ("a", "s1", 0, "view", "i0"),
            ("a", "s1", 1, "view", "i1"),
            ("a", "s1", 2, "view", "i0"),
            ("a", "s2", 5, "view", "i2"),
            ("a", "s2", 6, "purchase", "i3"),
            ("b", "s3", 0, "view", "i4"),
            ("b", "s3", 1, "view", "i5"),  # too short: train only
            ("c", "s4", 0, "view", "i1"),
            ("c", "s4", 1, "view", "i2"),
            ("c", "s4", 2, "view", "i6"),
        ]
    )
    split = sd.sequence_split(ev, _catalogue(), by="user")
    train = {g: [int(i) for i in split.train.sequence(r)] for r, g in enumerate(split.train.groups)}
    assert train == {"a": [0, 1], "b": [4, 5], "c": [1]}
    assert list(split.val.inputs.groups) == ["a", "c"] and split.val.targets.tolist() == [2, 2]
    assert list(split.test.inputs.groups) == ["a", "c"] and split.test.targets.tolist() == [3, 6]
    assert [list(split.test.inputs.sequence(r)) for r in range(2)] == [[0, 1, 2], [1, 2]]
    assert list(split.task.users) == ["a", "c"]
    assert split.task.truth.toarray()[:, [3, 6]].tolist() == [[1, 0], [0, 1]]
    assert (split.task.seen.toarray() == split.test.inputs.seen().toarray()).all()
    assert split.counts["test_targets_unseen_in_training"] == 1.0  # i3 and i6 never in training
    assert split.protocol.startswith("leave-last-out-user")


def test_sequence_split_by_session_uses_sessions_as_rows():
    ev = _events(
        [
            ("u", "s1", 0, "view", "i0"),
            ("u", "s1", 1, "view", "i1"),
            ("u", "s1", 2, "view", "i2"),
            ("u", "s2", 5, "view", "i2"),
            ("u", "s2", 6, "view", "i1"),
            ("u", "s2", 7, "view", "i0"),
        ]
    )
    split = sd.sequence_split(ev, _catalogue(), by="session")
    assert list(split.task.users) == ["s1", "s2"] and split.test.targets.tolist() == [2, 0]
    assert split.task.seen.toarray()[:, :3].tolist() == [[1, 1, 0], [0, 1, 1]]
    assert sd.choose_grouping(ev) == "user"
    assert sd.choose_grouping(ev.assign(user_id=ev["session_id"])) == "session"
    assert sd.choose_grouping(ev.assign(user_id=None)) == "session"  # no user ids
    anonymous = ev["session_id"].isin(ev["session_id"].unique()[1:])  # all but one session
    assert sd.choose_grouping(ev.assign(user_id=ev["user_id"].where(~anonymous))) == "session"


def test_padding_and_training_windows():
    seqs = sd.Sequences.from_lists([[0, 1, 2, 3, 4], [5], []], ITEMS)
    assert seqs.padded(3).tolist() == [[3, 4, 5], [0, 0, 6], [0, 0, 0]]
    assert seqs.padded(3, width=4).tolist() == [[0, 3, 4, 5], [0, 0, 0, 6], [0, 0, 0, 0]]
    items, starts, ends, lengths = sd.training_windows(seqs, max_len=2)
    x, y = sd.window_arrays(items, starts, ends, 2)
    # 5 items, windows of two inputs from the end: [2,3]->[3,4] and [0,1]->[1,2]
    assert sorted(zip(x.tolist(), y.tolist(), strict=True)) == [([1, 2], [2, 3]), ([3, 4], [4, 5])]
    assert lengths.tolist() == [2, 2]
    assert sd.bucket_width(np.array([1, 4, 5, 40, 70]), 50).tolist() == [4, 4, 8, 50, 50]
    assert seqs.take([2, 0]).padded(2).tolist() == [[0, 0], [4, 5]]


# ---- baselines -------------------------------------------------------------------------------


def test_item_knn_cosine_with_shrinkage_and_decay():
    # sessions {0,1}, {0,1}, {0,2}: sim(0,1) = 2 / (sqrt(3*2) + 1), sim(0,2) = 1 / (sqrt(3*1) + 1)
    train = sd.Sequences.from_lists([[0, 1], [1, 0], [0, 2]], ITEMS)
    knn = sq.SessionItemKNN(decay=0.5, shrinkage=1.0, neighbours=None).fit(train)
    sim = knn.similarity_.toarray()
    assert sim[0, 1] == pytest.approx(2 / (np.sqrt(6) + 1), rel=1e-6)
    assert sim[0, 2] == pytest.approx(1 / (np.sqrt(3) + 1), rel=1e-6)
    assert sim[1, 2] == 0 and sim[0, 0] == 0
    scores = knn.score_sequences(sd.Sequences.from_lists([[1, 2]], ITEMS))[0]
    # item 0: 0.5 * sim(1,0) + 1 * sim(2,0); ties elsewhere broken by popularity only
    assert scores[0] == pytest.approx(0.5 * sim[1, 0] + sim[2, 0], rel=1e-5)
    assert scores[3] == pytest.approx(0.0, abs=1e-5)


def test_item_knn_chooses_decay_on_validation():
    # every training session goes 0 -> 1 -> 2 or 3 -> 1 -> 4: only the older item tells 2 from 4
    train = sd.Sequences.from_lists([[0, 1, 2], [3, 1, 4]] * 5, ITEMS)
    val = sd.NextItems(sd.Sequences.from_lists([[0, 1], [3, 1]], ITEMS), np.array([2, 4]))
    knn = sq.SessionItemKNN(decays=(0.0, 0.5)).fit(train, val)
    assert knn.validation_[0.5] > knn.validation_[0.0] and knn.decay_ == 0.5
    assert knn.recommend_sequences(val.inputs, k=1).item_ids[:, 0].tolist() == ["i2", "i4"]


def test_popularity_and_exclusion():
    train = sd.Sequences.from_lists([[0, 1], [1, 2], [1, 3, 0]], ITEMS)
    pop = sq.SequencePopularity().fit(train)
    recs = pop.recommend_sequences(sd.Sequences.from_lists([[1], []], ITEMS), k=3)
    assert recs.item_ids.tolist() == [["i0", "i2", "i3"], ["i1", "i0", "i2"]]
    custom = sp.csr_matrix(([1.0], ([1], [0])), shape=(2, len(ITEMS)))
    assert (
        pop.recommend_sequences(
            sd.Sequences.from_lists([[1], []], ITEMS), k=1, exclude=custom
        ).item_ids[1, 0]
        == "i1"
    )
    assert (
        pop.recommend_sequences(sd.Sequences.from_lists([[1]], ITEMS), k=1, exclude=False).item_ids[
            0, 0
        ]
        == "i1"
    )
    with pytest.raises(RuntimeError, match="not fitted"):
        sq.SequencePopularity().recommend_sequences(train)


def test_save_state_round_trips_and_refuses_another_class_or_a_half_written_folder(tmp_path):
    knn = sq.SessionItemKNN(decay=0.5).fit(sd.Sequences.from_lists([[0, 1], [1, 2]], ITEMS))
    arrays = {"x": np.arange(3)}
    sq.save_state(tmp_path / "m", knn, arrays, {"extra": 1.5}, also=lambda d: (d / "f").touch())
    model, got, meta = sq.load_state(tmp_path / "m", sq.SessionItemKNN)
    assert type(model) is sq.SessionItemKNN and model.name == knn.name
    assert model.item_ids_.tolist() == ITEMS.tolist() and model.decay == 0.5
    assert got["x"].tolist() == [0, 1, 2] and meta["extra"] == 1.5
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["f", "meta.json", "state.npz"]
    with pytest.raises(ValueError, match="holds a SessionItemKNN, not a SequencePopularity"):
        sq.load_state(tmp_path / "m", sq.SequencePopularity)

    def fail(folder):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        sq.save_state(tmp_path / "n", knn, arrays, {}, also=fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_evaluate_sequences_matches_the_metric_functions():
    from shopintent.evaluation import evaluate_ranking

    ev = _events(
        [
            (u, f"s{u}", m, "view", f"i{i}")
            for u, items in (("a", [0, 1, 2, 3]), ("b", [1, 2, 0]), ("c", [4, 1, 2, 5]))
            for m, i in enumerate(items)
        ]
    )
    split = sd.sequence_split(ev, _catalogue(), by="user")
    pop = sq.SequencePopularity().fit(split.train)
    rows, recs = sq.evaluate_sequences({"popularity": pop}, split, k=20, n_boot=50)
    expected = evaluate_ranking(recs["popularity"].index, split.test.truth(), (10, 20))
    assert rows[0]["ndcg@10"] == pytest.approx(expected["ndcg@10"])
    assert rows[0]["mrr@20"] == pytest.approx(expected["mrr@20"])
    assert rows[0]["ndcg@10_low"] <= rows[0]["ndcg@10"] <= rows[0]["ndcg@10_high"]
    prefixes = [[0, 1, 2], [1, 2], [4, 1, 2]]
    assert [list(split.test.inputs.sequence(r)) for r in range(3)] == prefixes
    assert all(not set(recs["popularity"].index[r]) & set(p) for r, p in enumerate(prefixes))


# ---- neural models (tiny data, a few epochs) ---------------------------------------------------


@pytest.fixture(scope="module")
def pattern():
    """0 -> 1 -> 2 and 3 -> 1 -> 4 (some sessions stop after two items), many times: after
    [0, 1] comes 2, after [3, 1] comes 4, after [0] or [3] comes 1."""
    train = sd.Sequences.from_lists([[0, 1, 2], [3, 1, 4], [0, 1], [3, 1]] * 20, ITEMS)
    val = sd.NextItems(
        sd.Sequences.from_lists([[0, 1], [3, 1], [0], [3]], ITEMS), np.array([2, 4, 1, 1])
    )
    return train, val


@pytest.fixture(scope="module")
def lstm(pattern):
    from shopintent.models.recommenders.sequential.nets import NextItemModel

    train, val = pattern
    return NextItemModel(
        "lstm",
        dim=16,
        max_len=4,
        epochs=12,
        learning_rate=0.02,
        dropout=0.0,
        tokens_per_batch=32,
        seed=1,
    ).fit(train, val)


@pytest.fixture(scope="module")
def attention(pattern):
    from shopintent.models.recommenders.sequential.nets import NextItemModel

    train, val = pattern
    return NextItemModel(
        "self_attention",
        dim=16,
        max_len=4,
        epochs=12,
        learning_rate=0.02,
        dropout=0.0,
        tokens_per_batch=32,
        seed=1,
    ).fit(train, val)


@pytest.mark.parametrize("name", ["lstm", "attention"])
def test_neural_models_learn_the_sequence_pattern(name, pattern, request):
    model = request.getfixturevalue(name)
    _, val = pattern
    top = model.recommend_sequences(val.inputs, k=1).item_ids[:, 0].tolist()
    assert top == ["i2", "i4", "i1", "i1"]  # needs the older item: the last one alone is ambiguous
    assert model.history["val_ndcg@10"][model.info["best_epoch"] - 1] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["lstm", "attention"])
def test_exactly_k_distinct_items_never_an_excluded_one(name, request):
    model = request.getfixturevalue(name)
    seqs = sd.Sequences.from_lists([[0, 1], [3, 1, 4], [], [5, 6, 7, 0, 1, 2]], ITEMS)
    recs = model.recommend_sequences(seqs, k=5)
    assert recs.index.shape == (4, 5)
    valid = recs.index >= 0
    assert valid[:3].all() and valid[3].sum() == 2  # 8 items, 6 excluded: only two left
    for r in range(4):
        got = recs.index[r][valid[r]]
        assert len(set(got)) == len(got) and not set(got) & set(seqs.sequence(r))


@pytest.mark.parametrize("name", ["lstm", "attention"])
def test_save_and_load_reproduce_the_scores(name, request, tmp_path):
    from shopintent.models.recommenders.sequential.nets import NextItemModel

    model = request.getfixturevalue(name)
    seqs = sd.Sequences.from_lists([[0, 1], [3], [2, 5, 6]], ITEMS)
    path = model.save(tmp_path / name)
    model.save(path)  # replacing an existing folder works too
    loaded = NextItemModel.load(path)
    np.testing.assert_allclose(
        loaded.score_sequences(seqs), model.score_sequences(seqs), rtol=1e-5, atol=1e-6
    )
    assert list(loaded.item_ids_) == list(ITEMS) and loaded.kind == model.kind
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.keras"]


@pytest.mark.parametrize("name", ["lstm", "attention"])
def test_a_later_item_never_changes_an_earlier_step(name, request):
    model = request.getfixturevalue(name)
    a = np.array([[0, 1, 4, 2, 6]], dtype=np.int32)
    b = a.copy()
    b[0, 3] = 8  # change the fourth step's item
    ha, hb = model.hidden(a), model.hidden(b)
    np.testing.assert_allclose(ha[0, 1:3], hb[0, 1:3], atol=1e-6)  # real steps before it: unchanged
    assert np.abs(ha[0, 3:] - hb[0, 3:]).max() > 1e-4  # from it on: changed


def test_sampled_softmax_logits_and_training():
    import keras

    from shopintent.models.recommenders.sequential.nets import ItemOutput, NextItemModel

    layer = ItemOutput(4)
    layer.build((None, None, 3))
    rng = np.random.default_rng(0)
    kernel, bias, log_q = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=4)
    layer.set_weights([kernel, bias, log_q])
    h = rng.normal(size=(1, 2, 3)).astype(np.float32)
    targets, negatives = np.array([[1, 2]], dtype=np.int32), np.array([[2, 3]], dtype=np.int32)
    got = keras.ops.convert_to_numpy(layer(h, targets=targets, negatives=negatives))
    full = h[0] @ kernel + bias - log_q
    assert got.shape == (1, 2, 3)
    np.testing.assert_allclose(got[0, :, 0], full[[0, 1], [1, 2]], rtol=1e-5)
    np.testing.assert_allclose(got[0, 0, 1:], full[0, [2, 3]], rtol=1e-5)
    assert got[0, 1, 1] < -1e8  # step 2's target is negative 2: an accidental hit, masked
    train = sd.Sequences.from_lists([[0, 1, 2], [3, 1, 4]] * 40, ITEMS)
    model = NextItemModel(
        "lstm",
        dim=16,
        max_len=4,
        epochs=12,
        learning_rate=0.02,
        dropout=0.0,
        tokens_per_batch=32,
        softmax="sampled",
        n_negatives=4,
        seed=1,
    ).fit(train)
    assert model.info["softmax"] == "sampled"
    top = model.recommend_sequences(sd.Sequences.from_lists([[0, 1], [3, 1]], ITEMS), k=1).item_ids[
        :, 0
    ]
    assert top.tolist() == ["i2", "i4"]


def test_items_never_read_in_training_get_the_mean_embedding(lstm):
    table = lstm.network.get_layer("item_embedding").get_weights()[
        0
    ]  # row 0: padding, row i + 1: item i
    unseen = [2, 4, 5, 6, 7]  # 2 and 4 only ever end a sequence: targets, never inputs
    np.testing.assert_allclose(
        table[[u + 1 for u in unseen]],
        np.broadcast_to(table[[1, 2, 4]].mean(axis=0), (len(unseen), table.shape[1])),
        rtol=1e-5,
    )
