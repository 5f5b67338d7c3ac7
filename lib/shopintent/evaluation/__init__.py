"""Ranking and classification metrics, bootstrap intervals (DESIGN.md, "Evaluation protocol").

Imports only numpy, scipy, pandas and scikit-learn, never TensorFlow, so it loads fast.
"""

from shopintent.evaluation.bootstrap import (
    Interval,
    bootstrap_ci,
    bootstrap_mean_ci,
    paired_bootstrap_diff,
)
from shopintent.evaluation.classification import (
    binary_report,
    entity_prf,
    expected_calibration_error,
    multiclass_report,
    reliability_table,
    roc_auc,
)
from shopintent.evaluation.frames import (
    RankingInputs,
    evaluate_ranking_df,
    hit_rate_at_k_df,
    interactions_matrix,
    map_at_k_df,
    mrr_at_k_df,
    ndcg_at_k_df,
    precision_at_k_df,
    ranking_inputs,
    recall_at_k_df,
)
from shopintent.evaluation.ranking import (
    catalog_coverage,
    evaluate_ranking,
    hit_rate_at_k,
    item_popularity,
    long_tail_mask,
    long_tail_share,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    ranking_per_user,
    recall_at_k,
    topk_from_scores,
)

__all__ = [
    "Interval",
    "bootstrap_ci",
    "bootstrap_mean_ci",
    "paired_bootstrap_diff",
    "binary_report",
    "entity_prf",
    "expected_calibration_error",
    "multiclass_report",
    "reliability_table",
    "roc_auc",
    "RankingInputs",
    "catalog_coverage",
    "evaluate_ranking",
    "evaluate_ranking_df",
    "hit_rate_at_k",
    "hit_rate_at_k_df",
    "interactions_matrix",
    "item_popularity",
    "long_tail_mask",
    "long_tail_share",
    "map_at_k",
    "map_at_k_df",
    "mrr_at_k",
    "mrr_at_k_df",
    "ndcg_at_k",
    "ndcg_at_k_df",
    "novelty",
    "precision_at_k",
    "precision_at_k_df",
    "ranking_inputs",
    "ranking_per_user",
    "recall_at_k",
    "recall_at_k_df",
    "topk_from_scores",
]
