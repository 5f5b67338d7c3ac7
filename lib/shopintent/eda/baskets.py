"""Association rules on purchase baskets (mlxtend's FP-growth), at item or category level.

A basket is the set of distinct items (or categories) bought in one session (``by="session"``)
or by one user over the whole log (``by="user"``). For a rule A → C over N baskets:
support = baskets with A ∪ C / N; confidence = support(A ∪ C) / support(A);
lift = confidence / support(C). To stay fast on large logs, only the ``max_items`` items in
most baskets enter the one-hot matrix (sparse), while N still counts every basket, so supports
stay fractions of all baskets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.eda.longtail import category_path
from shopintent.eda.quality import unavailable

BASKET_KEYS = {"session": "session_id", "user": "user_id"}
ITEMSET_COLUMNS = ["itemset", "size", "support", "count"]
RULE_COLUMNS = [
    "antecedents",
    "consequents",
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "count",
]


def basket_items(
    events: pd.DataFrame,
    items: pd.DataFrame | None = None,
    by: str = "session",
    level: str = "item",
    category_level: int | None = None,
    event_types: tuple[str, ...] = ("purchase",),
) -> pd.DataFrame:
    """Distinct (``basket``, ``item``) pairs of the ``event_types`` events (purchases by default).

    ``level="category"`` replaces each item by its category (cut to ``category_level`` parts;
    None keeps the full path) from ``items``; items without a category are dropped.
    """
    if by not in BASKET_KEYS:
        raise ValueError(f"by must be one of {', '.join(BASKET_KEYS)}, got {by!r}")
    if level not in ("item", "category"):
        raise ValueError(f"level must be 'item' or 'category', got {level!r}")
    chosen = events.loc[
        events["event_type"].isin(event_types) & events["item_id"].notna(),
        [BASKET_KEYS[by], "item_id"],
    ]
    if chosen.empty:
        return unavailable(["basket", "item"], f"the log has no {' or '.join(event_types)} events")
    chosen = chosen[chosen[BASKET_KEYS[by]].notna()]  # an anonymous event has no user basket
    if chosen.empty:
        return unavailable(["basket", "item"], f"the log has no {BASKET_KEYS[by]}s")
    out = pd.DataFrame(
        {"basket": chosen[BASKET_KEYS[by]].to_numpy(), "item": chosen["item_id"].to_numpy()}
    )
    if level == "category":
        if items is None or "category" not in items or items["category"].notna().sum() == 0:
            return unavailable(["basket", "item"], "the items table has no categories")
        lookup = pd.Series(
            category_path(items["category"], category_level).to_numpy(),
            index=items["item_id"].to_numpy(),
        )
        out["item"] = out["item"].map(lookup)
        out = out.dropna(subset=["item"])
    return out.drop_duplicates(ignore_index=True)


def basket_stats(baskets: pd.DataFrame) -> dict[str, float | None]:
    """``baskets``, ``multi_item_baskets`` (2+ distinct items), ``mean_size`` and ``items``."""
    if baskets.empty:
        return {"baskets": 0, "multi_item_baskets": 0, "mean_size": None, "items": 0}
    size = baskets.groupby("basket").size()
    return {
        "baskets": len(size),
        "multi_item_baskets": int((size >= 2).sum()),
        "mean_size": float(size.mean()),
        "items": int(baskets["item"].nunique()),
    }


def one_hot(baskets: pd.DataFrame, max_items: int | None = 500) -> pd.DataFrame:
    """A sparse bool basket × item matrix of the ``max_items`` items in most baskets.

    Every basket keeps its row (all False if none of its items made the cut), so that
    supports computed on it are fractions of all baskets.
    """
    from scipy import sparse

    basket_code, basket_ids = pd.factorize(baskets["basket"], sort=True)
    freq = baskets["item"].value_counts()
    kept = freq.index[:max_items] if max_items else freq.index
    keep = baskets["item"].isin(kept).to_numpy()
    item_code = pd.Index(kept).get_indexer(baskets["item"][keep])
    m = sparse.csr_matrix(
        (np.ones(keep.sum(), dtype=bool), (basket_code[keep], item_code)),
        shape=(len(basket_ids), len(kept)),
    )
    out = pd.DataFrame.sparse.from_spmatrix(m, index=basket_ids, columns=kept.astype(str))
    return out.astype(pd.SparseDtype(bool, False))


def _too_few(baskets: pd.DataFrame, min_count: int) -> str | None:
    n = baskets["basket"].nunique()
    plural = "" if n == 1 else "s"
    return f"only {n} basket{plural}, fewer than min_count={min_count}" if n < min_count else None


def _fpgrowth(
    baskets: pd.DataFrame,
    min_support: float,
    min_count: int,
    max_items: int | None,
    max_len: int | None,
) -> tuple[pd.DataFrame, int, float]:
    """mlxtend's own itemset table (frozensets), the number of baskets and the support used."""
    from mlxtend.frequent_patterns import fpgrowth  # imported here: only this module needs it

    onehot = one_hot(baskets, max_items)
    n = len(onehot)
    threshold = max(min_support, min_count / n)
    return fpgrowth(onehot, min_support=threshold, use_colnames=True, max_len=max_len), n, threshold


