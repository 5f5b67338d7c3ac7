"""The synthetic shop's prices over time and the weekly demand that answers them, with the truth.

Every item has a weekly price history: its list price (from the catalogue, changed now and then
by a permanent list-price change), promotions (a cut of 10-30%) and, in a small share of
item-weeks, a randomised price test (a multiplier drawn at random, independent of everything).
Weekly units sold are Poisson with mean

    base_i * season_t * (price_it / reference_i) ** elasticity_c * exp(shock_it)

where ``elasticity_c`` is the item's top category's true own-price elasticity, ``reference_i``
the item's first list price and ``shock_it`` an AR(1) demand shock the shop never sees.

The confounding is what a real shop does: promotions go to items that sold below their own
recent average last week (slow sellers, whose shock is persistently low) and more often in
the peak season. Lower prices thus meet lower latent demand and higher seasonal traffic, so a
log-log regression of units on price is biased; the shop's own decision inputs (last week's
units and the trailing average, the week) are in the table, so an estimator that controls for
them can recover the elasticity, and the randomised tests recover it without any control.

Observable: ``price_history`` (item, week, list price, price, promotion and test flags, unit
cost, units). Truth: ``elasticity_truth`` (per top category) and ``demand_truth`` (per
item-week: base demand, season, shock and the expected units). Drawn from its own seeded
stream, so the rest of the shop is unchanged by it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.data.synthetic.catalog import TOPS, Catalog

__all__ = [
    "PricingWorld",
    "WEEKS",
    "draw_shocks",
    "expected_units",
    "make_price_history",
    "season",
]

#: weeks of price history per profile (a full year on the default shop: one peak season)
WEEKS = {"smoke": 26, "default": 52, "full": 104}
ELASTICITY_RANGE = (-2.8, -1.3)  # true own-price elasticities are drawn from this range
BASE_UNITS = 150.0  # median weekly units of an item at its reference price, off season
SHOCK_AR, SHOCK_SD = 0.8, 0.2  # AR(1) demand shock: persistence and innovation sd
COST_SHARE = 0.6  # unit cost as a share of the first list price (known to the shop)
LIST_CHANGE_RATE, LIST_CHANGE_SD = 0.02, 0.08  # weekly chance and log-size of a list change
PROMO_DEPTHS = np.array([0.1, 0.2, 0.3])
#: promotion logit: intercept, slow-seller term (per unit of log(last week / trailing mean)),
#: peak-season term
PROMO = {"intercept": -2.4, "slow": -7.0, "peak": 0.6}
TEST_SHARE = 0.05  # share of item-weeks in a randomised price test
TEST_RANGE = (-0.2, 0.2)  # log price multiplier of a test, uniform
TRAILING = 4  # weeks in the trailing average the promotion rule compares with


def season(week: np.ndarray) -> np.ndarray:
    """Relative traffic of ``week`` (0-based; weeks 46-51 of each year are the peak season)."""
    week = np.asarray(week)
    return 1.0 + 0.25 * np.sin(2 * np.pi * week / 52) + 0.6 * peak(week)


def peak(week: np.ndarray) -> np.ndarray:
    """1 in the peak season (the last six weeks of each 52-week year), else 0."""
    return ((np.asarray(week) % 52) >= 46).astype(float)


def expected_units(
    base: np.ndarray, season_t, rel_price: np.ndarray, elasticity: np.ndarray, shock: np.ndarray
) -> np.ndarray:
    """Mean weekly units: the demand equation of the module docstring (arrays broadcast)."""
    return base * season_t * rel_price**elasticity * np.exp(shock)


def draw_shocks(previous: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Next week's AR(1) demand shocks given this week's."""
    return SHOCK_AR * previous + gen.normal(0, SHOCK_SD, len(previous))


@dataclass(frozen=True)
class PricingWorld:
    """The latent side of the price history, per item (aligned with the catalogue's rows):
    category index, true elasticity, base demand, reference price and unit cost, and the shock
    of the last week of history (where a simulation of later weeks starts)."""

    @property
    def category(self) -> np.ndarray:
        """Each item's category name."""
        return np.asarray(self.categories, dtype=object)[self.top]

    item_ids: np.ndarray
    categories: tuple[str, ...]  # names of the category indices in ``top``
    top: np.ndarray
    elasticity: np.ndarray  # per item (its category's)
    base: np.ndarray
    reference: np.ndarray
    cost: np.ndarray
    list_price: np.ndarray  # the list price in the last week of history
    last_shock: np.ndarray
    weeks: int

    @classmethod
    def from_tables(cls, history: pd.DataFrame, truth: pd.DataFrame, elasticity: pd.DataFrame):
        """Rebuilt from ``price_history``, ``demand_truth`` and ``elasticity_truth``."""
        last = int(history["week"].max())
        end = history[history["week"] == last].sort_values("item_id")
        end_truth = truth[truth["week"] == last].set_index("item_id").loc[end["item_id"]]
        first = history[history["week"] == 0].set_index("item_id").loc[end["item_id"]]
        by_cat = elasticity.set_index("category")["elasticity"]
        top = pd.Categorical(end["category"], categories=list(by_cat.index)).codes
        return cls(
            item_ids=end["item_id"].to_numpy(),
            categories=tuple(by_cat.index),
            top=np.asarray(top, dtype=np.int64),
            elasticity=by_cat.to_numpy()[top],
            base=end_truth["base_units"].to_numpy(float),
            reference=first["list_price"].to_numpy(float),
            cost=end["unit_cost"].to_numpy(float),
            list_price=end["list_price"].to_numpy(float),
            last_shock=end_truth["shock"].to_numpy(float),
            weeks=last + 1,
        )


