"""Train/validation/test splits of the events table, each named after its protocol.

Our protocol (DESIGN.md, "Evaluation protocol") splits by time: ``temporal_split`` (one global
cut-off) or ``leave_last_out`` (each user's or session's latest interaction, for sequential
models). ``session_rec_split`` reproduces session-rec's time split of whole sessions (the
protocol of the session-based literature's comparisons, Ludewig et al. 2021).
``random_split`` and ``stratified_user_split`` reproduce published protocols (TensorFlow
Recommenders' tutorials, Microsoft Recommenders) and exist only to compare with their
published numbers: they put the future into training. Every split carries its ``protocol``
name, to be written next to each number it produces. ``assert_no_leakage``
guards the time order.

Texts (reviews, queries) are split so that one text never sits on two sides: sources repeat
texts (Amazon attaches one review to sibling products, shoppers repeat queries), and a model
scored on a text it trained on reads its label back. ``text_grouped_split`` keeps each
normalised text in one part (scikit-learn's group splitters, labels stratified where given);
``temporal_text_split`` cuts by time and drops from validation and test the texts seen before.
Both take the text column and group by ``shopintent.normalise.normalise_text``, the one
definition ``evaluation.leakage`` checks with (it sits below both packages, since ``data`` may
not import its sibling ``evaluation``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, rng
from shopintent.normalise import normalise_text


@dataclass(frozen=True, eq=False)
class Split:
    """The parts of one split (row subsets of the input, index kept) and how they were made.

    ``cutoff`` is the first instant of the test period and ``val_cutoff`` that of validation
    (temporal splits only; None otherwise). ``val`` is empty when no validation was asked for.
    ``dropped``: rows a split left out of a part, by part (``temporal_text_split``).
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    protocol: str
    cutoff: pd.Timestamp | None = None
    val_cutoff: pd.Timestamp | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    def summary(self, col_user: str = "user_id", col_ts: str = "ts") -> pd.DataFrame:
        """Rows, users and time range of each part: the table to show under a split."""
        parts = {"train": self.train, "val": self.val, "test": self.test}
        rows = [
            {
                "part": name,
                "rows": len(df),
                "users": df[col_user].nunique() if col_user in df else pd.NA,
                "first": df[col_ts].min() if len(df) else pd.NaT,
                "last": df[col_ts].max() if len(df) else pd.NaT,
            }
            for name, df in parts.items()
        ]
        return pd.DataFrame(rows).set_index("part").rename_axis(self.protocol)


