"""Query entities: which brand, model, category and attribute a search names, as character spans.

Two taggers with one interface, ``predict(texts) -> [[(start, end, label), ...], ...]``, the
spans being offsets into each original text (``text[start:end]`` is the mention):

- ``Gazetteer``: a dictionary built from the catalogue (brands, model names, attribute values,
  category names and the product type in titles), matched case- and accent-insensitively over
  words, longest match first, tolerant to one typo (an insertion, deletion, substitution or
  swap) in each word of four letters or more. A term listed under several labels ("Ivory":
  brand and colour) takes the label it has most often.
- ``NeuralTagger``: BIO tags predicted on each word's first word piece by a token head on the
  fine-tuned MiniLM (``text_finetune``), decoded into spans by ``alignment.spans_from_tags``.

Scored with ``shopintent.evaluation.entity_prf`` (exact span and label).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.io import read_json, write_text
from shopintent.models.understanding.alignment import (
    Span,
    as_spans,
    normalise_word,
    spans_from_tags,
    split_words,
    viterbi_bio,
)

ENTITY_LABELS = ("attribute", "brand", "category", "model")
MIN_FUZZY_LEN = 4  # words shorter than this must match exactly (as the synthetic shop's typos)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance <= 1: one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _fuzzy_ok(word: str) -> bool:
    return len(word) >= MIN_FUZZY_LEN and word.isalpha()


class Gazetteer:
    """Longest-match dictionary tagger over words (see the module docstring)."""

    name = "gazetteer"

    def __init__(self, fuzzy: bool = True):
        self.fuzzy = fuzzy
        self.terms: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        self._index: dict[str, list[tuple[str, ...]]] | None = None

    # ---- building --------------------------------------------------------------------------------

    def add(self, term: str, label: str, count: int = 1) -> Gazetteer:
        words = tuple(normalise_word(term[s:e]) for s, e in split_words(str(term)))
        if words:
            self.terms[words][str(label)] += int(count)
            self._index = None
        return self

    def add_spans(self, texts: Sequence[str], spans: Sequence[Iterable]) -> Gazetteer:
        """Add every labelled mention of annotated texts (e.g. training queries)."""
        for text, ex in zip(texts, spans, strict=True):
            for start, end, label in as_spans(ex):
                self.add(str(text)[start:end], label)
        return self

    @classmethod
    def from_catalog(cls, items: pd.DataFrame, fuzzy: bool = True) -> Gazetteer:
        """Terms from a catalogue: ``brand``, ``model`` (when present), every attribute value,
        the category path's leaf (``coffee_maker`` -> "coffee maker") and, where titles start
        with brand and model, the product type that follows them ("Zentro S12 Lite Tablet, ..."
        -> "tablet"). Each term counts once per item that carries it."""
        g = cls(fuzzy=fuzzy)
        brand = items["brand"] if "brand" in items.columns else pd.Series(None, index=items.index)
        model = items["model"] if "model" in items.columns else pd.Series(None, index=items.index)
        for value, label in ((brand, "brand"), (model, "model")):
            for term, n in value.dropna().astype(str).value_counts().items():
                g.add(term, label, n)
        if "attributes" in items.columns:
            values = Counter(
                str(v)
                for attrs in items["attributes"].dropna()
                if isinstance(attrs, dict)
                for v in attrs.values()
                if v
            )
            for term, n in values.items():
                g.add(term, "attribute", n)
        if "category" in items.columns:
            leaves = (
                items["category"].dropna().astype(str).str.split(".").str[-1].str.replace("_", " ")
            )
            for term, n in leaves.value_counts().items():
                g.add(term, "category", n)
        if "title" in items.columns:
            for term, n in _product_types(items["title"], brand, model).value_counts().items():
                g.add(term, "category", n)
        return g

    def label_of(self, words: tuple[str, ...]) -> str:
        return self.terms[words].most_common(1)[0][0]

    # ---- matching --------------------------------------------------------------------------------

    def _build(self) -> None:
        self._first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for words in self.terms:
            self._first[words[0]].append(words)
        self._vocab = {w for words in self.terms for w in words}
        self._index = defaultdict(set)
        for w in self._vocab:
            if _fuzzy_ok(w):
                for key in {w} | _deletions(w):
                    self._index[key].add(w)

    def _candidates(self, word: str) -> set[str]:
        """Lexicon words ``word`` may stand for: itself if listed, else those one edit away."""
        if (
            word in self._vocab
            or not self.fuzzy
            or len(word) < MIN_FUZZY_LEN - 1
            or not word.isalpha()
        ):
            return {word}
        found = set()
        for key in {word} | _deletions(word):
            found |= self._index.get(key, set())
        return {w for w in found if within_one_edit(word, w)} | {word}

    def _matches(self, norm: list[str]) -> list[tuple[int, int, tuple[str, ...], int]]:
        """(first word, end word, term, edits) of every term occurrence."""
        cands = [self._candidates(w) for w in norm]
        found = []
        for i in range(len(norm)):
            for first in cands[i]:
                for term in self._first.get(first, ()):
                    k = len(term)
                    if i + k <= len(norm) and all(term[j] in cands[i + j] for j in range(k)):
                        edits = sum(term[j] != norm[i + j] for j in range(k))
                        found.append((i, i + k, term, edits))
        return found

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans per text: the longest (in characters) non-overlapping term occurrences, exact
        matches before fuzzy ones, then leftmost."""
        if self._index is None:
            self._build()
        out = []
        for text in texts:
            text = str(text)
            words = split_words(text)
            norm = [normalise_word(text[s:e]) for s, e in words]
            matches = self._matches(norm)
            matches.sort(key=lambda m: (-(words[m[1] - 1][1] - words[m[0]][0]), m[3], m[0]))
            taken = np.zeros(len(words), dtype=bool)
            spans = []
            for i, j, term, _ in matches:
                if not taken[i:j].any():
                    taken[i:j] = True
                    spans.append((words[i][0], words[j - 1][1], self.label_of(term)))
            out.append(sorted(spans))
        return out

    # ---- files -----------------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {"term": " ".join(w), "label": lab, "count": n}
            for w, c in self.terms.items()
            for lab, n in c.items()
        ]
        return pd.DataFrame(rows, columns=["term", "label", "count"])

    def save(self, folder: str | Path) -> Path:
        """``gazetteer.json``: the terms (as word lists), labels and counts."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        payload = {
            "kind": "gazetteer",
            "fuzzy": self.fuzzy,
            "terms": [[list(w), dict(c)] for w, c in self.terms.items()],
        }
        write_text(folder / "gazetteer.json", json.dumps(payload))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Gazetteer:
        payload = read_json(Path(folder) / "gazetteer.json")
        g = cls(fuzzy=bool(payload["fuzzy"]))
        for words, counts in payload["terms"]:
            g.terms[tuple(words)].update({str(k): int(v) for k, v in counts.items()})
        return g


def _product_types(titles: pd.Series, brand: pd.Series, model: pd.Series) -> pd.Series:
    """The words between "<brand> <model>" and the first comma of a title, lower-cased."""
    out = []
    for t, b, m in zip(titles.fillna("").astype(str), brand, model, strict=True):
        if not isinstance(b, str) or not isinstance(m, str):
            continue
        head = t.split(",")[0]
        prefix = f"{b} {m} "
        if head.lower().startswith(prefix.lower()) and len(head) > len(prefix):
            out.append(head[len(prefix) :].strip().lower())
    return pd.Series(out, dtype=object)


class NeuralTagger:
    """BIO token tagger: a view of a ``FineTunedNetwork``'s token head (``head``)."""

    name = "tagger"

    def __init__(self, network, head: str = "tags"):
        self.network, self.head = network, head
        self.tags = list(network.heads[head].classes)

    def predict_word_tags(
        self, texts: Sequence[str], constrained: bool = True
    ) -> tuple[list, list[list[str]]]:
        """(words, tags) per text, read on each word's first piece; ``constrained`` decodes the
        best valid BIO sequence (``viterbi_bio``), else each word's most probable tag. A word
        cut off by the maximum length is tagged O."""
        out = self.network.predict(texts)
        probs, first, words = out[self.head], out["first_piece"], out["words"]
        all_tags = []
        for r in range(len(words)):
            pos = np.flatnonzero(first[r] >= 0)
            tags = ["O"] * len(words[r])
            if len(pos):
                p = probs[r, pos]
                found = (
                    viterbi_bio(np.log(np.maximum(p, 1e-12)), self.tags)
                    if constrained
                    else [self.tags[k] for k in p.argmax(axis=1)]
                )
                for w, tag in zip(first[r][pos], found, strict=True):
                    tags[w] = tag
            all_tags.append(tags)
        return list(words), all_tags

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        words, tags = self.predict_word_tags(texts)
        return [spans_from_tags(w, t) for w, t in zip(words, tags, strict=True)]


