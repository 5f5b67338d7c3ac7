"""The session-rec protocol: sessions as sequences (time order, repeats kept), every prefix and
its next and subsequent clicks, the metrics by hand, batching that changes nothing, the
candidates limited to training items, times passed to the memory models, and the DIGINETICA
sample's split."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.recommenders.sequential import protocol as sr
from shopintent.models.recommenders.sequential.base import SequenceRecommender
from shopintent.models.recommenders.sequential.data import Sequences

ITEMS = pd.Index([f"i{n}" for n in range(6)])
T0 = pd.Timestamp("2016-05-01", tz="UTC")


class Fixed(SequenceRecommender):
    """Scores = a fixed vector, plus 10 for the item after the prefix's last one (i + 1)."""

    name = "fixed"

    def __init__(self, base):
        self.base = np.asarray(base, dtype=np.float64)

    def _fit(self, train, val, **kwargs):
        pass

    def score_sequences(self, sequences):
        out = np.tile(self.base, (len(sequences), 1))
        last = sequences.items[sequences.indptr[1:] - 1]
        out[np.arange(len(sequences)), (last + 1) % len(self.base)] += 10
        return out


def test_all_prefixes_next_and_subsequent_clicks():
    s = Sequences.from_lists([[0, 1, 0, 2], [3, 4]], ITEMS, groups=["a", "b"])
    times = np.array([10.0, 11, 12, 13, 20, 21])
    p = sr.all_prefixes(s, times)
    assert len(p) == 4 and list(p.session) == [0, 0, 0, 1]
    assert [list(p.inputs.sequence(r)) for r in range(4)] == [[0], [0, 1], [0, 1, 0], [3]]
    assert list(p.inputs.groups) == ["a", "a", "a", "b"]
    assert list(p.targets) == [1, 0, 2, 4]
    assert p.subsequent.toarray()[:, :5].tolist() == [
        [1, 1, 1, 0, 0],  # 1, 0, 2
        [1, 0, 1, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 1],
    ]
    assert list(p.n_subsequent) == [3, 2, 1, 1] and list(p.times) == [10, 11, 12, 20]
    two = p.take([3, 1])
    assert list(two.targets) == [4, 0] and list(two.times) == [20, 11]
    assert two.subsequent.toarray().tolist() == p.subsequent.toarray()[[3, 1]].tolist()


