"""Semantic IDs: residual k-means codes, the disambiguation code, prefix sharing, saving."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.recommenders.generative import semantic_ids as sid


def _clustered(n_per=20, groups=4, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, dim)) * 10
    x = np.repeat(centres, n_per, axis=0) + rng.normal(scale=0.1, size=(groups * n_per, dim))
    return x, np.repeat(np.arange(groups), n_per)


def test_codebook_size_rule():
    assert sid.codebook_size(500) == 32  # ceil(4 * 500^(1/3)) = ceil(31.75)
    assert sid.codebook_size(3000) == 58
    assert sid.codebook_size(1000) == 40  # exact cube: 4 * 10
    assert sid.codebook_size(1) == 4 and sid.codebook_size(10**9) == 256  # clipped
    with pytest.raises(ValueError, match="at least one item"):
        sid.codebook_size(0)


def test_disambiguation_numbers_collisions_in_row_order():
    tuples = np.array([[1, 2], [0, 0], [1, 2], [1, 2], [0, 1]])
    out = sid.disambiguate(tuples)
    assert out[:, -1].tolist() == [0, 0, 1, 2, 0]
    assert len(np.unique(out, axis=0)) == len(out)
    assert sid.collision_rate(tuples) == pytest.approx(3 / 5)


def test_disambiguation_by_priority_numbers_the_most_popular_first():
    tuples = np.array([[1, 2], [0, 0], [1, 2], [1, 2], [0, 1]])
    out = sid.disambiguate(tuples, priority=np.array([5, 9, 7, 5, 0]))
    assert out[:, -1].tolist() == [1, 0, 0, 2, 0]  # 7 first, then the tie 5/5 in row order


def test_known_answer_on_tiny_vectors():
    # two far-apart directions, then within each a small left/right offset: level 1 finds the
    # direction, level 2 the offset (the residual), and the pair of duplicates collides
    x = np.array([[10, 0, 1], [10, 0, -1], [10, 0, 1], [0, 10, 1], [0, 10, -1]], float)
    ids = sid.semantic_ids(x, ["a", "b", "c", "d", "e"], levels=2, codes=2, seed=0)
    c = ids.codes
    assert c[0, 0] == c[1, 0] == c[2, 0] != c[3, 0] == c[4, 0]  # direction
    assert c[0, 1] == c[2, 1] != c[1, 1]  # the offset, within the first direction
    assert (c[0, 2], c[2, 2]) == (0, 1)  # a and c share (direction, offset): dedup 0 and 1
    assert c[[1, 3, 4], 2].tolist() == [0, 0, 0]
    assert ids.collision_rate() == pytest.approx(2 / 5)


def test_deterministic_for_a_seed_and_unique_tuples():
    x, _ = _clustered()
    a = sid.semantic_ids(x, np.arange(len(x)), levels=3, seed=7)
    b = sid.semantic_ids(x, np.arange(len(x)), levels=3, seed=7)
    assert np.array_equal(a.codes, b.codes)
    assert a.codes.shape == (80, 4)
    assert len(np.unique(a.codes, axis=0)) == len(x)  # every item its own tuple


def test_prefix_sharing_follows_the_content():
    x, group = _clustered()
    ids = sid.semantic_ids(x, np.arange(len(x)), levels=2, codes=4, seed=0)
    share = sid.prefix_sharing(ids, group, depth=1)
    assert share["same_label"] == pytest.approx(1.0)  # each cluster one first code
    assert share["any_pair"] == pytest.approx((4 * 20 * 19 / 2) / (80 * 79 / 2))
    assert share["lift"] > 3
    rand = sid.random_codes(ids, seed=0)
    assert rand.codes.shape == ids.codes.shape and rand.sizes[:-1] == ids.sizes[:-1]
    assert len(np.unique(rand.codes, axis=0)) == len(x)
    assert sid.prefix_sharing(rand, group, depth=1)["lift"] < 1.5  # random codes ignore content


def test_save_load_round_trip(tmp_path):
    x, _ = _clustered(n_per=5)
    ids = sid.semantic_ids(x, [f"i{i}" for i in range(len(x))], levels=2, seed=1)
    path = ids.save(tmp_path / "gen")
    assert path.name == sid.FILE and not list(path.parent.glob(".*tmp*"))
    back = sid.SemanticIds.load(tmp_path / "gen")
    assert back.item_ids.equals(pd.Index(ids.item_ids.astype(str)))
    assert np.array_equal(back.codes, ids.codes) and back.kind == "semantic"


def test_bad_vectors_are_named():
    with pytest.raises(ValueError, match="NaN"):
        sid.residual_kmeans(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="one row per item"):
        sid.semantic_ids(np.ones((3, 2)), ["a", "b"])