def spans_as_text(text: str, spans: Iterable) -> str:
    """``"[brand: nexora] [model: q480]"``: spans shown with their text, for tables."""
    return " ".join(f"[{lab}: {text[s:e]}]" for s, e, lab in as_spans(spans))


def entity_table(
    true_spans: Sequence, predictions: dict[str, Sequence], typo: Sequence[bool] | None = None
) -> pd.DataFrame:
    """Precision, recall and F1 per tagger: overall, per label, and on the queries with a typo."""
    from shopintent.evaluation import entity_prf

    rows = []
    typo_mask = np.asarray(typo, dtype=bool) if typo is not None else None
    for name, pred in predictions.items():
        overall = entity_prf(true_spans, pred)
        rows.append(
            {
                "model": name,
                "subset": "all",
                **{k: overall[k] for k in ("precision", "recall", "f1", "n_true")},
            }
        )
        for label, r in overall["per_label"].items():
            rows.append(
                {
                    "model": name,
                    "subset": label,
                    **{k: r[k] for k in ("precision", "recall", "f1", "n_true")},
                }
            )
        if typo_mask is not None and typo_mask.any():
            idx = np.flatnonzero(typo_mask)
            r = entity_prf([true_spans[i] for i in idx], [pred[i] for i in idx])
            rows.append(
                {
                    "model": name,
                    "subset": "typo",
                    **{k: r[k] for k in ("precision", "recall", "f1", "n_true")},
                }
            )
    return pd.DataFrame(rows)


