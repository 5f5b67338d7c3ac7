"""A price per item from an estimated constant-elasticity demand curve Q = a * p ** e.

Profit (p - c) * Q is maximal at p = c * e / (1 + e) when e < -1 (the Lerner rule); revenue p * Q
falls with price when e < -1 and rises when -1 < e < 0, so its maximum sits on a bound. Either
way the price stays within ``bounds`` times the current list price: the curve was estimated on
the prices the history has seen, and nothing is known about demand far outside them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BOUNDS", "OBJECTIVES", "price_multiplier"]

OBJECTIVES = ("profit", "revenue")
BOUNDS = (0.8, 1.2)  # the range of price changes (times the list price) the history covers


def price_multiplier(
    elasticity: np.ndarray,
    list_price: np.ndarray,
    cost: np.ndarray,
    objective: str = "profit",
    bounds: tuple[float, float] = BOUNDS,
) -> np.ndarray:
    """The recommended price as a multiple of ``list_price`` per item, under ``elasticity`` (per
    item, the curve's exponent), for ``objective`` profit or revenue, clipped to ``bounds``."""
    e = np.asarray(elasticity, dtype=float)
    lo, hi = bounds
    if objective == "revenue":
        return np.where(e < -1, lo, hi).astype(float)
    if objective != "profit":
        raise ValueError(f"objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        lerner = np.asarray(cost, float) * e / (1 + e) / np.asarray(list_price, float)
    # inelastic demand (e >= -1): profit rises with price up to the bound
    return np.clip(np.where(e < -1, lerner, hi), lo, hi)
