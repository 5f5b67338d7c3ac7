"""Item sequences for next-item recommendation, and their leave-last-out split.

A sequence is one group's items in time order (a user's history, or a session), as catalogue
positions (``items.item_id`` order), each item once, at its first interaction: what a user
*discovers* next is what a recommender can add; a re-view of an item already seen would be
excluded from any list anyway. ``sequence_split`` holds out each group's last such item (test)
and the one before (validation, for early stopping and hyper-parameters), via
``shopintent.data.splits.leave_last_out``; every model learns from the rest.

Neural models read sequences left-padded (most recent item in the last column; item ids
shifted by one so that 0 is padding): one layout serves the LSTM and the causal
self-attention, and the last column is always the state to score from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.data.splits import leave_last_out
from shopintent.models.recommenders.evaluate import RecTask, make_task

GROUP_COLUMNS = {"user": "user_id", "session": "session_id"}
#: widths (padded steps) that batches are grouped into, so short sequences pay little padding
BUCKETS = (4, 8, 16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class Sequences:
    """Item sequences in CSR layout: row ``r`` is ``items[indptr[r]:indptr[r+1]]`` (catalogue
    positions, oldest first); ``sessions`` holds the session code of each position (for
    session co-occurrence), ``groups`` the user or session id of each row."""

    groups: np.ndarray
    indptr: np.ndarray
    items: np.ndarray
    sessions: np.ndarray
    item_ids: pd.Index

    def __len__(self) -> int:
        return len(self.groups)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def sequence(self, row: int) -> np.ndarray:
        return self.items[self.indptr[row] : self.indptr[row + 1]]

    @classmethod
    def from_lists(cls, lists, item_ids, groups=None) -> Sequences:
        """From lists of catalogue positions (tests, hand-made prefixes); one session per row."""
        item_ids = pd.Index(item_ids)
        lengths = np.array([len(s) for s in lists], dtype=np.int64)
        items = (
            np.concatenate([np.asarray(s, dtype=np.int64) for s in lists])
            if len(lists)
            else np.zeros(0, np.int64)
        )
        if len(items) and (items.min() < 0 or items.max() >= len(item_ids)):
            raise ValueError(
                f"sequences name item positions outside the catalogue [0, {len(item_ids)})"
            )
        groups = np.arange(len(lists)) if groups is None else np.asarray(groups, dtype=object)
        return cls(
            groups,
            np.r_[0, np.cumsum(lengths)],
            items,
            np.repeat(np.arange(len(lists)), lengths),
            item_ids,
        )

    def take(self, rows) -> Sequences:
        rows = np.asarray(rows, dtype=np.int64)
        starts, lengths = self.indptr[rows], self.lengths[rows]
        src = np.repeat(starts, lengths) + ragged_offsets(lengths)
        return Sequences(
            self.groups[rows],
            np.r_[0, np.cumsum(lengths)],
            self.items[src],
            self.sessions[src],
            self.item_ids,
        )

    def padded(self, max_len: int, width: int | None = None) -> np.ndarray:
        """``(n, width)`` int32, the last ``max_len`` items of each row right-aligned, item + 1
        (0 = padding). ``width`` defaults to the longest kept row."""
        keep = np.minimum(self.lengths, max_len)
        return _left_pad(
            self.items,
            self.indptr[1:] - keep,
            self.indptr[1:],
            width or max(int(keep.max(initial=1)), 1),
        )

    def seen(self) -> sp.csr_matrix:
        """CSR ``(n, n_items)``: 1 at each row's items (what ``exclude`` removes from its list)."""
        m = sp.csr_matrix(
            (np.ones(len(self.items)), self.items, self.indptr), shape=(len(self), self.n_items)
        )
        m.sum_duplicates()
        m.data[:] = 1.0
        return m


@dataclass(frozen=True)
class NextItems:
    """Prefixes and the item that followed each: one evaluation row per prefix."""

    inputs: Sequences
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def truth(self) -> sp.csr_matrix:
        n = len(self.targets)
        return sp.csr_matrix(
            (np.ones(n), (np.arange(n), self.targets)), shape=(n, self.inputs.n_items)
        )


