"""The weighted hybrid: per-row min-max by hand, the weight chosen on validation (0 and 1 give
either part alone), fitted parts reused, save/load scoring the same."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.recommenders.sequential.data import NextItems, Sequences
from shopintent.models.recommenders.sequential.hybrid import SequenceHybrid, minmax_rows
from shopintent.models.recommenders.sequential.rules import SequentialRules

ITEMS = pd.Index([f"i{n}" for n in range(6)])
# the rules say 0 -> 1; popularity says 3 (in three sessions)
TRAIN = Sequences.from_lists([[0, 1], [3, 2], [3, 4], [3, 5], [0, 1]], ITEMS)


def q(*lists):
    return Sequences.from_lists(list(lists), ITEMS, groups=[f"q{n}" for n in range(len(lists))])


def test_minmax_rows_by_hand():
    s = np.array([[1.0, 3.0, 2.0, -np.inf], [5.0, 5.0, 5.0, 5.0]])
    out = minmax_rows(s)
    np.testing.assert_allclose(out[0, :3], [0.0, 1.0, 0.5])
    assert out[0, 3] == -np.inf and (out[1] == 0).all()


def _parts():
    from shopintent.models.recommenders import registry

    rules = SequentialRules().fit(TRAIN)
    pop = registry.create("sequence_popularity").fit(TRAIN)
    return rules, pop


def test_scores_are_the_weighted_sum_of_normalised_parts():
    rules, pop = _parts()
    h = SequenceHybrid("sr", "sequence_popularity", weight=0.25, parts=(rules, pop)).fit(TRAIN)
    x = q([0], [2])
    expected = 0.25 * minmax_rows(rules.score_sequences(x)) + 0.75 * minmax_rows(
        pop.score_sequences(x)
    )
    np.testing.assert_allclose(h.score_sequences(x), expected)


def test_the_weight_is_chosen_on_validation_and_zero_and_one_are_either_part():
    rules, pop = _parts()
    # after item 0 comes item 1: the rules know it, popularity ranks 3 first
    val = NextItems(q([0], [0]), np.array([1, 1]))
    h = SequenceHybrid("sr", "sequence_popularity", parts=(rules, pop)).fit(TRAIN, val)
    assert set(h.validation_) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert h.validation_[1.0] == pytest.approx(1.0) and h.weight_ > 0
    assert h.validation_[0.0] < h.validation_[1.0]
    only_pop = SequenceHybrid("sr", "sequence_popularity", weight=0.0, parts=(rules, pop)).fit(
        TRAIN
    )
    x = q([0], [5])
    np.testing.assert_array_equal(
        only_pop.recommend_sequences(x, 3).index, pop.recommend_sequences(x, 3).index
    )
    only_rules = SequenceHybrid("sr", "sequence_popularity", weight=1.0, parts=(rules, pop))
    only_rules.fit(TRAIN)
    np.testing.assert_array_equal(only_rules.score_sequences(x), rules.score_sequences(x))
    np.testing.assert_array_equal(
        only_rules.recommend_sequences(x, 5).index, rules.recommend_sequences(x, 5).index
    )


def test_parts_by_name_save_and_load(tmp_path):
    val = NextItems(q([0], [3]), np.array([1, 2]))
    h = SequenceHybrid("sr", "sequence_popularity").fit(TRAIN, val)
    again = SequenceHybrid.load(h.save(tmp_path / "hybrid"))
    x = q([0], [3, 2], [5])
    np.testing.assert_array_equal(again.score_sequences(x), h.score_sequences(x))
    assert again.weight_ == h.weight_ and again.validation_ == h.validation_
