"""Explanation paths: why an item is recommended, as a short typed path in the KG from what the
user did (history items, or entities their searches named) to the item, rendered as text:
"you viewed X — same brand B — Y".

A path has at most ``max_len`` (3) edges of the ``EXPLAIN_COSTS`` relations, and never goes
through an attribute value that many items share (a colour links nearly everything to
everything within three edges, so it would "explain" any list). Among the shortest
paths (by edge count) the most specific wins: each relation adds a small cost below one edge
(a co-purchase or the same product line reads better than a shared colour). ``explained``
answers "has a path" for every (user, recommended item) at once with sparse reachability
(sources x A^h for h <= max_len); ``explain_path`` finds and renders one path with networkx.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.kg.build import ProductKG

MAX_LEN = 3  # edges: "you viewed X — same brand B — Y" is two
#: an attribute value on more than this share of the items ("black") explains nothing
MAX_ATTRIBUTE_SHARE = 0.02
#: relations an explanation may use and their tie-break cost (added to 1 per edge)
EXPLAIN_COSTS = {
    "co_bought": 0.01,
    "has_model": 0.02,
    "has_brand": 0.03,
    "co_viewed": 0.04,
    "in_category": 0.05,
    "fb:": 0.05,
    "has_attribute": 0.08,
    "parent": 0.09,
}
_READ = {
    "brand": "same brand {}",
    "model": "same product line {}",
    "category": "same category {}",
    "intent": "searched as {}",
}
_ITEM_ITEM = {"co_viewed": "often viewed together with", "co_bought": "often bought together with"}


def _cost(relation: str) -> float | None:
    for key, cost in EXPLAIN_COSTS.items():
        if relation == key or (key.endswith(":") and relation.startswith(key)):
            return cost
    return None


BEHAVIOUR = ("co_viewed", "co_bought")


def explainable_edges(
    kg: ProductKG, max_attribute_share: float = MAX_ATTRIBUTE_SHARE, behaviour: bool = True
) -> pd.DataFrame:
    """The edges an explanation may use, with their ``cost``: the ``EXPLAIN_COSTS`` relations,
    without attribute values that more than ``max_attribute_share`` of the items carry (and
    without the co-viewed / co-bought edges when ``behaviour`` is False: catalogue facts only)."""
    e = kg.edges.assign(cost=kg.edges["relation"].map(_cost)).dropna(subset=["cost"])
    if not behaviour:
        e = e[~e["relation"].isin(BEHAVIOUR)]
    n_items = max(int((kg.nodes["type"] == "item").sum()), 1)
    attr = e[e["relation"] == "has_attribute"]
    hubs = attr["target"].value_counts()
    hubs = set(hubs[hubs > max_attribute_share * n_items].index)
    return e[~((e["relation"] == "has_attribute") & e["target"].isin(hubs))]


def explain_graph(kg: ProductKG, max_attribute_share: float = MAX_ATTRIBUTE_SHARE) -> nx.Graph:
    """A simple graph of the explainable edges: per node pair the cheapest relation, with
    ``relation`` and ``cost`` (1 + tie-break) attributes; node attributes as in the KG."""
    e = explainable_edges(kg, max_attribute_share)
    e = e.sort_values("cost", kind="stable").drop_duplicates(["source", "target"])
    g = nx.Graph()
    g.add_nodes_from(
        (n, {"type": t, "name": nm})
        for n, t, nm in kg.nodes[["node_id", "type", "name"]].itertuples(index=False, name=None)
    )
    g.add_edges_from(
        (s, t, {"relation": r, "cost": 1.0 + c})
        for s, t, r, c in e[["source", "target", "relation", "cost"]].itertuples(
            index=False, name=None
        )
    )
    return g


def find_path(graph: nx.Graph, sources, target: str, max_len: int = MAX_LEN) -> list[str] | None:
    """The cheapest path of at most ``max_len`` edges from any of ``sources`` to ``target``
    (nodes, source first), or None. A target that is itself a source has no explanation."""
    sources = [s for s in dict.fromkeys(sources) if s in graph and s != target]
    if not sources or target not in graph:
        return None
    try:
        cost, path = nx.multi_source_dijkstra(
            graph, sources, target, cutoff=max_len + 0.5, weight="cost"
        )
    except nx.NetworkXNoPath:
        return None
    return path if len(path) - 1 <= max_len else None


def _describe(graph: nx.Graph, node: str) -> str:
    data = graph.nodes[node]
    kind, name = data.get("type"), str(data.get("name"))
    if kind == "attribute":
        key = node.split(":", 1)[1].split("=", 1)[0].replace("_", " ")
        return f"same {key}: {name}"
    if kind == "entity":
        return f"shared {name}"
    return _READ.get(kind, "{}").format(name)


def render_path(graph: nx.Graph, path: list[str]) -> str:
    """ "you viewed X — same brand B — Y" (a source entity reads "you searched for ...")."""
    first = graph.nodes[path[0]]
    start = (
        f"you viewed {first['name']}"
        if first.get("type") == "item"
        else f"you searched for {first.get('type')} {first['name']}"
    )
    parts = [start]
    for i in range(1, len(path) - 1):
        node, rel = path[i], graph.edges[path[i - 1], path[i]]["relation"]
        if graph.nodes[node].get("type") == "item":
            parts.append(f"{_ITEM_ITEM.get(rel, rel)} {graph.nodes[node]['name']}")
        elif graph.nodes[node].get("type") == "entity":
            parts.append(f"shared {rel.rsplit('.', 1)[-1]} {graph.nodes[node]['name']}")
        else:
            parts.append(_describe(graph, node))
    last_rel = graph.edges[path[-2], path[-1]]["relation"]
    if last_rel in _ITEM_ITEM and graph.nodes[path[-2]].get("type") == "item":
        parts.append(_ITEM_ITEM[last_rel])
    parts.append(str(graph.nodes[path[-1]]["name"]))
    return " — ".join(parts)


def explain_path(graph: nx.Graph, sources, item_node: str, max_len: int = MAX_LEN) -> dict:
    """``{"path": [...], "relations": [...], "text": ...}`` for one recommended item (path None
    and text "" when nothing within ``max_len`` edges leads to it)."""
    path = find_path(graph, sources, item_node, max_len)
    if path is None:
        return {"path": None, "relations": None, "text": ""}
    rels = [graph.edges[a, b]["relation"] for a, b in zip(path[:-1], path[1:], strict=True)]
    return {"path": path, "relations": rels, "text": render_path(graph, path)}


def explain_adjacency(
    kg: ProductKG, max_attribute_share: float = MAX_ATTRIBUTE_SHARE, behaviour: bool = True
) -> tuple[pd.Index, sp.csr_matrix]:
    """Binary symmetric adjacency of the explainable edges, rows in ``kg.nodes`` order."""
    index = pd.Index(kg.nodes["node_id"])
    e = explainable_edges(kg, max_attribute_share, behaviour)
    s, t = index.get_indexer(e["source"]), index.get_indexer(e["target"])
    n = len(index)
    a = sp.csr_matrix(
        (np.ones(2 * len(s), dtype=np.float32), (np.r_[s, t], np.r_[t, s])), shape=(n, n)
    )
    a.sum_duplicates()
    a.data[:] = 1.0
    return index, a


def source_matrix(index: pd.Index, sources: list) -> sp.csr_matrix:
    """(len(sources), n_nodes) indicator of each user's source nodes (unknown nodes ignored)."""
    lengths = np.array([len(s) for s in sources], dtype=np.int64)
    flat = [n for s in sources for n in s]
    pos = index.get_indexer(pd.Index(flat, dtype=object)) if flat else np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(len(sources)), lengths)
    keep = pos >= 0
    m = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], pos[keep])),
        shape=(len(sources), len(index)),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def reachable(
    kg: ProductKG,
    sources: list,
    max_len: int = MAX_LEN,
    batch_size: int = 512,
    adjacency: tuple[pd.Index, sp.csr_matrix] | None = None,
) -> tuple[pd.Index, list[np.ndarray]]:
    """Which nodes each user reaches from their ``sources`` (lists of node ids) in at most h
    explainable edges: (node index, [bool (n_users, n_nodes) for h = 1 .. max_len]). A walk of at
    most h edges implies a path of at most h edges, so this is path existence."""
    index, a = adjacency or explain_adjacency(kg)
    at = sp.csr_matrix(a.T)
    out = [np.zeros((len(sources), len(index)), dtype=bool) for _ in range(max_len)]
    for lo in range(0, len(sources), batch_size):
        x = source_matrix(index, sources[lo : lo + batch_size]).toarray()
        reach = np.zeros(x.shape, dtype=bool)
        for h in range(max_len):
            x = (np.asarray((at @ x.T).T) > 0).astype(np.float32)
            reach |= x > 0
            out[h][lo : lo + len(x)] = reach
    return index, out


