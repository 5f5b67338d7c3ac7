"""Build the product knowledge graph from the canonical tables.

Nodes are typed and their ids namespaced by type, so an item, a brand and a colour can share a
name without clashing: ``item:<item_id>``, ``brand:<brand>``, ``model:<brand>/<model>``,
``category:<dot path>`` (every prefix of the path is a node, linked to its parent),
``attr:<name>=<value>`` (a value list written ``a|b`` gives one node per value),
``intent:<query intent>`` and, for MovieLens' Freebase links, ``entity:<mid>``.

Edges (undirected, typed by ``relation``, with a ``weight``): ``has_brand``, ``has_model``,
``in_category`` (item to leaf), ``parent`` (category to parent), ``has_attribute``,
``co_viewed`` / ``co_bought`` (item pairs, weight = training sessions holding both),
``intent_category`` (query intent to the leaf categories of the items in the same training
sessions) and ``fb:<relation>`` (Freebase triples, with a linked film's entity replaced by its
item). Everything behavioural is counted on the events passed in: pass the TRAINING events of a
split, never the test period. ``ProductKG`` keeps the node and edge tables (what is saved) and
gives the networkx graph on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

NODE_COLUMNS = ("node_id", "type", "name", "count")
EDGE_COLUMNS = ("source", "target", "relation", "weight")
PREFIX = {
    "item": "item",
    "brand": "brand",
    "model": "model",
    "category": "category",
    "attribute": "attr",
    "intent": "intent",
    "entity": "entity",
}
CO_RELATIONS = {
    "co_viewed": None,
    "co_bought": ("purchase",),
}  # relation -> event types (None: any item event)


def node_id(kind: str, key: str) -> str:
    """``<prefix>:<key>``, e.g. ``node_id("attribute", "colour=black") == "attr:colour=black"``."""
    return f"{PREFIX[kind]}:{key}"


@dataclass
class ProductKG:
    """Node table (``node_id type name count``; ``count`` = distinct training users of an item,
    summed over items for brands, models, categories and attributes) and edge table
    (``source target relation weight``), plus ``meta`` (how it was built)."""

    nodes: pd.DataFrame
    edges: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, df, cols in (
            ("nodes", self.nodes, NODE_COLUMNS),
            ("edges", self.edges, EDGE_COLUMNS),
        ):
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise ValueError(
                    f"ProductKG.{name}: missing column(s) {', '.join(missing)} (expected {cols})"
                )
        dup = self.nodes["node_id"].duplicated()
        if dup.any():
            raise ValueError(
                f"ProductKG.nodes: repeated node_id {self.nodes.loc[dup, 'node_id'].iloc[0]!r}"
            )
        known = pd.Index(self.nodes["node_id"])
        for end in ("source", "target"):
            bad = ~self.edges[end].isin(known)
            if bad.any():
                raise ValueError(
                    f"ProductKG.edges.{end}: {int(bad.sum())} edges name unknown nodes "
                    f"(first {self.edges.loc[bad, end].iloc[0]!r}, "
                    f"row {int(np.flatnonzero(bad)[0])})"
                )
        self._graph: nx.MultiGraph | None = None

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    def graph(self) -> nx.MultiGraph:
        """The networkx multigraph (built once): node attributes ``type name count``, one edge per
        row keyed by its relation, with ``relation`` and ``weight`` attributes."""
        if self._graph is None:
            g = nx.MultiGraph()
            g.add_nodes_from(
                (n, {"type": t, "name": nm, "count": c})
                for n, t, nm, c in self.nodes[list(NODE_COLUMNS)].itertuples(index=False, name=None)
            )
            g.add_edges_from(
                (s, t, r, {"relation": r, "weight": w})
                for s, t, r, w in self.edges[list(EDGE_COLUMNS)].itertuples(index=False, name=None)
            )
            self._graph = g
        return self._graph

    def item_nodes(self, item_ids) -> np.ndarray:
        return np.array([node_id("item", str(i)) for i in item_ids], dtype=object)

    def names(self) -> pd.Series:
        return self.nodes.set_index("node_id")["name"]


def _nodes(ids, kind: str, names) -> pd.DataFrame:
    return pd.DataFrame({"node_id": list(ids), "type": kind, "name": list(names), "count": 0})


def _edges(source, target, relation: str, weight=1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": list(source),
            "target": list(target),
            "relation": relation,
            "weight": np.broadcast_to(np.asarray(weight, dtype=np.float64), (len(source),)).copy(),
        }
    )


def _clean(values: pd.Series) -> pd.Series:
    s = values.astype(object).where(values.notna(), None)
    return s.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())


def category_chain(path: str) -> list[str]:
    """Every prefix of a dot path, leaf last: ``"a.b.c"`` -> ``["a", "a.b", "a.b.c"]``."""
    parts = [p for p in str(path).split(".") if p]
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def catalogue_graph(items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and edges that the catalogue alone gives: items, brands, models (when the table has
    a ``model`` column), the category tree and attribute values."""
    ids = items["item_id"].astype(str).to_numpy()
    inode = np.array([node_id("item", i) for i in ids], dtype=object)
    title = _clean(items["title"]) if "title" in items else pd.Series([None] * len(items))
    nodes = [_nodes(inode, "item", np.where(title.notna(), title, ids))]
    edges = []
    brand = _clean(items["brand"]) if "brand" in items else pd.Series([None] * len(items))
    has = brand.notna().to_numpy()
    if has.any():
        bnode = np.array([node_id("brand", b) for b in brand[has]], dtype=object)
        uniq = pd.unique(brand[has])
        nodes.append(_nodes([node_id("brand", b) for b in uniq], "brand", uniq))
        edges.append(_edges(inode[has], bnode, "has_brand"))
    if "model" in items:
        model = _clean(items["model"])
        ok = (model.notna() & brand.notna()).to_numpy()
        if ok.any():
            keys = (brand[ok] + "/" + model[ok]).to_numpy()
            uniq = pd.unique(keys)
            nodes.append(
                _nodes(
                    [node_id("model", k) for k in uniq], "model", [k.split("/", 1)[1] for k in uniq]
                )
            )
            edges.append(_edges(inode[ok], [node_id("model", k) for k in keys], "has_model"))
    if "category" in items:
        cat = _clean(items["category"])
        ok = cat.notna().to_numpy()
        chains = {c: category_chain(c) for c in pd.unique(cat[ok])}
        chains = {c: ch for c, ch in chains.items() if ch}
        all_cats = sorted({p for ch in chains.values() for p in ch})
        nodes.append(
            _nodes(
                [node_id("category", c) for c in all_cats],
                "category",
                [c.rsplit(".", 1)[-1].replace("_", " ") for c in all_cats],
            )
        )
        leaf = cat[ok].map(lambda c: chains[c][-1] if c in chains else None)
        keep = leaf.notna().to_numpy()
        edges.append(
            _edges(inode[ok][keep], [node_id("category", c) for c in leaf[keep]], "in_category")
        )
        pairs = sorted({(ch[i], ch[i - 1]) for ch in chains.values() for i in range(1, len(ch))})
        edges.append(
            _edges(
                [node_id("category", a) for a, _ in pairs],
                [node_id("category", b) for _, b in pairs],
                "parent",
            )
        )
    if "attributes" in items:
        src, tgt, names = [], [], {}
        for node, attrs in zip(inode, items["attributes"], strict=True):
            if not isinstance(attrs, dict):
                continue
            for key, value in attrs.items():
                for v in str(value).split("|"):
                    v = v.strip()
                    if v and str(key).strip():
                        nid = node_id("attribute", f"{str(key).strip()}={v}")
                        names[nid] = v
                        src.append(node)
                        tgt.append(nid)
        if src:
            nodes.append(_nodes(list(names), "attribute", list(names.values())))
            edges.append(_edges(src, tgt, "has_attribute"))
    node_table = pd.concat(nodes, ignore_index=True)
    edge_table = pd.concat(edges, ignore_index=True) if edges else _edges([], [], "none")
    return node_table, edge_table.drop_duplicates(
        ["source", "target", "relation"], ignore_index=True
    )


