"""Canonical tables, their storage, the synthetic shop and the loaders of public datasets."""
