"""The shop BERT's second stage: contrastive training on pairs the shop itself provides.

Masked-LM teaches the shop BERT the shop's words, not which texts mean the same thing: its
mean-pooled vectors all point one way and retrieve almost nothing. This stage trains it as a
dual encoder with in-batch negatives (``dual_encoder.finetune_dual_encoder``: the same loss,
schedule, duplicate masking and validation-chosen epoch as the fine-tuned MiniLM, here with all
transformer blocks trained and the masked-LM word-piece embeddings kept) on

- ``session_pairs``: a search and each item the same session then viewed, carted or bought
  before its next search (weak labels from the log; training sessions only);
- the task's training pairs (``SearchTask.train_pairs``: a training query and its bought or
  judged-relevant item), where a dataset has no session log;
- ``item_pairs``: an item's description (or its attributes) and the text the catalogue indexes
  for it (title + brand), unsupervised.

The encoder is named ``shopbert_contrastive`` (``get_encoder("shopbert_contrastive", ...)``).
TensorFlow and keras-hub are imported inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, artefact_dir, get_profile, rng
from shopintent.features.text.encoders import KerasHubBertEncoder, register_saved_encoder
from shopintent.io import atomic_path, read_json, write_json, write_text

NAME = "shopbert_contrastive"
MODEL_FILE, VOCAB_FILE, META_FILE = f"{NAME}.keras", "vocab.txt", f"{NAME}.json"
#: events that say a searcher cared about an item (a weak relevance label)
ENGAGED = ("view", "cart", "purchase")
PAIR_COLUMNS = ["query", "item_id", "item_text", "source"]
#: sampling order of pair sources: stronger labels first, views (the noisiest) fill the rest
PRIORITY = ("task", "purchase", "cart", "item", "view")


@dataclass(frozen=True)
class ContrastiveConfig:
    """``finetune_dual_encoder`` settings for the shop BERT by profile. All its blocks train
    (it is small, and masked-LM did not shape its pooled vectors); the learning rate is higher
    than MiniLM's fine-tune for the same reason. ``max_pairs``: a seeded sample of the pairs."""

    max_pairs: int
    epochs: int
    batch_size: int = 128
    learning_rate: float = 5e-4
    # word pieces of the shop BERT's vocabulary (500 synthetic default pairs a source): queries
    # p90 7, max 12; titles max 15; descriptions ~31 (cut to their first 14: name and product
    # type). Every step pays for the full widths: 16 + 24 positions are 60% of the 32 + 32 it
    # had, whose default stage took ~1,450 CPU-s (2 epochs of 12,000 pairs, at load 5-13)
    query_length: int = 16  # descriptions are the "query" side of the item pairs
    max_length: int = 24
    max_validation_pairs: int = 512
    temperature: float = 0.05


PROFILES = {
    "smoke": ContrastiveConfig(max_pairs=512, epochs=1, batch_size=64, max_validation_pairs=64),
    # one epoch: at 16/24 widths it cost ~570 CPU-s (synthetic default) for test Recall@10 0.619,
    # a second epoch (measured at 32 + 32) reached 0.676 for as much again
    "default": ContrastiveConfig(max_pairs=12_000, epochs=1),
    "full": ContrastiveConfig(max_pairs=100_000, epochs=3, max_validation_pairs=4_096),
}


def contrastive_config(profile: str = "default", **overrides) -> ContrastiveConfig:
    get_profile(profile)
    return ContrastiveConfig(**{**asdict(PROFILES[profile]), **overrides})


def _fold(text) -> str:
    return " ".join(str(text).lower().split())


