"""Purchase baskets and their association rules (``eda.baskets``) on Spark ML's FP-growth.

Baskets, itemsets and rules are counted on the cluster; the rule table (a few hundred rows)
comes back as the pandas table ``eda.baskets.association_rules`` returns, with the same
support, confidence and lift. Two differences from the pandas path, both deliberate:

- Spark's ``FPGrowthModel.associationRules`` gives only rules with one item on the right,
  while mlxtend (the pandas path) gives every split of an itemset (``{a} -> {b, c}`` too). The
  rules here are generated from FP-growth's itemsets the mlxtend way: every non-empty proper
  subset of each frequent itemset is an antecedent (a power set with Spark's higher-order
  functions), its complement the consequent. The single-consequent ones equal Spark's own rules.
- every item enters (pandas' ``max_items`` caps its in-memory one-hot matrix; it changes the
  result only where more than ``max_items`` items pass the support threshold).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shopintent.eda.baskets import BASKET_KEYS, RULE_COLUMNS
from shopintent.eda.quality import unavailable


def basket_items(
    events: DataFrame,
    items: DataFrame | None = None,
    by: str = "session",
    level: str = "item",
    category_level: int | None = None,
    event_types: tuple[str, ...] = ("purchase",),
) -> DataFrame:
    """``eda.baskets.basket_items`` on Spark: distinct (``basket``, ``item``) pairs of the
    ``event_types`` events; ``level="category"`` maps items to their category (cut to
    ``category_level`` dot parts) from ``items``, dropping items without one."""
    if by not in BASKET_KEYS:
        raise ValueError(f"by must be one of {', '.join(BASKET_KEYS)}, got {by!r}")
    if level not in ("item", "category"):
        raise ValueError(f"level must be 'item' or 'category', got {level!r}")
    if category_level is not None and category_level < 1:
        raise ValueError(f"level must be at least 1, got {category_level}")
    key = BASKET_KEYS[by]
    out = events.filter(
        F.col("event_type").isin(list(event_types))
        & F.col("item_id").isNotNull()
        & F.col(key).isNotNull()
    ).select(F.col(key).alias("basket"), F.col("item_id").alias("item"))
    if level == "category":
        if items is None:
            raise ValueError("level='category' needs the items table")
        category = F.col("category")
        if category_level is not None:
            category = F.array_join(F.slice(F.split(category, r"\."), 1, category_level), ".")
        lookup = items.filter(F.col("category").isNotNull()).select(
            F.col("item_id").alias("item"), category.alias("_category")
        )
        out = out.join(lookup, "item").select("basket", F.col("_category").alias("item"))
    return out.distinct()


def basket_stats(baskets: DataFrame) -> dict[str, float | None]:
    """``eda.baskets.basket_stats`` on Spark: ``baskets``, ``multi_item_baskets``, ``mean_size``
    and ``items`` in one pass."""
    size = baskets.groupBy("basket").count()
    row = size.agg(
        F.count(F.lit(1)).alias("baskets"),
        F.sum((F.col("count") >= 2).cast("long")).alias("multi"),
        F.avg("count").alias("mean_size"),
    ).collect()[0]
    if not row["baskets"]:
        return {"baskets": 0, "multi_item_baskets": 0, "mean_size": None, "items": 0}
    return {
        "baskets": int(row["baskets"]),
        "multi_item_baskets": int(row["multi"]),
        "mean_size": float(row["mean_size"]),
        "items": int(baskets.select("item").distinct().count()),
    }


def itemsets(
    baskets: DataFrame, n: int, min_support: float, min_count: int, max_len: int | None
) -> tuple[DataFrame, float]:
    """FP-growth's frequent itemsets (``items`` sorted, ``freq``) of ``baskets`` (``n`` of them)
    at support max(``min_support``, ``min_count``/n), as mlxtend counts it; and that support."""
    from pyspark.ml.fpm import FPGrowth

    threshold = max(min_support, min_count / n)
    # FP-growth keeps itemsets in ceil(minSupport * n) baskets or more: ask for k - 1/2
    # baskets, k the least whole count the threshold allows, so rounding cannot move k
    k = math.ceil(threshold * n - 1e-9)
    grouped = baskets.groupBy("basket").agg(F.collect_set("item").alias("items"))
    found = FPGrowth(itemsCol="items", minSupport=(k - 0.5) / n).fit(grouped).freqItemsets
    if max_len is not None:
        found = found.filter(F.size("items") <= max_len)
    return found.select(F.array_sort("items").alias("items"), "freq"), threshold


def _rules(frequent: DataFrame, n: int, min_confidence: float) -> DataFrame:
    """Every rule A -> C of the ``frequent`` itemsets (A a non-empty proper subset, C the rest)
    with confidence >= ``min_confidence``; the subsets' counts are joined from ``frequent``."""
    empty = F.array().cast("array<string>")
    powerset = F.aggregate(
        "items",
        F.array(empty),
        lambda acc, x: F.concat(acc, F.transform(acc, lambda s: F.concat(s, F.array(x)))),
    )
    splits = (
        frequent.filter(F.size("items") >= 2)
        .select("items", "freq", F.explode(powerset).alias("a"))
        .filter((F.size("a") > 0) & (F.size("a") < F.size("items")))
        .select("freq", "a", F.array_except("items", "a").alias("c"))
    )
    counts = frequent.select(F.col("items").alias("_set"), F.col("freq").alias("_freq"))
    with_a = splits.join(counts, F.col("a") == F.col("_set")).select(
        "freq", "a", "c", F.col("_freq").alias("freq_a")
    )
    rules = with_a.join(counts, F.col("c") == F.col("_set")).select(
        "a", "c", "freq", "freq_a", F.col("_freq").alias("freq_c")
    )
    support, support_a = F.col("freq") / F.lit(n), F.col("freq_a") / F.lit(n)
    confidence = support / support_a
    return rules.select(
        F.col("a").alias("antecedents"),
        F.col("c").alias("consequents"),
        support_a.alias("antecedent_support"),
        (F.col("freq_c") / F.lit(n)).alias("consequent_support"),
        support.alias("support"),
        confidence.alias("confidence"),
        (confidence / (F.col("freq_c") / F.lit(n))).alias("lift"),
        F.col("freq").alias("count"),
    ).filter(F.col("confidence") >= min_confidence)