def test_metrics_by_hand():
    s = Sequences.from_lists([[0, 1, 0, 2]], ITEMS)
    p = sr.all_prefixes(s)
    lists = np.array([[1, 3], [2, 0], [3, 4]])  # next: 1 (rank 1), 0 (rank 2), 2 (missed)
    m = sr.session_rec_metrics(lists, p, k=2)
    assert m["session_rec/next_item/hr@2"] == pytest.approx(2 / 3)
    assert m["session_rec/next_item/mrr@2"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    # subsequent {1, 0, 2} (3 clicks), {0, 2} (2), {2} (1): hits 1, 2, 0
    assert m["session_rec/all_subsequent/precision@2"] == pytest.approx((1 / 2 + 2 / 2 + 0) / 3)
    assert m["session_rec/all_subsequent/recall@2"] == pytest.approx((1 / 3 + 2 / 2 + 0) / 3)
    # recall divides by the clicks after t, repeats counted (the reference's len(next_items))
    q = sr.all_prefixes(Sequences.from_lists([[0, 1, 1]], ITEMS))
    r = sr.session_rec_metrics(np.array([[1, 5], [1, 5]]), q, k=2)
    assert r["session_rec/all_subsequent/recall@2"] == pytest.approx((1 / 2 + 1 / 1) / 2)


def test_lists_keep_own_items_use_training_candidates_and_do_not_depend_on_chunks():
    s = Sequences.from_lists([[0, 1, 0, 2], [3, 4], [1, 1, 2]], ITEMS)
    p = sr.all_prefixes(s)
    model = Fixed([5, 4, 3, 2, 1, 0]).fit(s)
    trained = np.array([True, True, True, True, True, False])
    lists = sr.session_rec_lists(model, p, trained, k=3)
    # prefix [0]: i1 +10 first, then 0 (own item kept), 2; prefix [3]: i4, 0, 1
    assert lists[0].tolist() == [1, 0, 2] and lists[3].tolist() == [4, 0, 1]
    # prefix [3, 4]: i5 would win but is no candidate
    assert 5 not in lists
    for chunk in (1, 2, 100):
        again = sr.session_rec_lists(model, p, trained, 3, chunk=chunk)
        np.testing.assert_array_equal(again, lists)
    excluded = sr.session_rec_lists(model, p, trained, k=3, exclude_seen=True)
    assert excluded[0].tolist() == [1, 2, 3]
    m = sr.session_rec_metrics(lists, p, k=3)
    # next clicks 1, 0, 2 | 4 | 1, 2 at ranks 1, 2, 3 | 1 | 3, 1
    assert m["session_rec/next_item/hr@3"] == 1.0
    mrr = (1 + 1 / 2 + 1 / 3 + 1 + 1 / 3 + 1) / 6
    assert m["session_rec/next_item/mrr@3"] == pytest.approx(mrr)


def test_memory_models_get_each_prefixs_time():
    seen = {}

    class Timed(Fixed):
        def score_sequences(self, sequences, times=None):
            seen["times"] = None if times is None else list(times)
            return super().score_sequences(sequences)

    s = Sequences.from_lists([[0, 1, 2]], ITEMS)
    p = sr.all_prefixes(s, np.array([5.0, 6.0, 7.0]))
    sr.session_rec_lists(Timed(np.zeros(6)).fit(s), p, np.ones(6, bool), k=2)
    assert seen["times"] == [5.0, 6.0]


def _clicks():
    rows = [
        ("a", 0.0, "i0"), ("a", 0.1, "i1"), ("a", 0.2, "i0"),
        ("b", 2.0, "i1"), ("b", 2.1, "i2"),
        ("c", 3.5, "i0"), ("c", 3.6, "i5"), ("c", 3.7, "i1"),  # i5 unseen in training
        ("d", 3.2, "i2"), ("d", 4.0, "i1"),
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=["session_id", "day", "item_id"])
    df["ts"] = T0 + pd.to_timedelta(df.pop("day"), unit="D")
    df["event_type"] = "view"
    return df.sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_session_rec_data_orders_sessions_by_start_and_times_clicks():
    data = sr.session_rec_data(_clicks(), pd.DataFrame({"item_id": ITEMS}), days=1)
    assert data.protocol == "session-rec-time-last-1-days"
    assert list(data.train.groups) == ["a", "b"] and list(data.test.groups) == ["d", "c"]
    assert [list(data.test.sequence(r)) for r in range(2)] == [[2, 1], [0, 1]]  # i5 removed
    day = 86400.0
    t0 = T0.timestamp()
    np.testing.assert_allclose(data.train_times, [t0 + 0.2 * day, t0 + 2.1 * day])
    np.testing.assert_allclose(data.test_times, t0 + np.array([3.2, 4.0, 3.5, 3.7]) * day)
    assert data.trained.tolist() == [True, True, True, False, False, False]
    assert data.counts["prefixes"] == 2 and data.validation is not None
    # validation: the same split of a and b (b ends after 2.1 - 1 days; i2 is unseen in a)
    assert list(data.validation.train.groups) == ["a"] and len(data.validation.test) == 0


def test_evaluate_session_rec_on_the_diginetica_sample(shared_data):
    from shopintent.data.sources import diginetica
    from shopintent.models.recommenders.sequential.base import SequencePopularity

    shop = diginetica.load(shared_data / "diginetica-sample-srgnn")
    data = sr.session_rec_data(shop.events, shop.items, days=7)
    assert data.counts["test_sessions"] > 50 and data.counts["prefixes"] > 100
    assert set(data.test.items) <= set(np.flatnonzero(data.trained))
    m = sr.evaluate_session_rec(SequencePopularity().fit(data.train), data)
    assert set(m) == {
        "session_rec/next_item/hr@20",
        "session_rec/next_item/mrr@20",
        "session_rec/all_subsequent/precision@20",
        "session_rec/all_subsequent/recall@20",
    }
    assert 0 <= m["session_rec/next_item/mrr@20"] <= m["session_rec/next_item/hr@20"] < 1
