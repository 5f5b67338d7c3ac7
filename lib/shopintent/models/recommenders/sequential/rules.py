"""Sequential rules (SR, Ludewig & Jannach 2018, "Evaluation of session-based recommendation
algorithms"; session-rec ``baselines.sr.SequentialRules``, after Kamehkhosh et al. 2017).

A rule a -> b holds when b follows a in a training session within ``steps`` positions; each such
occurrence adds w(d), d = the distance in positions (``weighting``: "div" 1/d, the reference's
default; "quadratic" 1/d^2, "log" 1/log10(d + 1.7), "linear" 1 - 0.1 d, "same" 1). ``pruning``
keeps each antecedent's strongest rules: an integer n >= 1 the n best, a fraction below 1 drops
that share of them, 0 keeps all. A session so far scores item b by the rule weight
last item -> b. Defaults steps=10, weighting "div", pruning=20: session-rec's constructor
defaults. Fallback, own items, unseen items and saving: ``memory``'s conventions.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shopintent.models.recommenders.registry import register
from shopintent.models.recommenders.sequential.data import Sequences
from shopintent.models.recommenders.sequential.memory import SessionMemory, keep_first_per_row

#: rule weight by distance d >= 1 (session-rec's "weighting")
DISTANCE_WEIGHTS = {
    "same": lambda d: np.ones_like(d, dtype=np.float64),
    "div": lambda d: 1.0 / d,
    "quadratic": lambda d: 1.0 / d**2,
    "log": lambda d: 1.0 / np.log10(d + 1.7),
    "linear": lambda d: np.where(d <= 100, 1.0 - 0.1 * d, 0.0),
}


class SequentialRules(SessionMemory):
    """Rules a -> b weighted by distance, scored from the session's last item (module doc)."""

    name = "sr"
    PARAMS = ("steps", "weighting", "pruning")

    def __init__(self, steps=10, weighting="div", pruning=20, name=None):
        if weighting not in DISTANCE_WEIGHTS:
            raise ValueError(f"sr: weighting in {sorted(DISTANCE_WEIGHTS)}, got {weighting!r}")
        if int(steps) < 1 or float(pruning) < 0:
            raise ValueError(f"sr: steps >= 1 and pruning >= 0, got {steps}, {pruning}")
        self.steps, self.weighting, self.pruning = int(steps), weighting, pruning
        self.name = name or self.name

    def _prepare(self) -> None:
        train = self.train_
        row = np.repeat(np.arange(len(train)), train.lengths)
        heads, tails, weights = [], [], []
        for d in range(1, self.steps + 1):
            same = row[:-d] == row[d:] if len(row) > d else np.zeros(0, dtype=bool)
            heads.append(train.items[:-d][same] if len(row) > d else np.zeros(0, np.int64))
            tails.append(train.items[d:][same] if len(row) > d else np.zeros(0, np.int64))
            weights.append(np.full(int(same.sum()), float(DISTANCE_WEIGHTS[self.weighting](d))))
        n = train.n_items
        rules = sp.coo_matrix(
            (np.concatenate(weights), (np.concatenate(heads), np.concatenate(tails))), shape=(n, n)
        ).tocsr()
        rules.sum_duplicates()
        self.rules_ = self._prune(rules)

    def _prune(self, rules: sp.csr_matrix) -> sp.csr_matrix:
        """Each antecedent's strongest rules (ties: the lower item index), as ``pruning`` says."""
        p = float(self.pruning)
        if p <= 0:
            return rules
        coo = rules.tocoo()
        order = np.lexsort((coo.col, -coo.data, coo.row))
        r, c, v = coo.row[order], coo.col[order], coo.data[order]
        if p >= 1:
            keep = keep_first_per_row(r, int(p))
        else:  # keep len - int(len * p) of each row, as the reference
            per_row = np.diff(rules.indptr)
            n_keep = per_row - (per_row * p).astype(np.int64)
            starts = np.r_[0, np.cumsum(per_row)[:-1]]
            rank = np.arange(len(r)) - np.repeat(starts, per_row)
            keep = rank < n_keep[r]
        return sp.csr_matrix((v[keep], (r[keep], c[keep])), shape=rules.shape)

    def _raw_scores(self, sequences: Sequences, times) -> np.ndarray:
        out = np.zeros((len(sequences), sequences.n_items))
        has = sequences.lengths > 0
        last = sequences.items[sequences.indptr[1:][has] - 1]
        if has.any():
            out[has] = self.rules_[last].toarray()
        return out


register(
    "sr",
    SequentialRules,
    fits_on="sequences",
    saves_to="folder",
    space={
        "smoke": {"steps": [10], "pruning": [20]},
        "default": {
            "steps": [3, 5, 10, 15],
            "weighting": ["div", "quadratic", "linear"],
            "pruning": [0, 20],
        },
    },
)
