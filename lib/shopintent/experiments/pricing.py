"""A simulator of the synthetic shop's weekly demand: what a set of prices would have sold.

The price history's world (each item's base demand, true elasticity, reference price, cost and
its last demand shock) is rebuilt from the shop's ``price_history`` and truth tables; the weeks
after the history are drawn from the generator's own demand equation (``data.synthetic.pricing``)
with the season going on and the AR(1) shocks continuing from where the history ended. Every
policy sees the same shocks (common random numbers), so the difference between two price lists
is measured without the noise of two different futures; units are Poisson draws on top, and
the expected units are kept too, so the true effect of a price list is known exactly.
This is notebook 11's simulator's counterpart for prices: that one simulates sessions and
recommendation slates, whose purchase model knows a price only as a fit to the user's taste.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.config import rng
from shopintent.data.synthetic.pricing import PricingWorld, draw_shocks, expected_units, season
from shopintent.evaluation.bootstrap import Interval, paired_bootstrap_diff

__all__ = ["Outcome", "compare", "simulate", "unsupported_reason", "world_from_shop"]

NEEDS = ("price_history", "demand_truth", "elasticity_truth")


def unsupported_reason(shop) -> str | None:
    """Why ``shop``'s prices cannot be simulated (None if they can): only the synthetic shop
    records the demand behind its price history."""
    missing = [t for t in NEEDS if t not in shop.extras]
    if not missing:
        return None
    name = shop.meta.get("dataset", "this dataset")
    return (
        f"{name}: no demand simulator — it needs the demand behind the price history, which only "
        f"the synthetic shop records (missing tables: {', '.join(missing)})"
    )


def world_from_shop(shop) -> PricingWorld:
    reason = unsupported_reason(shop)
    if reason:
        raise ValueError(reason)
    x = shop.extras
    return PricingWorld.from_tables(x["price_history"], x["demand_truth"], x["elasticity_truth"])


@dataclass(frozen=True)
class Outcome:
    """Per item, summed over the simulated weeks: drawn and expected revenue and profit."""

    revenue: np.ndarray
    profit: np.ndarray
    expected_revenue: np.ndarray
    expected_profit: np.ndarray


def simulate(world: PricingWorld, multiplier: np.ndarray, weeks: int, seed: int) -> Outcome:
    """``weeks`` weeks after the history with each item priced at ``multiplier`` × its last list
    price. The shocks depend on ``seed`` only (common to every policy); the Poisson draws too."""
    shocks_gen, units_gen = rng(seed, "pricing", "shocks"), rng(seed, "pricing", "units")
    price = world.list_price * np.asarray(multiplier, float)
    shock = world.last_shock
    out = {k: np.zeros(len(price)) for k in ("revenue", "profit", "er", "ep")}
    for w in range(world.weeks, world.weeks + weeks):
        shock = draw_shocks(shock, shocks_gen)
        mean = expected_units(
            world.base, season(w), price / world.reference, world.elasticity, shock
        )
        # one uniform per item-week turned into Poisson units by inversion: the same draws for
        # every policy, so two policies differ only where their means differ
        units = _poisson_inverse(mean, units_gen.random(len(mean)))
        out["revenue"] += units * price
        out["profit"] += units * (price - world.cost)
        out["er"] += mean * price
        out["ep"] += mean * (price - world.cost)
    return Outcome(out["revenue"], out["profit"], out["er"], out["ep"])


def _poisson_inverse(mean: np.ndarray, u: np.ndarray) -> np.ndarray:
    from scipy.stats import poisson

    return poisson.ppf(u, mean)


def compare(
    world: PricingWorld,
    policies: dict[str, np.ndarray],
    baseline: np.ndarray,
    weeks: int,
    seed: int,
    n_boot: int = 1000,
) -> pd.DataFrame:
    """Each policy's simulated revenue and profit against ``baseline`` prices over ``weeks``:
    the drawn change in % with a paired bootstrap interval over items, and the true (expected)
    change."""
    base = simulate(world, baseline, weeks, seed)
    rows = []
    for name, mult in policies.items():
        sim = simulate(world, mult, weeks, seed)
        row = {"policy": name}
        for metric in ("revenue", "profit"):
            a, b = getattr(sim, metric), getattr(base, metric)
            diff: Interval = paired_bootstrap_diff(a, b, n_boot=n_boot, seed=seed)
            scale = 100 * len(b) / b.sum()  # mean per item -> % of the baseline's total
            row[f"{metric}_change_pct"] = diff.point * scale
            row[f"{metric}_change_pct_low"] = diff.low * scale
            row[f"{metric}_change_pct_high"] = diff.high * scale
            ea, eb = getattr(sim, f"expected_{metric}"), getattr(base, f"expected_{metric}")
            row[f"{metric}_true_change_pct"] = 100 * (ea.sum() / eb.sum() - 1)
        rows.append(row)
    return pd.DataFrame(rows).set_index("policy")
