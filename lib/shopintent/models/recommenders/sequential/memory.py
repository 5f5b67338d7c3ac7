"""Memory-based session models: what the neighbourhood models and the sequential rules share.

``neighbourhood`` (SKNN, V-SKNN, STAN, VSTAN) and ``rules`` (SR) keep the training sessions
themselves rather than learnt weights. ``SessionMemory`` is their ``SequenceRecommender``: ``fit``
remembers the training rows (and, optionally, each row's time), the subclass derives what it
scores from (``_prepare``: IDF, rules...) and ``save``/``load`` write and read the rows only
(``state.npz``, ``meta.json``), the derived parts being rebuilt on load, so a loaded model scores
exactly as the saved one.

Conventions of these models (documented once, here):
- scores: the model's own score where it is positive; an item the model gives nothing (no
  neighbour or rule holds it) gets ``(popularity / max popularity - 1) / 2`` in (-0.5, 0], so
  lists are filled by training popularity below every scored item (``fallback=False``: 0); an
  item never seen in training gets -1 and ``recommend_sequences`` never returns it (its list
  is padded with -1 when fewer than k trained items remain);
- a sequence's own items are scored as the reference implementation does (session-rec does not
  remove them: its STAN and VSTAN default to ``remind=True``); ``recommend_sequences`` removes
  them by default (``exclude=True``), as every sequence model of this package, since a sequence
  holds each item once and never repeats one (``exclude=False`` gives the reference's lists);
- a query whose group (session or user id) is a training row never takes that row as neighbour:
  under leave-last-out the training row is the same session's earlier part (session-rec's test
  sessions are never in its training data);
- time: ``fit(train, val, times=...)`` takes each training row's time in seconds
  (``sequence_times``: the time of its last item). A query's time is then its own training row's
  time when its group has one (leave-last-out: the session so far), else ``times`` given to
  ``score_sequences``, else the newest training time. Without ``times`` the recency parts are
  off: neighbours are sampled by row order (later rows count as more recent) and STAN's
  session-recency weight is 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.models.recommenders.base import Recommendations, top_k
from shopintent.models.recommenders.sequential.base import (
    SequenceRecommender,
    load_state,
    save_state,
    training_popularity,
    validation_ndcg,
)
from shopintent.models.recommenders.sequential.data import (
    NextItems,
    Sequences,
    first_interactions,
    ragged_offsets,
)


def sequence_times(events: pd.DataFrame, sequences: Sequences, by: str = "session") -> np.ndarray:
    """Seconds (unix) of each row's last item: that item's first interaction in the row's group
    (``first_interactions``, as the sequences were built); NaN for an empty row."""
    from shopintent.models.recommenders.sequential.data import GROUP_COLUMNS

    col = GROUP_COLUMNS[by]
    first = first_interactions(events, by)
    lengths = sequences.lengths
    last = np.where(lengths > 0, sequences.items[np.maximum(sequences.indptr[1:] - 1, 0)], -1)
    keys = pd.DataFrame(
        {
            col: sequences.groups,
            "item_id": np.asarray(sequences.item_ids, dtype=object)[np.maximum(last, 0)],
        }
    )
    ts = pd.to_datetime(first["ts"], utc=True)
    seconds = (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    lookup = pd.Series(seconds.to_numpy(), index=pd.MultiIndex.from_frame(first[[col, "item_id"]]))
    lookup = lookup[~lookup.index.duplicated()]
    out = lookup.reindex(pd.MultiIndex.from_frame(keys)).to_numpy(dtype=np.float64, copy=True)
    out[last < 0] = np.nan
    return out


def keep_first_per_row(rows: np.ndarray, n: int) -> np.ndarray:
    """For entries already sorted by row (and by preference within a row): True for the first
    ``n`` of each row (``n`` <= 0 keeps all)."""
    if n <= 0 or not len(rows):
        return np.ones(len(rows), dtype=bool)
    starts = np.r_[True, rows[1:] != rows[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(rows)), 0))
    return np.arange(len(rows)) - first < n


def distinct_entries(seqs: Sequences) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, item, position)`` of each row's items, an item repeated in a row kept at its last
    position (1-based), sorted by row then item."""
    row = np.repeat(np.arange(len(seqs)), seqs.lengths)
    pos = ragged_offsets(seqs.lengths) + 1
    order = np.lexsort((-pos, seqs.items, row))
    row, item, pos = row[order], seqs.items[order], pos[order]
    keep = np.r_[True, (row[1:] != row[:-1]) | (item[1:] != item[:-1])]
    return row[keep], item[keep], pos[keep]


