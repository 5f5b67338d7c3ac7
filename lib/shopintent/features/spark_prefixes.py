"""Session prefixes and their features (``features.sessions.build_examples``) on Spark, written
as Parquet shards for a model to stream (``features.shards``).

The definitions are ``features.sessions``' (its module docstring): one row per observable event
(before the session's first purchase), the prefix it ends, its label and the hand-made and
per-event features; user and item history use only events strictly before the session starts.
Here each is a window function over the session (cumulative counts, means, maxima, the last
non-null value), and the two histories are one window pass each over the union of the history
events and the sessions asking (at the same instant, the asking row sorts first, so "strictly
before" holds). Events at the same time in one session keep the log's order, read as the order
of rows at load (``monotonically_increasing_id``). ``cut_at`` is not offered: notebook 05's
examples use none.
"""

from __future__ import annotations

import math
from pathlib import Path

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from shopintent.features.sessions import EVENT_TYPES, PURCHASE, USER_FEATURES

_US = 1_000_000
#: the split of each session (``models.purchase_intent.base.split_examples``); None: dropped
SPLITS = ("train", "val", "test")
ROWS = Window.unboundedPreceding, Window.currentRow


def _seconds(later: Column, earlier: Column) -> Column:
    return (F.unix_micros(later) - F.unix_micros(earlier)) / float(_US)


def _mean(value: Column, w: Window) -> Column:
    """Cumulative mean of the non-null values (null before the first), as ``sessions._cum``."""
    n = F.count(value).over(w)
    return F.when(n > 0, F.sum(value).over(w) / n)


def relative_price(events: DataFrame, items: DataFrame) -> DataFrame:
    """``events`` plus ``category``, ``brand`` and ``rel_price`` = log(price / its category's
    median catalogue price; the catalogue's median for an item without one), as
    ``features.sessions.relative_price``: the item's catalogue price, else the event's."""
    meta = items.select(
        "item_id", "category", "brand", F.col("price").cast("double").alias("_item_price")
    )
    medians = meta.groupBy("category").agg(F.median("_item_price").alias("_median"))
    overall = meta.agg(F.median("_item_price").alias("_overall"))
    out = (
        events.join(meta, "item_id", "left")
        .join(medians.filter(F.col("category").isNotNull()), "category", "left")
        .crossJoin(overall)
    )
    price = F.coalesce("_item_price", F.col("price").cast("double"))
    ratio = price / F.coalesce("_median", "_overall")
    rel = F.when((ratio > 0) & ~F.isnan(ratio) & (ratio != float("inf")), F.log(ratio))
    return out.withColumn("rel_price", rel).drop("_item_price", "_median", "_overall")


def _sessions(e: DataFrame) -> DataFrame:
    """Per session: ``user_id`` (of its first event), ``start, end, first_purchase, label``."""
    first = F.min_by("user_id", F.struct("ts", "_row"))
    bought = F.min(F.when(F.col("event_type") == PURCHASE, F.col("ts")))
    return (
        e.groupBy("session_id")
        .agg(
            first.alias("user_id"),
            F.min("ts").alias("start"),
            F.max("ts").alias("end"),
            bought.alias("first_purchase"),
        )
        .withColumn("label", F.col("first_purchase").isNotNull().cast("long"))
    )


