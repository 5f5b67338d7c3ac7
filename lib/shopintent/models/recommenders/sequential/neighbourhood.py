"""Session-based k-nearest-neighbours: SKNN, V-SKNN, STAN and VSTAN, vectorised over sessions.

Each finds, for a session so far (the query), training sessions that share its items, samples
the ``sample_size`` most recent of them, keeps the ``k`` most similar, and scores an item by the
similarity of the neighbours holding it. They differ in the weights (``p`` = 1-based position,
``L`` = the query's length in clicks; the similarity divides by its distinct items):

- ``SKNN`` (Jannach & Ludewig 2017, "When recurrent neural networks meet the neighborhood for
  session-based recommendation"): cosine (or Jaccard) of the binary sessions; score(i) = sum of
  the similarities of the neighbours holding i;
- ``VSKNN`` (same paper's "V-SKNN"; session-rec ``knn.vsknn.VMContextKNN``): the query's item
  at p weighs p / L (``weighting``: "div"; also "quadratic" (p/L)^2, "log"
  1/log10(L - p + 1.7), "same" 1), similarity = the weighted dot product / L ("vec"); a
  neighbour's contribution is divided by the step back to the most recent query item it holds
  (``weighting_score``: "div" 1/step; "quadratic" 1/step^2, "log" 1/log10(step + 1.7), "same");
  ``idf_weighting`` w multiplies an item's score by 1 + w * log(N / sessions holding it);
- ``STAN`` (Garg et al. 2019, "Sequence and time aware neighborhood for session-based
  recommendations"; session-rec ``knn.stan.STAN``): the query's item at p weighs
  exp((p - L) / lambda_spw); similarity = weighted cosine times exp(-|t_query - t_n| /
  lambda_snh) (days); an item of neighbour n weighs exp(-|p_n(i) - p_n(r)| / lambda_inh),
  r = the last item of n that the query holds;
- ``VSTAN`` (Ludewig et al. 2021, "Empirical analysis of session-based recommendation
  algorithms"; session-rec ``knn.vstan.VSKNN_STAN``): STAN, plus a neighbour weighed by
  exp((p* - L) / lambda_ipw), p* = the query position of the most recent item it holds, and the
  IDF factor 1 + lambda_idf * idf(i).

Defaults, and where they come from: SKNN k=100, sample_size=500, cosine (Jannach & Ludewig
2017; session-rec's ContextKNN docstring: k 100, sample 500); V-SKNN k=100, sample_size=500,
weighting "div", weighting_score "div", no IDF (session-rec VMContextKNN's constructor defaults;
its example configurations use idf_weighting 10, which the search space holds); STAN
sample_size=5000, lambda_spw=1.02, lambda_snh=5 days, lambda_inh=2.05 and VSTAN the same plus
lambda_ipw=1.02, lambda_idf=5 (session-rec STAN / VSKNN_STAN constructor defaults); their k has
no default there (tuned per dataset, 100 to 2000 in session-rec's configurations): 100 here.
Where session-rec differs from its papers we follow session-rec, the code Ludewig et al. 2021
measured; one deliberate difference: its SKNN/V-SKNN "cosine" reads ``li / sqrt(la) * sqrt(lb)``
(operator precedence), here the cosine is li / sqrt(la * lb) as in the paper.

Vectorised: the training sessions are a CSR session x item matrix; a chunk of queries meets them
in one sparse product (query weights x training sessions^T: the similarity numerators of every
candidate), sampling and top-k are sorts within rows, and the neighbours' items are gathered and
added up with ``bincount``. Conventions shared with ``rules`` (fallback, own items, unseen items,
time) are in ``memory``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shopintent.models.recommenders.registry import register
from shopintent.models.recommenders.sequential.data import Sequences
from shopintent.models.recommenders.sequential.memory import (
    SessionMemory,
    distinct_entries,
    keep_first_per_row,
)

DAY = 24 * 3600.0
#: query weights w(p, L), p = 1-based position, L = query length (session-rec's "weighting")
QUERY_WEIGHTS = {
    "same": lambda p, n: np.ones_like(p, dtype=np.float64),
    "div": lambda p, n: p / n,
    "quadratic": lambda p, n: (p / n) ** 2,
    "log": lambda p, n: 1.0 / np.log10(n - p + 1.7),
}
#: neighbour decay d(step), step = 1 for the query's last item (session-rec's "weighting_score")
STEP_WEIGHTS = {
    "same": lambda s: np.ones_like(s, dtype=np.float64),
    "div": lambda s: 1.0 / s,
    "quadratic": lambda s: 1.0 / s**2,
    "log": lambda s: 1.0 / np.log10(s + 1.7),
}
SIMILARITIES = ("cosine", "jaccard", "vec")
#: dense scores per chunk of queries (rows x catalogue)
_CHUNK_ELEMENTS = 1 << 22


def _on(x) -> bool:
    return x is not None and x is not False and float(x) > 0


class SessionNeighbours(SessionMemory):
    """The shared engine; a subclass fixes which of its parts are on (``_config``)."""

    name = "session_neighbours"

    def _config(self) -> dict:
        """``query_weight(p, L)``, ``similarity``, ``lambda_snh`` (days), ``lambda_inh``,
        ``step_weight(step, L)`` (neighbour decay) and ``idf`` weight; None switches a part off."""
        raise NotImplementedError

    def _prepare(self) -> None:
        train = self.train_
        row, item, pos = distinct_entries(train)
        shape = (len(train), train.n_items)
        self.sessions_ = sp.csr_matrix((np.ones(len(row)), (row, item)), shape=shape)
        self.positions_ = sp.csr_matrix((pos.astype(np.float64), (row, item)), shape=shape)
        self.session_length_ = np.diff(self.sessions_.indptr).astype(np.float64)
        df = np.bincount(item, minlength=train.n_items)
        n = max(int((self.session_length_ > 0).sum()), 1)
        self.idf_ = np.where(df > 0, np.log(n / np.maximum(df, 1)), 0.0)

    def _raw_scores(self, sequences: Sequences, times: np.ndarray | None) -> np.ndarray:
        n_items = sequences.n_items
        out = np.zeros((len(sequences), n_items))
        step = max(1, _CHUNK_ELEMENTS // max(n_items, 1))
        own = self.own_rows(sequences)
        for lo in range(0, len(sequences), step):
            rows = np.arange(lo, min(lo + step, len(sequences)))
            chunk = sequences.take(rows)
            t = None if times is None else times[rows]
            out[rows] = self._score_chunk(chunk, t, own[rows])
        return out

    def neighbours(self, sequences: Sequences, times=None):
        """``(query, neighbour row, weight)`` of each query's kept neighbours (best first), the
        weight being the similarity times STAN's recency factor: what the scores sum up."""
        self._check_fitted(sequences)
        q = self._query(sequences)
        t = self.query_times(sequences, times)
        return self._neighbours(q, t, self.own_rows(sequences))[:3]

    def _query(self, seqs: Sequences):
        cfg = self._config()
        row, item, pos = distinct_entries(seqs)
        # two lengths, as session-rec's VMContextKNN: the distinct items (for the similarity's
        # normalisation) and the clicks (for position weights and steps: ``pos`` is an item's
        # last click, which may exceed the distinct count when a session repeats a click)
        length = np.bincount(row, minlength=len(seqs)).astype(np.float64)
        clicks = np.asarray(seqs.lengths, dtype=np.float64)
        w = cfg["query_weight"](pos.astype(np.float64), clicks[row])
        shape = (len(seqs), seqs.n_items)
        weights = sp.csr_matrix((w, (row, item)), shape=shape)
        return row, item, pos, (length, clicks), weights

    def _neighbours(self, q, times, own):
        cfg = self._config()
        row, item, pos, (length, clicks), weights = q
        dot = (weights @ self.sessions_.T).tocoo()  # weighted common items of every candidate
        qi, ni, num = dot.row, dot.col, dot.data
        keep = (ni != own[qi]) & (num > 0)
        qi, ni, num = qi[keep], ni[keep], num[keep]
        # sample: the sample_size most recent candidates of each query
        if self.sample_size and self.sample_size > 0:
            order = np.lexsort((self.recency_rank_[ni], qi))
            qi, ni, num = qi[order], ni[order], num[order]
            keep = keep_first_per_row(qi, int(self.sample_size))
            qi, ni, num = qi[keep], ni[keep], num[keep]
        len_n, len_q = self.session_length_[ni], length[qi]
        if cfg["similarity"] == "cosine":
            norm = np.sqrt(np.bincount(row, weights=weights.data**2, minlength=len(length)))
            sim = num / (norm[qi] * np.sqrt(len_n))
        elif cfg["similarity"] == "jaccard":
            binary = (
                sp.csr_matrix((np.ones(len(row)), (row, item)), shape=weights.shape)
                @ self.sessions_.T
            )
            common = np.asarray(binary[qi, ni]).ravel()
            sim = common / (len_q + len_n - common)
        else:  # vec
            sim = num / len_q
        if _on(cfg["lambda_snh"]) and times is not None:
            sim = sim * np.exp(-np.abs(times[qi] - self.times_[ni]) / (cfg["lambda_snh"] * DAY))
        # top-k by weight (ties: the more recent neighbour)
        order = np.lexsort((self.recency_rank_[ni], -sim, qi))
        qi, ni, sim = qi[order], ni[order], sim[order]
        keep = keep_first_per_row(qi, int(self.k)) & (sim > 0)
        return qi[keep], ni[keep], sim[keep], (row, item, pos, clicks)

    def _score_chunk(self, seqs: Sequences, times, own) -> np.ndarray:
        cfg = self._config()
        n_items = seqs.n_items
        out = np.zeros((len(seqs), n_items))
        qi, ni, sim, (row, item, pos, clicks) = self._neighbours(self._query(seqs), times, own)
        if not len(qi):
            return out
        # every item of every kept neighbour: (pair, item, position in the neighbour)
        s = self.positions_
        counts = np.diff(s.indptr)[ni]
        pair = np.repeat(np.arange(len(qi)), counts)
        src = (
            np.repeat(s.indptr[ni], counts)
            + np.arange(counts.sum())
            - np.repeat(np.cumsum(counts) - counts, counts)
        )
        n_item, n_pos = s.indices[src], s.data[src]
        # which of them the query holds, and at which query position
        qkeys = row * n_items + item  # sorted (distinct_entries sorts by row, then item)
        look = qi[pair] * n_items + n_item
        at = np.minimum(np.searchsorted(qkeys, look), len(qkeys) - 1)
        common = qkeys[at] == look
        q_pos = np.where(common, pos[at], 0)
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        last_q = np.maximum.reduceat(q_pos, starts)  # query position of its latest shared item
        r_pos = np.maximum.reduceat(np.where(common, n_pos, 0), starts)  # p_n(r)
        weight = sim
        if cfg["step_weight"] is not None:
            weight = weight * cfg["step_weight"](clicks[qi] - last_q + 1, clicks[qi])
        contrib = weight[pair]
        if _on(cfg["lambda_inh"]):
            contrib = contrib * np.exp(-np.abs(n_pos - r_pos[pair]) / cfg["lambda_inh"])
        flat = np.bincount(qi[pair] * n_items + n_item, weights=contrib, minlength=out.size)
        out = flat.reshape(out.shape)
        if _on(cfg["idf"]):
            out *= 1.0 + float(cfg["idf"]) * self.idf_[None, :]
        return out


