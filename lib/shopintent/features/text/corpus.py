"""The shop's own text, as corpora for language models trained on it (the shop BERT and GPT).

``shop_corpus`` gathers item titles, descriptions, search queries and reviews into one table
of distinct texts; ``split_corpus`` holds some out by a hash of the text (so a text repeated
in two sources, or in another run, always lands on the same side); ``query_log`` lists the
searches in time order, for the time-split query auto-completion protocol.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED

#: Sources in the order they are gathered: a text in two sources keeps the first one.
SOURCES = ("title", "description", "query", "review")


def normalize_text(text: str) -> str:
    """Whitespace collapsed and stripped (case kept): the form stored in the corpus."""
    return " ".join(str(text).split())


def _dedup_key(texts: pd.Series) -> pd.Series:
    # The models lower-case their input, so "Nova 4 Mini" and "nova 4 mini" are one text.
    return texts.str.lower()


def query_log(shop, until=None) -> pd.DataFrame:
    """Search events joined to their query text: columns ``ts, session_id, text``, in time order.

    One row per search (a query searched twice appears twice), ``text`` whitespace-normalised;
    searches whose query has no text are dropped. ``until`` keeps searches strictly before it.
    """
    events = shop.events
    searches = events[(events["event_type"] == "search") & events["query_id"].notna()]
    searches = searches[["ts", "session_id", "query_id"]]
    if until is not None:
        searches = searches[searches["ts"] < _utc(until)]
    queries = shop.queries[["query_id", "text"]].dropna(subset=["text"])
    log = searches.merge(queries, on="query_id", how="inner")
    log["text"] = log["text"].map(normalize_text)
    log = log[log["text"] != ""]
    log = log.sort_values(["ts", "session_id"], kind="stable").reset_index(drop=True)
    return log[["ts", "session_id", "text"]]


def shop_corpus(shop, until=None) -> pd.DataFrame:
    """Distinct texts of the shop: columns ``source`` (title/description/query/review), ``text``.

    Texts are whitespace-normalised; empty ones are dropped and duplicates (case-insensitive)
    kept once, under the first source in ``SOURCES`` order. ``until`` keeps only queries
    searched and reviews written before that instant (catalogue text has no time), so a model
    pretrained on the corpus sees nothing from a later test period.
    """
    parts = [("title", shop.items["title"]), ("description", shop.items["description"])]
    if until is None:
        query_texts = shop.queries["text"]
        reviews = shop.reviews
    else:
        query_texts = query_log(shop, until=until)["text"]
        reviews = shop.reviews[shop.reviews["ts"] < _utc(until)]
    parts += [("query", query_texts), ("review", reviews["text"])]
    frames = [
        pd.DataFrame({"source": name, "text": texts.dropna().astype(str).map(normalize_text)})
        for name, texts in parts
    ]
    corpus = pd.concat(frames, ignore_index=True)
    corpus = corpus[corpus["text"] != ""]
    corpus = corpus[~_dedup_key(corpus["text"]).duplicated()]
    return corpus.reset_index(drop=True)


def _text_unit(text: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{text.lower()}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2.0**64


def split_corpus(
    corpus: pd.DataFrame, holdout: float = 0.1, seed: int = DEFAULT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, held_out): each text is held out when a hash of (seed, lower-cased text) < holdout.

    Deterministic and order-free: the same text is on the same side whatever else the corpus
    holds, so a held-out text never leaks into training when the corpus grows.
    """
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"holdout must be in [0, 1), got {holdout}")
    units = np.array([_text_unit(t, seed) for t in corpus["text"]], dtype=float)
    held = units < holdout
    return corpus[~held].reset_index(drop=True), corpus[held].reset_index(drop=True)


def _utc(ts) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