@dataclass
class TextSplit:
    """Train / validation / test texts (queries, reviews), each a seeded sample of at most its cap.

    ``cutoff`` is the test period's start (NaT for a random split). ``dropped``: rows the split
    left out before capping, by part (texts already seen in an earlier part). Subclasses name
    their unit and add their own columns to ``summary`` (``columns``).
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp
    protocol: str = "temporal-global-cutoff"
    dropped: dict[str, int] = field(default_factory=dict)
    unit: ClassVar[str] = "texts"

    @classmethod
    def capped(
        cls,
        parts,
        caps,
        seed: int,
        stream: str,
        cutoff,
        protocol: str = "temporal-global-cutoff",
        dropped: dict[str, int] | None = None,
    ):
        """Keep at most ``caps`` (train, val, test) rows per part, drawn in time order (seeded)."""
        out = []
        for name, df, cap in zip(("train", "val", "test"), parts, caps, strict=True):
            keep = (
                np.sort(rng(seed, f"{stream}-{name}").choice(len(df), cap, replace=False))
                if len(df) > cap
                else np.arange(len(df))
            )
            out.append(df.iloc[keep].reset_index(drop=True))
        return cls(*out, cutoff=cutoff, protocol=protocol, dropped=dict(dropped or {}))

    def parts(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def columns(self, part: pd.DataFrame) -> dict:
        """Extra summary columns of one part."""
        return {}

    def summary(self) -> pd.DataFrame:
        rows = [
            {
                "part": name,
                self.unit: len(df),
                "distinct_texts": int(normalise_text(df["text"]).nunique()),
                **self.columns(df),
                "first": df["ts"].min(),
                "last": df["ts"].max(),
            }
            for name, df in self.parts().items()
        ]
        return pd.DataFrame(rows).set_index("part").rename_axis(self.protocol)


def _utc(ts) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _times(events: pd.DataFrame, col_ts: str) -> pd.Series:
    if col_ts not in events.columns:
        raise KeyError(
            f"events: no {col_ts!r} column to split by time "
            f"(has: {', '.join(map(str, events.columns))})"
        )
    ts = events[col_ts]
    if ts.isna().any():
        raise ValueError(
            f"events.{col_ts}: {int(ts.isna().sum())} missing timestamps; a time split needs all"
        )
    return ts


def _check_frac(name: str, value: float, allow_zero: bool = False) -> None:
    if not ((0 <= value if allow_zero else 0 < value) and value < 1):
        raise ValueError(f"{name} must be in {'[0' if allow_zero else '(0'}, 1), got {value}")


def temporal_split(
    events: pd.DataFrame,
    cutoff=None,
    test_frac: float = 0.2,
    val_frac: float = 0.0,
    *,
    col_ts: str = "ts",
) -> Split:
    """Protocol "temporal-global-cutoff": train on the past, test on the future.

    Test is every event at or after ``cutoff`` (naive times are read as UTC); without one,
    the cut-off is the time of the event that leaves the last ``test_frac`` of events (by
    time) in test (ties at that instant all go to test). With ``val_frac`` > 0 the events
    just before the cut-off, ``val_frac`` of all events, are validation, and train ends
    before them.
    """
    ts = _times(events, col_ts)
    ordered = ts.sort_values(ignore_index=True)
    n = len(ordered)
    if n == 0:
        raise ValueError("events is empty: nothing to split")
    if cutoff is None:
        _check_frac("test_frac", test_frac)
        cutoff = ordered.iloc[min(n - 1, n - int(round(n * test_frac)))]
    cutoff = _utc(cutoff)
    val_cutoff = None
    is_test = (ts >= cutoff).to_numpy()
    if val_frac:
        _check_frac("val_frac", val_frac)
        n_before = int((~is_test).sum())
        n_val = int(round(n * val_frac))
        if n_val >= n_before:
            raise ValueError(
                f"val_frac={val_frac} asks for {n_val} validation events but only "
                f"{n_before} lie before the cut-off {cutoff}"
            )
        val_cutoff = _utc(ordered.iloc[n_before - n_val])
        is_val = ((ts >= val_cutoff).to_numpy()) & ~is_test
    else:
        is_val = np.zeros(n, dtype=bool)
    is_train = ~is_test & ~is_val
    return Split(
        events[is_train],
        events[is_val],
        events[is_test],
        "temporal-global-cutoff",
        cutoff,
        val_cutoff,
    )


_GROUP_COLUMNS = {"user": "user_id", "session": "session_id"}


def leave_last_out(
    events: pd.DataFrame,
    by: str = "user",
    n: int = 1,
    validation: bool = False,
    *,
    col_ts: str = "ts",
    col_item: str = "item_id",
) -> Split:
    """Protocol "leave-last-out-user" / "-session": each group's latest interaction is test.

    Groups are users (``by="user"``) or sessions. Each group's last ``n`` interactions by time
    are test (n=1: exactly one per group), and with ``validation`` the ``n`` before them are
    validation. Ties in time are broken by item id, then by row order, so the result does not
    depend on anything random. Groups with too few interactions to keep one in training
    (fewer than n + 1, or 2n + 1 with validation) stay in train only.

    Every row is an interaction: pass the events to predict (e.g. purchases, or views and
    carts), not searches; rows without an item raise an error rather than being dropped.
    """
    if by not in _GROUP_COLUMNS:
        raise ValueError(f"by must be one of {', '.join(_GROUP_COLUMNS)}, got {by!r}")
    if int(n) < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    col = _GROUP_COLUMNS[by]
    ts = _times(events, col_ts)
    no_item = events[col_item].isna().to_numpy()
    if no_item.any():
        raise ValueError(
            f"leave_last_out: {int(no_item.sum())} rows have no {col_item} (searches?); "
            "filter events to the interactions to hold out first, e.g. "
            "events[events.event_type == 'purchase']"
        )
    frame = pd.DataFrame(
        {
            "g": events[col].reset_index(drop=True),
            "ts": ts.reset_index(drop=True),
            "item": events[col_item].astype(str).reset_index(drop=True),
            "pos": np.arange(len(events)),
        }
    )
    frame = frame.sort_values(["g", "ts", "item", "pos"], kind="stable")
    groups = frame.groupby("g", sort=False)
    from_end = groups.cumcount(ascending=False).to_numpy()
    size = groups["pos"].transform("size").to_numpy()
    n_val = int(n) if validation else 0
    qualifies = size >= n + n_val + 1
    part = np.zeros(len(events), dtype=np.int8)  # 0 train, 1 val, 2 test
    pos = frame["pos"].to_numpy()
    part[pos[qualifies & (from_end < n)]] = 2
    part[pos[qualifies & (from_end >= n) & (from_end < n + n_val)]] = 1
    name = f"leave-last-out-{by}" if n == 1 else f"leave-last-{n}-out-{by}"
    return Split(events[part == 0], events[part == 1], events[part == 2], name)


def session_rec_split(
    events: pd.DataFrame,
    days: float = 7,
    *,
    min_length: int = 2,
    col_session: str = "session_id",
    col_item: str = "item_id",
    col_ts: str = "ts",
) -> Split:
    """Protocol "session-rec-time-last-<days>-days": whole sessions split by time, as session-rec's
    ``preprocessing/preprocess_diginetica.py: split_data`` (github.com/rn5l/session-rec; Ludewig
    et al. 2021, "Empirical analysis of session-based recommendation algorithms").

    A session whose *last* click falls after the cut-off (the newest click minus ``days``) is a
    test session, every other one a training session (so a test session may start before the
    cut-off, and training sessions never reach past it). Then, as the reference: training
    sessions shorter than ``min_length`` clicks are dropped; test clicks on items absent from
    the (kept) training clicks are removed; test sessions left shorter than ``min_length`` are
    dropped. Every click is kept, repeats included (no first-interaction filter). Both parts
    come back sorted by session, then time (ties: row order). ``cutoff`` is the cut-off
    instant. A validation split is the same rule applied to ``train`` (the reference's
    ``train_tr`` / ``train_valid``). The reference's earlier filter of the whole data set
    (items with fewer than 5 clicks, then sessions shorter than 2) is not applied here.

    Every row is a click: pass the events to predict (e.g. item views), not searches; rows
    without an item raise.
    """
    if int(min_length) < 1 or not days > 0:
        raise ValueError(f"days > 0 and min_length >= 1, got {days}, {min_length}")
    ts = _times(events, col_ts)
    if events[col_item].isna().any():
        raise ValueError(
            f"session_rec_split: {int(events[col_item].isna().sum())} rows have no {col_item} "
            "(searches?); pass the clicks only, e.g. events[events.event_type == 'view']"
        )
    if len(events) == 0:
        raise ValueError("events is empty: nothing to split")
    order = np.lexsort((np.arange(len(events)), ts.to_numpy(), events[col_session].to_numpy()))
    ev = events.iloc[order]
    ts = ts.iloc[order]
    cutoff = ts.max() - pd.Timedelta(days=days)
    is_test = (ts.groupby(ev[col_session].to_numpy()).transform("max") > cutoff).to_numpy()
    train, test = ev[~is_test], ev[is_test]
    size = train.groupby(col_session)[col_item].transform("size")
    train = train[(size >= min_length).to_numpy()]
    test = test[test[col_item].isin(pd.unique(train[col_item])).to_numpy()]
    size = test.groupby(col_session)[col_item].transform("size")
    test = test[(size >= min_length).to_numpy()]
    name = f"session-rec-time-last-{days:g}-days"
    return Split(train, events.iloc[:0], test, name, cutoff)


def _percent_name(prefix: str, train_share: float) -> str:
    a = int(round(100 * train_share))
    return f"{prefix}-{a}-{100 - a}"


def random_split(
    events: pd.DataFrame, test_frac: float = 0.2, seed: int | np.random.Generator = DEFAULT_SEED
) -> Split:
    """Protocol "tfrs-random-80-20": TensorFlow Recommenders' tutorials' split, a seeded shuffle
    whose first 80% of rows train and the rest test. Only for comparing with their published
    numbers: it trains on the future and leaves seen items in the test."""
    _check_frac("test_frac", test_frac)
    r = seed if isinstance(seed, np.random.Generator) else rng(int(seed), "random_split")
    n = len(events)
    perm = r.permutation(n)
    n_train = n - int(round(n * test_frac))
    is_test = np.ones(n, dtype=bool)
    is_test[perm[:n_train]] = False
    return Split(
        events[~is_test],
        events.iloc[:0],
        events[is_test],
        _percent_name("tfrs-random", 1 - test_frac),
    )


def stratified_user_split(
    events: pd.DataFrame,
    ratio: float = 0.75,
    seed: int | np.random.Generator = DEFAULT_SEED,
    *,
    col_user: str = "user_id",
) -> Split:
    """Protocol "msr-stratified-75-25": Microsoft Recommenders' ``python_stratified_split``.

    Each user's rows are shuffled (seeded) and the first round(ratio x n_user) train, the rest
    test (round half to even, as Python's round there), so every user keeps about ``ratio``
    of their rows in training. Random in time: only for comparing with published numbers.
    """
    _check_frac("ratio", ratio)
    r = seed if isinstance(seed, np.random.Generator) else rng(int(seed), "stratified_user_split")
    frame = pd.DataFrame(
        {
            "g": events[col_user].to_numpy(),
            "key": r.random(len(events)),
            "pos": np.arange(len(events)),
        }
    ).sort_values(["g", "key"], kind="stable")
    groups = frame.groupby("g", sort=False)
    rank = groups.cumcount().to_numpy()
    size = groups["pos"].transform("size").to_numpy()
    is_test = np.zeros(len(events), dtype=bool)
    is_test[frame["pos"].to_numpy()[rank >= np.round(ratio * size)]] = True
    return Split(
        events[~is_test], events.iloc[:0], events[is_test], _percent_name("msr-stratified", ratio)
    )


def _text_groups(table: pd.DataFrame, col_text: str) -> np.ndarray:
    """One integer per row, equal where the normalised texts are; a missing text is its own."""
    codes, _ = pd.factorize(normalise_text(table[col_text]))
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def _group_holdout(groups, labels, frac: float, seed: int) -> np.ndarray:
    """Row positions of one held-out share of the groups: the first fold of a shuffled
    ``StratifiedGroupKFold`` with round(1 / frac) folds where there are labels, else
    ``GroupShuffleSplit`` holding out ``frac`` of the groups."""
    from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

    if labels is None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=frac, random_state=seed)
        _, held = next(splitter.split(groups, groups=groups))
        return held
    folds = max(2, int(round(1 / frac)))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a class rarer than the folds: stratified as far as it goes
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        _, held = next(splitter.split(groups, labels, groups=groups))
    return held


def text_grouped_split(
    table: pd.DataFrame,
    test_frac: float = 0.2,
    val_frac: float = 0.1,
    seed: int = DEFAULT_SEED,
    *,
    col_text: str = "text",
    col_label: str | None = None,
) -> Split:
    """Protocol "text-grouped-stratified" (with ``col_label``) or "text-grouped-random": rows
    drawn at random into train / validation / test with every normalised text (and so every
    copy of a repeated text) in one part only.

    With labels, test is the first fold of scikit-learn's ``StratifiedGroupKFold`` with
    round(1 / test_frac) folds (shuffled, seeded) and validation the first of round((1 -
    test_frac) / val_frac) folds of the rest, so each label keeps about its share in every
    part; without, ``GroupShuffleSplit`` holds out ``test_frac`` (then ``val_frac``) of the
    texts. Parts are whole groups, so their sizes are near, not exactly, the fractions.
    ``val_frac=0`` leaves validation empty.
    """
    _check_frac("test_frac", test_frac)
    _check_frac("val_frac", val_frac, allow_zero=True)
    if test_frac + val_frac >= 1:
        raise ValueError(f"test_frac + val_frac must be below 1, got {test_frac + val_frac}")
    n = len(table)
    groups = _text_groups(table, col_text)
    if len(np.unique(groups)) < 3:
        raise ValueError(f"{col_text}: {len(np.unique(groups))} distinct texts, too few to split")
    labels = None if col_label is None else table[col_label].astype(str).to_numpy()
    part = np.zeros(n, dtype=np.int8)  # 0 train, 1 val, 2 test
    part[_group_holdout(groups, labels, test_frac, seed)] = 2
    if val_frac:
        rest = np.flatnonzero(part == 0)
        held = _group_holdout(
            groups[rest],
            None if labels is None else labels[rest],
            val_frac / (1 - test_frac),
            seed,
        )
        part[rest[held]] = 1
    protocol = "text-grouped-" + ("random" if col_label is None else "stratified")
    return Split(table[part == 0], table[part == 1], table[part == 2], protocol)


def temporal_text_split(
    table: pd.DataFrame,
    test_frac: float = 0.2,
    val_frac: float = 0.1,
    *,
    col_text: str = "text",
    col_ts: str = "ts",
) -> Split:
    """Protocol "temporal-global-cutoff-new-texts": ``temporal_split``, then validation keeps
    only texts not in train and test only texts in neither (normalised). Train is the past
    as before; later parts score texts never seen before them. ``dropped`` counts the rows
    each part lost (the cut-off is placed on all rows, before dropping)."""
    sp = temporal_split(table, test_frac=test_frac, val_frac=val_frac, col_ts=col_ts)
    seen = set(normalise_text(sp.train[col_text]).dropna())
    keep_val = ~normalise_text(sp.val[col_text]).isin(seen).to_numpy()
    val = sp.val[keep_val]
    seen |= set(normalise_text(val[col_text]).dropna())
    keep_test = ~normalise_text(sp.test[col_text]).isin(seen).to_numpy()
    return Split(
        sp.train,
        val,
        sp.test[keep_test],
        "temporal-global-cutoff-new-texts",
        sp.cutoff,
        sp.val_cutoff,
        {"val": int((~keep_val).sum()), "test": int((~keep_test).sum())},
    )


def assert_no_leakage(
    train: pd.DataFrame,
    test: pd.DataFrame,
    cutoff=None,
    *,
    by: str | None = None,
    col_ts: str = "ts",
) -> None:
    """Raise AssertionError, naming the rows, if training data reaches into the test period.

    With ``cutoff`` (the first instant of the test period, as ``Split.cutoff``) a training row
    at or after it leaks; without, a training row later than the earliest test event does.
    With ``by`` (e.g. "user_id", for leave-last-out) the check is per group: no training row
    of a group may be later than that group's earliest test event.
    """
    t_train = _times(train, col_ts)
    if by is not None:
        first_test = test.groupby(by, sort=False)[col_ts].min()
        limit = train[by].map(first_test)
        bad = (t_train > limit).fillna(False).to_numpy(dtype=bool)
        what = f"later than their {by}'s earliest test event"
    elif cutoff is not None:
        limit = _utc(cutoff)
        bad = (t_train >= limit).to_numpy()
        what = f"at or after the cut-off {limit}"
    else:
        if len(test) == 0:
            return
        limit = _times(test, col_ts).min()
        bad = (t_train > limit).to_numpy()
        what = f"later than the earliest test event ({limit})"
    if bad.any():
        rows = train[bad]
        shown = ", ".join(
            f"{idx!r} at {t}" + (f" ({by} {g!r})" if by else "")
            for idx, t, g in zip(
                rows.index[:5], rows[col_ts][:5], rows[by][:5] if by else [None] * 5, strict=False
            )
        )
        raise AssertionError(
            f"leakage: {int(bad.sum())} training rows are {what} "
            f"(index {shown}{', ...' if bad.sum() > 5 else ''})"
        )