def co_occurrence_edges(
    train_events: pd.DataFrame,
    item_ids,
    relation: str = "co_viewed",
    event_types: tuple[str, ...] | None = None,
    *,
    unit: str = "session_id",
    min_count: int = 1,
    max_neighbours: int | None = 50,
) -> pd.DataFrame:
    """Item pairs interacted with in the same ``unit`` (a session), weight = number of units.

    Counts only the rows of ``train_events`` (pass the training period). Each item keeps its
    ``max_neighbours`` strongest partners (a pair stays if either end keeps it), so a few huge
    sessions do not make the graph dense.
    """
    ev = train_events[train_events["item_id"].notna()]
    if event_types is not None:
        ev = ev[ev["event_type"].isin(event_types)]
    item_ids = pd.Index(item_ids).astype(str)
    if ev.empty:
        return _edges([], [], relation)
    col = item_ids.get_indexer(ev["item_id"].astype(str))
    if (col < 0).any():
        bad = ev["item_id"].to_numpy()[col < 0][0]
        raise ValueError(
            f"events: {int((col < 0).sum())} rows name items missing from the catalogue "
            f"(e.g. {bad!r})"
        )
    row, _ = pd.factorize(ev[unit])
    s = sp.csr_matrix((np.ones(len(col)), (row, col)), shape=(row.max() + 1, len(item_ids)))
    s.sum_duplicates()
    s.data[:] = 1.0
    c = (s.T @ s).tocoo()
    keep = (c.row != c.col) & (c.data >= min_count)
    frame = pd.DataFrame({"a": c.row[keep], "b": c.col[keep], "w": c.data[keep]})
    if max_neighbours is not None and len(frame):
        frame = frame.sort_values(["a", "w", "b"], ascending=[True, False, True], kind="stable")
        frame = frame[frame.groupby("a").cumcount() < max_neighbours]
    lo, hi = np.minimum(frame["a"], frame["b"]), np.maximum(frame["a"], frame["b"])
    pairs = (
        pd.DataFrame({"a": lo, "b": hi, "w": frame["w"]})
        .drop_duplicates(["a", "b"])
        .sort_values(["a", "b"])
    )
    ids = np.asarray(item_ids, dtype=object)
    return _edges(
        [node_id("item", i) for i in ids[pairs["a"]]],
        [node_id("item", i) for i in ids[pairs["b"]]],
        relation,
        pairs["w"].to_numpy(),
    )