def _user_history(e: DataFrame, sessions: DataFrame) -> DataFrame:
    """``USER_FEATURES`` of each session (``user_history``): one window over the user's events,
    session starts and first purchases, with each session's own start as an asking row."""
    zero = F.lit(0).cast("long")
    view_rel = (F.col("event_type") == "view") & F.col("rel_price").isNotNull()
    facts = e.select(
        "user_id",
        F.col("ts").alias("t"),
        F.lit(1).alias("_tag"),
        F.lit(None).cast("string").alias("_ask"),
        F.lit(1).cast("long").alias("_ev"),
        (F.col("event_type") == "cart").cast("long").alias("_cart"),
        F.when(view_rel, F.col("rel_price")).otherwise(0.0).alias("_rp"),
        view_rel.cast("long").alias("_rpn"),
        zero.alias("_start"),
        zero.alias("_buy"),
    )
    starts = sessions.select(
        "user_id",
        F.col("start").alias("t"),
        F.lit(1),
        F.lit(None).cast("string"),
        zero,
        zero,
        F.lit(0.0),
        zero,
        F.lit(1).cast("long"),
        zero,
    )
    buys = sessions.filter(F.col("first_purchase").isNotNull()).select(
        "user_id",
        F.col("first_purchase").alias("t"),
        F.lit(1),
        F.lit(None).cast("string"),
        zero,
        zero,
        F.lit(0.0),
        zero,
        zero,
        F.lit(1).cast("long"),
    )
    asks = sessions.select(
        "user_id",
        F.col("start").alias("t"),
        F.lit(0),
        "session_id",
        zero,
        zero,
        F.lit(0.0),
        zero,
        zero,
        zero,
    )
    rows = facts.union(starts).union(buys).union(asks)  # by position: the columns above
    w = Window.partitionBy("user_id").orderBy("t", "_tag").rowsBetween(*ROWS)
    cum = {c: F.sum(c).over(w) for c in ("_ev", "_cart", "_rp", "_rpn", "_start", "_buy")}
    last = F.max(F.when(F.col("_ev") == 1, F.col("t"))).over(w)
    first = F.min(F.when(F.col("_ev") == 1, F.col("t"))).over(Window.partitionBy("user_id"))
    hist = rows.select(
        "_ask",
        "t",
        *[v.alias(c) for c, v in cum.items()],
        last.alias("_last"),
        first.alias("_first"),
    ).filter(F.col("_ask").isNotNull())
    n_sess, n_buy = F.col("_start").cast("double"), F.col("_buy").cast("double")
    return hist.select(
        F.col("_ask").alias("session_id"),
        n_sess.alias("user_sessions"),
        n_buy.alias("user_purchase_sessions"),
        F.when(n_sess > 0, n_buy / n_sess).alias("user_conversion"),
        F.log1p(_seconds(F.col("t"), F.col("_last")) / 3600).alias("user_recency_h"),
        F.when(F.col("_ev") > 0, _seconds(F.col("t"), F.col("_first")) / 86400).alias(
            "user_tenure_d"
        ),
        F.col("_ev").cast("double").alias("user_events"),
        F.col("_cart").cast("double").alias("user_carts"),
        F.when(F.col("_rpn") > 0, F.col("_rp") / F.col("_rpn")).alias("user_rel_price"),
    )


def _item_history(e: DataFrame, asks: DataFrame) -> DataFrame:
    """Per (``item_id``, ``start``) of ``asks``: the item's views and purchases in the whole
    log strictly before ``start``, as ``item_views`` and ``item_conv`` (``item_history``)."""
    facts = e.filter(F.col("item_id").isNotNull()).select(
        "item_id",
        F.col("ts").alias("t"),
        F.lit(1).alias("_tag"),
        (F.col("event_type") == "view").cast("long").alias("_v"),
        (F.col("event_type") == PURCHASE).cast("long").alias("_b"),
    )
    ask = asks.select(
        "item_id", F.col("start").alias("t"), F.lit(0), F.lit(0).cast("long"), F.lit(0).cast("long")
    ).distinct()
    w = Window.partitionBy("item_id").orderBy("t", "_tag").rowsBetween(*ROWS)
    rows = facts.unionByName(ask.toDF(*facts.columns))
    views, buys = F.sum("_v").over(w), F.sum("_b").over(w)
    hist = rows.select("item_id", "t", "_tag", views.alias("_views"), buys.alias("_buys"))
    return hist.filter(F.col("_tag") == 0).select(
        "item_id",
        F.col("t").alias("start"),
        F.log1p(F.col("_views").cast("double")).alias("item_views"),
        ((F.col("_buys") + 0.1) / (F.col("_views") + 2.0)).alias("item_conv"),
    )


