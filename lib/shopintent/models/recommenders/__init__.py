"""Recommenders behind one interface (``base.Recommender``): fit on training interactions and
the catalogue, recommend top-k over the whole catalogue, evaluate with ``evaluate``."""