class SKNN(SessionNeighbours):
    """Session-based kNN (Jannach & Ludewig 2017): cosine ("jaccard" too) of binary sessions."""

    name = "sknn"
    PARAMS = ("k", "sample_size", "similarity")

    def __init__(self, k=100, sample_size=500, similarity="cosine", name=None):
        if similarity not in ("cosine", "jaccard"):
            raise ValueError(f"sknn: similarity must be cosine or jaccard, got {similarity!r}")
        self.k, self.sample_size, self.similarity = int(k), int(sample_size), similarity
        self.name = name or self.name

    def _config(self):
        return {
            "query_weight": QUERY_WEIGHTS["same"],
            "similarity": self.similarity,
            "lambda_snh": None,
            "lambda_inh": None,
            "step_weight": None,
            "idf": None,
        }


class VSKNN(SessionNeighbours):
    """V-SKNN (Jannach & Ludewig 2017; session-rec VMContextKNN): position-weighted query,
    "vec" similarity, neighbours decayed by the step back to their latest shared item, IDF."""

    name = "vsknn"
    PARAMS = ("k", "sample_size", "weighting", "weighting_score", "idf_weighting")

    def __init__(
        self,
        k=100,
        sample_size=500,
        weighting="div",
        weighting_score="div",
        idf_weighting=0.0,
        name=None,
    ):
        if weighting not in QUERY_WEIGHTS or weighting_score not in STEP_WEIGHTS:
            raise ValueError(
                f"vsknn: weighting in {sorted(QUERY_WEIGHTS)}, weighting_score in "
                f"{sorted(STEP_WEIGHTS)}; got {weighting!r}, {weighting_score!r}"
            )
        self.k, self.sample_size = int(k), int(sample_size)
        self.weighting, self.weighting_score = weighting, weighting_score
        self.idf_weighting = float(idf_weighting or 0.0)
        self.name = name or self.name

    def _config(self):
        decay = STEP_WEIGHTS[self.weighting_score]
        return {
            "query_weight": QUERY_WEIGHTS[self.weighting],
            "similarity": "vec",
            "lambda_snh": None,
            "lambda_inh": None,
            "step_weight": lambda s, n: decay(s),
            "idf": self.idf_weighting,
        }