def ragged_offsets(lengths: np.ndarray) -> np.ndarray:
    """0, 1, …, len-1 for each length, concatenated."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _left_pad(items: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """Rows ``items[start:end]`` right-aligned in ``(n, width)`` as item + 1 (0 = padding)."""
    lengths = np.minimum(ends - starts, width)
    starts = ends - lengths
    out = np.zeros((len(starts), width), dtype=np.int32)
    off = ragged_offsets(lengths)
    rows = np.repeat(np.arange(len(starts)), lengths)
    out[rows, width - np.repeat(lengths, lengths) + off] = (
        items[np.repeat(starts, lengths) + off] + 1
    )
    return out


def bucket_width(length: int | np.ndarray, max_len: int) -> np.ndarray:
    """The smallest ``BUCKETS`` width holding ``length`` steps, at most ``max_len``."""
    length = np.maximum(np.asarray(length), 1)
    edges = np.array([b for b in BUCKETS if b < max_len] + [max_len])
    return edges[np.minimum(np.searchsorted(edges, np.minimum(length, max_len)), len(edges) - 1)]


def training_windows(
    train: Sequences, max_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every next-item step of the training sequences, in windows of at most ``max_len`` inputs.

    A row of L items gives L - 1 steps (input items 1 … t, target item t + 1); a row longer than
    ``max_len`` + 1 is cut, from its end, into windows that overlap by one item, so every step is
    trained once. Returns flat ``(items, starts, ends, lengths)``: window w's inputs are
    ``items[starts[w]:ends[w] - 1]``, its targets ``items[starts[w] + 1:ends[w]]``.
    """
    lengths = train.lengths
    n_windows = np.where(lengths >= 2, np.ceil((lengths - 1) / max_len), 0).astype(np.int64)
    row = np.repeat(np.arange(len(train)), n_windows)
    nth = ragged_offsets(n_windows)  # 0 = the window that ends the row
    end = train.indptr[row + 1] - nth * max_len
    start = np.maximum(train.indptr[row], end - max_len - 1)
    return train.items, start, end, end - start - 1


