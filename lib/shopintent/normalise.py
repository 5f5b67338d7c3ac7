"""The one text normalisation that decides when two texts are "the same text".

``normalise_text`` is used by the loaders' reports (``data.sources``), the text-grouped splits
(``data.splits``) and the leak check (``evaluation.leakage``, which re-exports it). It lives at
the bottom layer, beside ``config`` and ``io``, because ``data`` and ``evaluation`` are sibling
packages of one layer and may not import each other (``tests/unit/test_architecture.py``): one
definition below both is the only way they can agree without a copy.
"""

from __future__ import annotations

import pandas as pd


def normalise_text(texts) -> pd.Series:
    """Unicode NFKC, casefold, runs of whitespace collapsed to one space, stripped.

    Vectorised over a pandas Series (any sequence of strings is read as one; a Series keeps
    its index). Missing texts stay missing (None), so they never match each other.
    """
    s = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    out = (
        s.astype("string")
        .str.normalize("NFKC")
        .str.casefold()
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )
    return out.astype(object).where(out.notna(), None)


def near_duplicate_key(texts) -> pd.Series:
    """``normalise_text``, then every run of digits read as one ``0`` and punctuation as space:
    two messages that differ only in an order number or a question mark share a key (Bitext's
    utterances are templates filled with ids: "cancel order 1135..." and "cancel order 7322...").
    """
    out = (
        pd.Series(normalise_text(texts), dtype="string")
        .str.replace(r"\d+", "0", regex=True)
        .str.replace(r"[^\w\s]+", " ", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )
    return out.astype(object).where(out.notna(), None)


__all__ = ["near_duplicate_key", "normalise_text"]