class STAN(SessionNeighbours):
    """STAN (Garg et al. 2019): position weights in the query (lambda_spw), session recency
    (lambda_snh, days) and the distance to the shared item in the neighbour (lambda_inh)."""

    name = "stan"
    PARAMS = ("k", "sample_size", "lambda_spw", "lambda_snh", "lambda_inh")

    def __init__(
        self, k=100, sample_size=5000, lambda_spw=1.02, lambda_snh=5.0, lambda_inh=2.05, name=None
    ):
        self.k, self.sample_size = int(k), int(sample_size)
        self.lambda_spw, self.lambda_snh, self.lambda_inh = lambda_spw, lambda_snh, lambda_inh
        self.name = name or self.name

    def _spw(self):
        lam = self.lambda_spw
        if not _on(lam):
            return QUERY_WEIGHTS["same"]
        return lambda p, n: np.exp((p - n) / lam)

    def _config(self):
        return {
            "query_weight": self._spw(),
            "similarity": "cosine",
            "lambda_snh": self.lambda_snh,
            "lambda_inh": self.lambda_inh,
            "step_weight": None,
            "idf": None,
        }


class VSTAN(STAN):
    """VSTAN (Ludewig et al. 2021): STAN with V-SKNN's neighbour decay (lambda_ipw, by the query
    position of the latest shared item) and IDF (lambda_idf)."""

    name = "vstan"
    PARAMS = (*STAN.PARAMS, "lambda_ipw", "lambda_idf")

    def __init__(
        self,
        k=100,
        sample_size=5000,
        lambda_spw=1.02,
        lambda_snh=5.0,
        lambda_inh=2.05,
        lambda_ipw=1.02,
        lambda_idf=5.0,
        name=None,
    ):
        super().__init__(k, sample_size, lambda_spw, lambda_snh, lambda_inh, name)
        self.lambda_ipw, self.lambda_idf = lambda_ipw, lambda_idf

    def _config(self):
        cfg = super()._config()
        lam = self.lambda_ipw
        if _on(lam):  # exp((p* - L) / lambda), p* = L - step + 1
            cfg["step_weight"] = lambda s, n: np.exp(-(s - 1) / lam)
        cfg["idf"] = self.lambda_idf
        return cfg


