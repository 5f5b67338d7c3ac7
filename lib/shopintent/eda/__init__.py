"""User-behaviour EDA: data quality, the funnel, sessions, the long tail, RFM segments,
basket rules and query statistics, as pure functions over the canonical tables.

Where a dataset lacks what a result needs (no queries, no prices, no carts...), a table comes
back empty with its usual columns and says why in ``attrs["reason"]`` (``reason(table)``);
a rate or scalar comes back None. What a notebook records and draws from these tables lives in
``shopintent.studies.user_behavior`` (and ``user_behavior_figures``).
"""

from shopintent.eda.baskets import (
    association_rules,
    basket_items,
    basket_stats,
    frequent_itemsets,
    purchase_rules,
)
from shopintent.eda.funnel import funnel_both, funnel_rates, funnel_table
from shopintent.eda.longtail import (
    attribute_shares,
    category_path,
    concentration,
    gini,
    item_popularity,
    price_by_category,
    top_share,
)
from shopintent.eda.quality import (
    distribution,
    drop_duplicate_events,
    duplicate_events,
    event_type_counts,
    null_counts,
    quality_summary,
    reason,
    row_counts,
    time_span,
)
from shopintent.eda.queries import (
    brand_mentions,
    brand_query_counts,
    brand_share,
    intent_shares,
    length_stats,
    query_lengths,
    top_terms,
)
from shopintent.eda.segments import quantile_scores, rfm_features, rfm_segments, segment_summary
from shopintent.eda.sessions import (
    activity_stats,
    daily_activity,
    hour_weekday_matrix,
    length_counts,
    session_stats,
    session_table,
    user_activity,
)

__all__ = [
    "activity_stats",
    "association_rules",
    "attribute_shares",
    "basket_items",
    "basket_stats",
    "brand_mentions",
    "brand_query_counts",
    "brand_share",
    "category_path",
    "concentration",
    "daily_activity",
    "distribution",
    "drop_duplicate_events",
    "duplicate_events",
    "event_type_counts",
    "frequent_itemsets",
    "funnel_both",
    "funnel_rates",
    "funnel_table",
    "gini",
    "hour_weekday_matrix",
    "intent_shares",
    "item_popularity",
    "length_counts",
    "length_stats",
    "null_counts",
    "price_by_category",
    "purchase_rules",
    "quality_summary",
    "quantile_scores",
    "query_lengths",
    "reason",
    "rfm_features",
    "rfm_segments",
    "row_counts",
    "segment_summary",
    "session_stats",
    "session_table",
    "time_span",
    "top_share",
    "top_terms",
    "user_activity",
]
