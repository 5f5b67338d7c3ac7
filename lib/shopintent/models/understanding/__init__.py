"""Query and review understanding: what a text wants, names and feels.

- ``intent``: query intent and category; ``entities``: brand/model/category/attribute spans (a
  catalogue gazetteer and a neural tagger); ``alignment``: words, word pieces and BIO tags;
  ``sentiment``: review sentiment.
"""
