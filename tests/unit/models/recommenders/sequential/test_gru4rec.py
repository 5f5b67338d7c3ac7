"""GRU4Rec: its losses against the formulas by hand on tiny score matrices, session-parallel
mini-batches (lanes, resets, every click read once), a tiny network learning cyclic sessions
far above popularity, a seed that makes it reproducible, and save/load."""

import math

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from shopintent.models.recommenders.sequential import gru4rec as g  # noqa: E402
from shopintent.models.recommenders.sequential.base import SequencePopularity  # noqa: E402
from shopintent.models.recommenders.sequential.data import Sequences  # noqa: E402


def sig(x):
    return 1 / (1 + math.exp(-x))


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


# rows: 2 lanes; columns: the 2 in-batch targets, then 1 shared sample; row i targets column i
R = np.array([[2.0, 1.0, -1.0], [0.5, 1.5, 0.0]], dtype=np.float32)


def _neg_softmax(row, i, cols):
    e = {j: math.exp(row[j]) for j in cols if j != i}
    z = sum(e.values())
    return {j: v / z for j, v in e.items()}


def test_top1_max_by_hand():
    want = []
    for i, row in enumerate(R.tolist()):
        s = _neg_softmax(row, i, range(3))
        want.append(sum(s[j] * (sig(row[j] - row[i]) + sig(row[j] ** 2)) for j in s))
    np.testing.assert_allclose(np_(g.top1_max(R)), want, rtol=1e-5)
    # row 0 by hand: negatives 1 and -1, softmax e/(e + 1/e) and (1/e)/(e + 1/e)
    s1, s2 = math.e / (math.e + 1 / math.e), (1 / math.e) / (math.e + 1 / math.e)
    by_hand = s1 * (sig(-1) + sig(1)) + s2 * (sig(-3) + sig(1))
    assert np_(g.top1_max(R))[0] == pytest.approx(by_hand, rel=1e-5)


def test_bpr_max_by_hand_with_score_regularisation():
    for bpreg in (0.0, 0.9):
        want = []
        for i, row in enumerate(R.tolist()):
            s = _neg_softmax(row, i, range(3))
            rank = -math.log(sum(s[j] * sig(row[i] - row[j]) for j in s))
            want.append(rank + bpreg * sum(s[j] * row[j] ** 2 for j in s))
        np.testing.assert_allclose(np_(g.bpr_max(R, bpreg)), want, rtol=1e-5)
    # row 1, bpreg 0: negatives 0.5 and 0.0 around a target of 1.5
    s1, s2 = math.exp(0.5) / (math.exp(0.5) + 1), 1 / (math.exp(0.5) + 1)
    assert np_(g.bpr_max(R, 0.0))[1] == pytest.approx(-math.log(s1 * sig(1) + s2 * sig(1.5)))


def test_masked_columns_are_no_negatives_and_cross_entropy_is_the_softmax():
    mask = np.array([True, False, True])  # lane 1 idles: its column is nobody's negative
    row = R[0].tolist()
    want = -math.log(sig(row[0] - row[2]))  # one negative left: its softmax weight is 1
    assert np_(g.bpr_max(R, 0.0, mask))[0] == pytest.approx(want, rel=1e-5)
    xe = np_(g.cross_entropy(R))
    assert xe[0] == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + math.e + 1 / math.e)))
    assert np_(g.cross_entropy(R, mask))[0] == pytest.approx(-math.log(sig(3.0)), rel=1e-5)
    with pytest.raises(ValueError, match="loss must be"):
        g.gru4rec_loss("hinge", R)


def test_final_activations():
    x = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    elu = [0.5 * (math.exp(-1) - 1), 0, 2]
    np.testing.assert_allclose(np_(g.final_activation("elu-0.5")(x)), elu, rtol=1e-6)
    np.testing.assert_allclose(np_(g.final_activation("leaky-0.1")(x)), [-0.1, 0, 2], rtol=1e-6)
    with pytest.raises(ValueError, match="final_act"):
        g.final_activation("swish")


def test_session_parallel_lanes_resets_and_every_click_once():
    # sessions of 4, 2, 1 (skipped), 3, 2 clicks
    lengths = np.array([4, 2, 1, 3, 2])
    indptr = np.r_[0, np.cumsum(lengths)]
    p = g.session_parallel(indptr, batch_size=2)
    # lane 0: s0 (steps 0-2), then s4 (step 3); lane 1: s1 (step 0), s3 (steps 1-2)
    assert p.session.tolist() == [[0, 1], [0, 3], [0, 3], [4, -1]]
    assert p.inputs.tolist() == [[0, 4], [1, 7], [2, 8], [10, -1]]
    assert p.starts.tolist() == [[True, True], [False, True], [False, False], [True, False]]
    # every click but each session's last is an input exactly once; its target is the next click
    reads = np.sort(p.inputs[p.active])
    last = indptr[1:] - 1
    assert reads.tolist() == [i for i in range(indptr[-1]) if i not in last]
    # a given order (e.g. by start time) is followed
    q = g.session_parallel(indptr, batch_size=2, order=[4, 3, 2, 1, 0])
    assert q.session[0].tolist() == [4, 3]