def augment_typos(
    texts: Sequence[str], spans: Sequence[Iterable], rate: float, seed: int
) -> tuple[list[str], list[list[Span]], np.ndarray]:
    """Copies of annotated texts where, with probability ``rate``, one word of four letters or
    more inside an entity gets a keyboard slip (a dropped, swapped, doubled or replaced letter);
    spans are shifted so they still cover their mention exactly. Returns (texts, spans, changed).

    Training-side augmentation for a tagger that must read misspelt brands and nouns; the test
    texts are never touched.
    """
    from shopintent.config import rng as make_rng

    r = make_rng(seed, "typo-augmentation")
    out_texts, out_spans = [], []
    changed = np.zeros(len(texts), dtype=bool)
    for k, (text, ex) in enumerate(zip(texts, spans, strict=True)):
        text, ex = str(text), as_spans(ex)
        spots = [
            (s, e)
            for s, e in split_words(text)
            if e - s >= MIN_FUZZY_LEN
            and text[s:e].isalpha()
            and any(a <= s and e <= b for a, b, _ in ex)
        ]
        if not spots or r.random() >= rate:
            out_texts.append(text)
            out_spans.append(ex)
            continue
        s, e = spots[int(r.integers(len(spots)))]
        word = text[s:e]
        i = int(r.integers(1, len(word) - 1))
        op = int(r.integers(4))
        new = (
            word[:i] + word[i + 1 :],
            word[:i] + word[i + 1] + word[i] + word[i + 2 :],
            word[:i] + word[i] + word[i:],
            word[:i] + "aeiourstnl"[int(r.integers(10))] + word[i + 1 :],
        )[op]
        delta = len(new) - len(word)
        out_texts.append(text[:s] + new + text[e:])
        out_spans.append(
            [(a + (delta if a > s else 0), b + (delta if b >= e else 0), lab) for a, b, lab in ex]
        )
        changed[k] = True
    return out_texts, out_spans, changed


