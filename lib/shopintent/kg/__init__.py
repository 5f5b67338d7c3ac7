"""The product knowledge graph: items, brands, models, categories, attribute values and query
intents as typed nodes; catalogue facts and training co-occurrence as typed edges.

- ``build``: the graph from the canonical tables (``build_kg``), co-occurrence from training
  events only, MovieLens' Freebase triples; ``ProductKG`` holds node/edge tables and gives the
  networkx graph.
- ``store``: save and load as node/edge Parquet (atomic).
- ``stats``: node/edge counts by type, degrees, connected components.
- ``linking``: entity mentions (text + label) to KG nodes, fuzzy for typos, with a confidence;
  a gazetteer-style mention finder when no tagger is at hand.
- ``ppr``: personalised PageRank for all users at once (sparse power iteration) and the
  ``kg_ppr`` / ``<base>_kg_blend`` recommenders.
- ``explain``: typed paths of length <= 3 from a user's history to a recommended item.
- ``features``: per-item KG arrays for the two-tower model.
"""
