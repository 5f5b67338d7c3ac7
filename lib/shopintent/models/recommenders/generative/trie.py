"""The catalogue as a prefix trie over semantic-ID tuples, and the token layout the model reads.

Tokens: ``[PAD]`` = 0, ``[BOS]`` = 1, then one block of codes per tuple position (level ``j``'s
code ``c`` is token ``offsets[j] + c``), so the same code at two levels are two tokens and the
model always knows which level it is writing. Tuples have a fixed length, so items need no
separator: a history is ``[BOS]`` followed by its items' tuples, oldest first.

The trie (``child[node, code]`` -> node, -1 where no item continues) is what constrained beam
search reads: at each step only codes that lead to a real (and, per row, not yet seen) item may
be written, so every finished beam names a catalogue item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

PAD, BOS = 0, 1
N_SPECIAL = 2


@dataclass(frozen=True)
class CodeTrie:
    """``child`` ``(n_nodes, width)``: the node reached from a node by a code (-1: none); node 0
    is the root, a node at depth d holds a d-code prefix. ``item_of`` ``(n_nodes,)``: the item
    (catalogue position) at a full tuple's node, else -1; ``paths`` ``(n_items, depth)``: the
    nodes on each item's path (depth 1 … depth); ``leaves`` ``(n_nodes,)``: items under a node;
    ``offsets``: each level's first token; ``vocabulary_size``: all tokens."""

    child: np.ndarray
    item_of: np.ndarray
    paths: np.ndarray
    leaves: np.ndarray
    offsets: np.ndarray
    vocabulary_size: int

    @property
    def depth(self) -> int:
        return self.paths.shape[1]

    @classmethod
    def build(cls, codes: np.ndarray) -> CodeTrie:
        """From ``(n_items, depth)`` codes whose rows are unique (``semantic_ids.disambiguate``)."""
        codes = np.asarray(codes, dtype=np.int64)
        n, depth = codes.shape
        if len(np.unique(codes, axis=0)) != n:
            raise ValueError("codes: two items share a tuple; add the disambiguation code first")
        sizes = codes.max(axis=0) + 1 if n else np.ones(depth, np.int64)
        width = int(sizes.max())
        node = np.zeros(n, dtype=np.int64)  # each item's node at the current depth
        paths = np.zeros((n, depth), dtype=np.int64)
        parents, codes_of, n_nodes = [], [], 1
        for d in range(depth):
            # one new node per distinct (parent node, code) pair
            keys, inverse = np.unique(np.c_[node, codes[:, d]], axis=0, return_inverse=True)
            node = n_nodes + inverse.ravel()
            parents.append(keys[:, 0])
            codes_of.append(keys[:, 1])
            n_nodes += len(keys)
            paths[:, d] = node
        child = np.full((n_nodes, width), -1, dtype=np.int64)
        start = 1
        for p, c in zip(parents, codes_of, strict=True):
            child[p, c] = np.arange(start, start + len(p))
            start += len(p)
        item_of = np.full(n_nodes, -1, dtype=np.int64)
        item_of[paths[:, -1]] = np.arange(n)
        leaves = np.bincount(paths.ravel(), minlength=n_nodes)
        leaves[0] = n
        offsets = N_SPECIAL + np.r_[0, np.cumsum(sizes)[:-1]]
        return cls(child, item_of, paths, leaves, offsets, int(N_SPECIAL + sizes.sum()))

    def tokens(self, codes: np.ndarray) -> np.ndarray:
        """``(..., d)`` codes of the first d levels as tokens (each level shifted by its offset)."""
        codes = np.asarray(codes, dtype=np.int64)
        return codes + self.offsets[: codes.shape[-1]]

    def walk(self, tokens: np.ndarray) -> np.ndarray:
        """The node reached by each row of ``(n, d)`` tokens (d <= depth); -1 off the trie."""
        tokens = np.asarray(tokens, dtype=np.int64)
        node = np.zeros(len(tokens), dtype=np.int64)
        for d in range(tokens.shape[1]):
            code = tokens[:, d] - self.offsets[d]
            ok = (node >= 0) & (code >= 0) & (code < self.child.shape[1])
            node = np.where(ok, self.child[np.maximum(node, 0), np.clip(code, 0, None) * ok], -1)
        return node

    def allowed_tokens(self, prefix_tokens, seen: np.ndarray | None = None) -> np.ndarray:
        """Boolean ``(vocabulary_size,)``: the tokens that may follow ``prefix_tokens`` (a tuple's
        first d tokens) so that a catalogue item, not in ``seen`` (item positions), is reached."""
        d = len(prefix_tokens)
        node = self.walk(np.asarray([prefix_tokens], dtype=np.int64).reshape(1, d))[0]
        out = np.zeros(self.vocabulary_size, dtype=bool)
        if node < 0 or d >= self.depth:
            return out
        alive = self.alive(sp.csr_matrix(_one_row(seen, len(self.paths))))[0]
        children = self.child[node]
        ok = (children >= 0) & alive[np.maximum(children, 0)]
        out[self.offsets[d] + np.flatnonzero(ok)] = True
        return out

    def alive(self, seen: sp.csr_matrix | None, n_rows: int | None = None) -> np.ndarray:
        """Boolean ``(rows, n_nodes)``: nodes with at least one item that the row has not seen
        (``seen``: CSR ``(rows, n_items)``, None: nothing seen)."""
        if seen is None:
            return np.broadcast_to(self.leaves > 0, (n_rows or 1, len(self.leaves))).copy()
        seen = sp.csr_matrix(seen)
        rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
        under = np.zeros((seen.shape[0], len(self.leaves)), dtype=np.int64)
        nodes = self.paths[seen.indices]  # (nnz, depth)
        np.add.at(under, (np.repeat(rows, self.depth), nodes.ravel()), 1)
        under[:, 0] = np.diff(seen.indptr)
        return (self.leaves[None, :] - under) > 0

    def level_map(self) -> np.ndarray:
        """``(depth, vocabulary_size)``: for level d, each token's code at that level, or the
        trie's width (a column that is always masked) for tokens of other levels and specials."""
        width = self.child.shape[1]
        out = np.full((self.depth, self.vocabulary_size), width, dtype=np.int64)
        ends = np.r_[self.offsets[1:], self.vocabulary_size]
        for d in range(self.depth):
            out[d, self.offsets[d] : ends[d]] = np.arange(ends[d] - self.offsets[d])
        return out


def _one_row(seen, n_items: int) -> np.ndarray:
    row = np.zeros((1, n_items))
    if seen is not None and len(seen):
        row[0, np.asarray(seen, dtype=np.int64)] = 1
    return row