def intent_edges(
    train_events: pd.DataFrame, queries: pd.DataFrame, items: pd.DataFrame
) -> pd.DataFrame:
    """Query intent to leaf category, weight = training sessions with a search of that intent and
    an item of that category. Empty when the queries carry no intent."""
    if (
        queries is None
        or "intent" not in queries
        or queries["intent"].isna().all()
        or "category" not in items
    ):
        return _edges([], [], "intent_category")
    searches = train_events[train_events["query_id"].notna()][["session_id", "query_id"]]
    intent = searches.merge(queries[["query_id", "intent"]].dropna(), on="query_id")[
        ["session_id", "intent"]
    ]
    leaf = _clean(items["category"]).map(lambda c: category_chain(c)[-1] if c else None)
    item_cat = pd.DataFrame({"item_id": items["item_id"].astype(str), "leaf": leaf}).dropna()
    viewed = train_events[train_events["item_id"].notna()][["session_id", "item_id"]].astype(
        {"item_id": str}
    )
    cats = viewed.merge(item_cat, on="item_id")[["session_id", "leaf"]].drop_duplicates()
    pairs = intent.drop_duplicates().merge(cats, on="session_id")
    counts = pairs.groupby(["intent", "leaf"]).size().reset_index(name="w")
    return _edges(
        [node_id("intent", i) for i in counts["intent"]],
        [node_id("category", c) for c in counts["leaf"]],
        "intent_category",
        counts["w"].to_numpy(),
    )


