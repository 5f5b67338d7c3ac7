"""Leaderboards from a run folder's metrics JSON (fixtures written here, values by hand)."""

import json

import pytest

from shopintent.studies import results_summary as lb


def _write(folder, stem, metrics, status="passed", **extra):
    path = folder / "metrics" / f"{stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {"notebook": stem, "status": status, "duration_s": 12.5, "metrics": metrics, **extra}
        )
    )


@pytest.fixture
def run_folder(tmp_path):
    _write(
        tmp_path,
        "05_purchase_intent",
        {
            "purchase_intent/logreg/roc_auc": 0.70,
            "purchase_intent/logreg/roc_auc_low": 0.68,
            "purchase_intent/logreg/roc_auc_high": 0.72,
            "purchase_intent/logreg/log_loss": 0.30,
            "purchase_intent/lightgbm/roc_auc": 0.80,
            "purchase_intent/lightgbm/log_loss": 0.25,
            "purchase_intent/oracle/roc_auc": 0.95,
            "purchase_intent/data/test_purchases": 120,
            "purchase_intent/lightgbm/roc_auc_at_3_events": 0.6,
        },
    )
    _write(
        tmp_path,
        "06_recommender_baselines",
        {
            "movielens-100k/msr_protocol/popularity/ndcg@10": 0.25,
            "movielens-100k/msr_protocol/ease/ndcg@10": 0.49,
            "movielens-100k/msr_protocol/ease/precision@10": 0.41,
        },
    )
    _write(tmp_path, "04_review_sentiment", {}, status="skipped", reason="no reviews")
    _write(tmp_path, "18_results_summary", {"summary/notebooks_passed": 2})
    return tmp_path


def test_read_run_skips_excluded_and_reports_times(run_folder):
    run = lb.read_run(run_folder, exclude=("18_results_summary",))
    assert list(run.notebooks) == [
        "04_review_sentiment",
        "05_purchase_intent",
        "06_recommender_baselines",
    ]
    times = lb.run_times(run)
    assert times.loc["04_review_sentiment", "status"] == "skipped"
    assert times.loc["04_review_sentiment", "note"] == "no reviews"
    assert times["duration_s"].tolist() == [12.5, 12.5, 12.5]


def test_purchase_intent_table(run_folder):
    run = lb.read_run(run_folder)
    task = next(t for t in lb.TASKS if t.prefix == "purchase_intent")
    table = lb.leaderboard(run, task)
    # sorted by the headline ROC-AUC; data counts and other metrics (at_3_events) left out
    assert table.index.tolist() == ["oracle", "lightgbm", "logreg"]
    assert table["kind"].tolist() == ["oracle", "model", "baseline"]
    assert table.columns.tolist() == ["kind", "roc_auc", "roc_auc_low", "roc_auc_high", "log_loss"]
    assert table.loc["logreg", "roc_auc_low"] == 0.68
    assert lb.best_model(table, task) == "lightgbm"  # the oracle is not a model


def test_anchors_sit_in_the_msr_table_and_best_per_task(run_folder):
    boards = lb.leaderboards(lb.read_run(run_folder))
    assert set(boards) == {"Purchase intent", "Recommendation: MSR protocol (MovieLens-100K)"}
    task, table = boards["Recommendation: MSR protocol (MovieLens-100K)"]
    assert table.index.tolist()[:3] == ["ease", "BiVAE (published)", "BPR (published)"]
    assert table.loc["BPR (published)", "precision@10"] == 0.388
    best = lb.best_per_task(boards)
    assert best.loc["Recommendation: MSR protocol (MovieLens-100K)", "best"] == "ease"
    assert (
        best.loc["Recommendation: MSR protocol (MovieLens-100K)", "best_baseline"] == "popularity"
    )
    assert best.loc["Purchase intent", "baseline_value"] == 0.70
    html = lb.styled(table, task).to_html()
    assert "font-weight: bold" in html and "font-style: italic" in html


def test_lower_is_better_picks_the_minimum(tmp_path):
    _write(
        tmp_path,
        "11_ab_testing_and_bandits",
        {"bandit/linucb/cumulative_regret": 10.0, "bandit/random/cumulative_regret": 90.0},
    )
    boards = lb.leaderboards(lb.read_run(tmp_path))
    task, table = boards["Bandits"]
    assert table.index.tolist() == ["linucb", "random"] and lb.best_model(table, task) == "linucb"


def test_unreadable_metrics_file_is_named(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "03_query_understanding.json").write_text("{not json")
    with pytest.raises(ValueError, match="03_query_understanding.json"):
        lb.read_run(tmp_path)


def test_movielens_protocol_keys_name_their_data():
    from shopintent.studies import recommender_baselines as rb

    row = {"model": "ease", **{m: 0.5 for m in rb.MSR_METRICS}}
    keys = rb.metrics_dict([], {}, msr_rows=[row]).keys()
    assert {f"movielens-100k/msr_protocol/ease/{m}" for m in rb.MSR_METRICS} == set(keys)
    prefixes = {t.prefix for t in lb.TASKS if t.prefix.endswith("_protocol")}
    assert prefixes == {"movielens-100k/msr_protocol", "movielens-100k/tfrs_protocol"}


