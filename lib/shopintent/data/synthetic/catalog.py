"""The synthetic catalogue: models of brands in leaf categories, sold in variants.

Each item has observable fields (title, brand, category, price, attributes, description,
model name) and latent ones that drive behaviour (quality, popularity, position of its
price within its category), which are kept apart as ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.data.synthetic import text
from shopintent.data.synthetic.vocabulary import (
    ATTRIBUTE_VALUES,
    BRANDS,
    CATEGORY_TREE,
    MODEL_SERIES,
    MODEL_SUFFIXES,
    TIERS,
)

LEAVES: list[tuple[str, str]] = [
    (top, leaf) for top, leaves in CATEGORY_TREE.items() for leaf in leaves
]
TOPS: list[str] = list(CATEGORY_TREE)
BRAND_NAMES: list[str] = sorted({b for bs in BRANDS.values() for b in bs})


@dataclass
class Catalog:
    """Items plus the latent arrays (aligned with ``items`` rows) that the behaviour model uses."""

    items: pd.DataFrame
    leaf: np.ndarray  # index into LEAVES
    brand: np.ndarray  # index into BRAND_NAMES
    quality: np.ndarray  # latent quality, ~N(0, 0.6)
    popularity: np.ndarray  # Zipf-like sampling weight, sums to 1
    price_pos: np.ndarray  # standardised log price within the leaf (budget < 0 < premium)

    @property
    def top(self) -> np.ndarray:
        return np.array([TOPS.index(LEAVES[i][0]) for i in range(len(LEAVES))])[self.leaf]

    def truth(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "item_id": self.items["item_id"],
                "quality": self.quality,
                "popularity": self.popularity,
                "price_position": self.price_pos,
            }
        )


def make_catalog(n_items: int, rng: np.random.Generator) -> Catalog:
    """``n_items`` items: ~1.8 variants per model, leaf sizes uneven, a long popularity tail."""
    brand_tier = rng.choice(list(TIERS), size=len(BRAND_NAMES), p=[0.35, 0.4, 0.25])
    brand_quality = np.array([TIERS[t][1] for t in brand_tier]) + rng.normal(
        0, 0.3, len(BRAND_NAMES)
    )
    brand_weight = rng.lognormal(0, 0.6, len(BRAND_NAMES))
    leaf_weight = rng.dirichlet(np.full(len(LEAVES), 4.0))

    rows, leaf_idx, brand_idx, quality = [], [], [], []
    taken: set[tuple[str, str]] = set()
    model_no = 0
    while len(rows) < n_items:
        li = rng.choice(len(LEAVES), p=leaf_weight)
        top, leaf = LEAVES[li]
        nouns, attr_names, median_price = CATEGORY_TREE[top][leaf]
        candidates = [BRAND_NAMES.index(b) for b in BRANDS[top]]
        w = brand_weight[candidates]
        bi = candidates[rng.choice(len(candidates), p=w / w.sum())]
        brand = BRAND_NAMES[bi]
        model = _model_name(rng, brand, taken)
        model_no += 1
        tier_mult, _ = TIERS[brand_tier[bi]]
        model_price = median_price * tier_mult * rng.lognormal(0, 0.25)
        model_quality = brand_quality[bi] + rng.normal(0, 0.45)
        base = {a: str(rng.choice(ATTRIBUTE_VALUES[a])) for a in attr_names}
        n_variants = 1 + rng.binomial(2, 0.4)
        vary = attr_names[0]
        variant_values = rng.choice(
            ATTRIBUTE_VALUES[vary], size=min(n_variants, len(ATTRIBUTE_VALUES[vary])), replace=False
        )
        for value in variant_values:
            if len(rows) >= n_items:
                break
            attrs = {**base, vary: str(value)}
            price = _shop_price(model_price * rng.lognormal(0, 0.03))
            rows.append(
                {
                    "title": text.item_title(brand, model, nouns[0], attrs),
                    "brand": brand,
                    "category": f"{top}.{leaf}",
                    "price": price,
                    "attributes": attrs,
                    "model": model,
                    "description": text.item_description(
                        rng, brand, model, nouns[0], attrs, brand_tier[bi], model_quality
                    ),
                }
            )
            leaf_idx.append(li)
            brand_idx.append(bi)
            quality.append(model_quality)

    items = pd.DataFrame(rows)
    width = len(str(n_items))
    items.insert(0, "item_id", [f"i{i:0{width}d}" for i in range(1, n_items + 1)])
    items = items[
        ["item_id", "title", "brand", "category", "price", "attributes", "description", "model"]
    ]
    leaf_arr, quality_arr = np.array(leaf_idx), np.array(quality)
    return Catalog(
        items=items,
        leaf=leaf_arr,
        brand=np.array(brand_idx),
        quality=quality_arr,
        popularity=_zipf_popularity(rng, quality_arr),
        price_pos=_price_position(items["price"].to_numpy(), leaf_arr),
    )


def _model_name(rng: np.random.Generator, brand: str, taken: set[tuple[str, str]]) -> str:
    while True:
        series = str(rng.choice(MODEL_SERIES))
        number = int(
            rng.choice([rng.integers(1, 10), rng.integers(10, 100) * 10, rng.integers(2, 20)])
        )
        joiner = "" if len(series) <= 2 else " "
        suffix = str(rng.choice(MODEL_SUFFIXES))
        name = f"{series}{joiner}{number}" + (f" {suffix}" if suffix else "")
        if (brand, name) not in taken:
            taken.add((brand, name))
            return name


def _shop_price(x: float) -> float:
    """Prices as shops write them: x.99 above 10, two decimals below."""
    return round(max(np.floor(x) + 0.99, 1.99), 2) if x >= 10 else round(max(x, 0.99), 2)


def _zipf_popularity(rng: np.random.Generator, quality: np.ndarray) -> np.ndarray:
    """Zipf weights (exponent 1) over a rank order that favours quality but is mostly luck."""
    score = 0.6 * quality + rng.gumbel(size=len(quality))
    rank = np.empty(len(score), dtype=np.int64)
    rank[np.argsort(-score)] = np.arange(len(score))
    w = 1.0 / (rank + 3.0)
    return w / w.sum()


def _price_position(price: np.ndarray, leaf: np.ndarray) -> np.ndarray:
    logp = np.log(price)
    out = np.zeros_like(logp)
    for li in np.unique(leaf):
        m = leaf == li
        sd = logp[m].std()
        out[m] = (logp[m] - logp[m].mean()) / (sd if sd > 0 else 1.0)
    return out
