"""Notebook 09's figures: the knowledge graph's degree distribution and the subgraph that
explains one user's recommendations."""

from __future__ import annotations

import networkx as nx

from shopintent.kg import stats
from shopintent.kg.build import ProductKG


def degree_figure(kg: ProductKG):
    """Degree distribution per node type on log-log axes (plotly): hubs (categories, colours)
    against the long tail of items with a handful of edges."""
    import plotly.graph_objects as go

    d = stats.degrees(kg)
    fig = go.Figure()
    for kind, part in d.groupby("type"):
        counts = part["degree"].value_counts().sort_index()
        counts = counts[counts.index > 0]
        fig.add_trace(
            go.Scatter(x=counts.index, y=counts.to_numpy(), mode="markers", name=str(kind))
        )
    fig.update_layout(
        title="KG degree distribution by node type",
        xaxis_title="degree (edges)",
        yaxis_title="nodes",
        xaxis_type="log",
        yaxis_type="log",
        template="plotly_white",
    )
    return fig


def subgraph_figure(
    graph: nx.Graph,
    paths: list[list[str]],
    title: str = "",
    seed: int = 0,
    history: list[str] | None = None,
    max_history: int = 6,
):
    """A matplotlib figure around one user: the explanation paths, a few of the user's
    ``history`` items (green rim; recommended items: orange rim), and the brand, product line and
    category nodes that at least two shown items share; every explainable edge among them is
    drawn, labelled by relation (for the HTML report)."""
    import matplotlib.pyplot as plt

    recommended = [p[-1] for p in paths if p]
    seen = [h for h in (history or []) if h in graph][:max_history]
    shown = list(dict.fromkeys([n for p in paths if p for n in p] + seen))
    items = [n for n in shown if graph.nodes[n].get("type") == "item"]
    shared = {}
    for it in items:
        for nb in graph.neighbors(it):
            if graph.nodes[nb].get("type") in ("brand", "model", "category"):
                shared[nb] = shared.get(nb, 0) + 1
    shown += [n for n, c in shared.items() if c >= 2 and n not in shown]
    sub = graph.subgraph(shown)
    colours = {
        "item": "#4c78a8",
        "brand": "#f58518",
        "model": "#e45756",
        "category": "#54a24b",
        "attribute": "#b279a2",
        "entity": "#9d755d",
        "intent": "#bab0ac",
    }
    fig, ax = plt.subplots(figsize=(11, 7.5))
    if not shown:
        ax.text(0.5, 0.5, "no explanation path", ha="center")
        ax.set_axis_off()
        return fig
    layout = nx.spring_layout(sub, seed=seed, k=1.5 / max(len(shown), 1) ** 0.5)
    nodes = list(sub.nodes)
    types = [graph.nodes[n].get("type", "item") for n in nodes]
    rims = [
        "#f58518" if n in recommended else "#2ca02c" if n in (history or []) else "white"
        for n in nodes
    ]
    nx.draw_networkx_nodes(
        sub,
        layout,
        nodelist=nodes,
        ax=ax,
        node_color=[colours.get(t, "#888") for t in types],
        node_size=520,
        edgecolors=rims,
        linewidths=3,
    )
    nx.draw_networkx_edges(sub, layout, ax=ax, alpha=0.5)
    labels = {n: str(graph.nodes[n].get("name", n))[:30] for n in nodes}
    nx.draw_networkx_labels(sub, layout, labels=labels, ax=ax, font_size=8)
    nx.draw_networkx_edge_labels(
        sub, layout, edge_labels=nx.get_edge_attributes(sub, "relation"), ax=ax, font_size=7
    )
    for kind, colour in colours.items():
        if kind in types:
            ax.scatter([], [], c=colour, label=kind)
    ax.scatter(
        [], [], facecolors="none", edgecolors="#2ca02c", linewidths=2, label="user's history"
    )
    ax.scatter([], [], facecolors="none", edgecolors="#f58518", linewidths=2, label="recommended")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title)
    ax.set_axis_off()
    return fig
