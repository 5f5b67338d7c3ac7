"""Notebook 06's recommender baselines on Spark, for logs that outgrow one machine.

``split`` (temporal cut-off, the task: test users, truth, seen items), ``baselines``
(popularity, item-kNN, ALS from Spark ML), ``evaluate`` (full-catalogue ranking metrics as
DataFrame aggregations) and ``run.run_baselines`` (all of it in one call). Each mirrors its
pandas twin (``models.recommenders.{evaluate, baselines, factorization}``), and agreement tests
hold them to it: popularity and item-kNN to 1e-9, ALS within seed noise. Only imported when
Spark is asked for (pyspark is not needed by the pandas path).
"""
