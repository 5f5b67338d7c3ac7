"""Notebook 17's steps: customer-service messages routed to an intent and answered with the
right agent response.

Where the messages come from: the run's dataset when it holds a ``support_messages`` table,
else the support-message file at the notebook's ``SUPPORT_SOURCE`` (by default the Bitext
sample under ``../shared/data``), read as a fixed real dataset and named as such (as notebook
06 reads MovieLens-100K whatever the run's dataset); with neither, the notebook skips and says
why. The synthetic shop writes no messages.

The split is ``text-grouped-stratified`` on a near-duplicate key (``normalise.
near_duplicate_key``: normalised text with digits and punctuation folded), so a message and
its copy with another order number never sit on both sides; ``check_split`` fails the notebook
otherwise. Metric keys: ``service/routing/<model>/...`` (all training data),
``service/routing_at_<n>/<model>/...`` (n examples per intent), ``service/answers/<model>/...``
and ``service/data/...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED
from shopintent.data.sources.support import support_capabilities
from shopintent.evaluation.leakage import check_text_split
from shopintent.models.service import answers, routing
from shopintent.normalise import near_duplicate_key, normalise_text
from shopintent.studies.settings import StudySettings

TABLE = "support_messages"


@dataclass(frozen=True)
class Settings(StudySettings):
    """``max_messages``: a seeded stratified sample of the messages (None: all);
    ``curve``: examples per intent of the learning curve (None: all training messages);
    ``finetune_at``: the curve's points where MiniLM is also fine-tuned; ``finetune``:
    ``text.finetune`` overrides for all data, ``finetune_few`` for a few per intent;
    ``dual_encoder``: ``text.dual_encoder`` overrides (None: not trained); ``max_length``:
    word pieces of the frozen MiniLM (a response's opening; messages are shorter)."""

    max_messages: int | None
    curve: tuple
    finetune_at: tuple
    finetune: dict
    finetune_few: dict
    dual_encoder: dict | None
    max_length: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {  # CI's budget (45 s) has no room for fine-tuning: frozen MiniLM only
            "max_messages": 405,
            "curve": (5, None),
            "finetune_at": (),
            "finetune": {},
            "finetune_few": {},
            "dual_encoder": None,
            "max_length": 32,
        },
        "default": {  # measured budget: see the notebook's introduction
            "max_messages": None,
            "curve": (5, 10, 20, 50, None),
            "finetune_at": (10, None),
            "finetune": {"epochs": 1, "max_train": 4_000, "max_validation": 300},
            "finetune_few": {"epochs": 5, "max_validation": 300},
            # one pass over 2,000 pairs: the second epoch moved the validation loss 0.586 ->
            # 0.558 for another ~110 s
            "dual_encoder": {"epochs": 1, "max_pairs": 2_000, "max_validation_pairs": 256},
            "max_length": 32,
        },
        "full": {
            "max_messages": None,
            "curve": (5, 10, 20, 50, 100, None),
            "finetune_at": (5, 10, 20, 50, None),
            "finetune": {"epochs": 4, "max_train": 10_000},
            "finetune_few": {"epochs": 8},
            "dual_encoder": {"epochs": 3, "max_pairs": 10_000},
            "max_length": 128,
        },
    }


def support_messages(shop, source: str | Path | None) -> tuple[pd.DataFrame | None, str]:
    """(messages, where they came from): the run's dataset's ``support_messages`` table, else
    the file or folder at ``source`` (relative paths from the repository root) read with the
    ``support-messages`` layout, else (None, why not)."""
    from shopintent.config import PROJECT_ROOT
    from shopintent.data.sources import support

    own = getattr(shop, "extras", {}).get(TABLE) if shop is not None else None
    if own is not None and len(own):
        return own, "the run's own dataset"
    if not source:
        return None, "the dataset has no support messages and SUPPORT_SOURCE is empty"
    path = (Path(source) if Path(source).is_absolute() else PROJECT_ROOT / source).resolve()
    if not path.exists():
        return None, (
            f"the dataset has no support messages and SUPPORT_SOURCE={source} does not exist "
            f"({path})"
        )
    return support.load(path), f"a fixed real dataset read from {path} (not the run's dataset)"


def prepare(messages: pd.DataFrame, max_messages: int | None, seed: int = DEFAULT_SEED):
    """Messages with their near-duplicate ``group`` key, sampled (seeded, stratified by intent)
    to at most ``max_messages``."""
    table = messages.assign(group=near_duplicate_key(messages["text"]))
    if max_messages and len(table) > max_messages:
        from sklearn.model_selection import train_test_split

        table, _ = train_test_split(
            table, train_size=max_messages, random_state=seed, stratify=table["intent"]
        )
    return table.reset_index(drop=True)


