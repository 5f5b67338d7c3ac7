"""Notebook 02's settings by profile, the choice of its search task from the data's
capabilities (how much of the shop's text the shop BERT learns from in a smoke run, how many
texts are embedded at most, and the judged-relevance task's sizes, upper bounds), and its
auto-completion study (frequency, shop GPT and their blend, by slice of the query log).

The models' own sizes by profile (shop BERT, shop GPT, the fine-tuned dual encoder) live with
the models (``models.text``), since tests and benchmarks build them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from shopintent.config import DEFAULT_SEED
from shopintent.data.capabilities import Capabilities
from shopintent.models.search import protocols
from shopintent.models.text import autocomplete
from shopintent.studies.settings import StudySettings


@dataclass(frozen=True)
class Settings(StudySettings):
    """``corpus_sample``: texts kept of the pretraining corpus (a seeded sample; None: all);
    ``embed_limit``: a dataset's items, queries and reviews are embedded and saved only when
    they are at most this many texts (None: always; a few minutes per 60k texts); the judged
    task's test and validation queries and catalogue size, each an upper bound (None: every
    product; see ``protocols.judged_task``); ``domain_adaptation``: run the domain-adapted
    MiniLM section. Measured on the default profile (seed 42, 2-core AMD EPYC shared with other
    jobs, all six blocks adapted then): 299 CPU-s of the synthetic shop's 1,132 (213 s of
    1,478 s wall) and 458 of Home Depot's 1,563 (434 s of 1,496 s wall), for no gain on the
    synthetic shop and a loss on Home Depot; adapting the top two blocks (now) costs less and
    loses less, still no gain (notebook 02 states both). Off on smoke (CI's critical path) and
    default: on a 2-core VM ~2.8x slower, Home Depot's notebook would need ~2,190 s with it and
    ~1,550 s without (CPU-s x 2.8 on two full cores, an estimate), against the runner's 1,800 s;
    on for full."""

    corpus_sample: int | None
    embed_limit: int | None
    judged_test: int
    judged_validation: int
    judged_items: int | None
    domain_adaptation: bool

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        # seconds, not minutes: a seeded sample of the shop's text
        "smoke": {
            "corpus_sample": 5_000,
            "embed_limit": 20_000,
            "judged_test": 100,
            "judged_validation": 50,
            "judged_items": 1_500,
            "domain_adaptation": False,  # ~170 s of CPU on CI's critical path, mostly tracing
        },
        "default": {
            "corpus_sample": None,
            "embed_limit": None,
            "judged_test": 500,
            "judged_validation": 250,
            "judged_items": 10_000,
            "domain_adaptation": False,  # measured cost and gain: see the docstring
        },
        "full": {
            "corpus_sample": None,
            "embed_limit": None,
            "judged_test": 2_000,
            "judged_validation": 500,
            "judged_items": None,
            "domain_adaptation": True,
        },
    }

    @property
    def judged_sizes(self) -> dict:
        """Keyword arguments of ``models.search.protocols.judged_task``."""
        return {
            "n_test": self.judged_test,
            "n_validation": self.judged_validation,
            "n_items": self.judged_items,
        }


#: What each search protocol needs: judged relevance, or (last search, purchased item) pairs.
JUDGED = ("queries", "judgements", "titles")
PURCHASED = ("queries", "searches", "purchases", "timestamps", "titles")


def search_task(
    shop, caps: Capabilities, settings: Settings, seed: int
) -> tuple[protocols.SearchTask | None, pd.Timestamp | None, str | None]:
    """``(task, until, None)``, or ``(None, None, reason)`` when the data can serve no search task.

    Judged relevance wins where the data has judgements (``protocols.judged_task``, random
    query split, so ``until`` is None); else a log with searches before purchases gives the
    (last search, purchased item) task split by time (``protocols.synthetic_task``; ``until``:
    the start of its validation period, which bounds the text the models may learn from).
    """
    if caps.has(*JUDGED):
        try:
            return protocols.judged_task(shop, seed=seed, **settings.judged_sizes), None, None
        except ValueError as e:
            return None, None, str(e)
    if caps.has(*PURCHASED):
        try:
            task = protocols.synthetic_task(shop)
        except ValueError as e:
            return None, None, str(e).replace("synthetic:", f"{caps.dataset}:", 1)
        return task, pd.Timestamp(task.meta["validation_from"]), None
    return (
        None,
        None,
        f"{caps.dataset}: product search needs queries with a known answer — relevance "
        f"judgements ({caps.missing(*JUDGED)}) or searches followed by a purchase "
        f"({caps.missing(*PURCHASED)})",
    )


def embedding_note(shop, settings: Settings, profile: str) -> str | None:
    """Why this dataset's texts are not embedded in this profile, or None to embed them."""
    n = len(shop.items) + len(shop.queries) + len(shop.reviews)
    if settings.embed_limit is None or n <= settings.embed_limit:
        return None
    return (
        f"{profile} profile: {n:,} texts are not embedded (more than {settings.embed_limit:,}; "
        "a few minutes); the default profile does"
    )


@dataclass
class Autocompletion:
    """Notebook 02's auto-completion results: the slice table, the blend's validation MRR@5
    by frequency share, the chosen share, and the trained shop GPT (``ShopGptResult``)."""

    table: pd.DataFrame
    shares: dict[float, float]
    share: float
    gpt: object


def autocompletion(
    split, titles, profile: str, seed: int, n_boot: int = 1000, k: int = 5
) -> Autocompletion:
    """Train the shop GPT on ``split.train`` searches (and item titles; ``split.val`` picks its
    epoch), fit prefix frequency on the same searches, choose the blend's share on
    ``split.val``, and score all three on ``split.test`` by slice (``autocomplete.slices``)."""
    from shopintent.models.text import shop_gpt

    gpt = shop_gpt.train_shop_gpt(
        split.train["text"], titles, profile=profile, seed=seed, val_queries=split.val["text"]
    )
    frequency = autocomplete.PrefixFrequency().fit(split.train["text"])
    lm = autocomplete.Memo(gpt.model)  # one beam search per prefix, for the GPT and the blend
    blend = autocomplete.BlendCompleter(frequency, lm)
    shares = blend.choose_share(split.val["text"].tolist(), k=k)
    test = split.test["text"].tolist()
    ranks = {
        name: autocomplete.reciprocal_ranks(model, test, k=k)
        for name, model in (("prefix_frequency", frequency), ("shopgpt", lm), ("blend", blend))
    }
    cuts = autocomplete.slices(test, split.train["text"])
    table = autocomplete.slice_table(ranks, cuts, k=k, n_boot=n_boot, seed=seed)
    return Autocompletion(table, shares, blend.share, gpt)


def autocompletion_verdict(table: pd.DataFrame, k: int = 5) -> str:
    """One line per model and slice: its MRR@k gain over prefix frequency with the interval,
    and whether it wins, loses or ties (the interval above, below or across 0)."""
    gain, lines = f"mrr@{k}_gain", []
    for _, row in table[table["model"] != "prefix_frequency"].iterrows():
        if pd.isna(row.get(gain)):
            continue
        low, high = row[f"{gain}_low"], row[f"{gain}_high"]
        verdict = "wins" if low > 0 else "loses" if high < 0 else "no difference"
        interval = f"{row[gain]:+.4f} [{low:+.4f}, {high:+.4f}]"
        lines.append(
            f"{row['model']} vs prefix frequency, {row['slice']} ({row['searches']:,} searches): "
            f"MRR@{k} {interval} {verdict}"
        )
    return "\n".join(lines)


def autocompletion_metrics(table: pd.DataFrame, k: int = 5) -> dict:
    """``autocomplete/<model>/mrr@k`` (all searches) and ``autocomplete_<slice>/<model>/...``:
    MRR@k, hit@k with intervals, and ``mrr@k_gain`` (paired difference to prefix frequency)."""
    out = {}
    for _, row in table.iterrows():
        task = "autocomplete" if row["slice"] == "all" else f"autocomplete_{row['slice']}"
        for col, value in row.drop(["slice", "model", "searches"]).items():
            if pd.notna(value):
                out[f"{task}/{row['model']}/{col}"] = float(value)
    return out


def search_metrics(summary: pd.DataFrame) -> dict:
    """``search/<model>/<metric>`` with ``_low``/``_high`` for each row of a
    ``protocols.summarise`` table; its ``rerank_ndcg@10`` rows (datasets with judgements: each
    query's judged products re-ordered) become ``rerank/<model>/ndcg@10``."""
    out = {}
    for row in summary.itertuples():
        rerank = row.metric == "rerank_ndcg@10"
        task, metric = ("rerank", "ndcg@10") if rerank else ("search", row.metric)
        for stat, suffix in (("mean", ""), ("low", "_low"), ("high", "_high")):
            out[f"{task}/{row.model}/{metric}{suffix}"] = float(getattr(row, stat))
    return out


def _with_interval(key: str, d) -> dict:
    """``key`` and ``key_low`` / ``key_high`` from a point estimate with its interval."""
    return {key: float(d.point), f"{key}_low": float(d.low), f"{key}_high": float(d.high)}


#: the shop BERT's stages in notebook 02's search tables: masked-LM only, then contrastive
STAGES = ("shopbert", "shopbert_contrastive")


def stage_metrics(per_query: dict, n_boot: int = 1000, seed: int = DEFAULT_SEED) -> dict:
    """``contrastive/<stage>/<metric>_gain`` (with ``_low``/``_high``): each shop BERT stage's
    Recall@10 and NDCG@10 minus the frozen MiniLM's on the same test queries (paired bootstrap
    over queries); ``per_query``: model name -> its per-query table (``compare_search_models``)."""
    out = {}
    for stage in STAGES:
        for metric in ("recall@10", "ndcg@10"):
            d = protocols.paired_difference(
                per_query[stage], per_query["minilm"], metric, n_boot, seed
            )
            out.update(_with_interval(f"contrastive/{stage}/{metric}_gain", d))
    return out


#: the adapted-then-fine-tuned MiniLM's name in the search tables and metric keys
ADAPTED = "minilm_adapted_finetuned"


@dataclass
class AdaptedSearch:
    """Domain-adaptive pretraining's effect on search: the adaptation (``domain_adapt``), the
    dual encoder fine-tuned from it, its test per-query metrics, and its Recall@10 / NDCG@10
    minus the plainly fine-tuned MiniLM's on the same test queries (paired bootstrap)."""

    adaptation: object
    finetuned: object
    per_query: pd.DataFrame
    summary: pd.DataFrame
    gains: dict


def finetuned_search(encoder, task, profile: str, seed: int) -> tuple[object, pd.DataFrame]:
    """``(fine-tune result, per-query table)``: ``encoder`` fine-tuned as notebook 02's dual
    encoder (``finetune_dual_encoder`` on the task's training pairs, validation picks the epoch)
    and scored once on the task's test queries over the whole catalogue."""
    from shopintent.models.search.retrievers import DenseRetriever
    from shopintent.models.text.dual_encoder import finetune_dual_encoder

    tuned = finetune_dual_encoder(
        encoder, task.train_pairs, task.pairs("validation"), profile=profile, seed=seed
    )
    retriever = DenseRetriever(tuned.encoder)
    retriever.fit(task.item_ids, task.item_texts)
    return tuned, protocols.evaluate_search(retriever, task.test, 10)


def held_out_texts(task) -> set[str]:
    """The task's validation and test queries, folded (``protocols.fold_query``): no training
    corpus or training pair may hold one."""
    return {protocols.fold_query(q) for q in task.validation.texts + task.test.texts}


def pretraining_corpus(shop, task, until, settings: Settings, seed: int) -> pd.DataFrame:
    """The shop's text the language models may learn from (``corpus.shop_corpus`` up to
    ``until``) without the task's held-out queries, as a seeded sample of
    ``settings.corpus_sample`` texts where that is set."""
    from shopintent.features.text import corpus as text_corpus

    corpus = text_corpus.shop_corpus(shop, until=until)
    corpus = corpus[~corpus["text"].map(protocols.fold_query).isin(held_out_texts(task))]
    if settings.corpus_sample is not None:  # seconds, not minutes: a seeded sample
        corpus = corpus.sample(n=min(len(corpus), settings.corpus_sample), random_state=seed)
    return corpus


def adapted_search(
    minilm,
    corpus_train,
    corpus_heldout,
    task,
    finetuned_per_query: pd.DataFrame,
    profile: str,
    seed: int,
    n_boot: int = 1000,
    **adapt,
) -> AdaptedSearch:
    """Continue MiniLM's masked-LM on ``corpus_train`` (the shop's text without validation or test
    queries; ``adapt`` overrides ``domain_adapt.adapt_config`` fields), fine-tune the adapted copy
    exactly as the plain one (``finetuned_search``), score it once on the test queries and compare
    it query by query with ``finetuned_per_query`` (the plain fine-tune's)."""
    from shopintent.models.text import domain_adapt

    adaptation = domain_adapt.adapt_minilm(
        minilm, corpus_train, corpus_heldout, profile=profile, seed=seed, **adapt
    )
    tuned, per = finetuned_search(adaptation.encoder, task, profile, seed)
    gains = {
        metric: protocols.paired_difference(per, finetuned_per_query, metric, n_boot, seed)
        for metric in ("recall@10", "ndcg@10")
    }
    summary = protocols.summarise({ADAPTED: per}, n_boot=n_boot, seed=seed)
    return AdaptedSearch(adaptation, tuned, per, summary, gains)


def adapted_metrics(result: AdaptedSearch) -> dict:
    """``search/minilm_adapted_finetuned/<metric>`` with intervals, its paired gain over the
    plain fine-tune (``<metric>_gain``), and ``mlm_minilm/<model>/...``: MiniLM's held-out
    masked-LM before (its own weights, head trained alone) and after adaptation, next to the
    unigram baseline on MiniLM's vocabulary, with the adaptation's budget."""
    out = search_metrics(result.summary)
    for metric, d in result.gains.items():
        out.update(_with_interval(f"search/{ADAPTED}/{metric}_gain", d))
    m = result.adaptation.metrics
    out.update(
        {
            "mlm_minilm/minilm_adapted/masked_accuracy": m["heldout_masked_accuracy"],
            "mlm_minilm/minilm_adapted/perplexity": m["heldout_perplexity"],
            "mlm_minilm/minilm/masked_accuracy": m["before_masked_accuracy"],
            "mlm_minilm/minilm/perplexity": m["before_perplexity"],
            "mlm_minilm/unigram/masked_accuracy": m["unigram_masked_accuracy"],
            "mlm_minilm/unigram/perplexity": m["unigram_perplexity"],
            "mlm_minilm/minilm_adapted/steps": m["steps"],
            "mlm_minilm/minilm_adapted/corpus_passes": m["corpus_passes"],
            "mlm_minilm/minilm_adapted/train_seconds": m["train_seconds"],
            f"search/{ADAPTED}/train_seconds": m["train_seconds"] + result.finetuned.train_seconds,
        }
    )
    return out


__all__ = [
    "ADAPTED",
    "JUDGED",
    "AdaptedSearch",
    "adapted_metrics",
    "adapted_search",
    "PURCHASED",
    "STAGES",
    "Autocompletion",
    "Settings",
    "autocompletion",
    "autocompletion_metrics",
    "autocompletion_verdict",
    "embedding_note",
    "finetuned_search",
    "held_out_texts",
    "pretraining_corpus",
    "search_metrics",
    "search_task",
    "stage_metrics",
]
