"""Leaderboards of one run: every notebook's recorded metrics turned into per-task tables.

A run folder (``reports/<dataset>-<profile>/``) holds one ``metrics/<notebook>.json`` per
notebook with flat ``task/model/metric`` keys (see ``reporting.check_metrics``); an interval
is stored next to its metric as ``<metric>_low`` / ``<metric>_high``. Each ``Task`` below
names the notebook and key prefix it reads, its metrics (the first is the headline, used to
pick the best model), which rows are baselines, and the published anchors that belong in the
same table — each anchor with its protocol, because a number is only comparable under it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

KINDS = ("model", "baseline", "oracle", "anchor")


@dataclass(frozen=True)
class Anchor:
    """A published number to read a row against: who, under which protocol, where."""

    name: str
    values: dict[str, float]
    source: str


@dataclass(frozen=True)
class Task:
    title: str
    notebook: str  # the notebook's two-digit number
    prefix: str  # first part of the metric keys (``movielens-100k/msr_protocol``: data named)
    metrics: tuple[str, ...]
    baselines: frozenset[str] = frozenset()
    lower_is_better: frozenset[str] = frozenset()
    anchors: tuple[Anchor, ...] = ()
    protocol: str = ""
    oracle: str = "oracle"
    exclude: frozenset[str] = field(default=frozenset())  # models not shown (e.g. data counts)


_MSR = "Microsoft Recommenders benchmark, MovieLens-100K, stratified 75/25 per user, k=10"
_TFRS = "TensorFlow Recommenders tutorials, MovieLens-100K, random 80/20, seen items kept"
_REC_BASELINES = frozenset({"popularity", "recent_popularity", "item_knn"})
_REC_METRICS = ("ndcg@10", "recall@20", "mrr@20", "coverage", "longtail_recall@20")
#: notebook 08's session baselines (sequential rules, the session-kNN family)
_SESSION_BASELINES = frozenset({"sr", "sknn", "vsknn", "stan", "vstan"})
_SR = (
    "Ludewig et al. 2021 (session-rec), DIGINETICA full data, sliding window, HR@20 / MRR@20: "
    "comparable in protocol, not in data (a sample here)"
)

TASKS: tuple[Task, ...] = (
    Task(
        "Product search",
        "02",
        "search",
        ("recall@10", "ndcg@10", "recall@10_gain", "ndcg@10_gain"),
        frozenset({"tfidf_word", "tfidf_char"}),
        protocol="full-catalogue retrieval of held-out queries' relevant products; gain: the "
        "domain-adapted fine-tuned MiniLM minus the plainly fine-tuned one, paired over queries",
        exclude=frozenset({"catalogue", "test"}),
    ),
    Task(
        "Judged products re-ranked",
        "02",
        "rerank",
        ("ndcg@10",),
        frozenset({"random_order", "tfidf_word", "tfidf_char"}),
        protocol="each held-out query's judged products (only those) ordered by the model, NDCG@10 "
        "with graded gain relevance - 1; random_order: the expected NDCG@10 of a random order",
    ),
    Task(
        "Shop BERT by stage: search gain over frozen MiniLM",
        "02",
        "contrastive",
        ("recall@10_gain", "ndcg@10_gain", "pairs", "train_seconds"),
        protocol="paired difference to the frozen MiniLM on the same held-out search queries "
        "(bootstrap over queries): the shop BERT after masked-LM (shopbert) and after its "
        "contrastive stage (shopbert_contrastive); pairs and seconds: that stage's budget",
    ),
    Task(
        "Query auto-completion",
        "02",
        "autocomplete",
        ("mrr@5", "hit@5", "mrr@5_gain"),
        frozenset({"prefix_frequency"}),
        protocol="held-out later queries, MRR@5 of the true query among 5 completions; gain: "
        "paired difference to prefix frequency",
    ),
    Task(
        "Query auto-completion, prefixes no past query starts with",
        "02",
        "autocomplete_unseen_prefix",
        ("mrr@5", "hit@5", "mrr@5_gain"),
        frozenset({"prefix_frequency"}),
        protocol="as above, the later searches whose typed prefix starts no training query",
    ),
    Task(
        "Query auto-completion, tail queries",
        "02",
        "autocomplete_tail",
        ("mrr@5", "hit@5", "mrr@5_gain"),
        frozenset({"prefix_frequency"}),
        protocol="as above, the later searches of queries searched 1-4 times in training",
    ),
    Task(
        "Shop BERT masked-LM",
        "02",
        "mlm",
        ("masked_accuracy", "perplexity", "steps", "corpus_passes", "train_seconds"),
        frozenset({"unigram"}),
        lower_is_better=frozenset({"perplexity"}),
        protocol="held-out shop text, the model and the unigram baseline on the same masked "
        "word pieces; steps, passes over the training corpus and seconds: its training budget",
    ),
    Task(
        "MiniLM domain-adaptive masked-LM",
        "02",
        "mlm_minilm",
        ("masked_accuracy", "perplexity", "steps", "corpus_passes", "train_seconds"),
        frozenset({"unigram"}),
        lower_is_better=frozenset({"perplexity"}),
        protocol="held-out shop text on MiniLM's own vocabulary: MiniLM before (its weights, the "
        "new masked-LM head trained alone) and after continued masked-LM, the unigram baseline "
        "on the same masked word pieces",
    ),
    Task(
        "Query intent",
        "03",
        "intent",
        ("macro_f1", "accuracy"),
        frozenset({"majority", "tfidf_lr"}),
        protocol="held-out queries, macro-F1 over intents",
    ),
    Task(
        "Query category",
        "03",
        "query_category",
        ("top1_accuracy", "top3_accuracy"),
        frozenset({"majority", "tfidf_lr", "tfidf_lr_queries_only"}),
        protocol="held-out queries; models learn from the training queries and the catalogue's "
        "names (tfidf_lr_queries_only: from the queries alone)",
    ),
    Task(
        "Query entities",
        "03",
        "entities",
        ("f1", "f1_typo", "precision", "recall"),
        frozenset({"gazetteer"}),
        protocol="exact-span entity F1 on held-out queries",
    ),
    Task(
        "Review sentiment",
        "04",
        "sentiment",
        ("macro_f1", "roc_auc_negative"),
        frozenset({"majority", "tfidf_lr"}),
        protocol="held-out reviews, 3 classes",
    ),
    Task(
        "Purchase intent",
        "05",
        "purchase_intent",
        ("roc_auc", "pr_auc", "log_loss", "ece"),
        frozenset({"logreg"}),
        lower_is_better=frozenset({"log_loss", "ece"}),
        exclude=frozenset({"data"}),
        protocol="whole sessions of a later period, temporal split",
    ),
    Task(
        "Recommendation: baselines and factorisation",
        "06",
        "recs",
        _REC_METRICS,
        _REC_BASELINES,
        protocol="temporal split, full-catalogue ranking, seen items removed",
    ),
    Task(
        "Recommendation: MSR protocol (MovieLens-100K)",
        "06",
        "movielens-100k/msr_protocol",
        ("ndcg@10", "precision@10", "recall@10", "map@10"),
        frozenset({"popularity"}),
        protocol=_MSR,
        anchors=(
            Anchor("BiVAE (published)", {"ndcg@10": 0.475}, _MSR),
            Anchor(
                "BPR (published)",
                {"ndcg@10": 0.442, "precision@10": 0.388, "recall@10": 0.213, "map@10": 0.133},
                _MSR,
            ),
            Anchor("NCF (published)", {"ndcg@10": 0.396}, _MSR),
            Anchor("SAR (published)", {"ndcg@10": 0.383}, _MSR),
        ),
    ),
    Task(
        "Recommendation: two-tower retrieval",
        "07",
        "recs",
        (*_REC_METRICS, "cold_item_recall@50"),
        _REC_BASELINES | {"ease"},
        protocol="temporal split, full-catalogue ranking, seen items removed",
    ),
    Task(
        "Recommendation: TFRS protocol (MovieLens-100K)",
        "07",
        "movielens-100k/tfrs_protocol",
        ("top100_accuracy", "top100_accuracy_seen_removed"),
        frozenset({"popularity"}),
        protocol=_TFRS,
        anchors=(
            Anchor("TFRS basic retrieval (published)", {"top100_accuracy": 0.23}, _TFRS),
            Anchor(
                "TFRS deep retrieval with features (published)", {"top100_accuracy": 0.29}, _TFRS
            ),
        ),
    ),
    Task(
        "Recommendation: sequential",
        "08",
        "recs",
        _REC_METRICS,
        _REC_BASELINES | _SESSION_BASELINES,
        protocol="leave-last-out next item, full-catalogue ranking",
    ),
    Task(
        "Recommendation: session-rec protocol",
        "08",
        "recs/session_rec",
        ("next_item/hr@20", "next_item/mrr@20", "all_subsequent/recall@20"),
        _REC_BASELINES | _SESSION_BASELINES,
        protocol="session-rec: sessions split by time, every next click of a test session",
        exclude=frozenset({"data", "protocol"}),
        anchors=tuple(
            Anchor(f"{name} (published)", {"next_item/hr@20": hr, "next_item/mrr@20": mrr}, _SR)
            for name, hr, mrr in (
                ("VSTAN", 0.480, 0.184),
                ("STAN", 0.480, 0.183),
                ("SKNN", 0.475, 0.171),
                ("V-SKNN", 0.473, 0.178),
                ("GRU4Rec", 0.464, 0.164),
                ("NARM", 0.419, 0.139),
            )
        ),
    ),
    Task(
        "Recommendation: knowledge graph",
        "09",
        "recs",
        _REC_METRICS,
        _REC_BASELINES,
        protocol="temporal split, full-catalogue ranking, seen items removed",
    ),
    Task(
        "Bandits",
        "11",
        "bandit",
        ("cumulative_regret",),
        frozenset({"random"}),
        lower_is_better=frozenset({"cumulative_regret"}),
        protocol="online against the synthetic shop's simulator",
    ),
    Task(
        "Recommendation: generative (semantic IDs)",
        "13",
        "recs",
        ("recall@20", "ndcg@10", "mrr@20", "cold_item_recall@20", "coverage"),
        _REC_BASELINES,
        protocol="leave-last-out next item, full catalogue, the sequence's own items never listed",
        exclude=frozenset({"data", "protocol"}),
    ),
    Task(
        "Price elasticity",
        "14",
        "pricing",
        ("share_within_10pct", "coverage", "mean_abs_relative_error"),
        frozenset({"naive", "randomised"}),
        lower_is_better=frozenset({"mean_abs_relative_error"}),
        protocol="per category against the synthetic shop's true elasticity (±10%, 95% intervals)",
        exclude=frozenset({"sim", "truth"}),
    ),
    Task(
        "Campaign uplift: purchases",
        "15",
        "uplift/purchase",
        ("share_of_oracle_qini", "qini", "incremental_share"),
        frozenset({"response", "random"}),
        protocol="out-of-fold scores (5 folds); Qini share of the oracle's from the true uplift",
        exclude=frozenset({"policy"}),
    ),
    Task(
        "Campaign uplift: Hillstrom visits",
        "15",
        "hillstrom/uplift/visit",
        ("incremental_share", "qini", "uplift_at_k"),
        frozenset({"response", "random"}),
        protocol="Hillstrom e-mail test (any e-mail vs none), 2-fold cross-fitted, top 30%",
    ),
    Task(
        "Advertising: click-through rate (synthetic shop)",
        "16",
        "ads/synthetic",
        ("roc_auc", "log_loss", "ece"),
        frozenset({"logreg_hashed"}),
        lower_is_better=frozenset({"log_loss", "ece"}),
        protocol="later requests' shown ads at their logged positions, temporal split",
    ),
    Task(
        "Advertising: the auction (synthetic shop)",
        "16",
        "ads/auction",
        ("revenue_share", "clicks_share", "relevance"),
        frozenset({"bid_only", "logreg_hashed"}),
        protocol="GSP auction over later requests' candidates, simulated with the true click model",
    ),
    Task(
        "Advertising: click-through rate (Avazu sample)",
        "16",
        "ads/avazu",
        ("roc_auc", "log_loss"),
        frozenset({"logreg_hashed"}),
        lower_is_better=frozenset({"log_loss"}),
        protocol="one hour of Avazu (9,999 rows), seeded random 70/10/20 split",
    ),
    Task(
        "Customer service: intent routing",
        "17",
        "service/routing",
        ("macro_f1", "accuracy"),
        frozenset({"majority", "tfidf_lr"}),
        protocol="held-out messages, near-duplicates grouped, all training data, 27 intents",
    ),
    Task(
        "Customer service: routing with 10 examples per intent",
        "17",
        "service/routing_at_10",
        ("macro_f1", "accuracy"),
        frozenset({"majority", "tfidf_lr"}),
        protocol="held-out messages, near-duplicates grouped, 10 training messages per intent",
    ),
    Task(
        "Customer service: answer retrieval",
        "17",
        "service/answers",
        ("recall@1", "recall@5", "mrr", "intent_hit@1"),
        frozenset({"tfidf"}),
        protocol="held-out messages, their own response ranked among all distinct responses",
    ),
)


@dataclass(frozen=True)
class RunMetrics:
    """What one run recorded: ``notebooks`` maps each notebook stem to its metrics JSON."""

    folder: Path
    notebooks: dict[str, dict]

    def find(self, number: str) -> dict | None:
        for stem, payload in self.notebooks.items():
            if stem[:2] == number:
                return payload
        return None


def read_run(folder: str | Path, exclude: tuple[str, ...] = ()) -> RunMetrics:
    """Every ``metrics/*.json`` of a run folder; a file that cannot be read raises, naming it."""
    folder = Path(folder)
    notebooks = {}
    for path in sorted((folder / "metrics").glob("*.json")):
        if path.stem in exclude:
            continue
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: not a readable metrics JSON ({err})") from err
        if not isinstance(payload, dict) or "status" not in payload:
            raise ValueError(
                f"{path}: expected a metrics JSON written by run.record "
                "(with 'status' and 'metrics')"
            )
        notebooks[path.stem] = payload
    return RunMetrics(folder, notebooks)


def run_times(run: RunMetrics) -> pd.DataFrame:
    """One row per notebook: status, its own recorded duration (from start_notebook to record)
    and the skip reason if any."""
    rows = [
        {
            "notebook": stem,
            "status": p.get("status"),
            "duration_s": p.get("duration_s"),
            "metrics": len(p.get("metrics", {})),
            "note": p.get("reason", ""),
        }
        for stem, p in run.notebooks.items()
    ]
    return pd.DataFrame(
        rows, columns=["notebook", "status", "duration_s", "metrics", "note"]
    ).set_index("notebook")


def _kind(task: Task, model: str) -> str:
    if model == task.oracle:
        return "oracle"
    return "baseline" if model in task.baselines else "model"


def leaderboard(run: RunMetrics, task: Task) -> pd.DataFrame | None:
    """Models as rows, the task's metrics as columns (with ``<metric>_low/_high`` where
    recorded), plus ``kind`` and the anchors' rows; None when the run has no such metrics."""
    payload = run.find(task.notebook)
    if not payload or payload.get("status") != "passed":
        return None
    pattern = re.compile(rf"^{re.escape(task.prefix)}/([^/]+)/(.+)$")
    cells: dict[str, dict[str, float]] = {}
    for key, value in payload.get("metrics", {}).items():
        m = pattern.match(key)
        if not m or m.group(1) in task.exclude:
            continue
        model, metric = m.groups()
        base = (
            metric[:-4]
            if metric.endswith("_low")
            else metric[:-5]
            if metric.endswith("_high")
            else metric
        )
        if base in task.metrics:
            cells.setdefault(model, {})[metric] = value
    cells = {
        model: values for model, values in cells.items() if any(k in values for k in task.metrics)
    }
    if not cells:
        return None
    table = pd.DataFrame.from_dict(cells, orient="index")
    table.insert(0, "kind", [_kind(task, m) for m in table.index])
    for anchor in task.anchors:
        table.loc[anchor.name] = {"kind": "anchor", **anchor.values}
    columns = ["kind"] + [
        c
        for metric in task.metrics
        for c in (metric, f"{metric}_low", f"{metric}_high")
        if c in table
    ]
    table = table[columns]
    head = (
        task.metrics[0] if task.metrics[0] in table else next(m for m in task.metrics if m in table)
    )
    table = table.sort_values(head, ascending=head in task.lower_is_better, na_position="last")
    table.index.name = "model"
    return table


def best_model(table: pd.DataFrame, task: Task) -> str | None:
    """The best measured row (not an anchor, not the oracle) on the task's headline metric."""
    head = next((m for m in task.metrics if m in table), None)
    rows = (
        table[(table["kind"].isin(["model", "baseline"])) & table[head].notna()]
        if head
        else table.iloc[:0]
    )
    if rows.empty:
        return None
    return str(rows[head].idxmin() if head in task.lower_is_better else rows[head].idxmax())


def leaderboards(
    run: RunMetrics, tasks: tuple[Task, ...] = TASKS
) -> dict[str, tuple[Task, pd.DataFrame]]:
    """Every task the run has metrics for: title -> (task, table)."""
    out = {}
    for task in tasks:
        table = leaderboard(run, task)
        if table is not None:
            out[task.title] = (task, table)
    return out


def best_per_task(boards: dict[str, tuple[Task, pd.DataFrame]]) -> pd.DataFrame:
    """One row per task: the best model, its headline metric and value, the best baseline's."""
    rows = []
    for title, (task, table) in boards.items():
        head = next(m for m in task.metrics if m in table)
        best = best_model(table, task)
        baselines = table[(table["kind"] == "baseline") & table[head].notna()]
        base = (
            (baselines[head].idxmin() if head in task.lower_is_better else baselines[head].idxmax())
            if len(baselines)
            else None
        )
        rows.append(
            {
                "task": title,
                "metric": head,
                "best": best,
                "value": table.loc[best, head] if best else math.nan,
                "best_baseline": base,
                "baseline_value": table.loc[base, head] if base else math.nan,
                "protocol": task.protocol,
            }
        )
    return pd.DataFrame(rows).set_index("task")


def styled(table: pd.DataFrame, task: Task):
    """The table for HTML: 4 decimals, the best measured row in bold, anchors in italics."""
    best = best_model(table, task)

    def row_style(row):
        if row.name == best:
            return ["font-weight: bold; background-color: #e8f5e9"] * len(row)
        if row["kind"] == "anchor":
            return ["font-style: italic; color: #555"] * len(row)
        return [""] * len(row)

    numeric = [c for c in table.columns if c != "kind"]
    return table.style.apply(row_style, axis=1).format("{:.4f}", subset=numeric, na_rep="")
