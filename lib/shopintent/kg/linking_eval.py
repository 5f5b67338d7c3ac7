"""How well mentions are linked: against the synthetic shop's truth, and a silver check on Home
Depot's real queries.

Synthetic truth. Each query belongs to a session whose target item is recorded
(``session_truth.target_item_id``); the generator fills a query's first brand, model, category
and attribute slots from that item and, in comparisons, the second brand/model slot from another
item that the log does not record. So the truth of a span is: the target's brand / product line
/ leaf category for the first span of that label; for an attribute span, the target's
attribute value nearest to the span (difflib, among that one item's values); later brand and
model spans are left out (their item is unknown). Accuracy = share of those spans linked to
exactly that node (an unlinked span counts as wrong).
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from shopintent.config import rng
from shopintent.kg.build import build_kg, category_chain, node_id, silver_title_brands
from shopintent.kg.linking import EntityLinker, normalise


def truth_spans(
    queries: pd.DataFrame,
    events: pd.DataFrame,
    items: pd.DataFrame,
    session_truth: pd.DataFrame,
    query_ids=None,
) -> pd.DataFrame:
    """One row per entity span of the queries (``query_ids`` or all): ``query_id query start end
    text label ordinal has_typo truth`` (``truth`` None where the item is unknown)."""
    q = queries if query_ids is None else queries[queries["query_id"].isin(pd.Index(query_ids))]
    q = q[q["entities"].map(lambda e: e is not None and len(e) > 0)]
    sess = events.loc[events["query_id"].notna(), ["query_id", "session_id"]].drop_duplicates(
        "query_id"
    )
    target = sess.merge(session_truth[["session_id", "target_item_id"]], on="session_id")
    target = target.set_index("query_id")["target_item_id"]
    info = items.set_index(items["item_id"].astype(str))
    rows = []
    for qid, text, ents, typo in zip(
        q["query_id"], q["text"], q["entities"], q.get("has_typo", [False] * len(q)), strict=True
    ):
        item = target.get(qid)
        seen: dict[str, int] = {}
        for e in sorted(ents, key=lambda e: e["start"]):
            label = e["label"]
            ordinal = seen.get(label, 0)
            seen[label] = ordinal + 1
            span = text[e["start"] : e["end"]]
            truth = None
            if item is not None and str(item) in info.index:
                truth = _truth_node(info.loc[str(item)], label, ordinal, span)
            rows.append((qid, text, e["start"], e["end"], span, label, ordinal, bool(typo), truth))
    return pd.DataFrame(
        rows,
        columns=[
            "query_id",
            "query",
            "start",
            "end",
            "text",
            "label",
            "ordinal",
            "has_typo",
            "truth",
        ],
    )


def _truth_node(item: pd.Series, label: str, ordinal: int, span: str) -> str | None:
    if label == "brand" and ordinal == 0 and isinstance(item.get("brand"), str):
        return node_id("brand", item["brand"])
    if label == "model" and ordinal == 0 and isinstance(item.get("model"), str):
        return node_id("model", f"{item['brand']}/{item['model']}")
    if label == "category" and isinstance(item.get("category"), str):
        return node_id("category", category_chain(item["category"])[-1])
    if label == "attribute" and isinstance(item.get("attributes"), dict) and item["attributes"]:
        pairs = list(item["attributes"].items())
        ratios = [
            difflib.SequenceMatcher(None, normalise(span), normalise(v)).ratio() for _, v in pairs
        ]
        key, value = pairs[int(np.argmax(ratios))]
        return node_id("attribute", f"{key}={value}")
    return None


def link_truth_spans(linker: EntityLinker, spans: pd.DataFrame) -> pd.DataFrame:
    """The spans linked with their gold label (mentions of one query disambiguate each other)."""
    linked = linker.link(spans, col_group="query_id")
    return linked.assign(correct=lambda d: d["node_id"] == d["truth"])


def accuracy_table(linked: pd.DataFrame) -> pd.DataFrame:
    """Per label and overall (spans with a known truth): spans, accuracy, accuracy on queries
    with a typo, share linked by exact alias, mean confidence of correct and wrong links."""
    d = linked[linked["truth"].notna()]
    rows = []
    for label, part in [("all", d), *d.groupby("label")]:
        typo = part[part["has_typo"]]
        rows.append(
            {
                "label": label,
                "spans": len(part),
                "accuracy": part["correct"].mean(),
                "typo_spans": len(typo),
                "accuracy_typo": typo["correct"].mean() if len(typo) else np.nan,
                "exact_share": (part["method"] == "exact").mean(),
                "unlinked_share": (part["method"] == "none").mean(),
                "confidence_correct": part.loc[part["correct"], "confidence"].mean(),
                "confidence_wrong": part.loc[~part["correct"], "confidence"].mean(),
            }
        )
    return pd.DataFrame(rows).set_index("label")


def predicted_span_accuracy(linked_pred: pd.DataFrame, spans: pd.DataFrame) -> dict[str, float]:
    """End to end (a tagger's or the gazetteer's spans, then linking): of the truth spans with a
    known node, the share for which a predicted span overlapping it is linked to that node."""
    d = spans[spans["truth"].notna()]
    pred = linked_pred[linked_pred["node_id"].notna()][["query_id", "start", "end", "node_id"]]
    m = d.merge(pred, on="query_id", suffixes=("", "_p"))
    hit = m[(m["start_p"] < m["end"]) & (m["end_p"] > m["start"]) & (m["node_id"] == m["truth"])]
    ok = d.set_index(["query_id", "start"]).index.isin(hit.set_index(["query_id", "start"]).index)
    return {
        "spans": len(d),
        "accuracy": float(ok.mean()) if len(d) else float("nan"),
        "accuracy_typo": float(ok[d["has_typo"].to_numpy()].mean())
        if d["has_typo"].any()
        else float("nan"),
    }


def silver_brand_check(
    found: pd.DataFrame,
    queries: pd.DataFrame,
    relevance: pd.DataFrame,
    item_brand: pd.Series,
    min_relevance: float = 2.5,
) -> dict[str, float]:
    """Home Depot (no brand truth): of the brand mentions found in queries that have a product
    judged relevant (>= ``min_relevance``), the share whose brand is the SILVER title brand of
    one of those products. A sanity check, not an accuracy: silver brands are guessed from
    titles."""
    rel = relevance[relevance["relevance"] >= min_relevance]
    rel = rel.assign(brand=rel["item_id"].astype(str).map(item_brand))
    brands = rel.dropna(subset=["brand"]).groupby("query_id")["brand"].agg(set)
    b = found[found["type"] == "brand"].merge(
        queries[["query_id"]].reset_index(drop=True).rename_axis("query").reset_index(), on="query"
    )
    b = b[b["query_id"].isin(brands.index)]
    agree = [name in brands[q] for q, name in zip(b["query_id"], b["name"], strict=True)]
    return {
        "brand_mentions": len(b),
        "silver_agreement": float(np.mean(agree)) if agree else float("nan"),
        "queries_with_brand": int(b["query_id"].nunique()),
        "queries": len(queries),
    }


def homedepot_linking(
    items: pd.DataFrame,
    queries: pd.DataFrame,
    relevance: pd.DataFrame,
    n_queries: int = 2000,
    seed: int = 0,
    min_confidence: float = 0.9,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Real queries, silver KG: brands guessed from Home Depot titles (``silver_title_brands``)
    become brand nodes; the gazetteer over them finds brand mentions in ``n_queries`` sampled
    queries (fuzzy matches need ``min_confidence``: with ~1,300 real brand names, 0.8 lets ordinary
    words through). Returns (one row per query with its mentions, ``silver_brand_check``
    metrics)."""
    brands = silver_title_brands(items)
    kg = build_kg(items.assign(brand=brands))
    linker = EntityLinker(kg)
    pick = np.sort(
        rng(seed, "homedepot-linking").choice(
            len(queries), size=min(n_queries, len(queries)), replace=False
        )
    )
    sample = queries.iloc[pick].reset_index(drop=True)
    found = linker.find_mentions(sample["text"].tolist(), min_confidence=min_confidence)
    item_brand = pd.Series(brands.to_numpy(), index=items["item_id"].astype(str).to_numpy())
    check = silver_brand_check(found, sample, relevance, item_brand)
    check["silver_brands"] = int(brands.nunique())
    check["items_with_silver_brand"] = float(brands.notna().mean())
    shown = found.assign(
        mention=[
            f"[{t}: {n} ({c:.2f})]"
            for t, n, c in zip(found["type"], found["name"], found["confidence"], strict=True)
        ]
    )
    per_query = shown.groupby("query")["mention"].agg(" ".join)
    table = sample[["query_id", "text"]].assign(
        mentions=per_query.reindex(range(len(sample))).fillna("").to_numpy()
    )
    return table, check


def link_predicted_spans(linker: EntityLinker, query_ids, texts, spans) -> pd.DataFrame:
    """A tagger's spans (``[[(start, end, label), ...], ...]`` per text, as ``models.entities``
    taggers return them) linked to KG nodes, mentions of one query disambiguating each other."""
    rows = [
        {"query_id": q, "start": s, "end": e, "text": str(t)[s:e], "label": lab}
        for q, t, found in zip(query_ids, texts, spans, strict=True)
        for s, e, lab in found
    ]
    frame = pd.DataFrame(rows, columns=["query_id", "start", "end", "text", "label"])
    return linker.link(frame, col_group="query_id") if len(frame) else frame.assign(node_id=None)
