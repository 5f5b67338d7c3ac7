"""Words, word pieces and character spans: how a token tagger's labels map back to the text.

A text is split into *words* with their character offsets in the original string (runs of
letters/digits, or single punctuation marks, as BERT's basic tokenizer splits), then each
word into WordPiece tokens. Every piece remembers its word, so a label predicted on a
word's first piece becomes a span ``text[start:end]`` of the original string exactly, whatever
the case, accents, emoji or digits ("iPhone 15 Pro", "café", "205/55 R16"). Entity spans are
BIO-tagged per word: a word inside a gold span gets ``B-<label>`` (its first word) or
``I-<label>``; spans that start or end inside a word round out to the word's edges (the
synthetic shop's spans always fall on word edges).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

#: a word: a run of letters/digits/underscore, or one other non-space character
WORD = re.compile(r"\w+|[^\w\s]")
OUTSIDE = "O"

Span = tuple[int, int, str]


def split_words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word of ``text``, offsets into the original string."""
    return [m.span() for m in WORD.finditer(text)]


def normalise_word(word: str) -> str:
    """Lower-case without accents (NFD, combining marks dropped): what an uncased WordPiece
    vocabulary holds, so "Café" meets "cafe" instead of [UNK]. Used for lookup only."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def as_spans(spans: Iterable | None) -> list[Span]:
    """Spans as sorted (start, end, label) tuples; accepts dicts {start, end, label} or tuples."""
    out = []
    for s in spans if spans is not None else ():
        if isinstance(s, Mapping):
            out.append((int(s["start"]), int(s["end"]), str(s["label"])))
        else:
            start, end, label = s
            out.append((int(start), int(end), str(label)))
    return sorted(out)


def bio_tags(words: Sequence[tuple[int, int]], spans: Iterable | None) -> list[str]:
    """One BIO tag per word for ``spans``; a word overlapping several spans takes the first."""
    tags = [OUTSIDE] * len(words)
    for start, end, label in as_spans(spans):
        inside = [
            i for i, (ws, we) in enumerate(words) if ws < end and we > start and tags[i] == OUTSIDE
        ]
        for k, i in enumerate(inside):
            tags[i] = f"{'B' if k == 0 else 'I'}-{label}"
    return tags


def spans_from_tags(words: Sequence[tuple[int, int]], tags: Sequence[str]) -> list[Span]:
    """Character spans of the entities in a word-level BIO sequence.

    An ``I-x`` that does not continue an entity of label x starts a new one (the usual lenient
    decoding), so a tagger that forgets a ``B`` still yields a span.
    """
    spans: list[Span] = []
    current: list | None = None
    for (ws, we), tag in zip(words, tags, strict=True):
        kind, _, label = tag.partition("-")
        if kind == "B" or (kind == "I" and (current is None or current[2] != label)):
            if current:
                spans.append(tuple(current))
            current = [ws, we, label]
        elif kind == "I":
            current[1] = we
        else:
            if current:
                spans.append(tuple(current))
            current = None
    if current:
        spans.append(tuple(current))
    return spans


def tag_vocabulary(labels: Iterable[str]) -> list[str]:
    """``["O", "B-a", "I-a", "B-b", ...]`` for entity labels in sorted order."""
    return [OUTSIDE, *(f"{p}-{lab}" for lab in sorted(set(labels)) for p in "BI")]


def allowed_transitions(tags: Sequence[str]) -> np.ndarray:
    """(T, T) boolean: may tag j follow tag i? ``I-x`` only after ``B-x`` or ``I-x``."""
    t = len(tags)
    ok = np.ones((t, t), dtype=bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            label = tag[2:]
            ok[:, j] = [prev in (f"B-{label}", f"I-{label}") for prev in tags]
    return ok


def viterbi_bio(log_probs: np.ndarray, tags: Sequence[str]) -> list[str]:
    """The most probable *valid* BIO sequence for (words, tags) log-probabilities: no entity
    starts with ``I-`` and no ``I-x`` follows another label (constrained decoding, as a CRF's)."""
    n, t = log_probs.shape
    if n == 0:
        return []
    ok = allowed_transitions(tags)
    penalty = np.where(ok, 0.0, -np.inf)
    start = np.array([-np.inf if tag.startswith("I-") else 0.0 for tag in tags])
    score = log_probs[0] + start
    back = np.zeros((n, t), dtype=np.int64)
    for w in range(1, n):
        cand = score[:, None] + penalty  # (previous, next)
        back[w] = cand.argmax(axis=0)
        score = cand.max(axis=0) + log_probs[w]
    path = [int(score.argmax())]
    for w in range(n - 1, 0, -1):
        path.append(int(back[w, path[-1]]))
    return [tags[k] for k in path[::-1]]


class WordPieces:
    """Packs texts into fixed-width WordPiece id rows that remember each piece's word.

    ``tokenizer`` is a keras-hub ``BertTokenizer`` (or any callable from a list of strings to
    lists of ids with ``get_vocabulary()``). Rows are ``[CLS] pieces... [SEP] [PAD]...``; a
    word the tokenizer drops entirely (a zero-width character) gets one ``[UNK]`` so that
    every word has a first piece.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        vocab = tokenizer.get_vocabulary()
        self.cls, self.sep, self.pad, self.unk = (
            vocab.index(t) for t in ("[CLS]", "[SEP]", "[PAD]", "[UNK]")
        )

    def pieces(
        self, texts: Sequence[str]
    ) -> tuple[list[list[tuple[int, int]]], list[list[list[int]]]]:
        """(words per text, piece ids per word per text), tokenised in one call."""
        words = [split_words(t) for t in texts]
        flat = [normalise_word(t[s:e]) for t, ws in zip(texts, words, strict=True) for s, e in ws]
        ids = self.tokenizer(flat) if flat else []
        ids = ids.to_list() if hasattr(ids, "to_list") else ids
        out, k = [], 0
        for ws in words:
            row = []
            for _ in ws:
                piece = [int(i) for i in np.asarray(ids[k]).ravel()]
                row.append(piece or [self.unk])
                k += 1
            out.append(row)
        return words, out

    def lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Pieces per text including [CLS] and [SEP]."""
        _, pieces = self.pieces(texts)
        return np.array([2 + sum(len(p) for p in row) for row in pieces], dtype=np.int64)

    def pack(
        self,
        texts: Sequence[str],
        width: int,
        word_labels: Sequence[Sequence[int]] | None = None,
        ignore: int = -1,
    ) -> dict[str, np.ndarray]:
        """``token_ids``, ``padding_mask`` ((n, width)), ``first_piece`` ((n, width) word index of
        a word's first piece, else -1) and, with ``word_labels``, ``token_labels`` (the word's
        label on its first piece, ``ignore`` elsewhere). Words that do not fit are cut off."""
        words, pieces = self.pieces(texts)
        n = len(texts)
        ids = np.full((n, width), self.pad, dtype=np.int32)
        first = np.full((n, width), -1, dtype=np.int32)
        labels = np.full((n, width), ignore, dtype=np.int32)
        for r, row in enumerate(pieces):
            pos = 1
            ids[r, 0] = self.cls
            for w, piece in enumerate(row):
                if pos >= width - 1:
                    break
                take = piece[: width - 1 - pos]
                ids[r, pos : pos + len(take)] = take
                first[r, pos] = w
                if word_labels is not None:
                    labels[r, pos] = word_labels[r][w]
                pos += len(take)
            ids[r, pos] = self.sep
        out = {"token_ids": ids, "padding_mask": ids != self.pad, "first_piece": first}
        if word_labels is not None:
            out["token_labels"] = labels
        out["words"] = np.empty(n, dtype=object)
        for r, ws in enumerate(words):
            out["words"][r] = ws
        return out


__all__ = [
    "OUTSIDE",
    "WordPieces",
    "allowed_transitions",
    "as_spans",
    "bio_tags",
    "normalise_word",
    "spans_from_tags",
    "split_words",
    "tag_vocabulary",
    "viterbi_bio",
]