def make_price_history(
    cat: Catalog, weeks: int, gen: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """``price_history``, ``demand_truth`` and ``elasticity_truth`` for every catalogue item over
    ``weeks`` weeks, drawn from ``gen`` (see the module docstring)."""
    n = len(cat.items)
    elasticity_cat = gen.uniform(*ELASTICITY_RANGE, len(TOPS))
    top = cat.top
    elasticity = elasticity_cat[top]
    # Base demand follows popularity (compressed: the catalogue's Zipf tail would sell nothing).
    rel_pop = cat.popularity / np.median(cat.popularity)
    base = np.clip(BASE_UNITS * rel_pop**0.35 * gen.lognormal(0, 0.3, n), 40.0, 1500.0)
    reference = cat.items["price"].to_numpy(float)
    cost = np.round(COST_SHARE * reference, 2)

    list_price = reference.copy()
    shock = gen.normal(0, SHOCK_SD / np.sqrt(1 - SHOCK_AR**2), n)
    recent = np.full((TRAILING, n), np.nan)  # last TRAILING weeks' units, newest last
    cols = {k: [] for k in ("list_price", "price", "promotion", "price_test", "units")}
    truth = {k: [] for k in ("shock", "expected_units")}
    for week in range(weeks):
        if week > 0:
            shock = draw_shocks(shock, gen)
        changed = (gen.random(n) < LIST_CHANGE_RATE) & (week > 0)
        list_price = np.where(
            changed, np.round(list_price * gen.lognormal(0, LIST_CHANGE_SD, n), 2), list_price
        )
        # The shop's promotion rule reads only what it has seen: last week against the trailing
        # average (no promotions in the first week, with nothing seen yet).
        last, trailing = recent[-1], np.nanmean(recent, axis=0) if week > 0 else recent[-1]
        slow = np.log((last + 1) / (trailing + 1)) if week > 0 else np.zeros(n)
        logit = PROMO["intercept"] + PROMO["slow"] * slow + PROMO["peak"] * peak(week)
        promo = (gen.random(n) < 1 / (1 + np.exp(-logit))) & (week > 0)
        depth = PROMO_DEPTHS[gen.integers(0, len(PROMO_DEPTHS), n)]
        test = gen.random(n) < TEST_SHARE
        test_mult = np.exp(gen.uniform(*TEST_RANGE, n))
        price = np.where(
            test, list_price * test_mult, np.where(promo, list_price * (1 - depth), list_price)
        )
        price = np.round(price, 2)
        mean = expected_units(base, season(week), price / reference, elasticity, shock)
        units = gen.poisson(mean)
        recent = np.vstack([recent[1:], units[None, :]])
        for k, v in zip(cols, (list_price, price, promo & ~test, test, units), strict=True):
            cols[k].append(v)
        truth["shock"].append(shock)
        truth["expected_units"].append(mean)

    item_ids = np.tile(cat.items["item_id"].to_numpy(), weeks)
    week_col = np.repeat(np.arange(weeks, dtype=np.int64), n)
    history = pd.DataFrame(
        {
            "item_id": item_ids,
            "category": np.array(TOPS, dtype=object)[np.tile(top, weeks)],
            "week": week_col,
            "list_price": np.concatenate(cols["list_price"]),
            "price": np.concatenate(cols["price"]),
            "promotion": np.concatenate(cols["promotion"]),
            "price_test": np.concatenate(cols["price_test"]),
            "unit_cost": np.tile(cost, weeks),
            "units": np.concatenate(cols["units"]).astype(np.int64),
        }
    )
    demand_truth = pd.DataFrame(
        {
            "item_id": item_ids,
            "week": week_col,
            "base_units": np.tile(base, weeks),
            "season": season(week_col),
            "shock": np.concatenate(truth["shock"]),
            "expected_units": np.concatenate(truth["expected_units"]),
        }
    )
    elasticity_truth = pd.DataFrame(
        {
            "category": np.array(TOPS, dtype=object),
            "elasticity": elasticity_cat,
            "items": np.bincount(top, minlength=len(TOPS)).astype(np.int64),
        }
    )
    return {
        "price_history": history,
        "demand_truth": demand_truth,
        "elasticity_truth": elasticity_truth,
    }
