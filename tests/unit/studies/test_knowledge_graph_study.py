"""Notebook 09's study steps on hand-made inputs."""

from types import SimpleNamespace

import numpy as np

from shopintent.studies import knowledge_graph as study


def test_explanation_examples_of_users_without_history_is_an_empty_table_with_its_columns():
    """Issue 18, groceries (one basket per user id): no test user has a source to explain from,
    so no row is shown; the table keeps its columns (the notebook drops ``path`` from it)."""
    sources = [[], [], []]
    rows = study.example_rows(sources, 3, seed=0)
    recs = SimpleNamespace(item_ids=np.array([["i1", "i2"]] * 3, dtype=object))
    examples = study.explanation_examples(None, sources, recs, ["t1", "t2", "t3"], rows, k=2)
    assert rows == [] and examples.empty
    assert list(examples.columns) == list(study.EXAMPLE_COLUMNS)
    assert examples.drop(columns="path").empty