class SessionMemory(SequenceRecommender):
    """A model that remembers its training sessions (see the module's conventions). Subclasses
    set ``name`` and ``PARAMS`` (constructor arguments saved with the model) and implement
    ``_prepare()`` and ``_raw_scores(sequences, times) -> (n, n_items)`` non-negative scores."""

    name = "session_memory"
    PARAMS: tuple[str, ...] = ()
    fallback = True

    def _settings(self) -> dict:
        return {p: getattr(self, p) for p in self.PARAMS}

    def _fit(self, train: Sequences, val: NextItems | None, times=None, **kwargs) -> None:
        self._remember(train, times)
        self._prepare()

    def _remember(self, train: Sequences, times) -> None:
        self.train_ = train
        self.groups_ = pd.Index(np.asarray(train.groups).astype(str))
        if times is not None:
            times = np.asarray(times, dtype=np.float64)
            if times.shape != (len(train),):
                raise ValueError(f"times: one per training row ({len(train)}), got {times.shape}")
            newest = np.nanmax(times) if np.isfinite(times).any() else 0.0
            times = np.where(np.isfinite(times), times, newest)
        self.times_ = times
        ordinal = np.arange(len(train), dtype=np.float64) if times is None else times
        # recency rank of each row: 0 = most recent (ties: the later row)
        order = np.lexsort((-np.arange(len(train)), -ordinal))
        self.recency_rank_ = np.empty(len(train), dtype=np.int64)
        self.recency_rank_[order] = np.arange(len(train))
        self.popularity_ = training_popularity(train)
        self.trained_ = self.popularity_ > 0

    def _prepare(self) -> None:
        raise NotImplementedError

    def _raw_scores(self, sequences: Sequences, times: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def own_rows(self, sequences: Sequences) -> np.ndarray:
        """The training row of each query's group, -1 where it has none."""
        return self.groups_.get_indexer(pd.Index(np.asarray(sequences.groups).astype(str)))

    def query_times(self, sequences: Sequences, times=None) -> np.ndarray | None:
        """Each query's time (module docstring); None when the model was fitted without times."""
        if self.times_ is None:
            return None
        if times is not None:
            return np.asarray(times, dtype=np.float64)
        own = self.own_rows(sequences)
        out = np.full(len(sequences), self.times_.max() if len(self.times_) else 0.0)
        out[own >= 0] = self.times_[own[own >= 0]]
        return out

    def score_sequences(self, sequences: Sequences, times=None) -> np.ndarray:
        self._check_fitted(sequences)
        raw = np.asarray(self._raw_scores(sequences, self.query_times(sequences, times)))
        pop = self.popularity_
        rest = (pop / pop.max() - 1.0) / 2.0 if self.fallback and pop.max() > 0 else 0.0 * pop
        rest = np.where(self.trained_, rest, -1.0)
        return np.where(raw > 0, raw, rest[None, :])

    def recommend_sequences(
        self, sequences: Sequences, k: int = 10, exclude=True, times=None
    ) -> Recommendations:
        """Top-k trained items per sequence (never an item unseen in training); ``exclude`` as in
        ``SequenceRecommender.recommend_sequences``."""
        self._check_fitted(sequences)
        if exclude is True:
            exclude = sequences.seen()
        elif exclude is False:
            exclude = None
        scores = self.score_sequences(sequences, times)
        scores[:, ~self.trained_] = -np.inf
        return top_k(scores, self.item_ids_, k, exclude)

    def save(self, path: str | Path) -> Path:
        """A folder: ``state.npz`` (the training rows, their groups and times) and ``meta.json``
        (class, name, settings, item ids)."""
        train = self.train_
        arrays = {
            "indptr": train.indptr,
            "items": train.items,
            "groups": np.asarray(self.groups_, dtype=str),
            "times": np.zeros(0) if self.times_ is None else self.times_,
        }
        return save_state(path, self, arrays, {"timed": self.times_ is not None})

    @classmethod
    def load(cls, path: str | Path) -> SessionMemory:
        model, z, meta = load_state(path, cls)
        indptr, items = z["indptr"], z["items"]
        lengths = np.diff(indptr)
        train = Sequences(
            z["groups"].astype(object),
            indptr,
            items,
            np.repeat(np.arange(len(lengths)), lengths),
            model.item_ids_,
        )
        model._remember(train, z["times"] if meta["timed"] else None)
        model._prepare()
        return model


def tune_on_validation(
    name: str,
    train: Sequences,
    val: NextItems,
    profile: str = "default",
    times=None,
    k: int = 10,
    n_points: int | None = None,
    search_seed: int = 0,
    **fixed,
) -> tuple[SequenceRecommender, pd.DataFrame]:
    """Grid-search the registered sequence model ``name`` over its search space for ``profile``
    on validation NDCG@k (``validation_ndcg``; the test split is never read): each point is
    fitted on ``train`` (with ``times`` when given); returns the best model (the first point in
    grid order among equals) and the table of points and scores, best first.

    ``n_points`` (for a grid too large to walk through in the time at hand, as GRU4Rec's
    reference ``paropt.py`` samples its space) scores the registered defaults first and then
    ``n_points`` points drawn from the grid at random (``search_seed``; ``ParameterSampler``,
    without repeats), so the search starts where the published setting is and keeps it on
    ties; 0 scores the defaults only. The table's ``point`` column names each row's origin."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    from shopintent.models.recommenders import registry

    entry = registry.get(name)
    grid = entry.grid(profile)
    if entry.fits_on != "sequences" or grid is None:
        raise ValueError(f"tune_on_validation: {name} is not a sequence model with a search space")
    if n_points is None:
        points = [("grid", p) for p in ParameterGrid(grid)]
    else:
        size = len(ParameterGrid(grid))
        drawn = (
            ParameterSampler(grid, min(int(n_points), size), random_state=search_seed)
            if n_points > 0
            else []
        )
        points = [("defaults", {})] + [("sampled", p) for p in drawn]
    rows, best, best_score = [], None, -np.inf
    for label, point in points:
        model = entry.create(**{**fixed, **point})
        fit_kwargs = {"times": times} if times is not None else {}
        model.fit(train, val, **fit_kwargs)
        score = validation_ndcg(model, val, k)
        values = {key: _param(model, key, point) for key in grid}
        rows.append({"point": label, **values, f"val_ndcg@{k}": score})
        if score > best_score:
            best, best_score = model, score
    table = pd.DataFrame(rows).sort_values(f"val_ndcg@{k}", ascending=False, kind="stable")
    return best, table.reset_index(drop=True)


def _param(model, key: str, point: dict):
    """A searched parameter's value in a fitted model (the point's, else the model's own)."""
    value = point.get(key, getattr(model, key, None))
    return list(value) if isinstance(value, tuple) else value