def duplicates(table: pd.DataFrame) -> dict[str, int]:
    """How many messages repeat another: exactly (after ``normalise_text``) and as a near
    duplicate (same ``group`` key), and how many groups the split keeps together."""
    exact = normalise_text(table["text"])
    group = table["group"]
    return {
        "messages": len(table),
        "distinct_texts": int(exact.nunique()),
        "exact_repeated": int(exact.duplicated(keep=False).sum()),
        "groups": int(group.nunique()),
        "near_repeated": int(group.duplicated(keep=False).sum()),
        "largest_group": int(group.value_counts().max()),
    }


def split(table: pd.DataFrame, seed: int = DEFAULT_SEED, test_frac=0.2, val_frac=0.1):
    """Train / validation / test, intents stratified, every near-duplicate group in one part."""
    from shopintent.data.splits import text_grouped_split

    return text_grouped_split(
        table, test_frac, val_frac, seed, col_text="group", col_label="intent"
    )


def check_split(sp) -> str:
    """Raise ``TextSplitLeak`` if a later part holds a text or near-duplicate key of an earlier
    part; else the line saying so."""
    parts = {"train": sp.train, "val": sp.val, "test": sp.test}
    check_text_split(**{k: v["text"] for k, v in parts.items()})
    check_text_split(**{k: v["group"] for k, v in parts.items()})
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in parts.items())
    return f"{sp.protocol} on near-duplicate keys: no text or key on two sides ({sizes} messages)"


def learning_curve(
    sp,
    encoder,
    settings: Settings,
    profile: str,
    seed: int = DEFAULT_SEED,
    n_boot: int = 1000,
    log=print,
) -> tuple[pd.DataFrame, dict]:
    """Every model at every point of ``settings.curve`` (fine-tuning only at
    ``settings.finetune_at``): a long table ``per_intent, n_train, model, accuracy(_low/_high),
    macro_f1(_low/_high)`` on the test messages, and the fitted models per point."""
    from shopintent.models.text.finetune import finetune_config

    labels = sorted(sp.train["intent"].unique())
    rows, fitted = [], {}
    for n in settings.curve:
        train = routing.per_intent_sample(sp.train, n, seed)
        names = [m for m in routing.MODELS if m != "minilm_finetuned"]
        if n in settings.finetune_at:
            names.append("minilm_finetuned")
        overrides = settings.finetune if n is None else settings.finetune_few
        cfg = finetune_config(profile, **overrides)
        models = routing.fit_routers(train, sp.val, encoder, cfg, seed, tuple(names), log)
        preds = {name: m.predict(sp.test["text"].tolist()) for name, m in models.items()}
        scores = routing.routing_scores(sp.test["intent"], preds, labels, n_boot, seed)
        rows.append(scores.reset_index().assign(per_intent=n or "all", n_train=len(train)))
        fitted[n or "all"] = models
    return pd.concat(rows, ignore_index=True), fitted


