"""The item-week demand panel that every elasticity estimator reads.

One row per item and week with ``y`` = log(units + 1/2), ``t`` = log(price / reference) (the
reference is the item's first list price, or its median price where there is no list price),
``category`` and the controls a shop's pricing decisions depend on: last week's units and price
and the trailing average (promotions chase slow sellers), the week's position in the year (season),
the list price against the reference (list changes) and the reference price itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CONTROLS", "controls_of", "demand_panel", "weekly_orders", "well_priced"]

#: control columns of the panel (the DML nuisance models' inputs besides the category)
CONTROLS = (
    "log_lag_units",
    "lag_t",
    "slow",
    "log_trailing_units",
    "season_sin",
    "season_cos",
    "week_of_year",
    "log_list_ratio",
    "log_reference",
)
TRAILING = 4
NEEDED = ("item_id", "week", "price", "units")


def demand_panel(history: pd.DataFrame, trailing: int = TRAILING) -> pd.DataFrame:
    """The panel of a price history (columns ``item_id, week, price, units``; optional
    ``category``, ``list_price``, ``price_test``). The first week of each item (no lag) is
    dropped. Raises ValueError naming a missing column or non-positive prices."""
    missing = [c for c in NEEDED if c not in history.columns]
    if missing:
        raise ValueError(
            f"price history: missing column(s) {', '.join(missing)} (needs {', '.join(NEEDED)})"
        )
    bad = history["price"].isna() | (history["price"] <= 0)
    if bad.any():
        raise ValueError(
            f"price history: {int(bad.sum())} rows with a missing or non-positive price "
            f"(first at row {int(np.flatnonzero(bad.to_numpy())[0])})"
        )
    h = history.sort_values(["item_id", "week"]).reset_index(drop=True)
    if "category" not in h or h["category"].isna().all():
        h["category"] = "all items"
    h["category"] = h["category"].fillna("unknown").astype(str)
    listed = h["list_price"] if "list_price" in h else h["price"]
    g = h.groupby("item_id", sort=False)
    reference = (
        listed.groupby(h["item_id"], sort=False).transform("first")
        if "list_price" in h
        else h.groupby("item_id", sort=False)["price"].transform("median")
    )
    units = h["units"].astype(float)
    lag = g["units"].shift(1).astype(float)
    trail = lag.groupby(h["item_id"], sort=False).transform(
        lambda s: s.rolling(trailing, min_periods=1).mean()
    )
    week = h["week"].astype(float)
    panel = pd.DataFrame(
        {
            "item_id": h["item_id"],
            "category": h["category"],
            "week": h["week"],
            "price": h["price"].astype(float),
            "units": units,
            # log(units + 1/2) is unbiased for log(mean) up to O(mean^-2) under Poisson noise;
            # log(1 + units) flattens the curve by ~1/(2 mean) (measured: 2% towards zero)
            "y": np.log(units + 0.5),
            "t": np.log(h["price"] / reference),
            "log_lag_units": np.log1p(lag),
            # last week's price: without it last week's units do not tell its demand shock
            "lag_t": np.log(g["price"].shift(1) / reference),
            "log_trailing_units": np.log1p(trail),
            # last week against the trailing average: what a promotion rule reads, given to the
            # trees as one column (they approximate a difference of two columns poorly)
            "slow": np.log1p(lag) - np.log1p(trail),
            "season_sin": np.sin(2 * np.pi * week / 52),
            "season_cos": np.cos(2 * np.pi * week / 52),
            "week_of_year": week % 52,
            # without list prices, the price is its own list price: no list change is seen
            "log_list_ratio": np.log(listed / reference) if "list_price" in h else 0.0,
            "log_reference": np.log(reference),
            "price_test": h["price_test"].astype(bool) if "price_test" in h else False,
            "test_multiplier": np.log(h["price"] / listed),
        }
    )
    if "mean_line_quantity" in h:  # order lines: the order size sets the unit price (tiers)
        panel["log_line_quantity"] = np.log(h["mean_line_quantity"].astype(float))
    return panel[lag.notna().to_numpy()].reset_index(drop=True)


def well_priced(panel: pd.DataFrame, min_weeks: int = 8, min_prices: int = 3) -> pd.DataFrame:
    """The rows of items seen in at least ``min_weeks`` weeks at ``min_prices`` distinct prices
    (rounded to the cent): an item whose price never moved says nothing about elasticity."""
    g = panel.groupby("item_id")
    weeks = g["week"].transform("size")
    prices = g["price"].transform(lambda p: p.round(2).nunique())
    return panel[(weeks >= min_weeks) & (prices >= min_prices)].reset_index(drop=True)


def controls_of(panel: pd.DataFrame) -> list[str]:
    """The panel's control columns: ``CONTROLS`` plus the order size where it was kept."""
    return [*CONTROLS, *(["log_line_quantity"] if "log_line_quantity" in panel else [])]


def weekly_orders(events: pd.DataFrame, items: pd.DataFrame | None = None) -> pd.DataFrame:
    """A price history from order lines (purchase events with ``price`` and ``quantity``): per
    item and calendar week, units = total quantity and price = the quantity-weighted mean unit
    price; ``mean_line_quantity`` keeps the order size, which sets the unit price in wholesale
    data (quantity tiers) and so must be controlled for. Weeks without a sale are absent (no
    price was seen). ``category`` comes from ``items`` where it has one."""
    missing = [c for c in ("item_id", "ts", "price", "quantity") if c not in events.columns]
    if missing:
        raise ValueError(f"events: missing column(s) {', '.join(missing)} for a price history")
    ev = events[(events["event_type"] == "purchase") & (events["price"] > 0)]
    ev = ev[ev["quantity"].notna() & (ev["quantity"] > 0)]
    week = (ev["ts"] - ev["ts"].min()).dt.days // 7
    frame = pd.DataFrame(
        {
            "item_id": ev["item_id"].to_numpy(),
            "week": week.to_numpy(),
            "spend": (ev["price"] * ev["quantity"]).to_numpy(),
            "units": ev["quantity"].to_numpy(),
        }
    )
    out = frame.groupby(["item_id", "week"], sort=True).agg(
        spend=("spend", "sum"), units=("units", "sum"), lines=("units", "size")
    )
    out = out.reset_index()
    out["price"] = out["spend"] / out["units"]
    out["mean_line_quantity"] = out["units"] / out["lines"]
    if items is not None and "category" in items:
        out["category"] = out["item_id"].map(items.set_index("item_id")["category"])
    return out.drop(columns="spend")