def test_notebook_08_fills_both_protocols_tables_apart(tmp_path):
    _write(
        tmp_path,
        "08_sequential_recommender",
        {
            "recs/protocol/leave-last-out-session": 1,
            "recs/vstan/ndcg@10": 0.20,
            "recs/vstan/chosen/k": 100,
            "recs/lstm/ndcg@10": 0.10,
            "recs/session_rec/protocol/session-rec-time-last-7-days": 1,
            "recs/session_rec/data/prefixes": 298,
            "recs/session_rec/vstan/next_item/hr@20": 0.55,
            "recs/session_rec/vstan/next_item/hr@20_low": 0.50,
            "recs/session_rec/vstan/next_item/hr@20_high": 0.60,
            "recs/session_rec/gru4rec/next_item/hr@20": 0.45,
        },
    )
    boards = lb.leaderboards(lb.read_run(tmp_path))
    _, llo = boards["Recommendation: sequential"]
    assert set(llo.index) == {"vstan", "lstm"} and llo.loc["vstan", "kind"] == "baseline"
    _, table = boards["Recommendation: session-rec protocol"]
    measured = table[table["kind"] != "anchor"]
    assert set(measured.index) == {"vstan", "gru4rec"}
    assert measured.loc["vstan", "next_item/hr@20_low"] == 0.50
    assert table.loc["VSTAN (published)", "next_item/hr@20"] == 0.480
    best = lb.best_per_task(boards).loc["Recommendation: session-rec protocol"]
    assert (best["best"], best["best_baseline"]) == ("vstan", "vstan")


def test_notebook_02_stage_gains_and_adapted_gain_reach_the_summary(tmp_path):
    _write(
        tmp_path,
        "02_llm_text_features",
        {
            "search/minilm/recall@10": 0.54,
            "search/minilm_finetuned/recall@10": 0.67,
            "search/minilm_adapted_finetuned/recall@10": 0.66,
            "search/minilm_adapted_finetuned/recall@10_gain": -0.01,
            "search/minilm_adapted_finetuned/recall@10_gain_low": -0.03,
            "search/minilm_adapted_finetuned/recall@10_gain_high": 0.01,
            "search/catalogue/items": 3000,
            "contrastive/shopbert/recall@10_gain": -0.51,
            "contrastive/shopbert/recall@10_gain_low": -0.54,
            "contrastive/shopbert/recall@10_gain_high": -0.48,
            "contrastive/shopbert_contrastive/recall@10_gain": 0.08,
            "contrastive/shopbert_contrastive/pairs": 12000,
            "contrastive/shopbert_contrastive/train_seconds": 350.0,
        },
    )
    boards = lb.leaderboards(lb.read_run(tmp_path))
    _, search = boards["Product search"]
    assert "catalogue" not in search.index
    assert search.loc["minilm_adapted_finetuned", "recall@10_gain_low"] == -0.03
    task, stages = boards["Shop BERT by stage: search gain over frozen MiniLM"]
    assert stages.index.tolist() == ["shopbert_contrastive", "shopbert"]
    assert stages.loc["shopbert", "recall@10_gain_high"] == -0.48
    assert stages.loc["shopbert_contrastive", "pairs"] == 12000
    assert lb.best_model(stages, task) == "shopbert_contrastive"


def test_notebook_02_judged_reranking_is_its_own_table_with_random_order_as_a_baseline(tmp_path):
    _write(
        tmp_path,
        "02_llm_text_features",
        {
            "search/minilm/recall@10": 0.57,
            "rerank/random_order/ndcg@10": 0.918,
            "rerank/tfidf_char/ndcg@10": 0.931,
            "rerank/minilm_finetuned/ndcg@10": 0.936,
            "rerank/minilm_finetuned/ndcg@10_low": 0.93,
            "rerank/minilm_finetuned/ndcg@10_high": 0.942,
        },
    )
    boards = lb.leaderboards(lb.read_run(tmp_path))
    task, table = boards["Judged products re-ranked"]
    assert table.loc["random_order", "kind"] == "baseline"
    assert table.loc["minilm_finetuned", "ndcg@10_low"] == 0.93
    assert lb.best_model(table, task) == "minilm_finetuned"
    _, search = boards["Product search"]
    assert "random_order" not in search.index


def test_query_category_keeps_the_queries_only_tfidf_as_a_baseline(tmp_path):
    _write(
        tmp_path,
        "03_query_understanding",
        {
            "query_category/tfidf_lr_queries_only/top1_accuracy": 0.804,
            "query_category/tfidf_lr/top1_accuracy": 0.960,
            "query_category/minilm_finetuned/top1_accuracy": 0.865,
            "query_category/minilm_tfidf_fusion/top1_accuracy": 0.964,
        },
    )
    boards = lb.leaderboards(lb.read_run(tmp_path))
    task, table = boards["Query category"]
    kinds = table["kind"].to_dict()
    assert kinds["tfidf_lr_queries_only"] == kinds["tfidf_lr"] == "baseline"
    assert kinds["minilm_tfidf_fusion"] == "model"
    best = lb.best_per_task(boards).loc["Query category"]
    assert (best["best"], best["best_baseline"]) == ("minilm_tfidf_fusion", "tfidf_lr")
