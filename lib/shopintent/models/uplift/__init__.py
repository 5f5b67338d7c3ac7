"""Uplift: whom a campaign moves, learned from a randomised campaign's arms and outcomes.

- ``learners``: the response model (who buys when mailed: a classifier on the treated arm) and
  the uplift models — econml's T-learner and X-learner and its causal forest
  (``CausalForestDML``, a generalized random forest) with LightGBM nuisance models — each
  scored out of fold (cross-fitting), so no user is scored by a model that saw their outcome.
"""
