"""Variants of a prepared dataset that each lack ONE optional table or column (issue 18).

    base = registry.load("rees46")
    for name, shop in build_variants(base).items():   # {"no_purchases": ShopData, ...}
        save_variant(shop, "rees46", name)            # -> data/processed/rees46--no_purchases/

A variant is built only where the base has what it removes (a base without brands gets no
``no_brands``). Everything else is copied unchanged: the other tables, the extra tables of the
source (the synthetic shop's ground truth too) and ``meta`` (plus ``variant`` and ``base``).
What each variant does:

- ``no_purchases``: purchase events dropped (not built where every event is one: baskets);
- ``no_queries``: the queries table emptied and the search events dropped (not built where
  every event is a search);
- ``no_categories`` / ``no_brands`` / ``no_titles``: ``items.category`` / ``brand`` / ``title``
  null;
- ``no_prices``: ``events.price`` and ``items.price`` null;
- ``no_users``: ``events.user_id`` null;
- ``repeated_text``: one review text, one query text and one item title each copied over
  ``REPEAT_FRAC`` of the rows that have one (entity spans of the overwritten queries cleared).

A saved variant is named ``<base>--<variant>`` (``base_name``: ``synthetic_smoke`` for the
synthetic shop, whose ``synthetic-<profile>`` folders are reserved); the registry lists it
among the datasets prepared under an own name, so ``shopintent run --dataset <name>`` takes it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from shopintent.config import processed_root
from shopintent.data.schema import empty_table
from shopintent.data.store import ShopData

#: share of the rows holding a text that ``repeated_text`` overwrites with one of them
REPEAT_FRAC = 0.3
SEP = "--"


def _present(s: pd.Series) -> bool:
    return bool(s.notna().any())


def _copy(base: ShopData, **tables) -> ShopData:
    """A new ShopData with ``tables`` replaced (validated by ``from_tables``)."""
    current = {
        "events": base.events,
        "items": base.items,
        "queries": base.queries,
        "reviews": base.reviews,
    }
    current.update(tables)
    return ShopData.from_tables(
        **{k: v.copy() for k, v in current.items()},
        extras={k: v.copy() for k, v in base.extras.items()},
        meta=dict(base.meta),
    )


def _null(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    out = df.copy()
    for col in columns:
        out[col] = pd.Series([None] * len(out), index=out.index, dtype=object)
    return out


def no_purchases(base: ShopData) -> ShopData | None:
    purchase = base.events["event_type"] == "purchase"
    if not purchase.any() or purchase.all():  # all purchases (baskets): nothing would be left
        return None
    return _copy(base, events=base.events[~purchase].reset_index(drop=True))


def no_queries(base: ShopData) -> ShopData | None:
    search = base.events["event_type"] == "search"
    # not built where nothing would be left of the log (every event a search, or no events:
    # judgements only)
    if (len(base.queries) == 0 and not search.any()) or search.all():
        return None
    events = base.events[~search].reset_index(drop=True)
    events = events.assign(query_id=pd.Series([None] * len(events), dtype=object))
    return _copy(base, events=events, queries=empty_table("queries"))


def _no_item_column(column: str) -> Callable[[ShopData], ShopData | None]:
    def build(base: ShopData) -> ShopData | None:
        if not _present(base.items[column]):
            return None
        return _copy(base, items=_null(base.items, column))

    build.__name__ = f"no_{column}"
    return build


def no_prices(base: ShopData) -> ShopData | None:
    if not (_present(base.events["price"]) or _present(base.items["price"])):
        return None
    return _copy(base, events=_null(base.events, "price"), items=_null(base.items, "price"))


def no_users(base: ShopData) -> ShopData | None:
    """``events.user_id`` null (a click log without user ids)."""
    if not _present(base.events["user_id"]):
        return None
    return _copy(base, events=_null(base.events, "user_id"))


def _repeat(df: pd.DataFrame, column: str, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``df`` with one of its texts in ``column`` copied over REPEAT_FRAC of the rows having
    one; returns the new frame and the positions overwritten."""
    have = np.flatnonzero(df[column].notna().to_numpy())
    if len(have) < 2:
        return df, np.array([], dtype=int)
    rng = np.random.default_rng(seed)
    n = max(2, int(round(REPEAT_FRAC * len(have))))
    rows = np.sort(rng.choice(have, size=min(n, len(have)), replace=False))
    out = df.copy()
    values = out[column].to_numpy(dtype=object, copy=True)
    values[rows] = values[rows[0]]
    out[column] = pd.Series(values, index=out.index, dtype=object)
    return out, rows