_K = [50, 100, 200]
register(
    "sknn",
    SKNN,
    fits_on="sequences",
    saves_to="folder",
    space={
        "smoke": {"k": [100], "sample_size": [500]},
        "default": {"k": _K, "sample_size": [500, 1000, 5000], "similarity": ["cosine", "jaccard"]},
    },
)
register(
    "vsknn",
    VSKNN,
    fits_on="sequences",
    saves_to="folder",
    space={
        "smoke": {"k": [100], "idf_weighting": [0.0, 10.0]},
        "default": {
            "k": _K,
            "weighting": ["div", "quadratic", "log"],
            "weighting_score": ["div", "quadratic"],
            "idf_weighting": [0.0, 5.0, 10.0],
        },
    },
)
# lambda grids: session-rec's configurations use multiples of 0.905 for the position lambdas
register(
    "stan",
    STAN,
    fits_on="sequences",
    saves_to="folder",
    space={
        "smoke": {"k": [100], "lambda_snh": [5.0]},
        "default": {
            "k": [100, 200, 500],
            "lambda_spw": [0.905, 1.81, 3.62],
            "lambda_snh": [5.0, 40.0, 100.0],
            "lambda_inh": [0.4525, 0.905, 2.05],
        },
    },
)
register(
    "vstan",
    VSTAN,
    fits_on="sequences",
    saves_to="folder",
    space={
        "smoke": {"k": [100], "lambda_idf": [5.0]},
        "default": {
            "k": [100, 500],
            "lambda_spw": [0.905, 1.81],
            "lambda_snh": [5.0, 100.0],
            "lambda_inh": [0.905, 2.05],
            "lambda_ipw": [0.905, 1.81],
            "lambda_idf": [0.0, 5.0],
        },
    },
)
