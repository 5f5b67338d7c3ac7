"""The long tail: how concentrated attention is on few items, brands and categories; prices.

Popularity counts one event type (views by default). With ``catalogue`` given, items that never
got such an event are counted with 0, so the Gini and the top-20% share describe the whole
catalogue rather than only the items someone touched.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from shopintent.eda.quality import QUANTILES, unavailable

POPULARITY_COLUMNS = ["rank", "item_id", "events", "share", "cum_share", "item_frac"]


def gini(counts) -> float | None:
    """Gini coefficient of non-negative ``counts``: 0 when all are equal, (n−1)/n when one has
    everything. None for no values or a zero total.

    G = Σ_i (2i − n − 1)·x_(i) / (n·Σx), with x sorted ascending and i = 1..n.
    """
    x = np.sort(np.asarray(counts, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return None
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def top_share(counts, frac: float = 0.2) -> float | None:
    """Share of the total held by the top ⌈frac·n⌉ values (e.g. views on the top 20% of items)."""
    x = np.sort(np.asarray(counts, dtype=float))[::-1]
    if len(x) == 0 or x.sum() <= 0:
        return None
    k = max(1, math.ceil(frac * len(x) - 1e-9))
    return float(x[:k].sum() / x.sum())


def item_popularity(
    events: pd.DataFrame, event_type: str = "view", catalogue: pd.Series | None = None
) -> pd.DataFrame:
    """Items by popularity, most popular first:
    ``rank, item_id, events, share, cum_share, item_frac`` (the popularity curve).

    ``share``: the item's share of all ``event_type`` events; ``cum_share``: of the top ``rank``
    items; ``item_frac``: rank / number of items (x of a concentration curve).
    """
    chosen = events.loc[events["event_type"] == event_type, "item_id"].dropna()
    if chosen.empty:
        return unavailable(
            POPULARITY_COLUMNS, f"the events have no {event_type!r} events with an item"
        )
    counts = chosen.value_counts()
    if catalogue is not None and len(catalogue):
        counts = counts.reindex(
            counts.index.union(pd.Index(catalogue.dropna().unique())), fill_value=0
        )
    counts = counts.sort_values(ascending=False, kind="stable")
    total = counts.sum()
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(counts) + 1),
            "item_id": counts.index.astype(str),
            "events": counts.to_numpy(dtype=np.int64),
        }
    )
    out["share"] = out["events"] / total
    out["cum_share"] = out["events"].cumsum() / total
    out["item_frac"] = out["rank"] / len(out)
    return out


def concentration(popularity: pd.DataFrame, frac: float = 0.2) -> dict[str, float | None]:
    """``gini``, ``top_share`` (of events on the top ``frac`` of items) and ``zero_share`` (items
    with no event) from ``item_popularity``; None where the table is empty."""
    if popularity.empty:
        return {"gini": None, "top_share": None, "zero_share": None, "items": 0}
    counts = popularity["events"]
    return {
        "gini": gini(counts),
        "top_share": top_share(counts, frac),
        "zero_share": float((counts == 0).mean()),
        "items": len(counts),
    }


def category_path(category: pd.Series, level: int | None = 1) -> pd.Series:
    """The first ``level`` parts of a dot-path category (``electronics.smartphone`` →
    ``electronics`` at level 1); ``None`` keeps the full path."""
    if level is None:
        return category
    if level < 1:
        raise ValueError(f"level must be at least 1, got {level}")
    return category.str.split(".", n=level).str[:level].str.join(".")


def attribute_shares(
    events: pd.DataFrame,
    items: pd.DataFrame,
    by: str = "brand",
    event_type: str = "view",
    level: int | None = 1,
) -> pd.DataFrame:
    """Catalogue items and ``event_type`` events per brand or category:
    ``<by>, items, item_share, events, event_share``, most events first.

    ``by``: "brand" or "category" (cut to ``level``). Shares are of items/events whose item has a
    known ``by``; items without one are left out (counted in ``attrs["unknown_events"]``).
    """
    if by not in ("brand", "category"):
        raise ValueError(f"by must be 'brand' or 'category', got {by!r}")
    cols = [by, "items", "item_share", "events", "event_share"]
    if by not in items.columns or items[by].notna().sum() == 0:
        return unavailable(cols, f"the items table has no {by}s")
    key = items[by] if by == "brand" else category_path(items[by], level)
    lookup = pd.Series(key.to_numpy(), index=items["item_id"].to_numpy())
    chosen = events.loc[events["event_type"] == event_type, "item_id"]
    ev_key = chosen.map(lookup)
    n_items = key.value_counts()
    n_events = ev_key.value_counts()
    out = pd.concat({"items": n_items, "events": n_events}, axis=1).fillna(0).astype(np.int64)
    out = (
        out.sort_values(["events", "items"], ascending=False, kind="stable")
        .rename_axis(by)
        .reset_index()
    )
    out.insert(2, "item_share", out["items"] / max(out["items"].sum(), 1))
    out["event_share"] = out["events"] / out["events"].sum() if out["events"].sum() else np.nan
    out.attrs["unknown_events"] = int(ev_key.isna().sum())
    return out


def item_prices(events: pd.DataFrame, items: pd.DataFrame) -> pd.Series:
    """Each item's price: the catalogue's, else the median price on its events; NaN if neither."""
    cat = pd.Series(items["price"].to_numpy(), index=items["item_id"].to_numpy(), dtype=float)
    if "price" not in events:
        return cat.rename("price").rename_axis("item_id")
    seen = events.dropna(subset=["item_id", "price"]).groupby("item_id")["price"].median()
    return cat.fillna(seen.reindex(cat.index)).rename("price").rename_axis("item_id")


def price_by_category(
    events: pd.DataFrame, items: pd.DataFrame, level: int | None = 1
) -> pd.DataFrame:
    """Price distribution of catalogue items per category (cut to ``level``):
    ``category, items, mean, min, p10 .. p99, max``, by median price descending."""
    cols = ["category", "items", "mean", "min", *[f"p{round(q * 100)}" for q in QUANTILES], "max"]
    if items.empty:
        return unavailable(cols, "the items table is empty")
    if items["category"].notna().sum() == 0:
        return unavailable(cols, "the items table has no categories")
    price = item_prices(events, items).to_numpy()
    df = pd.DataFrame(
        {"category": category_path(items["category"], level).to_numpy(), "price": price}
    )
    df = df.dropna()
    if df.empty:
        return unavailable(cols, "no item has a price (neither in items nor on events)")
    g = df.groupby("category")["price"]
    q = g.quantile(list(QUANTILES)).unstack()
    q.columns = [f"p{round(p * 100)}" for p in QUANTILES]
    out = pd.concat(
        [
            g.size().rename("items"),
            g.mean().rename("mean"),
            g.min().rename("min"),
            q,
            g.max().rename("max"),
        ],
        axis=1,
    )
    return out.sort_values("p50", ascending=False, kind="stable").reset_index()[cols]
