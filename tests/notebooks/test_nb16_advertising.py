"""Notebook 16 in the session's synthetic smoke run-all: ads drawn from the shop's latent world,
the CTR models next to the oracle, the auction, and the Avazu sample (skipped without
../shared/data)."""

import pytest
from nbrun import run_notebook

from shopintent.data import registry
from shopintent.data.synthetic import ads

pytestmark = pytest.mark.notebook
MODELS = ("logreg_hashed", "lightgbm", "dcn_v2", "deepfm")


def test_notebook_16_synthetic_ads_and_auction(synthetic_run, shared_data):
    m = run_notebook(synthetic_run, "16", "synthetic")["metrics"]
    assert m["ads/data/requests"] == 1000 and m["ads/data/impressions"] == 1000 * ads.SLOTS
    # the ads were saved beside the shop, truth apart
    saved = ads.read_ads(ads.ads_dir(registry.dataset_dir("synthetic", "smoke")))
    assert "click_prob" not in saved["ad_candidates"] and "click_prob" in saved["ad_truth"]
    for model in (*MODELS, "oracle"):
        key = f"ads/synthetic/{model}/roc_auc"
        assert m[f"{key}_low"] <= m[key] <= m[f"{key}_high"], model
    # the truth is the best achievable: no model beats the oracle's log loss
    oracle = m["ads/synthetic/oracle/log_loss"]
    assert all(m[f"ads/synthetic/{model}/log_loss"] >= oracle for model in MODELS)
    assert m["ads/synthetic/logreg_hashed/roc_auc"] > 0.6
    assert m["ads/auction/oracle/revenue_share"] == 1.0
    assert m["ads/auction/logreg_hashed/clicks_share"] > m["ads/auction/bid_only/clicks_share"]
    for model in MODELS:
        assert m[f"ads/avazu/{model}/roc_auc_low"] <= m[f"ads/avazu/{model}/roc_auc_high"]
    assert m["ads/avazu/logreg_hashed/roc_auc"] > 0.6
