"""The product KG on a hand-made catalogue: exact nodes and edges, co-occurrence from training
only, Freebase triples, save/load, statistics and the two-tower features."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from shopintent.data.splits import temporal_split
from shopintent.kg import build, features, stats, store


def catalogue() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3", "i4", "i5"],
            "title": [
                "Acme Rocket 1 Phone, black",
                "Acme Rocket 1 Phone, white",
                "Zeta Bolt Phone, black",
                "Zeta Breeze Fan, white, 800W",
                "Loose screw",
            ],
            "brand": ["Acme", "Acme", "Zeta", "Zeta", None],
            "category": [
                "electronics.phone",
                "electronics.phone",
                "electronics.phone",
                "appliances.fan",
                None,
            ],
            "attributes": [
                {"colour": "black"},
                {"colour": "white"},
                {"colour": "black"},
                {"colour": "white", "power": "800W"},
                None,
            ],
            "model": ["Rocket 1", "Rocket 1", "Bolt", "Breeze", None],
        }
    )


def events() -> pd.DataFrame:
    """Two training days (sessions s1, s2) and a later test day (s3 pairs i2 with i4)."""
    rows = [
        ("u1", "s1", "2025-01-01 10:00", "view", "i1"),
        ("u1", "s1", "2025-01-01 10:01", "view", "i3"),
        ("u1", "s1", "2025-01-01 10:02", "purchase", "i1"),
        ("u1", "s1", "2025-01-01 10:03", "purchase", "i3"),
        ("u2", "s2", "2025-01-02 10:00", "view", "i1"),
        ("u2", "s2", "2025-01-02 10:01", "view", "i3"),
        ("u2", "s2", "2025-01-02 10:02", "view", "i2"),
        ("u3", "s3", "2025-01-09 10:00", "view", "i2"),
        ("u3", "s3", "2025-01-09 10:01", "view", "i4"),
    ]
    df = pd.DataFrame(rows, columns=["user_id", "session_id", "ts", "event_type", "item_id"])
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    df["query_id"] = None
    return df


def edge_set(kg, relation=None):
    e = kg.edges if relation is None else kg.edges[kg.edges["relation"] == relation]
    return {(s, t, r) for s, t, r in e[["source", "target", "relation"]].itertuples(index=False)}


def test_catalogue_graph_has_exactly_the_expected_nodes_and_edges():
    kg = build.build_kg(catalogue())
    assert dict(zip(kg.nodes["node_id"], kg.nodes["type"], strict=True)) == {
        **{f"item:i{i}": "item" for i in range(1, 6)},
        "brand:Acme": "brand",
        "brand:Zeta": "brand",
        "model:Acme/Rocket 1": "model",
        "model:Zeta/Bolt": "model",
        "model:Zeta/Breeze": "model",
        "category:electronics": "category",
        "category:electronics.phone": "category",
        "category:appliances": "category",
        "category:appliances.fan": "category",
        "attr:colour=black": "attribute",
        "attr:colour=white": "attribute",
        "attr:power=800W": "attribute",
    }
    assert edge_set(kg) == {
        ("item:i1", "brand:Acme", "has_brand"),
        ("item:i2", "brand:Acme", "has_brand"),
        ("item:i3", "brand:Zeta", "has_brand"),
        ("item:i4", "brand:Zeta", "has_brand"),
        ("item:i1", "model:Acme/Rocket 1", "has_model"),
        ("item:i2", "model:Acme/Rocket 1", "has_model"),
        ("item:i3", "model:Zeta/Bolt", "has_model"),
        ("item:i4", "model:Zeta/Breeze", "has_model"),
        ("item:i1", "category:electronics.phone", "in_category"),
        ("item:i2", "category:electronics.phone", "in_category"),
        ("item:i3", "category:electronics.phone", "in_category"),
        ("item:i4", "category:appliances.fan", "in_category"),
        ("category:electronics.phone", "category:electronics", "parent"),
        ("category:appliances.fan", "category:appliances", "parent"),
        ("item:i1", "attr:colour=black", "has_attribute"),
        ("item:i2", "attr:colour=white", "has_attribute"),
        ("item:i3", "attr:colour=black", "has_attribute"),
        ("item:i4", "attr:colour=white", "has_attribute"),
        ("item:i4", "attr:power=800W", "has_attribute"),
    }
    names = kg.names()
    assert names["item:i1"] == "Acme Rocket 1 Phone, black" and names["model:Zeta/Bolt"] == "Bolt"
    assert names["category:appliances.fan"] == "fan" and names["attr:power=800W"] == "800W"
    g = kg.graph()
    assert isinstance(g, nx.MultiGraph) and g.number_of_nodes() == 17 and g.number_of_edges() == 19
    assert g.nodes["brand:Acme"]["type"] == "brand" and g.has_edge(
        "item:i4", "attr:power=800W", key="has_attribute"
    )


def test_co_occurrence_counts_training_sessions_only():
    split = temporal_split(events(), cutoff="2025-01-05")
    kg = build.build_kg(catalogue(), split.train)
    co = kg.edges[kg.edges["relation"] == "co_viewed"]
    assert {
        (s, t): w for s, t, w in co[["source", "target", "weight"]].itertuples(index=False)
    } == {("item:i1", "item:i3"): 2.0, ("item:i1", "item:i2"): 1.0, ("item:i2", "item:i3"): 1.0}
    assert edge_set(kg, "co_bought") == {("item:i1", "item:i3", "co_bought")}
    # the test session's pair (i2, i4) never becomes an edge, in either direction
    pairs = {frozenset((s, t)) for s, t, _ in edge_set(kg)}
    assert frozenset(("item:i2", "item:i4")) not in pairs
    # every behaviour edge is a pair that shares a training session
    train_sessions = split.train.groupby("session_id")["item_id"].agg(set)
    for s, t, _ in edge_set(kg, "co_viewed") | edge_set(kg, "co_bought"):
        assert any({s[5:], t[5:]} <= items for items in train_sessions)
    # the same call on all events would add it: the guard is the argument, not luck
    assert ("item:i2", "item:i4", "co_viewed") in edge_set(build.build_kg(catalogue(), events()))
    # popularity counts come from training too (i4 is only seen in the test period)
    counts = kg.nodes.set_index("node_id")["count"]
    assert counts["item:i1"] == 2 and counts["item:i4"] == 0 and counts["brand:Acme"] == 3
    assert counts["category:electronics"] == counts["category:electronics.phone"] == 5


def test_max_neighbours_keeps_each_items_strongest_partners():
    ev = events().iloc[:7]
    edges = build.co_occurrence_edges(ev, catalogue()["item_id"], max_neighbours=1)
    # i1's best partner is i3 (2 sessions); i2 keeps one of its ties (the lower index, i1)
    assert {(s, t) for s, t in edges[["source", "target"]].itertuples(index=False)} == {
        ("item:i1", "item:i3"),
        ("item:i1", "item:i2"),
    }
    with pytest.raises(ValueError, match="missing from the catalogue"):
        build.co_occurrence_edges(ev.assign(item_id="i99"), catalogue()["item_id"])


def test_freebase_triples_join_through_linked_items():
    kg_table = pd.DataFrame(
        {
            "head": ["m.f1", "m.a1", "m.f2", "m.f1", "m.f1", "m.x"],
            "relation": [
                "film.film.actor",
                "film.actor.film",
                "film.film.actor",
                "film.film.actor",
                "film.film.sequel",
                "film.film.actor",
            ],
            "tail": ["m.a1", "m.f1", "m.a1", "m.a2", "m.f2", "m.a1"],
        }
    )
    link = pd.DataFrame({"item_id": ["i1", "i2"], "entity_id": ["m.f1", "m.f2"]})
    kg = build.build_kg(catalogue(), extras={"kg": kg_table, "kg_link": link})
    fb = kg.edges[kg.edges["relation"].str.startswith("fb:")]
    # the inverse pair collapses into one edge, a2 (one film) and m.x (no linked film) are dropped
    assert {tuple(r) for r in fb[["source", "target", "relation"]].itertuples(index=False)} == {
        ("item:i1", "entity:m.a1", "fb:film.film.actor"),
        ("item:i2", "entity:m.a1", "fb:film.film.actor"),
        ("item:i1", "item:i2", "fb:film.film.sequel"),
    }
    assert set(kg.nodes.loc[kg.nodes["type"] == "entity", "node_id"]) == {"entity:m.a1"}
    assert kg.meta["freebase"] is True
    assert not build.build_kg(
        catalogue(), extras={"kg": kg_table, "kg_link": link}, freebase=False
    ).meta["freebase"]


def test_save_load_round_trip(tmp_path):
    kg = build.build_kg(catalogue(), events())
    path = store.save_kg(kg, tmp_path / "kg")
    back = store.load_kg(path)
    pd.testing.assert_frame_equal(
        back.nodes, kg.nodes[list(build.NODE_COLUMNS)].astype({"count": "int64"})
    )
    pd.testing.assert_frame_equal(back.edges, kg.edges[list(build.EDGE_COLUMNS)])
    assert back.meta == {k: v for k, v in kg.meta.items()}
    g1, g2 = kg.graph(), back.graph()
    assert nx.utils.graphs_equal(g1, g2)
    store.save_kg(back, path)  # replacing a saved graph leaves one folder, no temp files behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg"]
    with pytest.raises(FileNotFoundError, match="kg.json"):
        store.load_kg(tmp_path / "missing")


def test_invalid_edges_are_refused():
    kg = build.build_kg(catalogue())
    with pytest.raises(ValueError, match="unknown nodes"):
        build.ProductKG(
            kg.nodes,
            pd.concat(
                [
                    kg.edges,
                    pd.DataFrame(
                        [
                            {
                                "source": "item:i1",
                                "target": "brand:Nope",
                                "relation": "has_brand",
                                "weight": 1.0,
                            }
                        ]
                    ),
                ]
            ),
        )


def test_statistics():
    kg = build.build_kg(catalogue(), events())
    assert stats.node_counts(kg).to_dict() == {
        "item": 5,
        "attribute": 3,
        "model": 3,
        "category": 4,
        "brand": 2,
    }
    comp = stats.components(kg)
    assert (
        comp["components"] == 2 and comp["largest"] == 16
    )  # i5 has no brand, category or behaviour
    assert comp["items_in_largest"] == pytest.approx(0.8)
    from shopintent.studies import knowledge_graph  # the recorded keys are notebook 09's

    m = knowledge_graph.graph_metrics(kg)
    assert m["kg/nodes"] == 17 and m["kg/edges"] == kg.n_edges and m["kg/edges/parent"] == 2
    summary = stats.degree_summary(kg)
    assert summary.loc["item", "isolated"] == 1 and summary.loc["brand", "max"] == 2


def test_silver_title_brands():
    items = pd.DataFrame(
        {
            "title": [
                f"Hampton Bay {kind} 52 in." for kind in ("Fan", "Lamp", "Rug", "Vase", "Bulb")
            ]
            + ["Hampton Lamp"]
            + ["BEHR Premium Paint"] * 3
            + ["BEHR Ultra Paint"] * 3
            + ["The Hillman Group screw"] * 6
            + ["1/2 in. pipe"] * 6
        }
    )
    brands = build.silver_title_brands(items, min_items=5)
    assert brands.iloc[0] == "Hampton Bay" and brands.iloc[5] == "Hampton"
    assert brands.iloc[6] == "BEHR" and brands.iloc[12] is None and brands.iloc[-1] is None


def test_two_tower_features():
    kg = build.build_kg(catalogue(), events())
    frame, arrays = features.item_kg_features(kg, catalogue()["item_id"], n_components=3)
    assert list(frame["item_id"]) == ["i1", "i2", "i3", "i4", "i5"]
    assert frame["brand_id"].tolist() == [1, 1, 2, 2, 0]  # sorted vocabulary, 0 = none
    assert frame["brand_items"].tolist() == [2, 2, 2, 2, 0]
    assert frame["n_attributes"].tolist() == [1, 1, 1, 2, 0]
    assert frame["co_view_degree"].tolist() == [2, 3, 2, 1, 0]
    assert frame["top_category_id"].iloc[0] != frame["top_category_id"].iloc[3] != 0
    assert arrays["attribute_ids"].shape == (5, 2) and arrays["attribute_ids"][4].tolist() == [0, 0]
    assert arrays["embedding"].shape == (5, 3) and np.isfinite(arrays["embedding"]).all()


def test_item_features_are_saved_as_safe_arrays(tmp_path):
    kg = build.build_kg(catalogue(), events())
    frame, arrays = features.item_kg_features(kg, catalogue()["item_id"], n_components=2)
    paths = features.save_item_features(frame, arrays, tmp_path / "kg")
    pd.testing.assert_frame_equal(pd.read_parquet(paths[0]), frame)
    with np.load(paths[1], allow_pickle=False) as back:
        assert back["item_id"].tolist() == ["i1", "i2", "i3", "i4", "i5"]
        np.testing.assert_array_equal(back["attribute_ids"], arrays["attribute_ids"])


def test_notebook_09_figures():
    from shopintent.studies import knowledge_graph_figures as figures

    kg = build.build_kg(catalogue(), events())
    fig = figures.degree_figure(kg)
    assert sorted(t.name for t in fig.data) == sorted(stats.node_counts(kg).index)
    d = stats.degrees(kg)
    items = next(t for t in fig.data if t.name == "item")
    # isolated items have no point on a log axis
    assert sum(items.y) == int((d.loc[d["type"] == "item", "degree"] > 0).sum())
    from shopintent.kg.explain import explain_graph

    graph = explain_graph(kg)
    path = list(graph.nodes)[:1]
    sub = figures.subgraph_figure(graph, [path], "one node", history=[])
    assert sub.axes[0].get_title() == "one node"


def test_a_null_or_blank_category_is_no_node():
    """Issue 18: a catalogue whose category is all null (or blank) gets no category node that
    every item would hang on; titles alone give a graph of items."""
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "title": ["red kettle", "blue kettle", "lamp"],
            "brand": [None, None, None],
            "category": [None, "", "  "],
        }
    )
    kg = build.build_kg(items)
    assert set(kg.nodes["type"]) == {"item"}
    assert kg.n_edges == 0
