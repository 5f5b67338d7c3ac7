"""Notebook 14's settings by profile, its steps and its recorded metrics: flat ``pricing/...``
keys on the run's dataset, ``online-retail/pricing/...`` for the UCI Online Retail II section."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.data.synthetic.pricing import PricingWorld
from shopintent.experiments import pricing as simulator
from shopintent.models.pricing import elasticity, recommend
from shopintent.models.pricing.panel import demand_panel, weekly_orders, well_priced
from shopintent.studies.settings import StudySettings

RETAIL = "online-retail"
#: the UCI Online Retail II file's columns mapped onto the ``orders`` layout's fields
RETAIL_COLUMNS = (
    "order=Invoice,item=StockCode,time=InvoiceDate,customer=Customer ID,quantity=Quantity,"
    "price=Price,description=Description"
)


@dataclass(frozen=True)
class Settings(StudySettings):
    """LightGBM trees per DML nuisance model (``n_estimators``) and DML's cross-fitting folds
    (``folds``: each nuisance model learns from (k - 1) / k of the items; with halves the price
    model's error was large enough to pull the estimate towards zero by a third of its interval's
    half-width), simulated weeks of the price recommendation (``sim_weeks``), the real section's
    items at most (``retail_items``, the most often sold; None: all) and bootstrap replicates
    (``n_boot``)."""

    n_estimators: int
    folds: int
    sim_weeks: int
    retail_items: int | None
    n_boot: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {
            "n_estimators": 40,
            "folds": 2,
            "sim_weeks": 8,
            "retail_items": 300,
            "n_boot": 300,
        },
        "default": {
            "n_estimators": 150,
            "folds": 5,
            "sim_weeks": 13,
            "retail_items": None,
            "n_boot": 1000,
        },
        "full": {
            "n_estimators": 200,
            "folds": 5,
            "sim_weeks": 26,
            "retail_items": None,
            "n_boot": 2000,
        },
    }


def history_summary(history: pd.DataFrame) -> pd.DataFrame:
    """Per category: items, item-weeks, share of weeks on promotion and in a price test, mean
    price change against list, and mean weekly units."""
    h = history.assign(off_list=1 - history["price"] / history["list_price"])
    return h.groupby("category").agg(
        items=("item_id", "nunique"),
        item_weeks=("item_id", "size"),
        promotion_share=("promotion", "mean"),
        test_share=("price_test", "mean"),
        mean_discount=("off_list", "mean"),
        mean_units=("units", "mean"),
    )


def demand_curve(panel: pd.DataFrame, bins: int = 8) -> pd.DataFrame:
    """Binned within-item demand curve per category: mean log price and log units (both as
    deviations from the item's mean) per price-deviation bin, for the figure."""
    dev = panel.assign(
        dt=panel["t"] - panel.groupby("item_id")["t"].transform("mean"),
        dy=panel["y"] - panel.groupby("item_id")["y"].transform("mean"),
    )
    dev = dev[dev["dt"].abs() > 1e-9]
    dev["bin"] = dev.groupby("category")["dt"].transform(
        lambda s: pd.qcut(s, bins, labels=False, duplicates="drop")
    )
    return (
        dev.groupby(["category", "bin"])
        .agg(log_price=("dt", "mean"), log_units=("dy", "mean"), n=("dy", "size"))
        .reset_index()
    )


def estimates_vs_truth(
    panel: pd.DataFrame, truth: pd.DataFrame | None, seed: int, n_est: int, folds: int = 2
):
    """Every estimator's per-category elasticity with its interval, joined with the truth when
    there is one (``elasticity.against_truth``)."""
    est = elasticity.estimate_all(panel, seed=seed, n_estimators=n_est, folds=folds)
    return est if truth is None else elasticity.against_truth(est, truth)


def accuracy(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean bias, mean |relative error|, share within ±10%, interval coverage and
    mean interval width."""
    t = table.assign(abs_rel=table["relative_error"].abs(), width=table["high"] - table["low"])
    return t.groupby("method").agg(
        mean_bias=("bias", "mean"),
        mean_abs_relative_error=("abs_rel", "mean"),
        share_within_10pct=("within", "mean"),
        coverage=("covers", "mean"),
        mean_interval_width=("width", "mean"),
    )


def policies(world: PricingWorld, table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Price multipliers (× the last list price) per item: profit- and revenue-maximising under
    the DML estimate, profit-maximising under the naive estimate, and under the true elasticity
    (the best any estimate could do)."""
    out = {}
    for method in ("dml", "naive"):
        by = table[table["method"] == method].set_index("category")["estimate"]
        e = by.reindex(world.category).to_numpy(float)
        out[f"{method}_profit"] = recommend.price_multiplier(e, world.list_price, world.cost)
        if method == "dml":
            out["dml_revenue"] = recommend.price_multiplier(
                e, world.list_price, world.cost, objective="revenue"
            )
    out["true_profit"] = recommend.price_multiplier(world.elasticity, world.list_price, world.cost)
    return out


def recommendation_table(world: PricingWorld, multipliers: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per category and policy: the median recommended price change (% against list)."""
    frame = pd.DataFrame({name: 100 * (m - 1) for name, m in multipliers.items()})
    return frame.groupby(world.category).median().rename_axis("category")


def simulate_policies(world, multipliers, weeks, seed, n_boot) -> pd.DataFrame:
    """Each policy against the current list prices in the demand simulator (``compare``)."""
    return simulator.compare(world, multipliers, np.ones(len(world.base)), weeks, seed, n_boot)


def retail_panel(path: str | Path, max_items: int | None) -> tuple[pd.DataFrame, str]:
    """The Online Retail II order lines as an item-week panel (``orders`` layout, bad rows
    skipped and counted), items seen in >= 8 weeks at >= 3 prices, at most ``max_items`` of the
    most often sold; and a note on what was read."""
    from shopintent.data.sources import orders

    data = orders.load(Path(path), on_bad_rows="skip", columns=RETAIL_COLUMNS)
    panel = well_priced(demand_panel(weekly_orders(data.events, data.items)))
    if max_items is not None:
        keep = panel["item_id"].value_counts().index[:max_items]
        panel = panel[panel["item_id"].isin(keep)].reset_index(drop=True)
    bad = data.meta.get("bad_rows", {}).get("total", 0)
    note = (
        f"{len(data.events):,} purchase lines ({bad} bad rows skipped), "
        f"{panel['item_id'].nunique():,} items × weeks with >= 3 prices: {len(panel):,} rows"
    )
    return panel, note


def quantity_confounding(panel: pd.DataFrame) -> float:
    """Within-item correlation of log unit price with log mean line quantity: negative when
    bigger orders get lower unit prices (quantity tiers)."""
    t = panel["t"] - panel.groupby("item_id")["t"].transform("mean")
    q = panel["log_line_quantity"] - panel.groupby("item_id")["log_line_quantity"].transform("mean")
    return float(np.corrcoef(t, q)[0, 1])


def metrics(
    table: pd.DataFrame | None,
    sims: pd.DataFrame | None,
    retail: pd.DataFrame | None,
    retail_corr: float | None,
) -> dict[str, float]:
    """``pricing/<method>/{share_within_10pct,coverage,mean_bias,...}`` and per category
    ``pricing/<method>/elasticity/<category>`` (+ ``_low``/``_high``, ``pricing/truth/...``);
    ``pricing/sim/<policy>/{revenue,profit}_change_pct`` (+ interval, true change);
    ``online-retail/pricing/<method>/elasticity`` (+ interval) for the real section."""
    out: dict[str, float] = {}
    if table is not None:
        for method, row in accuracy(table).iterrows():
            for k, v in row.items():
                out[f"pricing/{method}/{k}"] = float(v)
        for r in table.itertuples():
            key = f"pricing/{r.method}/elasticity/{r.category}"
            out.update({key: r.estimate, f"{key}_low": r.low, f"{key}_high": r.high})
            out[f"pricing/truth/elasticity/{r.category}"] = r.true
    if sims is not None:
        for policy, row in sims.iterrows():
            for k, v in row.items():
                out[f"pricing/sim/{policy}/{k}"] = float(v)
    if retail is not None:
        for r in retail.itertuples():
            if np.isnan(r.estimate):
                continue
            key = f"{RETAIL}/pricing/{r.method}/elasticity"
            out.update({key: r.estimate, f"{key}_low": r.low, f"{key}_high": r.high})
            out[f"{RETAIL}/pricing/data/item_weeks"] = r.n
        if retail_corr is not None:
            out[f"{RETAIL}/pricing/data/price_quantity_correlation"] = retail_corr
    return out