def prefix_features(events: DataFrame, items: DataFrame) -> DataFrame:
    """The prefix table of ``build_examples(events, items).prefixes`` on Spark (lazy): one row
    per observable event with ``session_id, user_id, ts, event_type, item_id, query_id,
    category, brand, rel_price, start, end, label, n_events, k, is_full, item_views,
    item_conv``, the ``ev_*`` inputs, ``HANDMADE_FEATURES`` and ``has_history`` (``end``, the
    session's last event, purchases included, is for ``with_split``)."""
    e = relative_price(events.withColumn("_row", F.monotonically_increasing_id()), items)
    e = e.persist()
    sessions = _sessions(e)
    order = Window.partitionBy("session_id").orderBy("ts", "_row")
    stopped = F.sum((F.col("event_type") == PURCHASE).cast("long")).over(order.rowsBetween(*ROWS))
    p = e.withColumn("_stop", stopped).filter(F.col("_stop") == 0).drop("_stop")
    p = p.join(sessions.select("session_id", "start", "end", "label"), "session_id")
    w = order.rowsBetween(*ROWS)
    p = p.withColumn("k", F.row_number().over(order)).withColumn(
        "n_events", F.count(F.lit(1)).over(Window.partitionBy("session_id"))
    )
    p = p.withColumn("is_full", F.col("k") == F.col("n_events"))
    asks = p.filter(F.col("item_id").isNotNull())
    p = p.join(_item_history(e, asks), ["item_id", "start"], "left")

    has_item, etype = F.col("item_id").isNotNull(), F.col("event_type")
    is_view, is_cart = etype == "view", etype == "cart"
    gap = _seconds(F.col("ts"), F.lag("ts").over(order))
    by_item = Window.partitionBy("session_id", "item_id").orderBy("ts", "_row")
    by_cat = Window.partitionBy("session_id", "category").orderBy("ts", "_row")
    seen = F.row_number().over(by_item)
    p = p.select(
        "*",
        F.when(gap.isNotNull(), F.log1p(F.greatest(gap, F.lit(0.0)))).alias("_log_gap"),
        (has_item & (seen > 1)).alias("_repeat"),
        (F.col("category").isNotNull() & (F.row_number().over(by_cat) == 1)).alias("_first_cat"),
        F.when(is_view, F.sum(is_view.cast("long")).over(by_item.rowsBetween(*ROWS)))
        .otherwise(0)
        .alias("_item_views_here"),
    )
    log_gap, rel = F.col("_log_gap"), F.col("rel_price")
    feats = {f"n_{t}": F.sum((etype == t).cast("long")).over(w) for t in EVENT_TYPES}
    feats["n_distinct_items"] = F.sum((has_item & ~F.col("_repeat")).cast("long")).over(w)
    feats["n_distinct_categories"] = F.sum(F.col("_first_cat").cast("long")).over(w)
    feats["max_item_views"] = F.max("_item_views_here").over(w)
    n_item_events = F.sum(has_item.cast("long")).over(w)
    feats["repeat_share"] = 1 - feats["n_distinct_items"] / F.when(n_item_events > 0, n_item_events)
    feats["events_since_cart"] = F.col("k") - F.max(F.when(is_cart, F.col("k"))).over(w)
    feats["duration_log_s"] = F.log1p(_seconds(F.col("ts"), F.col("start")))
    feats["mean_log_gap"] = _mean(log_gap, w)
    feats["max_log_gap"] = F.max(log_gap).over(w)
    feats["last_log_gap"] = log_gap
    feats["rel_price_mean"] = _mean(F.when(is_view, rel), w)
    feats["rel_price_min"] = F.min(F.when(is_view, rel)).over(w)
    feats["rel_price_max"] = F.max(F.when(is_view, rel)).over(w)
    feats["rel_price_last"] = F.last(rel, ignorenulls=True).over(w)
    feats["cart_rel_price"] = _mean(F.when(is_cart, rel), w)
    feats["item_conv_last"] = F.last("item_conv", ignorenulls=True).over(w)
    feats["item_conv_max"] = F.max("item_conv").over(w)
    feats["item_conv_cart"] = _mean(F.when(is_cart, F.col("item_conv")), w)
    feats["item_views_last"] = F.last("item_views", ignorenulls=True).over(w)
    hour = F.hour("start") + F.minute("start") / 60
    feats["hour_sin"] = F.sin(2 * math.pi * hour / 24)
    feats["hour_cos"] = F.cos(2 * math.pi * hour / 24)
    feats["weekday"] = F.weekday("start")
    events_in = {
        "ev_log_gap": F.coalesce(log_gap, F.lit(0.0)) / 5,
        "ev_rel_price": F.least(F.greatest(F.coalesce(rel, F.lit(0.0)), F.lit(-3.0)), F.lit(3.0)),
        "ev_has_price": rel.isNotNull().cast("double"),
        "ev_repeat": F.col("_repeat").cast("double"),
        "ev_item_conv": F.sqrt(F.coalesce(F.col("item_conv"), F.lit(0.0))) * 3,
        "ev_item_views": F.coalesce(F.col("item_views"), F.lit(0.0)) / 5,
    }
    p = p.select(
        "*",
        *[v.alias(k) for k, v in events_in.items()],
        *[v.cast("double").alias(k) for k, v in feats.items()],
    )
    p = p.join(_user_history(e, sessions), "session_id", "left")
    p = p.withColumn("cart_minus_view_price", F.col("cart_rel_price") - F.col("rel_price_mean"))
    p = p.withColumn("cart_minus_user_price", F.col("cart_rel_price") - F.col("user_rel_price"))
    p = p.withColumn("has_history", (F.col("user_sessions") > 0).cast("double"))
    keep = [
        "session_id",
        "user_id",
        "ts",
        "event_type",
        "item_id",
        "query_id",
        "category",
        "brand",
        "rel_price",
        "start",
        "end",
        "label",
        "n_events",
        "k",
        "is_full",
        "item_views",
        "item_conv",
        *events_in,
        *feats,
        "cart_minus_view_price",
        *USER_FEATURES,
        "cart_minus_user_price",
        "has_history",
    ]
    return p.select(*dict.fromkeys(keep))


