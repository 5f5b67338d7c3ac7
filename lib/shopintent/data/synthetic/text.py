"""Text of the synthetic shop: item titles and descriptions, search queries with their
entity spans, and reviews whose wording follows the rating.

Queries are composed from typed pieces, so the character span of every brand, model,
category and attribute mention is known exactly, also after a typo is injected.
Intents share phrasings on purpose ("buy <brand> <model>" is navigational or
purchase-ready; "best <noun>" is exploratory, comparison or deal-seeking).
"""

from __future__ import annotations

import random

import numpy as np

_SLOT_LABEL = {
    "brand": "brand",
    "brand2": "brand",
    "model": "model",
    "model2": "model",
    "noun": "category",
    "attr": "attribute",
    "attr2": "attribute",
    "price": None,
    "use": None,
}

QUERY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "navigational": (
        "{brand} {model}",
        "{brand} {model}",
        "{model}",
        "{brand} {model} {noun}",
        "{model} {brand}",
        "{brand} {model} {attr}",
        "{brand} {noun} {model}",
        "buy {brand} {model}",
        "{model} {noun}",
    ),
    "exploratory": (
        "{noun}",
        "{attr} {noun}",
        "{noun} {attr}",
        "best {noun}",
        "{brand} {noun}",
        "{noun} for {use}",
        "new {noun}",
        "{attr} {noun} {attr2}",
        "{noun} ideas",
        "{attr} {noun} for {use}",
    ),
    "comparison": (
        "{brand} vs {brand2} {noun}",
        "{brand} {model} vs {brand2} {model2}",
        "{model} or {model2}",
        "{brand} or {brand2}",
        "compare {noun}",
        "{noun} comparison",
        "which {noun} is better",
        "{brand} {model} vs {model2}",
        "best {attr} {noun}",
        "{brand} {noun} reviews",
        "best {noun}",
    ),
    "purchase_ready": (
        "cheap {noun}",
        "{brand} {model} deal",
        "{noun} sale",
        "buy {brand} {model}",
        "{brand} {noun} discount",
        "{noun} under {price}",
        "best price {brand} {model}",
        "{model} coupon",
        "{brand} {model} in stock",
        "{attr} {noun} on sale",
        "cheap {brand} {noun}",
        "best {noun} under {price}",
    ),
}
USES = ("home", "office", "kids", "travel", "gift", "students", "beginners", "small spaces")

TIER_WORDS = {
    "budget": ("affordable", "everyday", "great-value"),
    "mid": ("reliable", "versatile", "popular"),
    "premium": ("premium", "flagship", "high-end"),
}
ASPECTS = {
    "electronics": ("battery", "screen", "sound", "charger"),
    "appliances": ("noise level", "power", "build", "cleaning"),
    "fashion": ("fit", "fabric", "stitching", "colour"),
    "home": ("comfort", "assembly", "finish", "size"),
    "beauty": ("scent", "texture", "packaging", "result"),
    "sports": ("grip", "durability", "weight", "comfort"),
    "toys": ("pieces", "instructions", "fun factor", "box"),
    "grocery": ("taste", "freshness", "aroma", "packaging"),
    "garden": ("motor", "assembly", "durability", "size"),
    "auto": ("fit", "grip", "installation", "durability"),
}
REVIEW_OPENERS = {
    "positive": (
        "Love it",
        "Works perfectly",
        "Great value for money",
        "Excellent quality",
        "Exactly as described",
        "Highly recommend",
        "Very happy with this purchase",
        "Not bad at all, really",
        "Could not be happier",
        "Five stars",
    ),
    "neutral": (
        "It's okay",
        "Does the job",
        "Average quality",
        "Fine for the price",
        "Nothing special",
        "Mixed feelings",
        "As expected, no more",
        "Decent but not great",
    ),
    "negative": (
        "Stopped working after a week",
        "Poor quality",
        "Waste of money",
        "Not worth the price",
        "Would not recommend",
        "Arrived damaged",
        "Very disappointed",
        "Returned it",
        "Not great, honestly",
        "Cheaply made",
    ),
}
ASPECT_SENTENCES = {
    "positive": (
        "The {a} is great.",
        "The {a} is better than I expected.",
        "Really impressed by the {a}.",
    ),
    "neutral": ("The {a} is fine.", "The {a} is average.", "The {a} could be better."),
    "negative": ("The {a} is terrible.", "The {a} broke quickly.", "Not happy with the {a}."),
}


