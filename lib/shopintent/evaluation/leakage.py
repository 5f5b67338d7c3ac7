"""Texts that leak across a split: the same review or query on both sides of it.

A classifier scored on a text it was trained on reads its label back, not the text. Sources
repeat texts: Amazon's 5-core files attach one reviewer's text to several sibling products
(All_Beauty: 4,219 reviews, 1,370 distinct texts), the synthetic shop repeats query texts
across sessions. Two texts are the same when their ``normalise_text`` (NFKC, casefold,
whitespace collapsed, stripped) is equal; that one definition lives in ``shopintent.normalise``
so that ``data`` (loaders, splits) and this module agree without importing each other.

``check_text_split`` fails loudly when a later part of a split holds a text of an earlier one;
``duplicate_texts`` counts repeated texts for a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from shopintent.normalise import normalise_text


@dataclass(frozen=True)
class Leak:
    """``n_rows`` rows of part ``later`` have their normalised text in part ``earlier``."""

    earlier: str
    later: str
    n_rows: int
    n_later: int
    examples: tuple[str, ...]

    def __str__(self) -> str:
        shown = "; ".join(repr(t[:80]) for t in self.examples)
        return (
            f"{self.n_rows} of {self.n_later} {self.later} rows have their text in "
            f"{self.earlier} (e.g. {shown})"
        )


class TextSplitLeak(ValueError):
    """A split whose parts share texts; ``leaks`` lists every offending pair of parts."""

    def __init__(self, leaks: list[Leak]):
        self.leaks = leaks
        super().__init__(
            "text split leaks: "
            + " | ".join(str(leak) for leak in leaks)
            + " (texts compared after normalise_text: NFKC, casefold, whitespace collapsed)"
        )


def text_leaks(n_examples: int = 3, **parts: Sequence[str]) -> list[Leak]:
    """Every pair (earlier, later) of ``parts``, in the order given, where rows of the later
    part have their normalised text in the earlier one. Missing texts never match."""
    norm = {name: normalise_text(texts) for name, texts in parts.items()}
    names = list(norm)
    leaks = []
    for i, earlier in enumerate(names):
        seen = set(norm[earlier].dropna())
        for later in names[i + 1 :]:
            texts = norm[later]
            hit = texts.isin(seen) & texts.notna()
            if hit.any():
                raw = pd.Series(list(parts[later]), dtype=object)[hit.to_numpy()]
                examples = tuple(dict.fromkeys(str(t) for t in raw))[:n_examples]
                leaks.append(Leak(earlier, later, int(hit.sum()), len(texts), examples))
    return leaks


def check_text_split(**parts: Sequence[str]) -> None:
    """Raise ``TextSplitLeak`` when a later part holds a text of an earlier part.

    Pass the parts by name in their order, e.g. ``check_text_split(train=tr["text"],
    val=va["text"], test=te["text"])``: the message names each leaking pair, how many rows of
    the later part have their normalised text in the earlier one, and a few examples.
    """
    leaks = text_leaks(**parts)
    if leaks:
        raise TextSplitLeak(leaks)


def duplicate_texts(texts: Sequence[str]) -> dict[str, int]:
    """``rows`` with a text (missing ones aside), ``distinct`` normalised texts and
    ``repeated_rows``: rows whose normalised text is on at least one other row."""
    norm = normalise_text(texts).dropna()
    return {
        "rows": len(norm),
        "distinct": int(norm.nunique()),
        "repeated_rows": int(norm.duplicated(keep=False).sum()),
    }


__all__ = ["Leak", "TextSplitLeak", "check_text_split", "duplicate_texts", "normalise_text"]
