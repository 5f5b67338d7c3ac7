"""The prefix trie over semantic-ID tuples: tokens, walks and the masks beam search reads."""

import numpy as np
import scipy.sparse as sp

from shopintent.models.recommenders.generative.trie import N_SPECIAL, CodeTrie

CODES = np.array([[0, 0, 0], [0, 1, 0], [0, 1, 1], [2, 0, 0]])  # sizes 3, 2, 2


def test_token_layout_and_item_lookup():
    trie = CodeTrie.build(CODES)
    assert trie.offsets.tolist() == [N_SPECIAL, N_SPECIAL + 3, N_SPECIAL + 5]
    assert trie.vocabulary_size == N_SPECIAL + 7
    tokens = trie.tokens(CODES)
    assert trie.item_of[trie.walk(tokens)].tolist() == [0, 1, 2, 3]
    # a tuple not in the catalogue walks off the trie
    assert trie.walk(trie.tokens([[1, 0, 0]]))[0] == -1
    assert trie.leaves[0] == 4 and trie.leaves[trie.walk(trie.tokens([[0]]))[0]] == 3


def test_mask_allows_only_continuations_that_reach_items():
    trie = CodeTrie.build(CODES)
    first = np.flatnonzero(trie.allowed_tokens([]))
    assert (first - trie.offsets[0]).tolist() == [0, 2]  # code 1 starts no item
    second = np.flatnonzero(trie.allowed_tokens(trie.tokens([[0]])[0]))
    assert (second - trie.offsets[1]).tolist() == [0, 1]
    last = np.flatnonzero(trie.allowed_tokens(trie.tokens([[2, 0]])[0]))
    assert (last - trie.offsets[2]).tolist() == [0]
    # seen items close their branches: with items 1 and 2 seen, (0, 1) leads nowhere new
    second = np.flatnonzero(trie.allowed_tokens(trie.tokens([[0]])[0], seen=[1, 2]))
    assert (second - trie.offsets[1]).tolist() == [0]
    # with every item of code 0 seen, only code 2 may start
    first = np.flatnonzero(trie.allowed_tokens([], seen=[0, 1, 2]))
    assert (first - trie.offsets[0]).tolist() == [2]


def test_alive_counts_unseen_items_per_row():
    trie = CodeTrie.build(CODES)
    seen = sp.csr_matrix(np.array([[1, 1, 1, 1], [0, 0, 0, 0]]))
    alive = trie.alive(seen)
    assert not alive[0].any()  # everything seen: nothing left to write
    assert alive[1].all()


def test_level_map_sends_other_levels_to_the_masked_column():
    trie = CodeTrie.build(CODES)
    m = trie.level_map()
    width = trie.child.shape[1]
    assert m[0, :N_SPECIAL].tolist() == [width, width]
    assert m[0, trie.offsets[0] : trie.offsets[0] + 3].tolist() == [0, 1, 2]
    assert (m[0, trie.offsets[1] :] == width).all()
    assert m[2, trie.offsets[2] :].tolist() == [0, 1]