def test_session_parallel_on_many_sessions_uses_each_click_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 12, 500)
    indptr = np.r_[0, np.cumsum(lengths)]
    p = g.session_parallel(indptr, batch_size=32)
    assert p.active.sum() == (lengths - 1).sum()
    assert len(np.unique(p.inputs[p.active])) == (lengths - 1).sum()
    # within a lane a session's steps are consecutive and start with a reset
    for lane in range(32):
        col = p.session[:, lane]
        col = col[col >= 0]
        changes = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
        assert len(changes) == len(np.unique(col))
    assert (p.starts == (p.active & (np.r_[[[-2] * 32], p.session[:-1]] != p.session))).all()


ITEMS = pd.Index([f"i{n}" for n in range(13)])  # i12 is never clicked in training


def _cycles(n=300, seed=0):
    """Sessions walking a -> b -> c -> a within one of four blocks of three items; popularity
    is skewed towards block 0, which a popularity list therefore fills."""
    rng = np.random.default_rng(seed)
    lists = []
    for _ in range(n):
        block = rng.choice(4, p=[0.55, 0.15, 0.15, 0.15])
        first = rng.integers(0, 3)
        lists.append([3 * block + (first + k) % 3 for k in range(rng.integers(2, 7))])
    return Sequences.from_lists(lists, ITEMS)


TINY = dict(
    layers=(16,), batch_size=16, n_sample=8, dropout_p_embed=0.0, dropout_p_hidden=0.0,
    learning_rate=0.1, momentum=0.0, epochs=4, patience=None,
)  # fmt: skip


@pytest.fixture(scope="module")
def cyclic():
    return g.GRU4Rec(**TINY, seed=1).fit(_cycles())


@pytest.mark.parametrize("loss", ["bpr-max", "top1-max", "cross-entropy"])
def test_a_tiny_gru4rec_learns_cyclic_sessions_far_above_popularity(loss, cyclic):
    train = _cycles()
    model = cyclic if loss == "bpr-max" else g.GRU4Rec(**TINY, loss=loss, seed=1).fit(train)
    test = _cycles(200, seed=7)
    prefixes = Sequences.from_lists([test.sequence(r)[:-1] for r in range(len(test))], ITEMS)
    truth = np.array([test.sequence(r)[-1] for r in range(len(test))])
    pop = SequencePopularity().fit(train)
    top = {m: m.recommend_sequences(prefixes, 1, exclude=False).index[:, 0] for m in (model, pop)}
    assert np.mean(top[model] == truth) > 0.9 and np.mean(top[pop] == truth) < 0.4


def test_training_is_reproducible_with_a_seed_and_differs_with_another(cyclic):
    q = Sequences.from_lists([[0], [3, 4], [10]], ITEMS)
    again = g.GRU4Rec(**TINY, seed=1).fit(_cycles())
    np.testing.assert_allclose(again.score_sequences(q), cyclic.score_sequences(q), rtol=1e-5)
    other = g.GRU4Rec(**TINY, seed=2).fit(_cycles())
    assert not np.allclose(other.score_sequences(q), cyclic.score_sequences(q))


def test_untrained_items_score_last_are_skipped_as_inputs_and_save_load(tmp_path, cyclic):
    assert 12 not in _cycles().items
    q = Sequences.from_lists([[0], [0, 12], [12, 0]], ITEMS)
    scores = cyclic.score_sequences(q)
    assert (scores[:, 12] < scores[:, :12].min(axis=1)).all()
    # an input click on an untrained item leaves the hidden state as it was
    np.testing.assert_allclose(scores[1], scores[0], rtol=1e-5)
    np.testing.assert_allclose(scores[2], scores[0], rtol=1e-5)
    again = g.GRU4Rec.load(cyclic.save(tmp_path / "gru"))
    np.testing.assert_array_equal(again.score_sequences(q), scores)
    assert again.info == cyclic.info and again.layers == cyclic.layers


def test_validation_chooses_the_epoch(cyclic):
    from shopintent.models.recommenders.sequential.data import NextItems

    train = _cycles()
    test = _cycles(60, seed=3)
    val = NextItems(
        Sequences.from_lists([test.sequence(r)[:-1] for r in range(len(test))], ITEMS),
        np.array([test.sequence(r)[-1] for r in range(len(test))]),
    )
    m = g.GRU4Rec(**{**TINY, "epochs": 3, "patience": 1}, seed=1).fit(train, val)
    assert len(m.history["val_ndcg@10"]) == m.info["epochs"] <= 3
    assert m.info["best_epoch"] == 1 + int(np.argmax(m.history["val_ndcg@10"]))
