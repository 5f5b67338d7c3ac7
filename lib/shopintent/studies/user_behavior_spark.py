"""The behaviour study's recorded numbers on Spark: ``summary`` returns what
``user_behavior.headline_metrics`` (plus ``eda/rules/user_category_count``) returns, under the
same keys, from the canonical tables as Spark DataFrames, so one call per engine compares them.

The log is counted on the cluster by ``eda.spark_summary`` and ``eda.spark_baskets``; only
numbers come back. Where the data cannot give a number it is None, as in pandas (the reasons
are ``user_behavior.headline_table``'s).
"""

from __future__ import annotations

import math

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shopintent.eda import queries as query_eda
from shopintent.eda import spark_baskets, spark_summary
from shopintent.studies.user_behavior import LOG_KEYS, RULE_TABLES, RULE_THRESHOLDS

#: the rule counts recorded: key -> ``RULE_TABLES`` entry (each at ``RULE_THRESHOLDS``)
RULE_KEYS = {
    "eda/rules/count": "session × item",
    "eda/rules/category_count": "session × category",
    "eda/rules/user_category_count": "user × category",
}
_US_PER_DAY, _US_PER_MIN = 86_400_000_000, 60_000_000


def _sessions(ev: DataFrame) -> dict[str, float]:
    """Medians of events and minutes (last minus first event) per session, exactly (no
    approximate percentiles)."""
    micros = F.unix_micros("ts")
    per = ev.groupBy("session_id").agg(
        F.count(F.lit(1)).alias("events"),
        ((F.max(micros) - F.min(micros)) / float(_US_PER_MIN)).alias("minutes"),
    )
    row = per.agg(F.median("events").alias("e"), F.median("minutes").alias("m")).collect()[0]
    return {
        "eda/sessions/median_events": float(row["e"]),
        "eda/sessions/median_duration_min": float(row["m"]),
    }


def _log_numbers(raw: DataFrame, items: DataFrame) -> dict:
    """``LOG_KEYS`` and the user × category rule count of a non-empty log."""
    m: dict = {"eda/events/count": raw.count()}
    m["eda/events/duplicates"] = m["eda/events/count"] - raw.distinct().count()
    ev = spark_summary.drop_duplicate_events(raw).persist()
    try:
        row = ev.agg(
            F.countDistinct("session_id").alias("sessions"),
            F.countDistinct("user_id").alias("users"),
            F.min(F.unix_micros("ts")).alias("start"),
            F.max(F.unix_micros("ts")).alias("end"),
        ).collect()[0]
        m["eda/sessions/count"] = row["sessions"]
        m["eda/users/count"] = row["users"]
        span = None if row["end"] is None else (row["end"] - row["start"]) / _US_PER_DAY
        m["eda/time/days"] = span
        m.update(_sessions(ev))
        by_session = spark_summary.funnel_rates(ev, "session")
        for key, rate in (
            ("search_share", "search_share"),
            ("view_to_cart", "view_to_cart"),
            ("cart_to_purchase", "cart_to_purchase"),
            ("session_conversion", "conversion"),
        ):
            m[f"eda/funnel/{key}"] = by_session[rate]
        m["eda/funnel/user_conversion"] = spark_summary.funnel_rates(ev, "user")["conversion"]
        conc = spark_summary.concentration(ev, "view", items)
        m["eda/items/gini"] = conc["gini"]
        m["eda/items/top20_view_share"] = conc["top_share"]
        m["eda/items/never_viewed_share"] = conc["zero_share"]
        for key, table in RULE_KEYS.items():
            options = {**RULE_TABLES[table], **RULE_THRESHOLDS}
            rules = spark_baskets.purchase_rules(ev, items, **options)
            m[key] = None if rules.attrs.get("reason") else len(rules)
        baskets = spark_baskets.basket_items(ev, by="session")
        m["eda/rules/multi_item_baskets"] = spark_baskets.basket_stats(baskets)[
            "multi_item_baskets"
        ]
    finally:
        ev.unpersist()
    return m


def summary(
    spark, events: DataFrame, items: DataFrame, queries: pd.DataFrame | None = None
) -> dict[str, float | None]:
    """The recorded numbers of the behaviour study from Spark ``events`` and ``items``: the keys
    of ``headline_metrics`` and ``eda/rules/user_category_count``; None where not computable.

    The three ``eda/queries/...`` keys come only with ``queries`` (a pandas table: query texts
    are a side table, matched against the catalogue's brands by ``eda.queries``). ``spark`` is
    not used (the DataFrames carry their session); it keeps one signature across engines.
    """
    del spark
    n_items = items.count()
    m: dict = {"eda/items/count": n_items or None}
    if events.limit(1).count() == 0:
        m.update(dict.fromkeys([*LOG_KEYS, *RULE_KEYS]))
    else:
        m.update(_log_numbers(events, items))
    if queries is not None:
        lengths = query_eda.query_lengths(queries)
        none = bool(lengths.attrs.get("reason"))
        m["eda/queries/count"] = None if none else len(lengths)
        m["eda/queries/mean_words"] = None if none else float(lengths["words"].mean())
        brands = pd.DataFrame({"brand": [r["brand"] for r in items.select("brand").collect()]})
        m["eda/queries/brand_share"] = query_eda.brand_share(queries, brands)["share"]
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in m.items()}