def silver_brand_spans(
    queries: pd.DataFrame,
    items: pd.DataFrame,
    relevance: pd.DataFrame,
    min_titles: int = 5,
    min_relevance: float = 2.67,
) -> list[list[Span]]:
    """Silver brand mentions for queries without annotations (Home Depot): a query word that is
    the first word of a relevant product's title (judged >= ``min_relevance``), where that word
    starts at least ``min_titles`` titles and starts most titles it occurs in (so "white" or "in"
    never qualify). Caveats: only the brand's first word is found ("hampton" of Hampton Bay),
    a misspelt brand is missed, and a product line that leads its titles counts as a brand.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    titles = items["title"].fillna("").astype(str)
    words = titles.map(lambda t: [normalise_word(t[s:e]) for s, e in split_words(t)])
    first = words.map(lambda w: w[0] if w else "")
    starts = first.value_counts()
    anywhere = pd.Series([w for ws in words for w in set(ws)]).value_counts()
    lexicon = {
        w
        for w, n in starts.items()
        if n >= min_titles
        and w.isalpha()
        and len(w) >= 2
        and w not in ENGLISH_STOP_WORDS
        and n >= 0.5 * anywhere.get(w, n)
    }
    lead = pd.Series(first.to_numpy(), index=items["item_id"].astype(str))
    good = relevance[relevance["relevance"] >= min_relevance]
    brands = (
        good.assign(brand=good["item_id"].astype(str).map(lead))
        .groupby("query_id")["brand"]
        .agg(set)
    )
    out = []
    for qid, text in zip(queries["query_id"], queries["text"].astype(str), strict=True):
        candidates = brands.get(qid, set()) & lexicon
        out.append(
            [
                (s, e, "brand")
                for s, e in split_words(text)
                if normalise_word(text[s:e]) in candidates
            ]
        )
    return out


def silver_check(
    silver: Sequence[Iterable], predicted: Sequence[Iterable], label: str = "brand"
) -> dict:
    """A tagger's ``label`` spans against silver spans, on the queries that have a silver one:
    ``recall`` (silver mentions found with exact span), ``precision`` (predicted spans that are
    silver: a lower bound, since silver misses brands), counts."""
    from shopintent.evaluation import entity_prf

    keep = [i for i, s in enumerate(silver) if len(as_spans(s))]
    r = entity_prf([silver[i] for i in keep], [predicted[i] for i in keep], labels=[label])
    return {
        "recall": r["recall"],
        "precision": r["precision"],
        "f1": r["f1"],
        "queries": len(keep),
        "silver_mentions": r["n_true"],
        "predicted_mentions": r["n_pred"],
    }


def examples_table(
    texts: Sequence[str], truth: Sequence | None, predictions: dict[str, Sequence], rows
) -> pd.DataFrame:
    """Chosen rows shown as text with each tagger's spans (and the truth where known)."""
    out = {"query": [str(texts[i]) for i in rows]}
    if truth is not None:
        out["truth"] = [spans_as_text(str(texts[i]), truth[i]) for i in rows]
    for name, pred in predictions.items():
        out[name] = [spans_as_text(str(texts[i]), pred[i]) for i in rows]
    return pd.DataFrame(out)


__all__ = [
    "ENTITY_LABELS",
    "Gazetteer",
    "NeuralTagger",
    "augment_typos",
    "entity_table",
    "examples_table",
    "silver_brand_spans",
    "silver_check",
    "spans_as_text",
    "within_one_edit",
]
