"""Baselines: popularity and its time decay, item-kNN and EASE recover the obvious pattern of a
tiny shop, match the closed forms computed by hand or by scikit-learn, and survive save/load."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine

from shopintent.models.recommenders import baselines as bl
from shopintent.models.recommenders.persist import load_recommender

T0 = pd.Timestamp("2024-03-01", tz="UTC")
ITEMS = pd.DataFrame({"item_id": ["a", "b", "c", "d", "e", "f"]})


def _events(pairs, days=None, event_type="purchase"):
    """Rows (user, item) at T0 + days (default: all at T0)."""
    days = [0.0] * len(pairs) if days is None else days
    return pd.DataFrame(
        {
            "user_id": [u for u, _ in pairs],
            "item_id": [i for _, i in pairs],
            "event_type": event_type,
            "ts": [T0 + pd.Timedelta(days=d) for d in days],
        }
    )


@pytest.fixture(scope="module")
def shop():
    """a and b are bought together (u1-u4); c is the most popular item, bought alone (u5-u10);
    q bought only a, so anything that reads co-purchases must put b first, popularity puts c."""
    pairs = [(u, i) for u in ("u1", "u2", "u3", "u4") for i in ("a", "b")]
    pairs += [(f"u{n}", "c") for n in range(5, 11)] + [("u5", "d"), ("u6", "e"), ("q", "a")]
    return _events(pairs)


ALL = [bl.Popularity, bl.RecentPopularity, bl.ItemKNN, bl.EASE]


def test_popularity_counts_distinct_users(shop):
    twice = pd.concat([shop, shop])  # repeated events of one user count once
    model = bl.Popularity().fit(twice, ITEMS)
    assert model.scores_.tolist() == [5, 4, 6, 1, 1, 0]
    assert model.recommend(["q"], 3).item_ids.tolist() == [
        ["c", "b", "d"]
    ]  # a is seen; d before e (ties)
    assert model.recommend(["never-seen"], 2).item_ids.tolist() == [["c", "a"]]


def test_recent_popularity_decays_by_half_life():
    # a: two users 14 days before the end of training; b: one user at the end
    ev = _events([("u1", "a"), ("u2", "a"), ("u3", "b")], days=[0, 0, 14])
    week = bl.RecentPopularity(half_life_days=7).fit(ev, ITEMS)
    assert np.allclose(week.scores_[:2], [2 * 0.25, 1.0])  # two half-lives: 2 x 1/4
    assert week.recommend(["new"], 2).item_ids.tolist() == [["b", "a"]]
    slow = bl.RecentPopularity(half_life_days=1000).fit(ev, ITEMS)
    assert slow.recommend(["new"], 2).item_ids.tolist() == [["a", "b"]]
    latest = bl.RecentPopularity(7).fit(pd.concat([ev, _events([("u1", "a")], days=[14])]), ITEMS)
    assert np.isclose(latest.scores_[0], 1.0 + 0.25)  # a user's latest interaction counts
    with pytest.raises(ValueError, match="half_life_days"):
        bl.RecentPopularity(0).fit(ev, ITEMS)


@pytest.mark.parametrize("cls", [bl.ItemKNN, bl.EASE])
def test_item_models_recommend_the_co_bought_item(cls, shop):
    model = cls().fit(shop, ITEMS) if cls is bl.ItemKNN else cls(l2=1.0).fit(shop, ITEMS)
    assert model.recommend(["q"], 1).item_ids.tolist() == [["b"]]
    assert bl.Popularity().fit(shop, ITEMS).recommend(["q"], 1).item_ids.tolist() == [["c"]]


@pytest.mark.parametrize("cls", ALL)
def test_exactly_k_distinct_unseen_items(cls, shop):
    model = cls().fit(shop, ITEMS)
    users = sorted(shop["user_id"].unique()) + ["cold"]
    recs = model.recommend(users, 3)
    seen = model.data_.seen(users).toarray().astype(bool)
    assert recs.index.shape == (len(users), 3) and (recs.index >= 0).all()
    assert all(len(set(row)) == 3 for row in recs.index)
    assert not seen[np.arange(len(users))[:, None], recs.index].any()
    # the catalogue runs out: u1 has seen a and b, so only 4 of 6 items remain
    short = model.recommend(["u1"], 6)
    assert (short.index[0] >= 0).sum() == 4 and short.item_ids[0, 4] is None
    with_seen = model.recommend(["u1"], 6, exclude_seen=False)
    assert sorted(with_seen.item_ids[0]) == list("abcdef")


@pytest.mark.parametrize("cls", ALL)
def test_save_load_reproduces_recommendations(cls, shop, tmp_path):
    model = cls().fit(shop, ITEMS)
    path = model.save(tmp_path / f"{model.name}.npz")
    again = load_recommender(path)
    users = ["q", "u1", "u5", "cold"]
    assert type(again) is cls and again.params() == model.params()
    a, b = model.recommend(users, 4), again.recommend(users, 4)
    assert (a.index == b.index).all() and np.allclose(a.scores, b.scores, equal_nan=True)
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_load_refuses_foreign_files(tmp_path, shop):
    path = bl.EASE().fit(shop, ITEMS).save(tmp_path / "m.npz")
    with np.load(path) as f:
        arrays = dict(f)
    arrays["header"] = np.asarray(str(arrays["header"]).replace('"EASE"', '"os.system"'))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="unknown recommender kind 'os.system'"):
        load_recommender(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="not a saved recommender"):
        load_recommender(tmp_path / "other.npz")


def test_ease_matches_the_closed_form_and_per_item_ridge():
    x = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], dtype=float)
    l2 = 0.5
    b = bl.ease_weights(sp.csr_matrix(x), l2)
    # by hand: P = (X'X + l2 I)^-1, B_ij = -P_ij / P_jj off the diagonal, 0 on it
    p = np.linalg.inv(x.T @ x + l2 * np.eye(4))
    assert np.allclose(b, np.where(np.eye(4, dtype=bool), 0.0, -p / np.diag(p)[None, :]))
    # Steck's eq. 8 is column j regressed (ridge, no intercept) on the other columns
    for j in range(4):
        others = [i for i in range(4) if i != j]
        ridge = Ridge(alpha=l2, fit_intercept=False).fit(x[:, others], x[:, j])
        assert np.allclose(b[others, j], ridge.coef_, atol=1e-10)
    assert np.allclose(np.diag(b), 0)
    with pytest.raises(ValueError, match="l2 must be positive"):
        bl.ease_weights(sp.csr_matrix(x), 0)


def test_ease_scores_are_history_times_b_and_max_items_keeps_the_popular(shop):
    model = bl.EASE(l2=2.0).fit(shop, ITEMS)
    x = model.history(np.arange(model.data_.n_users)).toarray()
    full_b = bl.ease_weights(
        sp.csr_matrix(x), 2.0
    )  # over the whole catalogue, f (no interactions) included
    assert (
        model.kept_.tolist() == [0, 1, 2, 3, 4]
        and np.allclose(full_b[:, 5], 0)
        and np.allclose(full_b[5], 0)
    )
    scores = model.score(model.data_.user_ids)
    assert np.allclose(
        scores[:, :5], (x @ full_b)[:, :5], atol=1e-5
    )  # learning on active items loses nothing
    assert (scores[:, 5] < scores[:, :5].min(axis=1)).all()  # the item EASE cannot score comes last
    small = bl.EASE(l2=2.0, max_items=2).fit(shop, ITEMS)  # c (6 users) and a (5 users)
    assert small.kept_.tolist() == [0, 2] and small.weights_.shape == (2, 2)
    ranked = (
        small.recommend(["u5"], 6, exclude_seen=False).item_ids[0].tolist()
    )  # u5 bought c and d
    assert ranked[2:] == ["b", "d", "e", "f"]  # then by popularity (ties: catalogue order)


def test_cosine_similarity_with_shrinkage_and_pruning():
    r = np.random.default_rng(0)
    x = sp.random(40, 12, density=0.3, random_state=1, format="csr") + sp.csr_matrix(
        r.random((40, 12)) > 0.9
    )
    dense = x.toarray()
    plain = bl.cosine_similarity(x).toarray()
    expected = sk_cosine(dense.T)
    np.fill_diagonal(expected, 0)
    assert np.allclose(plain, expected)
    shrunk = bl.cosine_similarity(x, shrinkage=5.0).toarray()
    norms = np.linalg.norm(dense, axis=0)
    assert np.isclose(shrunk[0, 1], dense[:, 0] @ dense[:, 1] / (norms[0] * norms[1] + 5.0))
    pruned = bl.cosine_similarity(x, neighbours=3)
    assert (np.diff(pruned.indptr) <= 3).all()
    for i in range(12):  # each row keeps its 3 largest similarities
        assert np.allclose(np.sort(pruned[i].data)[::-1], np.sort(plain[i])[::-1][:3])


def test_item_knn_scores_any_history(shop):
    model = bl.ItemKNN(neighbours=None, shrinkage=0).fit(shop, ITEMS)
    ids, history = model.history_of(
        _events([("s1", "a"), ("s1", "zzz-not-in-catalogue"), ("s2", "c")])
    )
    assert list(ids) == ["s1", "s2"]
    scores = model.score_history(history)
    assert np.allclose(scores[0], model.score(["q"])[0])  # q's history is a alone, as s1's
    assert scores[1].argmax() in (3, 4)  # c was co-bought with d (u5) and e (u6) only


def test_weighting():
    m = sp.csr_matrix(np.array([[5.0, 0, 1.0], [0, 8.0, 0]]))
    assert bl.weigh(m, "binary").toarray().tolist() == [[1, 0, 1], [0, 1, 0]]
    assert np.allclose(bl.weigh(m, "log").toarray(), [[1 + np.log(5), 0, 1], [0, 1 + np.log(8), 0]])
    assert (bl.weigh(m, "weight") != m).nnz == 0
    with pytest.raises(ValueError, match="weighting must be one of"):
        bl.weigh(m, "tfidf")


def test_anonymous_events_are_left_out_of_user_tasks_and_empty_slices_are_none(monkeypatch):
    from shopintent.models.recommenders import evaluate
    from shopintent.models.recommenders.base import build_interactions
    from shopintent.models.recommenders.evaluate import evaluate_recs, make_task

    items = pd.DataFrame({"item_id": ["a", "b", "c"]})
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    train = pd.DataFrame(
        {
            "user_id": ["u1", "u1", None, "u2"],
            "item_id": ["a", "b", "c", "a"],
            "event_type": "view",
            "ts": ts,
        }
    )
    test = pd.DataFrame(
        {"user_id": ["u1", None, "u2"], "item_id": ["c", "a", "b"], "event_type": "view", "ts": ts}
    )
    data = build_interactions(train, items["item_id"])
    assert list(data.user_ids) == ["u1", "u2"] and data.matrix.sum() == 3
    task = make_task(train, test, items, "test")
    assert list(task.users) == ["u1", "u2"]
    # both test users have few training items: cold; with no cold user the slice is None
    lists = np.full((2, 20), -1)
    lists[:, :3] = [[2, 1, 0], [1, 2, 0]]
    row = evaluate_recs("m", lists, task, n_boot=10)
    assert row["cold_users/n"] == 2 and row["cold_users/ndcg@10"] is not None
    monkeypatch.setattr(evaluate, "COLD_USER_MAX", 0)
    row = evaluate_recs("m", lists, task, n_boot=10)
    assert row["cold_users/n"] == 0 and row["cold_users/ndcg@10"] is None
    assert "recs/m/cold_users/ndcg@10" not in evaluate.metric_keys(row)