def _nth_start(sessions: DataFrame, i: int) -> int:
    """The start of the i-th session (0-based) by start, in microseconds since the epoch (a
    whole number: no time zone on the way to the driver and back)."""
    return sessions.orderBy("start").offset(i).limit(1).collect()[0]["us"]


def with_split(prefixes: DataFrame, test_frac: float = 0.2, val_frac: float = 0.1) -> DataFrame:
    """``prefixes`` plus ``split`` (train, val, test; null for a session dropped), as
    ``split_examples``: cut-offs by session start, train (val) sessions ending before the
    validation (test) cut-off; two small actions find the cut-offs."""
    starts = prefixes.filter(F.col("k") == 1).select(F.unix_micros("start").alias("us"))
    starts = starts.persist()
    try:
        return _split_by(prefixes, starts, test_frac, val_frac)
    finally:
        starts.unpersist()


def _split_by(prefixes: DataFrame, starts: DataFrame, test_frac: float, val_frac: float):
    """``with_split`` given the sessions' starts (``us``), as ``data.splits.temporal_split``."""
    n = starts.count()
    if n == 0:
        return prefixes.withColumn("split", F.lit(None).cast("string"))
    cutoff = _nth_start(starts, min(n - 1, n - int(round(n * test_frac))))
    n_before = starts.filter(F.col("us") < cutoff).count()
    n_val = int(round(n * val_frac))
    if n_val >= n_before:
        raise ValueError(f"val_frac={val_frac} asks for {n_val} validation sessions of {n_before}")
    val_cutoff = _nth_start(starts, n_before - n_val)
    start, end = F.unix_micros("start"), F.unix_micros("end")
    split = (
        F.when(start >= cutoff, "test")
        .when((start >= val_cutoff) & (end < cutoff), "val")
        .when((start < val_cutoff) & (end < val_cutoff), "train")
    )
    return prefixes.withColumn("split", split)


def write_shards(prefixes: DataFrame, folder: str | Path, rows_per_shard: int = 50_000) -> Path:
    """Write ``prefixes`` (with ``split``) as Parquet shards ``<folder>/split=<part>/*.parquet``
    of at most ``rows_per_shard`` rows each, session by session in order; sessions no split
    takes are left out. Written into a staging folder and renamed into place."""
    from shopintent.io import staging_dir

    folder = Path(folder)
    kept = prefixes.filter(F.col("split").isNotNull())
    with staging_dir(folder) as tmp:
        (
            # ranges of (split, start, session): many writers, each session in one of them
            kept.repartitionByRange("split", "start", "session_id")
            .sortWithinPartitions("split", "start", "session_id", "k")
            .write.option("maxRecordsPerFile", rows_per_shard)
            .partitionBy("split")
            .mode("overwrite")  # into the empty staging folder
            .parquet(str(tmp))
        )
    return folder
