"""The session-rec protocol, next to notebook 08's leave-last-out: data, prefixes and scoring.

session-rec (github.com/rn5l/session-rec; Ludewig et al. 2021, "Empirical analysis of
session-based recommendation algorithms", whose Diginetica table is the one the session
models are compared with) splits whole sessions by time (``data.splits.session_rec_split``:
a session ending in the last ``days`` is a test session, test clicks on items unseen in
training removed, sessions shorter than two clicks dropped) and then, for every position t of
every test session, asks the model for a top-20 list given the clicks ``[0..t]`` and scores it:

- ``next_item`` (``evaluation/evaluation.py: evaluate_sessions``, metrics ``accuracy.HitRate``
  and ``MRR``): HR@20 = whether the click t + 1 is in the list, MRR@20 = 1 / its rank there;
- ``all_subsequent`` (``evaluation_multiple.py``, metrics ``accuracy_multiple.Precision`` and
  ``Recall``): with R = the clicks after t, precision@20 = |set(R) & list| / 20 and
  recall@20 = |set(R) & list| / len(R) (len(R) counts repeated clicks, as the reference).

Each is a mean over all prefixes. As the reference: every click is kept (repeats too), the
candidates are the items seen in training (never an item unseen there), and the session's own
items are not removed from its lists (``exclude_seen=True`` removes them). Memory models get
each prefix's time (its last click's) for their recency parts; training sessions are timed by
their last click (``memory.sequence_times``'s convention). Metric keys name the protocol:
``session_rec/next_item/hr@20``, ``session_rec/all_subsequent/recall@20``...

Scoring is batched: every prefix of every test session is one row of a ``Sequences``, and the
rows are scored in chunks by the model's own ``score_sequences`` (one call per chunk).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.data.splits import session_rec_split
from shopintent.evaluation.ranking import (
    hit_rate_at_k,
    mrr_at_k,
    precision_at_k,
    topk_from_scores,
)
from shopintent.models.recommenders.sequential.data import (
    NextItems,
    Sequences,
    build_sequences,
    ragged_offsets,
)

PREFIX = "session_rec"


@dataclass(frozen=True)
class SessionRecData:
    """One session-rec split as sequences over the catalogue: ``train`` (training sessions,
    oldest start first, every click), ``train_times`` (seconds of each one's last click),
    ``test`` and ``test_times`` (seconds of each test click, aligned with ``test.items``),
    ``trained`` (catalogue items clicked in training: the candidates), ``validation`` (the
    same split of the training clicks, for choices made on validation) and counts."""

    train: Sequences
    train_times: np.ndarray
    test: Sequences
    test_times: np.ndarray
    trained: np.ndarray
    protocol: str
    counts: dict = field(default_factory=dict)
    validation: SessionRecData | None = None


def _seconds(ts: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(ts, utc=True)
    return (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)


def _sessions(clicks: pd.DataFrame, item_ids: pd.Index) -> tuple[Sequences, np.ndarray]:
    """Sessions (rows ordered by their first click's time, then id) and each click's seconds."""
    start = clicks.groupby("session_id")["ts"].min()
    groups = start.reset_index().sort_values(["ts", "session_id"], kind="stable")["session_id"]
    seqs = build_sequences(clicks, item_ids, by="session", groups=groups.to_numpy())
    # build_sequences keeps each session's click order (the split sorted by session, time)
    row = pd.Index(groups).get_indexer(clicks["session_id"])
    order = np.argsort(row, kind="stable")
    return seqs, _seconds(clicks["ts"]).take(order)


def session_rec_data(
    events: pd.DataFrame,
    items: pd.DataFrame,
    days: float = 7,
    validation: bool = True,
    event_types=("view",),
) -> SessionRecData:
    """The session-rec split of ``events`` (clicks of ``event_types``; all item rows when None)
    as sequences over ``items``; with ``validation`` the same split of the training clicks."""
    clicks = events[events["item_id"].notna()]
    if event_types is not None and "event_type" in clicks:
        clicks = clicks[clicks["event_type"].isin(list(event_types))]
    return _data(clicks, pd.Index(items["item_id"]), days, validation)


def _data(clicks: pd.DataFrame, item_ids: pd.Index, days: float, validation: bool):
    split = session_rec_split(clicks, days)
    train, train_ts = _sessions(split.train, item_ids)
    test, test_ts = _sessions(split.test, item_ids)
    train_times = train_ts[np.maximum(train.indptr[1:] - 1, 0)] if len(train) else train_ts[:0]
    trained = np.zeros(len(item_ids), dtype=bool)
    trained[train.items] = True
    counts = {
        "train_sessions": len(train),
        "train_clicks": int(len(train.items)),
        "test_sessions": len(test),
        "test_clicks": int(len(test.items)),
        "prefixes": int(np.maximum(test.lengths - 1, 0).sum()),
        "items_in_training": int(trained.sum()),
        "cutoff": str(split.cutoff),
    }
    inner = _data(split.train, item_ids, days, False) if validation else None
    return SessionRecData(train, train_times, test, test_ts, trained, split.protocol, counts, inner)


@dataclass(frozen=True)
class Prefixes:
    """Every prefix ``[0..t]`` (t < L - 1) of every session: ``inputs`` (one row each, the
    session's group kept), ``targets`` (the click t + 1), ``subsequent`` (CSR, 1 at each
    distinct item clicked after t), ``n_subsequent`` (clicks after t, repeats counted),
    ``times`` (seconds of the prefix's last click, None without times) and ``session`` (the
    row of the session each prefix comes from)."""

    inputs: Sequences
    targets: np.ndarray
    subsequent: sp.csr_matrix
    n_subsequent: np.ndarray
    times: np.ndarray | None
    session: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def next_items(self) -> NextItems:
        return NextItems(self.inputs, self.targets)

    def take(self, rows) -> Prefixes:
        rows = np.asarray(rows, dtype=np.int64)
        return Prefixes(
            self.inputs.take(rows),
            self.targets[rows],
            self.subsequent[rows],
            self.n_subsequent[rows],
            None if self.times is None else self.times[rows],
            self.session[rows],
        )


def all_prefixes(sessions: Sequences, times: np.ndarray | None = None) -> Prefixes:
    """The prefixes of ``sessions`` (``times``: seconds of each click, as ``sessions.items``)."""
    n_pref = np.maximum(sessions.lengths - 1, 0)
    session = np.repeat(np.arange(len(sessions)), n_pref)
    t = ragged_offsets(n_pref) + 1  # prefix length, 1 .. L - 1
    start = sessions.indptr[session]
    src = np.repeat(start, t) + ragged_offsets(t)
    inputs = Sequences(
        sessions.groups[session],
        np.r_[0, np.cumsum(t)],
        sessions.items[src],
        sessions.sessions[src],
        sessions.item_ids,
    )
    targets = sessions.items[start + t]
    n_rest = sessions.indptr[session + 1] - (start + t)
    rows = np.repeat(np.arange(len(t)), n_rest)
    rest = sessions.items[np.repeat(start + t, n_rest) + ragged_offsets(n_rest)]
    subsequent = sp.csr_matrix((np.ones(len(rows)), (rows, rest)), shape=(len(t), sessions.n_items))
    subsequent.sum_duplicates()
    subsequent.data[:] = 1.0
    last = None if times is None else np.asarray(times, dtype=np.float64)[start + t - 1]
    return Prefixes(inputs, targets, subsequent, n_rest, last, session)


def _scores(model, inputs: Sequences, times) -> np.ndarray:
    """The model's scores of ``inputs``, with the prefixes' times where it takes them."""
    takes_times = "times" in inspect.signature(model.score_sequences).parameters
    if takes_times and times is not None:
        return np.asarray(model.score_sequences(inputs, times=times), dtype=np.float64)
    return np.asarray(model.score_sequences(inputs), dtype=np.float64)


def session_rec_lists(
    model,
    prefixes: Prefixes,
    candidates: np.ndarray,
    k: int = 20,
    exclude_seen: bool = False,
    chunk: int = 1024,
) -> np.ndarray:
    """``(n_prefixes, k)`` catalogue positions, best first: the model's top-k among
    ``candidates`` (a boolean mask over the catalogue), scored ``chunk`` prefixes at a time."""
    out = np.full((len(prefixes), int(k)), -1, dtype=np.int64)
    for lo in range(0, len(prefixes), chunk):
        rows = np.arange(lo, min(lo + chunk, len(prefixes)))
        inputs = prefixes.inputs.take(rows)
        times = None if prefixes.times is None else prefixes.times[rows]
        scores = _scores(model, inputs, times)
        scores[:, ~candidates] = -np.inf
        out[rows] = topk_from_scores(scores, k, inputs.seen() if exclude_seen else None)
    return out


def session_rec_metrics(
    lists: np.ndarray, prefixes: Prefixes, k: int = 20, prefix: str = PREFIX
) -> dict[str, float]:
    """HR@k and MRR@k of the next click, precision@k and recall@k of all subsequent clicks (the
    module's definitions), means over prefixes, keyed ``<prefix>/<task>/<metric>@k``."""
    n = len(prefixes)
    shape = (n, prefixes.subsequent.shape[1])
    nxt = sp.csr_matrix((np.ones(n), (np.arange(n), prefixes.targets)), shape=shape)
    precision = precision_at_k(lists, prefixes.subsequent, k, per_user=True)
    recall = precision * k / np.maximum(prefixes.n_subsequent, 1)
    return {
        f"{prefix}/next_item/hr@{k}": float(hit_rate_at_k(lists, nxt, k)),
        f"{prefix}/next_item/mrr@{k}": float(mrr_at_k(lists, nxt, k)),
        f"{prefix}/all_subsequent/precision@{k}": float(np.mean(precision)),
        f"{prefix}/all_subsequent/recall@{k}": float(np.mean(recall)),
    }


def evaluate_session_rec(
    model, data: SessionRecData, k: int = 20, exclude_seen: bool = False, chunk: int = 1024
) -> dict[str, float]:
    """The session-rec metrics of a fitted ``SequenceRecommender`` on ``data.test`` (every
    prefix of every test session; the candidates are the training items)."""
    prefixes = all_prefixes(data.test, data.test_times)
    lists = session_rec_lists(model, prefixes, data.trained, k, exclude_seen, chunk)
    return session_rec_metrics(lists, prefixes, k)