def explained(
    kg: ProductKG,
    sources: list,
    targets: np.ndarray,
    max_len: int = MAX_LEN,
    batch_size: int = 512,
    adjacency: tuple[pd.Index, sp.csr_matrix] | None = None,
    reach: tuple[pd.Index, list[np.ndarray]] | None = None,
) -> np.ndarray:
    """Boolean (n_users, k): does a path of at most ``max_len`` explainable edges lead from the
    user's ``sources`` (node ids) to each target node (``targets``: (n_users, k) node ids, None =
    padding, never explained)? A target that is one of the user's own sources is not explained.
    ``reach`` (from ``reachable``) reuses one computation for several models' lists."""
    index, levels = reach or reachable(kg, sources, max_len, batch_size, adjacency)
    targets = np.asarray(targets, dtype=object)
    pos = np.where(
        pd.isna(targets),
        -1,
        index.get_indexer(pd.Index(targets.ravel().astype(str))).reshape(targets.shape),
    )
    own = source_matrix(index, sources).tocsr()
    rows = np.arange(len(pos))[:, None]
    ok = pos >= 0
    safe = np.where(ok, pos, 0)
    is_own = (
        np.asarray(own[np.repeat(np.arange(len(pos)), pos.shape[1]), safe.ravel()]).reshape(
            pos.shape
        )
        > 0
    )
    return levels[max_len - 1][rows, safe] & ~is_own & ok