def session_pairs(
    shop, item_text: pd.Series, until=None, exclude: Collection[str] = ()
) -> pd.DataFrame:
    """(search, engaged item) pairs from the event log: each item viewed, carted or bought in a
    session after a search and before that session's next search, once per (query, item).

    ``until``: only sessions that started before it, and only their events before it (the
    evaluation period stays unseen). ``exclude``: folded query texts never to use (held-out
    queries). ``item_text``: the indexed text by item id. Columns ``query, item_id, item_text,
    source`` (source ``session``); empty where the data has no searches with sessions.
    """
    ev = shop.events
    need = {"session_id", "ts", "event_type", "item_id", "query_id"}
    if ev is None or len(ev) == 0 or need - set(ev.columns):
        return pd.DataFrame(columns=PAIR_COLUMNS)
    ev = ev[list(need)].reset_index(drop=True)
    ev = ev.assign(order=np.arange(len(ev))).sort_values(["session_id", "ts", "order"])
    if until is not None:
        until = pd.Timestamp(until)
        start = ev.groupby("session_id")["ts"].transform("min")
        ev = ev[(start < until) & (ev["ts"] < until)]
    is_search = (ev["event_type"] == "search") & ev["query_id"].notna()
    # the query in force at each event: the session's latest search so far
    ev = ev.assign(current=ev["query_id"].where(is_search))
    ev["current"] = ev.groupby("session_id")["current"].ffill()
    hits = ev[ev["event_type"].isin(ENGAGED) & ev["current"].notna() & ev["item_id"].notna()]
    text = shop.queries.dropna(subset=["text"]).set_index("query_id")["text"].astype(str)
    hits = hits[hits["current"].isin(text.index) & hits["item_id"].isin(item_text.index)]
    pairs = pd.DataFrame(
        {
            "query": text.loc[hits["current"]].to_numpy(),
            "item_id": hits["item_id"].to_numpy(),
            "source": hits["event_type"].to_numpy(),
        }
    )
    pairs = pairs[~pairs["query"].map(_fold).isin(set(exclude))]
    strength = pairs["source"].map({e: i for i, e in enumerate(PRIORITY)})
    pairs = pairs.iloc[np.argsort(strength.to_numpy(), kind="stable")]
    pairs = pairs.drop_duplicates(["query", "item_id"]).reset_index(drop=True)
    pairs["item_text"] = item_text.loc[pairs["item_id"]].to_numpy()
    return pairs[PAIR_COLUMNS]


def _attributes_text(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if v is not None and str(v) != "")
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def item_pairs(items: pd.DataFrame, item_text: pd.Series) -> pd.DataFrame:
    """(description, indexed item text) per item; the attributes (``key: value; ...``) where an
    item has no description. Columns as ``session_pairs`` (source ``item``); empty where the
    catalogue has neither."""
    side = pd.Series("", index=items.index, dtype=object)
    if "attributes" in items.columns:
        side = items["attributes"].map(_attributes_text)
    if "description" in items.columns:
        desc = items["description"].fillna("").astype(str)
        side = desc.where(desc.str.strip() != "", side)
    side = side.fillna("").astype(str).str.strip()
    keep = (side != "").to_numpy() & items["item_id"].isin(item_text.index).to_numpy()
    ids = items["item_id"].to_numpy()[keep]
    return pd.DataFrame(
        {
            "query": side.to_numpy()[keep],
            "item_id": ids,
            "item_text": item_text.loc[ids].to_numpy(),
            "source": "item",
        }
    )[PAIR_COLUMNS]


def training_pairs(
    shop, task, until=None, exclude: Collection[str] = (), item_text: pd.Series | None = None
) -> pd.DataFrame:
    """Every training pair for the contrastive stage: ``session_pairs`` (or, with no session
    log, the task's own training pairs), then ``item_pairs``; duplicates dropped. ``task``: the
    notebook's ``SearchTask`` (its training pairs never hold a validation or test query)."""
    if item_text is None:
        item_text = pd.Series(task.item_texts, index=task.item_ids)
    item_text = item_text[~item_text.index.duplicated()]
    logged = session_pairs(shop, item_text, until=until, exclude=exclude)
    parts = [logged]
    if logged.empty:
        train = task.train_pairs
        parts.append(
            pd.DataFrame(
                {
                    "query": train["query"].to_numpy(),
                    "item_id": train["item_id"].to_numpy(),
                    "item_text": train["item_text"].to_numpy(),
                    "source": "task",
                }
            )
        )
    parts.append(item_pairs(shop.items, item_text))
    pairs = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    if pairs.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    pairs = pairs[~pairs["query"].map(_fold).isin(set(exclude)) | (pairs["source"] == "item")]
    return pairs.drop_duplicates(["query", "item_id"]).reset_index(drop=True)