def window_arrays(
    items: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Left-padded inputs and targets (both item + 1, 0 = padding) of the given windows."""
    return _left_pad(items, starts, ends - 1, width), _left_pad(items, starts + 1, ends, width)


def first_interactions(events: pd.DataFrame, by: str = "user") -> pd.DataFrame:
    """Item events (searches dropped) in time order, each item once per group, at its first time."""
    col = _group_column(by)
    ev = events[events["item_id"].notna()]
    if "event_type" in ev:
        ev = ev[ev["event_type"] != "search"]
    missing = [c for c in (col, "ts") if c not in ev]
    if missing:
        raise KeyError(f"events: no {', '.join(missing)} column (needed to build {by} sequences)")
    ev = ev.assign(_item=ev["item_id"].astype(str)).sort_values([col, "ts", "_item"], kind="stable")
    return (
        ev.drop_duplicates([col, "item_id"], keep="first")
        .drop(columns="_item")
        .reset_index(drop=True)
    )


def _group_column(by: str) -> str:
    if by not in GROUP_COLUMNS:
        raise ValueError(f"by must be one of {', '.join(GROUP_COLUMNS)}, got {by!r}")
    return GROUP_COLUMNS[by]


def build_sequences(events: pd.DataFrame, item_ids, by: str = "user", groups=None) -> Sequences:
    """Sequences of ``events`` (already ordered, e.g. by ``first_interactions``) per group.

    Rows follow ``groups`` when given (a group without events gets an empty row), else the
    sorted group ids. An item missing from the catalogue raises, naming it.
    """
    col = _group_column(by)
    item_ids = pd.Index(item_ids)
    item = item_ids.get_indexer(events["item_id"])
    if (item < 0).any():
        bad = pd.unique(events["item_id"].to_numpy()[item < 0])[:5]
        raise ValueError(
            f"events: {int((item < 0).sum())} rows name items missing from the catalogue "
            f"(item_id {', '.join(map(repr, bad))})"
        )
    groups = pd.Index(np.sort(pd.unique(events[col]))) if groups is None else pd.Index(groups)
    row = groups.get_indexer(events[col])
    keep = row >= 0
    order = np.argsort(row[keep], kind="stable")  # by row, time order kept within each
    row, item = row[keep][order], item[keep][order]
    session = (
        pd.factorize(events["session_id"].to_numpy()[keep][order])[0]
        if "session_id" in events
        else row.copy()
    )
    indptr = np.r_[0, np.cumsum(np.bincount(row, minlength=len(groups)))]
    return Sequences(
        groups.to_numpy(dtype=object),
        indptr,
        item.astype(np.int64),
        session.astype(np.int64),
        item_ids,
    )


@dataclass(frozen=True)
class SequenceSplit:
    """Training sequences, the validation and test prefixes with their next items, and the
    ``RecTask`` (same rows as ``test``) that ``evaluate_recs`` scores lists against."""

    train: Sequences
    val: NextItems
    test: NextItems
    task: RecTask
    by: str
    protocol: str
    counts: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Rows, items and lengths of each part: the table to show under the split."""
        rows = [
            {
                "part": "train sequences",
                "rows": len(self.train),
                "items": int(self.train.lengths.sum()),
                "mean length": float(self.train.lengths.mean()) if len(self.train) else np.nan,
            }
        ]
        for name, part in (("validation prefixes", self.val), ("test prefixes", self.test)):
            rows.append(
                {
                    "part": name,
                    "rows": len(part),
                    "items": int(part.inputs.lengths.sum()),
                    "mean length": float(part.inputs.lengths.mean()) if len(part) else np.nan,
                }
            )
        return pd.DataFrame(rows).set_index("part").rename_axis(self.protocol)


def choose_grouping(events: pd.DataFrame, min_sessions_per_user: float = 1.5) -> str:
    """``"user"`` when users come back (histories to learn from), else ``"session"``: a log
    without user ids, or where most sessions are anonymous (DIGINETICA) or users rarely return."""
    known = events["user_id"].notna()
    if not known.any():
        return "session"
    sessions = events.loc[known, "session_id"].nunique()
    per_user = sessions / events.loc[known, "user_id"].nunique()
    mostly_known = sessions >= 0.5 * events["session_id"].nunique()
    return "user" if per_user >= min_sessions_per_user and mostly_known else "session"


def sequence_split(events: pd.DataFrame, items: pd.DataFrame, by: str = "user") -> SequenceSplit:
    """Protocol ``leave-last-out-<by>`` on first interactions: each group's last new item is the
    test target (its prefix: everything before), the one before it the validation target."""
    col = _group_column(by)
    first = first_interactions(events, by)
    split = leave_last_out(first, by=by, validation=True)
    item_ids = pd.Index(items["item_id"])
    train = build_sequences(split.train, item_ids, by)
    before_test = first[~first.index.isin(split.test.index)]  # time order kept
    protocol = (
        f"{split.protocol}, first interaction with each item, validation = the one before last"
    )
    # make_task indexes its training interactions by user_id whatever col_user says: the group
    # column is passed as user_id so that sessions are the rows when grouping by session
    task = make_task(
        before_test.assign(user_id=before_test[col]),
        split.test.assign(user_id=split.test[col]),
        items,
        protocol,
    )
    val_groups = np.sort(pd.unique(split.val[col]))
    val_target = item_ids.get_indexer(split.val.set_index(col).loc[val_groups, "item_id"])
    val = NextItems(build_sequences(split.train, item_ids, by, groups=val_groups), val_target)
    test_target = item_ids.get_indexer(split.test.set_index(col).loc[task.users, "item_id"])
    test = NextItems(build_sequences(before_test, item_ids, by, groups=task.users), test_target)
    trained = np.zeros(len(item_ids), dtype=bool)
    trained[train.items] = True
    counts = {
        "groups": int(first[col].nunique()),
        "train_sequences": len(train),
        "train_items": int(len(train.items)),
        "test_sequences": len(test),
        "catalogue_items": len(item_ids),
        "items_in_training": int(trained.sum()),
        "test_targets_unseen_in_training": float(np.mean(~trained[test_target]))
        if len(test)
        else np.nan,
    }
    return SequenceSplit(train, val, test, task, by, protocol, counts)