def item_title(brand: str, model: str, noun: str, attrs: dict[str, str]) -> str:
    values = ", ".join(attrs.values())
    return f"{brand} {model} {noun.title()}" + (f", {values}" if values else "")


def item_description(
    rng: np.random.Generator,
    brand: str,
    model: str,
    noun: str,
    attrs: dict[str, str],
    tier: str,
    quality: float,
) -> str:
    word = str(rng.choice(TIER_WORDS[tier]))
    specs = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in attrs.items())
    build = "built to last" if quality + rng.normal(0, 0.5) > 0.3 else "designed for everyday use"
    return f"The {brand} {model} is a {word} {noun}, {build}. {specs}. Free returns within 30 days."


def _typo(word: str, r: random.Random) -> str:
    """One keyboard-style error: drop, swap, double or replace a character (words of 4+ letters)."""
    i = r.randrange(1, len(word) - 1)
    op = r.randrange(4)
    if op == 0:
        return word[:i] + word[i + 1 :]
    if op == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + r.choice("aeiourstnl") + word[i + 1 :]


def compose_query(
    r: random.Random,
    intent: str,
    target: dict,
    other: dict | None,
    typo_rate: float,
) -> tuple[str, list[dict], bool]:
    """One query for ``intent`` about ``target`` (and ``other`` for comparisons).

    ``target``/``other`` carry brand, model, nouns, attrs (list of values), price.
    Returns the text, its entity spans ({start, end, label}) and whether a typo was injected.
    """
    template = r.choice(QUERY_TEMPLATES[intent])
    other = other or target
    attrs = target["attrs"] or [""]
    values = {
        "brand": target["brand"],
        "model": target["model"],
        "brand2": other["brand"],
        "model2": other["model"],
        "attr": r.choice(attrs),
        "attr2": r.choice(attrs),
        "noun": target["nouns"][0] if r.random() < 0.5 else r.choice(target["nouns"]),
        "price": _round_price_up(target["price"]),
        "use": r.choice(USES),
    }
    pieces: list[tuple[str, str | None]] = []
    for token in template.split():
        if token.startswith("{"):
            slot = token[1:-1]
            if values[slot]:
                pieces.append((values[slot], _SLOT_LABEL[slot]))
        else:
            pieces.append((token, None))
    lower = r.random() < 0.85
    if lower:
        pieces = [(p.lower(), lab) for p, lab in pieces]
    typo = False
    if r.random() < typo_rate:
        spots = [
            (i, j)
            for i, (p, lab) in enumerate(pieces)
            if lab
            for j, w in enumerate(p.split(" "))
            if len(w) >= 4 and w.isalpha()
        ]
        if spots:
            i, j = r.choice(spots)
            words = pieces[i][0].split(" ")
            words[j] = _typo(words[j], r)
            pieces[i] = (" ".join(words), pieces[i][1])
            typo = True
    text, entities, pos = [], [], 0
    for p, lab in pieces:
        if text:
            pos += 1
        if lab:
            entities.append({"start": pos, "end": pos + len(p), "label": lab})
        text.append(p)
        pos += len(p)
    return " ".join(text), entities, typo


def _round_price_up(price: float) -> str:
    for step in (10, 20, 50, 100, 200, 300, 500, 1000, 1500, 2000, 5000):
        if price <= step:
            return str(step)
    return str(int(np.ceil(price / 1000) * 1000))


def sentiment_of(rating: np.ndarray) -> np.ndarray:
    """negative for 1-2 stars, neutral for 3, positive for 4-5."""
    return np.where(rating <= 2, "negative", np.where(rating == 3, "neutral", "positive"))


def review_text(r: random.Random, sentiment: str, top: str, noun: str, brand: str) -> str:
    """A review whose overall tone follows ``sentiment``; one in six adds a contrasting aspect."""
    aspects = ASPECTS[top]
    parts = [r.choice(REVIEW_OPENERS[sentiment]) + "."]
    if r.random() < 0.4:
        parts.append(
            f"Bought this {brand} {noun} "
            f"{r.choice(('last month', 'as a gift', 'to replace my old one', 'on sale'))}."
        )
    parts.append(r.choice(ASPECT_SENTENCES[sentiment]).format(a=r.choice(aspects)))
    if r.random() < 1 / 6:
        contrast = {
            "positive": "neutral",
            "neutral": r.choice(("positive", "negative")),
            "negative": "neutral",
        }[sentiment]
        parts.append(
            "But " + r.choice(ASPECT_SENTENCES[contrast]).format(a=r.choice(aspects)).lower()
        )
    return " ".join(parts)