def repeated_text(base: ShopData, seed: int = 0) -> ShopData | None:
    changed = {}
    reviews, rows = _repeat(base.reviews, "text", seed)
    if len(rows):
        changed["reviews"] = reviews
    queries, rows = _repeat(base.queries, "text", seed + 1)
    if len(rows):
        entities = queries["entities"].to_numpy(dtype=object, copy=True)
        entities[rows] = None
        queries["entities"] = pd.Series(entities, index=queries.index, dtype=object)
        changed["queries"] = queries
    items, rows = _repeat(base.items, "title", seed + 2)
    if len(rows):
        changed["items"] = items
    return _copy(base, **changed) if changed else None


#: variant name -> builder (None where the base has nothing to remove)
BUILDERS: dict[str, Callable[[ShopData], ShopData | None]] = {
    "no_purchases": no_purchases,
    "no_queries": no_queries,
    "no_categories": _no_item_column("category"),
    "no_brands": _no_item_column("brand"),
    "no_prices": no_prices,
    "no_users": no_users,
    "no_titles": _no_item_column("title"),
    "repeated_text": repeated_text,
}
VARIANTS = tuple(BUILDERS)


def build_variant(base: ShopData, name: str) -> ShopData | None:
    """One variant of ``base``; None when the base lacks what it removes."""
    data = BUILDERS[name](base)
    if data is not None:
        data.meta.update(variant=name, base=base.meta.get("dataset"))
    return data


def build_variants(base: ShopData, names: tuple[str, ...] = VARIANTS) -> dict[str, ShopData]:
    """Every applicable variant of ``base``."""
    built = {name: build_variant(base, name) for name in names}
    return {name: data for name, data in built.items() if data is not None}


def base_name(dataset: str, profile: str = "smoke") -> str:
    """A registry name for a base: the dataset's own, ``synthetic_<profile>`` for the shop."""
    return f"synthetic_{profile}" if dataset == "synthetic" else dataset


def variant_name(base: str, variant: str) -> str:
    return f"{base}{SEP}{variant}"


def save_variant(data: ShopData, base: str, variant: str) -> str:
    """Save under ``<base>--<variant>`` in the data root; returns the dataset name."""
    name = variant_name(base, variant)
    data.meta["dataset"] = name
    data.save(processed_root() / name)
    return name


#: real samples in ../shared/data, by the dataset whose loader reads them
SAMPLES = {
    "rees46": "rees46-2019oct-head1000",
    "diginetica": "diginetica-sample-srgnn",
    "taobao": "taobao-userbehavior-sample",
    "homedepot": "homedepot-search-relevance",
    "amazon-reviews": "amazon-reviews-2018-all-beauty-5core",
    "instacart": "instacart-sample-billyrohh",
    "movielens-100k": "movielens-100k-recbole",
    "groceries": "groceries-arules",
}
#: bases of the variant matrix: the synthetic smoke shop and every real sample
BASES = ("synthetic", *SAMPLES)


def prepare_base(dataset: str, shared_data=None, profile: str = "smoke") -> str:
    """Prepare a base in the data root (the synthetic shop of ``profile``, or a real sample by
    its loader) unless it is there; returns its registry name for ``shopintent run``."""
    from shopintent.data import registry

    if not registry.is_prepared(dataset, profile):
        source = None if dataset == "synthetic" else shared_data / SAMPLES[dataset]
        registry.prepare(dataset, profile=profile, source=source)
    return dataset


def prepare_variant(dataset: str, variant: str, shared_data=None, profile: str = "smoke"):
    """Prepare ``<base>--<variant>`` (and its base); returns its name, or None when the base
    lacks what the variant removes."""
    from shopintent.data import registry

    prepare_base(dataset, shared_data, profile)
    name = variant_name(base_name(dataset, profile), variant)
    if (processed_root() / name / "meta.json").is_file():
        return name
    data = build_variant(registry.load(dataset, profile), variant)
    if data is None:
        return None
    return save_variant(data, base_name(dataset, profile), variant)
