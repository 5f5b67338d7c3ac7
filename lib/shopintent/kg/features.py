"""KG features per catalogue item for the two-tower model's candidate tower: arrays, never
networkx objects (DESIGN.md: pass arrays across the two Keras worlds).

``item_kg_features`` returns a frame keyed by ``item_id`` (catalogue order) with integer ids
(0 = none) for brand, product line, leaf and top category, the number of attribute values, and
neighbour aggregates computed on the KG (whose behaviour edges come from training only):
co-view degree and strength, the mean log popularity of co-viewed neighbours, and the size and
log popularity of the item's brand and leaf category. ``arrays`` adds the padded attribute-value
ids and a low-rank spectral embedding of each item's row of the weighted adjacency.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from shopintent.io import write_npz, write_parquet
from shopintent.kg.build import ProductKG, category_chain
from shopintent.kg.ppr import adjacency


def _vocab(kg: ProductKG, kind: str) -> dict[str, int]:
    ids = np.sort(kg.nodes.loc[kg.nodes["type"] == kind, "node_id"].to_numpy().astype(str))
    return {n: i + 1 for i, n in enumerate(ids)}


def _one(edges: pd.DataFrame, relation: str, items: pd.Index) -> pd.Series:
    e = edges[edges["relation"] == relation].drop_duplicates("source")
    return pd.Series(e["target"].to_numpy(), index=e["source"].to_numpy()).reindex(items)


def item_kg_features(
    kg: ProductKG, item_ids, *, n_components: int = 16, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """(frame, arrays) for ``item_ids``: see the module doc. ``arrays``: ``attribute_ids``
    (n_items, max values) int32 padded with 0, ``embedding`` (n_items, n_components) float32."""
    item_ids = pd.Index(item_ids).astype(str)
    nodes = pd.Index(kg.item_nodes(item_ids))
    e = kg.edges
    counts = kg.nodes.set_index("node_id")["count"]
    frame = pd.DataFrame({"item_id": item_ids})
    for col, rel, kind in (
        ("brand_id", "has_brand", "brand"),
        ("model_id", "has_model", "model"),
        ("category_id", "in_category", "category"),
    ):
        target = _one(e, rel, nodes)
        frame[col] = target.map(_vocab(kg, kind)).fillna(0).astype(np.int32).to_numpy()
        frame[col.replace("_id", "_items")] = (
            target.map(e[e["relation"] == rel]["target"].value_counts())
            .fillna(0)
            .astype(np.int32)
            .to_numpy()
        )
        frame[col.replace("_id", "_log_count")] = np.log1p(
            target.map(counts).fillna(0).to_numpy(dtype=np.float64)
        )
    leaf = _one(e, "in_category", nodes)
    top = leaf.map(
        lambda n: (
            "category:" + category_chain(n.split(":", 1)[1])[0] if isinstance(n, str) else None
        )
    )
    frame["top_category_id"] = top.map(_vocab(kg, "category")).fillna(0).astype(np.int32).to_numpy()
    attrs = e[(e["relation"] == "has_attribute") & e["source"].isin(nodes)]
    frame["n_attributes"] = nodes.map(attrs["source"].value_counts()).fillna(0).astype(np.int32)
    co = e[e["relation"] == "co_viewed"]
    both = pd.concat(
        [
            co[["source", "target", "weight"]],
            co[["target", "source", "weight"]].set_axis(["source", "target", "weight"], axis=1),
        ]
    )
    both = both.assign(
        nb_log_count=np.log1p(both["target"].map(counts).fillna(0).to_numpy(dtype=np.float64)),
        strength=np.log1p(both["weight"]),
    )
    agg = both.groupby("source").agg(
        co_view_degree=("target", "size"),
        co_view_strength=("strength", "sum"),
        co_view_neighbour_log_count=("nb_log_count", "mean"),
    )
    agg = agg.reindex(nodes).fillna(0.0)
    for col in agg:
        frame[col] = agg[col].to_numpy()
    frame["log_count"] = np.log1p(nodes.map(counts).fillna(0).to_numpy(dtype=np.float64))
    vocab = _vocab(kg, "attribute")
    per_item = (
        attrs.groupby("source")["target"].agg(lambda t: sorted(vocab[x] for x in t)).reindex(nodes)
    )
    width = max([len(v) for v in per_item.dropna()] or [0])
    attribute_ids = np.zeros((len(nodes), max(width, 1)), dtype=np.int32)
    for i, v in enumerate(per_item):
        if isinstance(v, list):
            attribute_ids[i, : len(v)] = v
    index, a = adjacency(kg)
    rows = a[index.get_indexer(nodes)]
    k = max(1, min(n_components, rows.shape[1] - 1, rows.shape[0] - 1))
    emb = TruncatedSVD(n_components=k, random_state=seed).fit_transform(sp.csr_matrix(rows))
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return frame, {
        "attribute_ids": attribute_ids,
        "embedding": (emb / np.where(norms > 0, norms, 1)).astype(np.float32),
    }


def save_item_features(frame: pd.DataFrame, arrays: dict[str, np.ndarray], folder) -> list[Path]:
    """``item_features.parquet`` (the frame) and ``item_arrays.npz`` (the arrays, with the item
    ids; read with ``np.load(path, allow_pickle=False)``), each written to a temp file and
    renamed."""
    folder = Path(folder)
    return [
        write_parquet(frame, folder / "item_features.parquet"),
        write_npz(
            folder / "item_arrays.npz",
            {"item_id": frame["item_id"].to_numpy(dtype=str), **arrays},
            compressed=True,
        ),
    ]
