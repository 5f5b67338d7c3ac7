"""Pricing: how demand answers price, estimated from a shop's price history.

- ``panel``: the item-week demand panel (log units, log price against the item's reference, the
  shop's own decision inputs as controls), from a price history or from order lines.
- ``elasticity``: own-price elasticity per category by a naive log-log regression, by the
  randomised price tests alone and by double machine learning (econml's ``LinearDML`` with
  LightGBM nuisance models, standard errors clustered by item).
- ``recommend``: the price multiplier that maximises profit or revenue under an estimated
  constant-elasticity curve, within the range of prices the history has seen.
"""