def association_rules(
    baskets: DataFrame,
    min_support: float = 0.01,
    min_confidence: float = 0.1,
    min_count: int = 2,
    max_items: int | None = None,
    max_len: int | None = 3,
) -> pd.DataFrame:
    """``eda.baskets.association_rules`` on Spark: the same table, reasons and ``attrs``
    (``max_items`` is accepted for the same call and ignored: every item enters)."""
    del max_items
    baskets = baskets.persist()
    try:
        stats = basket_stats(baskets)
        n = stats["baskets"]
        why = None
        if n == 0:
            return unavailable(RULE_COLUMNS, "no baskets")
        if stats["multi_item_baskets"] == 0:
            why = f"no basket has two or more distinct items ({n} baskets, all of one item)"
        elif n < min_count:
            plural = "" if n == 1 else "s"
            why = f"only {n} basket{plural}, fewer than min_count={min_count}"
        if why:
            out = unavailable(RULE_COLUMNS, why)
            out.attrs.update(stats)
            return out
        frequent, threshold = itemsets(baskets, n, min_support, min_count, max_len)
        frequent = frequent.persist()
        try:
            rows = _rules(frequent, n, min_confidence).collect()
        finally:
            frequent.unpersist()
    finally:
        baskets.unpersist()
    out = pd.DataFrame(
        {
            "antecedents": [tuple(r["antecedents"]) for r in rows],
            "consequents": [tuple(r["consequents"]) for r in rows],
            **{c: np.array([r[c] for r in rows], dtype=float) for c in RULE_COLUMNS[2:-1]},
            "count": np.array([r["count"] for r in rows], dtype=np.int64),
        }
    )[RULE_COLUMNS]
    out = out.sort_values(
        ["lift", "confidence", "support", "antecedents", "consequents"],
        ascending=[False, False, False, True, True],
        ignore_index=True,
    )
    out.attrs.update({**stats, "min_support": threshold, "min_confidence": min_confidence})
    return out


def _empty_reason(events: DataFrame, items: DataFrame | None, by: str, level: str) -> str | None:
    """Why ``basket_items`` would be empty, in the pandas module's words (one small pass)."""
    key = BASKET_KEYS[by]
    chosen = F.col("event_type").isin("purchase") & F.col("item_id").isNotNull()
    row = events.agg(
        F.sum(chosen.cast("long")).alias("chosen"),
        F.sum((chosen & F.col(key).isNotNull()).cast("long")).alias("keyed"),
    ).collect()[0]
    if not row["chosen"]:
        return "the log has no purchase events"
    if not row["keyed"]:
        return f"the log has no {key}s"
    if level == "category" and (
        items is None
        or "category" not in items.columns
        or items.filter(F.col("category").isNotNull()).limit(1).count() == 0
    ):
        return "the items table has no categories"
    return None


def purchase_rules(
    events: DataFrame,
    items: DataFrame | None = None,
    by: str = "session",
    level: str = "item",
    category_level: int | None = None,
    **thresholds,
) -> pd.DataFrame:
    """``eda.baskets.purchase_rules`` on Spark: ``association_rules`` of the purchase baskets
    (``thresholds``: min_support, min_confidence, min_count, max_items, max_len)."""
    found = basket_items(events, items, by=by, level=level, category_level=category_level)
    why = _empty_reason(events, items, by, level)
    if why:
        return unavailable(RULE_COLUMNS, why)
    return association_rules(found, **thresholds)
