"""Advertising: click-through-rate models (``ctr``) and the sponsored-product auction they feed
(``auction``)."""
