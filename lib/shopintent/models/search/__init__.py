"""Product search over the whole catalogue.

- ``retrievers``: lexical (TF-IDF), dense (sentence encoder) and hybrid retrievers.
- ``protocols``: evaluation protocols (judged relevance, purchase-derived pairs) with per-query
  metrics to bootstrap.
"""