def frequent_itemsets(
    baskets: pd.DataFrame,
    min_support: float = 0.01,
    min_count: int = 2,
    max_items: int | None = 500,
    max_len: int | None = 3,
) -> pd.DataFrame:
    """Itemsets in at least max(``min_support``·N, ``min_count``) of the N baskets (FP-growth):
    ``itemset`` (sorted tuple), ``size``, ``support``, ``count``; most supported first."""
    if baskets.empty:
        return unavailable(ITEMSET_COLUMNS, baskets.attrs.get("reason", "no baskets"))
    if _too_few(baskets, min_count):
        return unavailable(ITEMSET_COLUMNS, _too_few(baskets, min_count))
    found, n, threshold = _fpgrowth(baskets, min_support, min_count, max_items, max_len)
    out = pd.DataFrame(
        {
            "itemset": [tuple(sorted(s)) for s in found["itemsets"]],
            "support": found["support"].to_numpy(dtype=float),
        }
    )
    out.insert(1, "size", out["itemset"].map(len).astype(np.int64))
    out["count"] = np.rint(out["support"] * n).astype(np.int64)
    out = out.sort_values(
        ["support", "size"], ascending=[False, True], kind="stable", ignore_index=True
    )
    out.attrs.update({"baskets": n, "min_support": threshold})
    return out


def association_rules(
    baskets: pd.DataFrame,
    min_support: float = 0.01,
    min_confidence: float = 0.1,
    min_count: int = 2,
    max_items: int | None = 500,
    max_len: int | None = 3,
) -> pd.DataFrame:
    """Rules A → C from ``basket_items``: ``antecedents, consequents`` (sorted tuples),
    ``antecedent_support, consequent_support, support, confidence, lift, count``, by lift.

    Empty, with ``attrs["reason"]``, when there are no baskets, no basket has two items, or
    there are fewer baskets than ``min_count``;
    an empty table without a reason means no rule passed the thresholds.
    """
    from mlxtend.frequent_patterns import association_rules as mine  # see _fpgrowth

    stats = basket_stats(baskets)
    if stats["baskets"] == 0:
        return unavailable(RULE_COLUMNS, baskets.attrs.get("reason", "no baskets"))
    if stats["multi_item_baskets"] == 0:
        out = unavailable(
            RULE_COLUMNS,
            f"no basket has two or more distinct items "
            f"({stats['baskets']} baskets, all of one item)",
        )
        out.attrs.update(stats)
        return out
    if _too_few(baskets, min_count):
        out = unavailable(RULE_COLUMNS, _too_few(baskets, min_count))
        out.attrs.update(stats)
        return out
    frozen, n, threshold = _fpgrowth(baskets, min_support, min_count, max_items, max_len)
    if (frozen["itemsets"].map(len) >= 2).any():
        found = mine(
            frozen,
            num_itemsets=n,
            metric="confidence",
            min_threshold=min_confidence,
            return_metrics=[
                "antecedent support",
                "consequent support",
                "support",
                "confidence",
                "lift",
            ],
        )
    else:
        found = pd.DataFrame(
            columns=[
                "antecedents",
                "consequents",
                "antecedent support",
                "consequent support",
                "support",
                "confidence",
                "lift",
            ]
        )
    out = pd.DataFrame(
        {
            "antecedents": [tuple(sorted(s)) for s in found["antecedents"]],
            "consequents": [tuple(sorted(s)) for s in found["consequents"]],
            "antecedent_support": found["antecedent support"].to_numpy(dtype=float),
            "consequent_support": found["consequent support"].to_numpy(dtype=float),
            "support": found["support"].to_numpy(dtype=float),
            "confidence": found["confidence"].to_numpy(dtype=float),
            "lift": found["lift"].to_numpy(dtype=float),
        }
    )
    out["count"] = np.rint(out["support"] * n).astype(np.int64)
    out = out.sort_values(
        ["lift", "confidence", "support"], ascending=False, kind="stable", ignore_index=True
    )
    out.attrs.update({**stats, "min_support": threshold, "min_confidence": min_confidence})
    return out


def purchase_rules(
    events: pd.DataFrame,
    items: pd.DataFrame | None = None,
    by: str = "session",
    level: str = "item",
    category_level: int | None = None,
    **thresholds,
) -> pd.DataFrame:
    """``association_rules`` on the purchase baskets of ``events`` in one call
    (``thresholds``: min_support, min_confidence, min_count, max_items, max_len)."""
    baskets = basket_items(events, items, by=by, level=level, category_level=category_level)
    return association_rules(baskets, **thresholds)
