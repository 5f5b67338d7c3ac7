"""Models, one folder per family (each folder's ``__init__`` says what lives there).

- ``text``: the shop's own language models (shop BERT, shop GPT) and MiniLM fine-tuning;
  text classifiers behind one interface.
- ``understanding``: query intent, category and entities; review sentiment.
- ``search``: product retrievers and the search evaluation protocols.
- ``purchase_intent``: purchase probability from session prefixes (tabular and sequence models).
- ``recommenders``: every recommender behind one interface and one registry, with the
  two-tower (TFRS) and sequential (next-item) families in their own folders.

Models import ``features``, ``evaluation`` and ``data``, never ``studies`` or a notebook.
"""
