"""One module per notebook topic: what a notebook needs that is not a domain concept.

A study owns its settings by profile, its steps, its figures (``<topic>_figures``), the metric
keys it records and the reuse of an earlier notebook's saved artefacts. Domain packages (``data``,
``features``, ``models``, ``kg``, ``explain``, ``experiments``, ``evaluation``) know nothing of
notebooks; imports point notebooks -> studies -> domain packages, never back.
"""
