"""Notebook 02's domain-adaptation keys: the adapted fine-tune's search metrics with intervals,
its paired gain over the plain fine-tune, and the masked-LM lines next to the unigram baseline."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from shopintent.models.search import protocols
from shopintent.reporting import check_metrics
from shopintent.studies import text_features as study


def test_adapted_metrics_keys_gain_and_rerank():
    r = np.random.default_rng(0)
    ids = [f"q{i}" for i in range(200)]
    plain = pd.DataFrame({"query_id": ids, "recall@10": r.integers(0, 2, 200).astype(float)})
    plain["ndcg@10"] = plain["recall@10"] * 0.5
    adapted = plain.copy()
    adapted.loc[:19, "recall@10"] = 1.0  # 20 more hits at most: a gain of <= 0.1
    adapted["ndcg@10"] = adapted["recall@10"] * 0.5
    adapted["rerank_ndcg@10"] = 0.9
    gains = {
        m: protocols.paired_difference(adapted, plain, m, 200, 0) for m in ("recall@10", "ndcg@10")
    }
    summary = protocols.summarise({study.ADAPTED: adapted}, n_boot=200, seed=0)
    masked = {
        "heldout_masked_accuracy": 0.3,
        "heldout_perplexity": 40.0,
        "before_masked_accuracy": 0.2,
        "before_perplexity": 60.0,
        "unigram_masked_accuracy": 0.05,
        "unigram_perplexity": 300.0,
        "steps": 120,
        "corpus_passes": 0.4,
        "train_seconds": 100.0,
    }
    result = study.AdaptedSearch(
        SimpleNamespace(metrics=masked),
        SimpleNamespace(train_seconds=40.0),
        adapted,
        summary,
        gains,
    )
    m = check_metrics(study.adapted_metrics(result))
    key = f"search/{study.ADAPTED}/recall@10"
    assert m[key] == pytest.approx(adapted["recall@10"].mean())
    expected = adapted["recall@10"].mean() - plain["recall@10"].mean()
    assert m[f"{key}_gain"] == pytest.approx(expected) and 0 < expected <= 0.1
    assert m[f"{key}_gain_low"] <= m[f"{key}_gain"] <= m[f"{key}_gain_high"]
    assert m[f"{key}_low"] <= m[key] <= m[f"{key}_high"]
    assert m[f"rerank/{study.ADAPTED}/ndcg@10"] == pytest.approx(0.9)
    assert m[f"rerank/{study.ADAPTED}/ndcg@10_low"] == pytest.approx(0.9)  # constant: no spread
    assert f"search/{study.ADAPTED}/rerank_ndcg@10" not in m
    assert m["mlm_minilm/minilm/masked_accuracy"] == 0.2
    assert m["mlm_minilm/unigram/perplexity"] == 300.0
    assert m[f"search/{study.ADAPTED}/train_seconds"] == pytest.approx(140.0)


def test_stage_metrics_are_paired_gains_over_frozen_minilm():
    r = np.random.default_rng(1)
    ids = [f"q{i}" for i in range(300)]
    minilm = pd.DataFrame({"query_id": ids, "recall@10": r.integers(0, 2, 300).astype(float)})
    minilm["ndcg@10"] = minilm["recall@10"] * 0.6
    masked_lm = minilm.assign(**{"recall@10": 0.0, "ndcg@10": 0.0})  # retrieves nothing
    contrastive = minilm.copy()
    contrastive.loc[:29, ["recall@10", "ndcg@10"]] = [1.0, 0.6]  # 30 more hits at most
    per = {"minilm": minilm, "shopbert": masked_lm, "shopbert_contrastive": contrastive}
    m = check_metrics(study.stage_metrics(per, n_boot=200, seed=0))
    assert set(m) == {
        f"contrastive/{stage}/{metric}_gain{suffix}"
        for stage in study.STAGES
        for metric in ("recall@10", "ndcg@10")
        for suffix in ("", "_low", "_high")
    }
    lost = m["contrastive/shopbert/recall@10_gain"]
    assert lost == pytest.approx(-minilm["recall@10"].mean())
    assert m["contrastive/shopbert/recall@10_gain_high"] < 0  # masked-LM alone loses
    won = m["contrastive/shopbert_contrastive/recall@10_gain"]
    assert won == pytest.approx((contrastive["recall@10"] - minilm["recall@10"]).mean())
    assert 0 < won <= 0.1
    key = "contrastive/shopbert_contrastive/ndcg@10_gain"
    assert m[f"{key}_low"] <= m[key] <= m[f"{key}_high"]


def test_search_metrics_key_every_model_and_move_judged_reranking_to_its_own_task():
    r = np.random.default_rng(2)
    ids = [f"q{i}" for i in range(100)]
    per = {
        name: pd.DataFrame(
            {
                "query_id": ids,
                "recall@10": r.integers(0, 2, 100).astype(float),
                "ndcg@10": r.random(100),
                "rerank_ndcg@10": r.random(100),
            }
        )
        for name in ("tfidf_char", "minilm")
    }
    m = check_metrics(study.search_metrics(protocols.summarise(per, n_boot=100, seed=0)))
    for name, df in per.items():
        for metric, key in (
            ("recall@10", f"search/{name}/recall@10"),
            ("rerank_ndcg@10", f"rerank/{name}/ndcg@10"),
        ):
            assert m[key] == pytest.approx(df[metric].mean())
            assert m[f"{key}_low"] <= m[key] <= m[f"{key}_high"]
    assert not any("rerank_ndcg" in k for k in m)


def test_pretraining_corpus_holds_no_held_out_query_and_keeps_its_sample(smoke_shop):
    from shopintent.data.capabilities import Capabilities

    settings = study.Settings.for_profile("smoke")
    task, until, _ = study.search_task(smoke_shop, Capabilities.of(smoke_shop), settings, 42)
    held_out = study.held_out_texts(task)
    assert protocols.fold_query(task.test.texts[0]) in held_out
    whole = study.Settings.for_profile("smoke", corpus_sample=None)
    full = study.pretraining_corpus(smoke_shop, task, until, whole, 42)
    assert not full["text"].map(protocols.fold_query).isin(held_out).any()
    # the shop's own text does hold held-out queries (earlier searches of the same text): the
    # filter had something to take out
    from shopintent.features.text.corpus import shop_corpus

    assert (
        shop_corpus(smoke_shop, until=until)["text"].map(protocols.fold_query).isin(held_out).any()
    )
    small = study.Settings.for_profile("smoke", corpus_sample=50)
    sample = study.pretraining_corpus(smoke_shop, task, until, small, 42)
    assert len(sample) == 50 and set(sample.index) <= set(full.index)
    pd.testing.assert_frame_equal(
        sample, study.pretraining_corpus(smoke_shop, task, until, small, 42)
    )
