"""What the KG holds: node and edge counts by type, degrees and connected components."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from shopintent.kg.build import ProductKG


def node_counts(kg: ProductKG) -> pd.Series:
    return kg.nodes["type"].value_counts().rename("nodes")


def edge_counts(kg: ProductKG) -> pd.DataFrame:
    """Edges per relation with the mean and max of their weights (counts for co-occurrence)."""
    g = kg.edges.groupby("relation")["weight"]
    return pd.DataFrame(
        {"edges": g.size(), "mean_weight": g.mean(), "max_weight": g.max()}
    ).sort_values("edges", ascending=False)


def degrees(kg: ProductKG) -> pd.DataFrame:
    """Edges touching each node (a multi-edge counts once per relation), with its type."""
    deg = pd.concat([kg.edges["source"], kg.edges["target"]]).value_counts()
    return pd.DataFrame(
        {
            "node_id": kg.nodes["node_id"],
            "type": kg.nodes["type"],
            "degree": kg.nodes["node_id"].map(deg).fillna(0).astype(np.int64).to_numpy(),
        }
    )


def degree_summary(kg: ProductKG) -> pd.DataFrame:
    """Per node type: count, mean, median, 90th percentile and max degree, isolated nodes."""
    d = degrees(kg)
    g = d.groupby("type")["degree"]
    return pd.DataFrame(
        {
            "nodes": g.size(),
            "mean": g.mean(),
            "median": g.median(),
            "p90": g.quantile(0.9),
            "max": g.max(),
            "isolated": g.apply(lambda s: int((s == 0).sum())),
        }
    )


def components(kg: ProductKG) -> dict:
    """Connected components of the (undirected) graph: count, largest size and its share, and the
    share of ITEMS in the largest one (an item outside it is unreachable from most others)."""
    g = kg.graph()
    comps = sorted(nx.connected_components(g), key=len, reverse=True)
    largest = comps[0] if comps else set()
    items = kg.nodes.loc[kg.nodes["type"] == "item", "node_id"]
    return {
        "components": len(comps),
        "largest": len(largest),
        "largest_share": len(largest) / max(kg.n_nodes, 1),
        "items_in_largest": float(items.isin(largest).mean()) if len(items) else float("nan"),
    }
