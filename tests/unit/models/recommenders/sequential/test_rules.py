"""Sequential rules (SR): 1/distance weights by hand, steps, pruning, scoring from the last item,
determinism and save/load."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.recommenders.sequential.data import Sequences
from shopintent.models.recommenders.sequential.rules import SequentialRules

ITEMS = pd.Index([f"i{n}" for n in range(6)])  # i5 is in no training session
# i0 -> i1 (d=1), i0 -> i2 (d=2), i1 -> i2 (d=1), i0 -> i3 (d=3), i1 -> i3, i2 -> i3; i0 -> i2 (d=1)
TRAIN = Sequences.from_lists([[0, 1, 2, 3], [0, 2], [4]], ITEMS)


def q(*lists):
    return Sequences.from_lists(list(lists), ITEMS, groups=[f"q{n}" for n in range(len(lists))])


def test_rule_weights_are_summed_one_over_distance():
    rules = SequentialRules().fit(TRAIN).rules_.toarray()
    expected = np.zeros((6, 6))
    expected[0, [1, 2, 3]] = [1, 1 / 2 + 1, 1 / 3]
    expected[1, [2, 3]] = [1, 1 / 2]
    expected[2, 3] = 1
    np.testing.assert_allclose(rules, expected)
    quad = SequentialRules(weighting="quadratic").fit(TRAIN).rules_.toarray()
    assert quad[0, 2] == pytest.approx(1 / 4 + 1) and quad[0, 3] == pytest.approx(1 / 9)


def test_steps_and_pruning_limit_the_rules():
    one_step = SequentialRules(steps=1).fit(TRAIN).rules_.toarray()
    assert one_step[0, 2] == 1 and one_step[0, 3] == 0  # only the d=1 occurrence of i0 -> i2
    pruned = SequentialRules(pruning=1).fit(TRAIN).rules_.toarray()
    assert np.count_nonzero(pruned[0]) == 1 and pruned[0, 2] == 1.5
    tie = SequentialRules(steps=1, pruning=1).fit(TRAIN).rules_.toarray()
    assert tie[0, 1] == 1 and tie[0, 2] == 0  # i0 -> i1 and i0 -> i2 tie: the lower index
    half = SequentialRules(pruning=0.5).fit(TRAIN).rules_.toarray()  # keep 3 - int(1.5) = 2
    assert np.count_nonzero(half[0]) == 2 and half[0, 3] == 0


def test_scores_come_from_the_last_item_only():
    model = SequentialRules().fit(TRAIN)
    scores = model.score_sequences(q([2, 0], [0, 2], [3], []))
    np.testing.assert_allclose(scores[0, [1, 2, 3]], [1, 1.5, 1 / 3])
    np.testing.assert_allclose(scores[1, 3], 1)
    assert (scores[2:, :5] <= 0).all() and (scores[:, 5] == -1).all()  # fallback; untrained
    rec = model.recommend_sequences(q([2, 0]), 3)
    assert list(rec.item_ids[0]) == ["i1", "i3", "i4"]  # i2 is its own; i4 by popularity
    assert "i5" not in set(model.recommend_sequences(q([4]), 6).item_ids[0])


def test_deterministic_and_loads_back_scoring_the_same(tmp_path):
    queries = q([2, 0], [1], [], [4])
    a = SequentialRules(steps=3, pruning=2).fit(TRAIN)
    b = SequentialRules(steps=3, pruning=2).fit(TRAIN)
    np.testing.assert_array_equal(a.score_sequences(queries), b.score_sequences(queries))
    again = SequentialRules.load(a.save(tmp_path / "sr"))
    assert (again.steps, again.pruning) == (3, 2)
    np.testing.assert_array_equal(again.score_sequences(queries), a.score_sequences(queries))