def sample_pairs(pairs: pd.DataFrame, n: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """At most ``n`` pairs, by source in ``PRIORITY`` order: every pair of a stronger source
    before any of a weaker one, a seeded random sample within the source where the cut falls."""
    if len(pairs) <= n:
        return pairs.reset_index(drop=True)
    order = {s: i for i, s in enumerate(PRIORITY)}
    noise = rng(seed, "shopbert-contrastive-pairs").random(len(pairs))
    rank = pairs["source"].map(order).fillna(len(PRIORITY)).to_numpy()
    keep = np.lexsort((noise, rank))[:n]
    return pairs.iloc[np.sort(keep)].reset_index(drop=True)


@dataclass
class ContrastiveResult:
    """The contrastive shop BERT: encoder, per-epoch losses (epoch 0 = the masked-LM model),
    chosen epoch, the pairs trained on (count and count by source) and the seconds it took."""

    encoder: KerasHubBertEncoder
    config: ContrastiveConfig
    history: pd.DataFrame
    best_epoch: int
    n_pairs: int
    pair_sources: dict
    train_seconds: float

    def save(self, folder: str | Path) -> Path:
        """``shopbert_contrastive.keras``, ``vocab.txt`` and ``shopbert_contrastive.json`` in
        ``folder`` (temp file then rename); ``encoder_id`` becomes the saved file's."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        enc = self.encoder
        with atomic_path(folder / MODEL_FILE, suffix=".keras") as tmp:
            enc.backbone.save(tmp)
        enc.name_by_file(folder / MODEL_FILE)
        write_text(folder / VOCAB_FILE, "".join(f"{t}\n" for t in enc.tokenizer.get_vocabulary()))
        meta = {
            "config": asdict(self.config),
            "history": self.history.to_dict("list"),
            "best_epoch": self.best_epoch,
            "n_pairs": self.n_pairs,
            "pair_sources": self.pair_sources,
            "train_seconds": self.train_seconds,
            "max_length": enc.max_length,
        }
        write_json(folder / META_FILE, meta, default=str)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> ContrastiveResult:
        import keras
        import keras_hub  # noqa: F401 - registers BertBackbone for deserialisation

        from shopintent.models.text.shop_bert import make_tokenizer

        folder = Path(folder)
        if not (folder / MODEL_FILE).is_file() or not (folder / META_FILE).is_file():
            raise FileNotFoundError(
                f"no contrastive shop BERT in {folder} ({MODEL_FILE} or {META_FILE} missing): "
                "train one with shop_bert_contrastive.train_contrastive and save it"
            )
        meta = read_json(folder / META_FILE)
        backbone = keras.saving.load_model(folder / MODEL_FILE)
        tokenizer = make_tokenizer(str(folder / VOCAB_FILE))
        encoder = KerasHubBertEncoder.trained(
            NAME, backbone, tokenizer, max_length=int(meta["max_length"]), path=folder / MODEL_FILE
        )
        return cls(
            encoder,
            ContrastiveConfig(**meta["config"]),
            pd.DataFrame(meta["history"]),
            meta["best_epoch"],
            meta["n_pairs"],
            meta["pair_sources"],
            meta["train_seconds"],
        )


def train_contrastive(
    shop_bert,
    train_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame | None = None,
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    verbose: int = 0,
    **overrides,
) -> ContrastiveResult:
    """Train a copy of ``shop_bert`` (a ``KerasHubBertEncoder``, e.g. ``ShopBertResult.encoder``)
    on ``train_pairs`` (``query, item_text``, optional ``item_id`` and ``source``; at most
    ``max_pairs`` of them by ``sample_pairs``) with in-batch negatives; ``validation_pairs``
    (validation queries, never test) choose the epoch."""
    from shopintent.models.text.dual_encoder import finetune_dual_encoder

    cfg = contrastive_config(profile, **overrides)
    if len(train_pairs) < 2:
        raise ValueError(
            f"the contrastive stage needs at least 2 training pairs, got {len(train_pairs)}: the "
            "data has no searches followed by engagement, no training queries and no descriptions"
        )
    train_pairs = sample_pairs(train_pairs, cfg.max_pairs, seed)
    result = finetune_dual_encoder(
        shop_bert,
        train_pairs,
        validation_pairs,
        profile=profile,
        seed=seed,
        verbose=verbose,
        trainable_layers=int(shop_bert.backbone.num_layers),
        max_pairs=cfg.max_pairs,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        query_length=cfg.query_length,
        max_length=cfg.max_length,
        max_validation_pairs=cfg.max_validation_pairs,
        temperature=cfg.temperature,
    )
    encoder = KerasHubBertEncoder.trained(
        NAME, result.encoder.backbone, shop_bert.tokenizer, max_length=shop_bert.max_length
    )
    sources = (
        train_pairs["source"].value_counts().to_dict() if "source" in train_pairs.columns else {}
    )
    return ContrastiveResult(
        encoder,
        cfg,
        result.history,
        result.best_epoch,
        result.n_pairs,
        {str(k): int(v) for k, v in sources.items()},
        result.train_seconds,
    )


def contrastive_dir(dataset: str, profile: str) -> Path:
    """``models/<dataset>-<profile>/shopbert_contrastive/``."""
    return artefact_dir(dataset, profile, NAME)


register_saved_encoder(NAME, lambda folder: ContrastiveResult.load(folder).encoder)

__all__ = [
    "ContrastiveConfig",
    "ContrastiveResult",
    "contrastive_config",
    "contrastive_dir",
    "item_pairs",
    "sample_pairs",
    "session_pairs",
    "train_contrastive",
    "training_pairs",
]
