"""Personalised PageRank (the batched version against networkx), the kg_ppr recommender, the
blend, and explanation paths that are real paths of the graph."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopintent.kg import blend, build, explain, ppr
from shopintent.models.recommenders.baselines import Popularity


def catalogue() -> pd.DataFrame:
    brands = ["Acme", "Acme", "Acme", "Zeta", "Zeta", "Zeta", "Kilo", "Kilo"]
    cats = ["a.x", "a.x", "a.y", "a.y", "b.z", "b.z", "b.z", "a.x"]
    colours = ["red", "blue", "red", "blue", "red", "blue", "red", "green"]
    return pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(1, 10)],
            "title": [f"Item {i}" for i in range(1, 10)],
            "brand": brands + [None],
            "category": cats + [None],
            "attributes": [{"colour": c} for c in colours] + [None],
            "model": ["M1", "M1", "M2", "M3", "M3", "M4", "M5", "M6", None],
        }
    )


def events() -> pd.DataFrame:
    rows = []
    sessions = {
        "u1": [["i1", "i2"], ["i1", "i4"]],
        "u2": [["i4", "i5", "i6"]],
        "u3": [["i7"]],
        "u4": [["i2", "i3"], ["i3", "i8"]],
    }
    t = pd.Timestamp("2025-01-01", tz="UTC")
    for u, ss in sessions.items():
        for k, items in enumerate(ss):
            for j, i in enumerate(items):
                rows.append((u, f"{u}-{k}", t + pd.Timedelta(days=k, minutes=j), "view", i))
    return pd.DataFrame(
        rows, columns=["user_id", "session_id", "ts", "event_type", "item_id"]
    ).assign(query_id=None)


@pytest.fixture(scope="module")
def kg():
    return build.build_kg(catalogue(), events())


def test_batched_pagerank_matches_networkx(kg):
    index, a = ppr.adjacency(kg)
    seeds = [
        {"item:i1": 1.0},
        {"item:i4": 2.0, "brand:Kilo": 1.0},
        {"item:i9": 1.0},
    ]  # i9 is isolated
    rows = np.zeros((len(seeds), len(index)))
    for r, s in enumerate(seeds):
        for node, w in s.items():
            rows[r, index.get_loc(node)] = w
    fast = ppr.personalized_pagerank(a, sp.csr_matrix(rows), alpha=0.85, tol=1e-12, max_iter=1000)
    for r, s in enumerate(seeds):
        ref = ppr.networkx_pagerank(kg, s, alpha=0.85, tol=1e-12)
        expected = np.array([ref[n] for n in index])
        np.testing.assert_allclose(fast[r], expected, atol=1e-9)
        assert fast[r].sum() == pytest.approx(1.0)
    # and the reference really is networkx on the same weighted graph
    g = nx.Graph()
    g.add_nodes_from(index)
    coo = sp.triu(a).tocoo()
    g.add_weighted_edges_from(zip(index[coo.row], index[coo.col], coo.data, strict=True))
    direct = nx.pagerank(g, alpha=0.5, personalization={"item:i1": 1.0}, tol=1e-12, max_iter=1000)
    mine = ppr.personalized_pagerank(a, rows[:1], alpha=0.5, tol=1e-12, max_iter=1000)[0]
    np.testing.assert_allclose(mine, [direct[n] for n in index], atol=1e-9)


def test_edge_strength_weights_relations_and_log_counts():
    edges = pd.DataFrame(
        {
            "source": ["a", "a", "b"],
            "target": ["b", "c", "c"],
            "relation": ["co_viewed", "intent_category", "has_brand"],
            "weight": [np.e, 5.0, 1.0],
        }
    )
    np.testing.assert_allclose(ppr.edge_strength(edges, {"has_brand": 3.0}), [2.0, 0.0, 3.0])


def test_kg_ppr_recommends_unseen_items_only(kg):
    model = ppr.KGPPR(kg, alpha=0.7).fit(events(), catalogue())
    users = ["u1", "u2", "u3", "u4", "u_new"]
    recs = model.recommend(users, k=5)
    seen = events().groupby("user_id")["item_id"].agg(set)
    for u, row in zip(users, recs.item_ids, strict=True):
        got = [i for i in row if i is not None]
        assert len(got) == 5 and len(set(got)) == 5
        assert not set(got) & seen.get(u, set()), u
    # u3 viewed only i7 (Kilo, b.z, red): the walk's best unseen item shares two facts with it
    u3 = recs.item_ids[2].tolist()
    assert u3[0] in {"i5", "i8"}  # same category b.z + colour red, or same brand Kilo
    # a user unknown to training gets popularity, like every other recommender's cold users
    assert (
        recs.item_ids[4][0]
        == Popularity().fit(events(), catalogue()).recommend(["x"], 1).item_ids[0][0]
    )


def test_kg_ppr_builds_its_graph_from_the_events_it_is_fitted_on():
    first = events()[events()["user_id"] != "u2"]
    model = ppr.KGPPR().fit(first, catalogue())
    assert not {("item:i4", "item:i5"), ("item:i5", "item:i6")} & set(
        map(
            tuple,
            model.kg_.edges.loc[
                model.kg_.edges["relation"] == "co_viewed", ["source", "target"]
            ].values,
        )
    )


def test_blend_is_a_z_scored_sum():
    base = np.array([[1.0, 2.0, 3.0, 6.0]])
    kg_scores = np.array([[0.0, 0.0, 4.0, 0.0]])
    z = lambda x: (x - x.mean()) / x.std()  # noqa: E731
    np.testing.assert_allclose(
        blend.blend_scores(base, kg_scores, 0.5, transform="raw"), z(base) + 0.5 * z(kg_scores)
    )
    three = np.array([[0.0, 0.1, 1.0, 10.0]])  # log: zeros sit a decade below the smallest mass
    np.testing.assert_allclose(
        blend.blend_scores(base, three, 1.0), z(base) + z(np.log([[0.01, 0.1, 1.0, 10.0]]))
    )
    tail = np.array([True, True, False, False])  # the KG part only counts on the tail
    np.testing.assert_allclose(blend.blend_scores(base, kg_scores, 0.5, tail), z(base))
    model = blend.KGBlend(Popularity(), ppr.KGPPR(alpha=0.7), weight=0.5, scope="all").fit(
        events(), catalogue()
    )
    assert model.name == "popularity_kg_blend"
    recs = model.recommend(["u1"], k=3)
    assert not set(recs.item_ids[0]) & {"i1", "i2", "i4"}
    with pytest.raises(ValueError, match="scope"):
        blend.KGBlend(Popularity(), ppr.KGPPR(), scope="head")


def test_explanation_path_is_a_real_typed_path(kg):
    g = explain.explain_graph(kg)
    out = explain.explain_path(g, ["item:i1"], "item:i3")
    path, rels = out["path"], out["relations"]
    assert path[0] == "item:i1" and path[-1] == "item:i3" and len(path) - 1 <= 3
    full = kg.graph()
    for (u, v), rel in zip(zip(path[:-1], path[1:], strict=True), rels, strict=True):
        assert full.has_edge(u, v, key=rel), (u, v, rel)
    # i1 and i3 share brand Acme and colour red (2 edges each): the brand reads better
    assert path == ["item:i1", "brand:Acme", "item:i3"]
    assert out["text"] == "you viewed Item 1 — same brand Acme — Item 3"
    co = explain.explain_path(g, ["item:i1"], "item:i2")  # co-viewed in one session: one edge
    assert co["relations"] == ["co_viewed"] and "often viewed together with" in co["text"]
    assert explain.explain_path(g, ["item:i1"], "item:i9")["path"] is None  # i9 is isolated


def test_vectorised_explained_agrees_with_networkx(kg):
    g = explain.explain_graph(kg)
    sources = [["item:i1"], ["item:i7"], ["brand:Zeta"], []]
    targets = np.array([[f"item:i{j}" for j in range(1, 10)]] * len(sources), dtype=object)
    got = explain.explained(kg, sources, targets, max_len=2)
    for r, src in enumerate(sources):
        for c, t in enumerate(targets[r]):
            expected = explain.find_path(g, src, t, max_len=2) is not None
            assert got[r, c] == expected, (src, t)
    assert not got[0, 0]  # an item is not explained by itself
    assert not got[3].any()


def test_widely_shared_attribute_values_explain_nothing(kg):
    # every colour here is on at least 1 of the 9 items (> 2%): none may carry an explanation
    assert "has_attribute" not in set(explain.explainable_edges(kg)["relation"])
    assert (
        explain.explainable_edges(kg, max_attribute_share=1.0)["relation"] == "has_attribute"
    ).sum() == 8
    g = explain.explain_graph(kg, max_attribute_share=1.0)
    assert explain.explain_path(g, ["item:i8"], "item:i1")["relations"] in (
        ["in_category", "in_category"],
        ["has_attribute", "has_attribute"],
    )


def test_explained_shares_and_paired_difference(kg):
    from shopintent.models.recommenders.base import top_k
    from shopintent.models.recommenders.evaluate import make_task
    from shopintent.studies import knowledge_graph as compare

    ev = events()
    train, test = (
        ev[ev["ts"] < pd.Timestamp("2025-01-02", tz="UTC")],
        ev[ev["ts"] >= pd.Timestamp("2025-01-02", tz="UTC")],
    )
    task = make_task(train, test, catalogue(), "temporal-global-cutoff")
    assert list(task.users) == ["u1", "u4"]
    sources = compare.history_sources(task, kg)
    assert sources == [["item:i1", "item:i2"], ["item:i2", "item:i3"]]
    item_ids = pd.Index(catalogue()["item_id"])
    # u1 gets i3 (same brand as i1) then i9 (isolated); u4 gets i1 (same brand) then i9
    scores = np.zeros((2, 9))
    scores[0, [2, 8]] = [2, 1]
    scores[1, [0, 8]] = [2, 1]
    recs = top_k(scores, item_ids, 20, task.seen)
    shares = compare.explained_shares(kg, sources, {"m": recs}, k=2)
    assert shares.loc["m", "paths<=3"] == 0.5 and shares.loc["m", "facts_only<=3"] == 0.5
    diff = compare.paired_difference(recs, recs, task, n_boot=50)
    assert diff.point == diff.low == diff.high == 0.0