def answer_retrieval(
    table: pd.DataFrame,
    sp,
    encoder,
    settings: Settings,
    profile: str,
    seed: int = DEFAULT_SEED,
    n_boot: int = 1000,
    log=print,
) -> tuple[pd.DataFrame, dict]:
    """Rank every distinct response of ``table`` for each test message: TF-IDF, frozen MiniLM
    and the dual encoder fine-tuned on training (message, response) pairs (validation pairs
    choose its epoch). Returns the scores table and the extras (candidate count, training
    info, each model's ranks)."""
    import time

    from shopintent.models.text.backbone_parts import FrozenBottom, pack_texts
    from shopintent.models.text.dual_encoder import dual_encoder_config, finetune_dual_encoder

    responses = table.drop_duplicates("response")[["response", "intent"]].reset_index(drop=True)
    index = {r: i for i, r in enumerate(responses["response"])}
    test = sp.test
    truth = test["response"].map(index).to_numpy()
    intent_of = responses["intent"].to_numpy()
    scores = {"tfidf": answers.tfidf_scores(test["text"], responses["response"])}
    start = time.perf_counter()
    # The frozen and the fine-tuned encoder share everything below the blocks the dual encoder
    # trains: each response's and message's bottom is computed once (backbone_parts' memo),
    # here, and reused by the fine-tune's training pairs and the tuned encoder's vectors.
    tuned_top = dual_encoder_config(profile, **(settings.dual_encoder or {})).trainable_layers
    packed = {
        "responses": pack_texts(encoder, responses["response"].tolist(), encoder.max_length),
        "messages": pack_texts(encoder, test["text"].tolist(), encoder.max_length),
    }

    def vectors(backbone) -> dict[str, np.ndarray]:
        parts = FrozenBottom(backbone, top_layers=tuned_top)
        return {k: parts.sentence_vectors(ids, mask) for k, (ids, mask) in packed.items()}

    frozen = vectors(encoder.backbone)
    scores["minilm"] = answers.encoder_scores(frozen["messages"], frozen["responses"])
    log(f"minilm: {time.perf_counter() - start:.1f} s to encode {len(responses):,} responses")

    def pairs(part):
        return pd.DataFrame(
            {
                "query": part["text"].to_numpy(),
                "item_text": part["response"].to_numpy(),
                "item_id": part["response"].map(index).astype(str).to_numpy(),
            }
        )

    tuned = None
    if settings.dual_encoder is not None:
        tuned = finetune_dual_encoder(
            encoder, pairs(sp.train), pairs(sp.val), profile, seed, **settings.dual_encoder
        )
        own = vectors(tuned.encoder.backbone)
        scores["minilm_dual_encoder"] = answers.encoder_scores(own["messages"], own["responses"])
        log(
            f"minilm_dual_encoder: fine-tuned {tuned.train_seconds:.1f} s on {tuned.n_pairs:,} "
            f"pairs, best epoch {tuned.best_epoch}"
        )
    ranks = {m: answers.answer_ranks(s, truth) for m, s in scores.items()}
    hit = {m: intent_of[s.argmax(axis=1)] == test["intent"].to_numpy() for m, s in scores.items()}
    table_out = answers.retrieval_scores(ranks, hit, n_boot, seed)
    extras = {
        "candidates": len(responses),
        "n_pairs": tuned.n_pairs if tuned else 0,
        "best_epoch": tuned.best_epoch if tuned else None,
        "ranks": ranks,
        "history": tuned.history if tuned else None,
    }
    return table_out, extras


def at_point(curve: pd.DataFrame, per_intent) -> pd.DataFrame:
    """The curve's rows at one point (``"all"`` or an int), indexed by model."""
    return curve[curve["per_intent"].astype(str) == str(per_intent)].set_index("model")


def metrics_dict(
    curve: pd.DataFrame, retrieval: pd.DataFrame, dup: dict, sp, extras: dict, source_note: str
) -> dict:
    """Flat ``service/...`` keys: routing with all data and at each curve point, retrieval,
    data counts."""
    out = {f"service/data/{k}": v for k, v in dup.items()}
    out.update(
        {
            "service/data/train": len(sp.train),
            "service/data/val": len(sp.val),
            "service/data/test": len(sp.test),
            "service/data/intents": int(sp.train["intent"].nunique()),
            "service/data/candidate_responses": extras["candidates"],
            "service/data/real": int("fixed real dataset" in source_note),
        }
    )
    cols = ("accuracy", "macro_f1")
    for point in curve["per_intent"].astype(str).unique():
        prefix = "service/routing" if point == "all" else f"service/routing_at_{point}"
        for model, row in at_point(curve, point).iterrows():
            for c in cols:
                for suffix in ("", "_low", "_high"):
                    out[f"{prefix}/{model}/{c}{suffix}"] = float(row[c + suffix])
            out[f"{prefix}/{model}/n_train"] = int(row["n_train"])
    for model, row in retrieval.iterrows():
        for c, v in row.items():
            out[f"service/answers/{model}/{c}"] = float(v)
    return out


def ranks_frame(ranks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long table ``model, rank`` for the rank-distribution figure."""
    return pd.concat(
        [pd.DataFrame({"model": m, "rank": r}) for m, r in ranks.items()], ignore_index=True
    )


__all__ = [
    "Settings",
    "curve_figure",
    "answer_retrieval",
    "at_point",
    "check_split",
    "duplicates",
    "learning_curve",
    "metrics_dict",
    "prepare",
    "split",
    "support_capabilities",
    "support_messages",
]


def curve_figure(curve: pd.DataFrame):
    """Test macro-F1 against training messages per intent, one line per model (majority out)."""
    from shopintent.studies.understanding_figures import learning_curve_figure

    shown = curve[curve["model"] != "majority"].rename(columns={"n_train": "train_queries"})
    fig = learning_curve_figure(shown, "Intent routing: macro-F1 on test messages vs training size")
    fig.update_xaxes(title="training messages (log scale)")
    return fig
