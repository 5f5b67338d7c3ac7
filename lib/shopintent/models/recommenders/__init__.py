"""Recommenders behind one interface (``base.Recommender``): fit on training interactions and
the catalogue, recommend top-k over the whole catalogue, evaluate with ``evaluate``. Every
recommender is registered by name in ``registry`` (its factory, search space and loader), which
``tune``, ``persist`` and the studies read. ``oracle`` (users) and ``sequential.oracle`` (next
new item) are the synthetic shop's ceiling: its own probabilities, built from its truth tables,
scored like every model but not registered (they learn nothing and need the shop itself).
``spark`` holds popularity, item-kNN and ALS with their evaluation on Spark DataFrames, for logs
that outgrow one machine (imported only when asked for: pyspark is not needed here)."""