def freebase_graph(
    kg: pd.DataFrame, kg_link: pd.DataFrame, item_ids, *, min_items: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Freebase triples (``head relation tail``) touching a linked item, a film's entity replaced by
    its item node; an entity kept only if it touches at least ``min_items`` items (one that touches
    a single item links nothing). A relation and its inverse (``film.film.actor`` /
    ``film.actor.film``) give one undirected edge, named by the triple whose head is the item."""
    items = set(pd.Index(item_ids).astype(str))
    link = kg_link[kg_link["item_id"].astype(str).isin(items)]
    ent_item = dict(zip(link["entity_id"].astype(str), link["item_id"].astype(str), strict=True))
    head, tail = kg["head"].astype(str), kg["tail"].astype(str)
    h_item, t_item = head.map(ent_item), tail.map(ent_item)
    touches = (h_item.notna() | t_item.notna()).to_numpy()
    h = np.where(h_item.notna(), "item:" + h_item.fillna(""), "entity:" + head)[touches]
    t = np.where(t_item.notna(), "item:" + t_item.fillna(""), "entity:" + tail)[touches]
    frame = pd.DataFrame(
        {
            "h": h,
            "t": t,
            "relation": "fb:" + kg["relation"].astype(str).to_numpy()[touches],
            "head_is_item": h_item.notna().to_numpy()[touches],
        }
    )
    frame = frame[frame["h"] != frame["t"]]
    frame["a"], frame["b"] = np.minimum(frame["h"], frame["t"]), np.maximum(frame["h"], frame["t"])
    frame = frame.sort_values(
        ["a", "b", "head_is_item", "relation"], ascending=[True, True, False, True]
    )
    frame = frame.drop_duplicates(["a", "b"])
    ent = pd.concat(
        [
            frame.loc[frame["h"].str.startswith("entity:"), ["h", "t"]].set_axis(
                ["e", "i"], axis=1
            ),
            frame.loc[frame["t"].str.startswith("entity:"), ["t", "h"]].set_axis(
                ["e", "i"], axis=1
            ),
        ]
    )
    n_items = ent[ent["i"].str.startswith("item:")].groupby("e")["i"].nunique()
    kept = set(n_items[n_items >= min_items].index)
    ok = [
        (not a.startswith("entity:") or a in kept) and (not b.startswith("entity:") or b in kept)
        for a, b in zip(frame["a"], frame["b"], strict=True)
    ]
    frame = frame[ok]
    src = np.where(frame["head_is_item"], frame["h"], frame["t"])
    tgt = np.where(frame["head_is_item"], frame["t"], frame["h"])
    ents = sorted(kept & set(np.concatenate([src, tgt])))
    return _nodes(ents, "entity", [e.split(":", 1)[1] for e in ents]), pd.DataFrame(
        {"source": src, "target": tgt, "relation": frame["relation"].to_numpy(), "weight": 1.0}
    )


def _counts(
    nodes: pd.DataFrame, edges: pd.DataFrame, train_events: pd.DataFrame | None
) -> pd.Series:
    """Distinct training users per item; a brand/model/category/attribute sums its items (a
    category its whole subtree's items)."""
    counts = pd.Series(0, index=pd.Index(nodes["node_id"]), dtype=np.int64)
    if train_events is None or train_events.empty:
        return counts
    ev = train_events[train_events["item_id"].notna()]
    users = ev.groupby(ev["item_id"].astype(str))["user_id"].nunique()
    users.index = "item:" + users.index
    counts.loc[users.index.intersection(counts.index)] = users[
        users.index.intersection(counts.index)
    ]
    item_count = counts[nodes.loc[nodes["type"].eq("item").to_numpy(), "node_id"]]
    facts = edges[
        edges["relation"].isin(["has_brand", "has_model", "has_attribute", "in_category"])
    ]
    summed = facts.assign(c=facts["source"].map(item_count).fillna(0)).groupby("target")["c"].sum()
    counts.loc[summed.index] = summed.astype(np.int64)
    parents = dict(
        zip(
            edges.loc[edges["relation"] == "parent", "source"],
            edges.loc[edges["relation"] == "parent", "target"],
            strict=True,
        )
    )
    leaf_counts = counts[[n for n in summed.index if n.startswith("category:")]].copy()
    for leaf, c in leaf_counts.items():
        node = parents.get(leaf)
        while node is not None:
            counts[node] += c
            node = parents.get(node)
    return counts


def build_kg(
    items: pd.DataFrame,
    train_events: pd.DataFrame | None = None,
    queries: pd.DataFrame | None = None,
    *,
    extras: dict | None = None,
    co_min_count: int = 1,
    max_neighbours: int | None = 50,
    freebase: bool = True,
    freebase_min_items: int = 2,
) -> ProductKG:
    """The KG of a catalogue, with behaviour counted on ``train_events`` only (None: catalogue
    facts alone). ``extras`` with ``kg`` and ``kg_link`` tables (MovieLens) adds Freebase."""
    nodes, edges = catalogue_graph(items)
    parts_n, parts_e = [nodes], [edges]
    if train_events is not None and len(train_events):
        for rel, types in CO_RELATIONS.items():
            parts_e.append(
                co_occurrence_edges(
                    train_events,
                    items["item_id"],
                    rel,
                    types,
                    min_count=co_min_count,
                    max_neighbours=max_neighbours,
                )
            )
        if queries is not None and "query_id" in train_events:
            ie = intent_edges(train_events, queries, items)
            if len(ie):
                names = pd.unique(ie["source"])
                parts_n.append(_nodes(names, "intent", [n.split(":", 1)[1] for n in names]))
                parts_e.append(ie)
    extras = extras or {}
    if freebase and "kg" in extras and "kg_link" in extras:
        fn, fe = freebase_graph(
            extras["kg"], extras["kg_link"], items["item_id"], min_items=freebase_min_items
        )
        parts_n.append(fn)
        parts_e.append(fe)
    nodes = pd.concat(parts_n, ignore_index=True)
    # a catalogue with no brand, category or attribute and no behaviour has items alone
    edges = pd.concat([e for e in parts_e if len(e)] or [parts_e[0]], ignore_index=True)
    nodes["count"] = _counts(nodes, edges, train_events).to_numpy()
    meta = {
        "co_min_count": co_min_count,
        "max_neighbours": max_neighbours,
        "freebase": bool(freebase and "kg" in extras and "kg_link" in extras),
        "train_events": 0 if train_events is None else len(train_events),
        "train_until": None
        if train_events is None or train_events.empty
        else str(train_events["ts"].max()),
    }
    return ProductKG(nodes, edges, meta)


_BRAND_STOP = {"the", "a", "an", "new", "set", "pack", "case", "pair"}


def silver_title_brands(
    items: pd.DataFrame,
    *,
    min_items: int = 5,
    max_tokens: int = 3,
    keep_share: float = 0.7,
    min_first_share: float = 0.5,
) -> pd.Series:
    """A SILVER brand per item for catalogues without a brand column (Home Depot): the leading
    words of the title shared by at least ``min_items`` titles, extended by a word while at
    least ``keep_share`` of those titles continue the same way ("Hampton" -> "Hampton Bay").
    A first word that titles use elsewhere more often than first ("Water" in "... Water
    Heater") is a product word, not a brand: it needs ``min_first_share`` of its occurrences
    at the start. A heuristic, not truth: it misses brands that are not the title's first words."""
    tokens = items["title"].fillna("").astype(str).str.split()
    out = pd.Series([None] * len(items), index=items.index, dtype=object)
    prefixes = {
        n: tokens.map(lambda t, n=n: " ".join(t[:n]) if len(t) >= n else None)
        for n in range(1, max_tokens + 1)
    }
    counts = {n: p.value_counts() for n, p in prefixes.items()}
    words = tokens.explode().dropna().str.lower()
    position = words.groupby(level=0).cumcount()
    first_share = (position == 0).groupby(words.to_numpy()).mean()
    first = prefixes[1]
    ok = (
        first.notna()
        & first.str.match(r"^[A-Z][A-Za-z&+'\-]*$", na=False)
        & ~first.str.lower().isin(_BRAND_STOP)
        & first.map(counts[1]).ge(min_items)
        & first.str.lower().map(first_share).ge(min_first_share)
    )
    out[ok] = first[ok]
    for n in range(2, max_tokens + 1):
        longer = prefixes[n]
        c_prev = out.map(lambda b, n=n: counts[n - 1].get(b, 0) if b else 0)
        c_new = longer.map(lambda p, n=n: counts[n].get(p, 0) if p else 0)
        extend = (
            out.notna()
            & longer.notna()
            & (c_new >= keep_share * c_prev)
            & (out.str.count(" ").fillna(-1) == n - 2)
            & longer.str.split().str[-1].str.match(r"^[A-Z]", na=False)
        )
        out[extend] = longer[extend]
    return out
