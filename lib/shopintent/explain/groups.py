"""Shapley values over a few feature groups of a black-box model, and the groups of the
purchase LSTM / hybrid.

A group is "removed" by replacing its inputs with a reference (baseline Shapley: one reference
point rather than an average over a background set, because sessions differ in length and a
background session's events cannot be spliced into another session). With G groups the value
function is ``f(mask)``, mask ∈ {0,1}^G, and ``shap.explainers.Exact`` evaluates all 2^G
coalitions (64 model calls per session for six groups, one batch); ``Permutation`` samples
orderings for many groups. Both give values that add up to ``f(all) − f(none)``.

Sequence groups (``SEQUENCE_GROUPS``) and what they are replaced by: event types → every event a
view; timing → the training mean time gap and the average hour (standardised 0); price → every
item at its category's median price; items → unknown category and brand, no repeats, the training
mean item conversion and views; text → no text vector; user history → the average user
(standardised 0). Output: log-odds of the raw (uncalibrated) whole-session score, as tree SHAP.
Also event occlusion: the session scored with one event removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopintent.features.sessions import (
    EVENT_NUMERIC,
    HYBRID_USER_FEATURES,
    UNKNOWN,
    SessionExamples,
)

SEQUENCE_GROUPS = ("event types", "timing", "price", "items", "text", "user history")
_NUM = {name: i for i, name in enumerate(EVENT_NUMERIC)}
_HOURS = [HYBRID_USER_FEATURES.index(c) for c in ("hour_sin", "hour_cos")]
_USER = [i for i in range(len(HYBRID_USER_FEATURES)) if i not in _HOURS]


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def group_shapley(
    value_fn, n_groups: int, method: str = "exact", max_evals: int | None = None, seed: int = 0
) -> tuple[np.ndarray, float, float]:
    """Shapley values of ``n_groups`` players for ``value_fn(masks (m, G) of 0/1) -> (m,)``.

    Returns (values (G,), base = f(no group), output = f(all groups)); values sum to
    output − base. ``exact`` needs 2^G calls; ``permutation`` about ``max_evals``.
    """
    import shap

    masker = shap.maskers.Independent(np.zeros((1, n_groups)), max_samples=1)

    def f(masks):
        return np.asarray(value_fn(np.asarray(masks) > 0.5), dtype=np.float64).reshape(len(masks))

    if method == "exact":
        sv = shap.explainers.Exact(f, masker)(np.ones((1, n_groups)), silent=True)
    elif method == "permutation":
        evals = max_evals or 10 * (2 * n_groups + 1)
        sv = shap.explainers.Permutation(f, masker, seed=seed)(
            np.ones((1, n_groups)), max_evals=evals, silent=True
        )
    else:
        raise ValueError(f"unknown method {method!r}: exact or permutation")
    values = np.asarray(sv.values[0], dtype=np.float64)
    base = float(np.ravel(sv.base_values)[0])
    return values, base, base + float(values.sum())


@dataclass
class GroupAttributions:
    """Per-example Shapley values of groups (rows: examples, columns: groups), each example's
    base value (all groups removed) and output (nothing removed)."""

    values: pd.DataFrame
    base: pd.Series
    output: pd.Series
    value_fns: dict = field(default_factory=dict)  # example -> its value function f(keep masks)

    def importance(self) -> pd.Series:
        return self.values.abs().mean().sort_values(ascending=False)


@dataclass
class SequenceReference:
    """The values a removed group takes, from the training prefixes (see the module docstring)."""

    log_gap: float
    item_conv: float
    item_views: float

    @classmethod
    def fit(cls, prefixes: pd.DataFrame) -> SequenceReference:
        items = prefixes["item_id"].notna()
        return cls(
            float(prefixes.loc[prefixes["k"] > 1, "ev_log_gap"].mean()),
            float(prefixes.loc[items, "ev_item_conv"].mean()),
            float(prefixes.loc[items, "ev_item_views"].mean()),
        )


def sequence_groups(model) -> tuple[str, ...]:
    """The groups a sequence model reads: text and user history only for the hybrid."""
    if not model.hybrid:
        return SEQUENCE_GROUPS[:4]
    return tuple(g for g in SEQUENCE_GROUPS if g != "text" or model.text_dim)


def session_input(model, examples: SessionExamples, session_id: str, text=None) -> tuple[dict, int]:
    """The network inputs (batch of one) that score a session's whole observable part, and the
    step whose output is that score."""
    from shopintent.models.purchase_intent.sequence import SequenceBatches

    sub = examples.subset([session_id])
    if not len(sub.prefixes):
        raise KeyError(f"session {session_id!r} is not among the examples")
    data = SequenceBatches(model, sub, text, 1024, labels=False)
    full = int(np.flatnonzero(sub.full_mask())[0])
    row, step = np.argwhere((data.index == full) & data.target)[0]
    for i, (rows, _) in enumerate(data.batches):
        if row in rows:
            x, _, _ = data.inputs(i)
            j = int(np.flatnonzero(rows == row)[0])
            return {k: v[j : j + 1] for k, v in x.items()}, int(step)
    raise AssertionError("every row is in one batch")


def masked_inputs(model, x: dict, groups, masks: np.ndarray, reference: SequenceReference) -> dict:
    """``len(masks)`` copies of a session's inputs, group g replaced where ``masks[:, g]`` is 0."""
    m = len(masks)
    out = {k: np.repeat(v, m, axis=0) for k, v in x.items()}
    valid = out["event_type"] > 0  # padding stays padding
    view, search = (int(v) for v in model.vocab.encode("event_type", pd.Series(["view", "search"])))
    item_event = valid & (out["event_type"] != search)  # before event types may be replaced
    for g, name in enumerate(groups):
        off = ~masks[:, g].astype(bool)
        if not off.any():
            continue
        step = valid & off[:, None]
        if name == "event types":
            out["event_type"][step] = view
        elif name == "timing":
            out["numeric"][..., _NUM["log_gap"]][step] = reference.log_gap
            if "user" in out:
                out["user"][
                    off[:, None, None]
                    & valid[..., None]
                    & np.isin(np.arange(out["user"].shape[-1]), _HOURS)
                ] = 0
        elif name == "price":
            out["numeric"][..., _NUM["rel_price"]][step] = 0.0
        elif name == "items":
            has_item = step & item_event
            for f in ("item_id", "category", "brand"):
                out[f][has_item] = UNKNOWN
            out["numeric"][..., _NUM["repeat"]][step] = 0.0
            out["numeric"][..., _NUM["item_conv"]][has_item] = reference.item_conv
            out["numeric"][..., _NUM["item_views"]][has_item] = reference.item_views
        elif name == "text":
            out["text"][off] = 0.0
        elif name == "user history":
            out["user"][
                off[:, None, None]
                & valid[..., None]
                & np.isin(np.arange(out["user"].shape[-1]), _USER)
            ] = 0
        else:
            raise ValueError(f"unknown group {name!r}: one of {', '.join(SEQUENCE_GROUPS)}")
    return out


def sequence_value_fn(model, x: dict, step: int, groups, reference: SequenceReference):
    """``f(masks) -> log-odds`` of one session's raw whole-session score with groups removed."""

    def f(masks):
        inputs = masked_inputs(model, x, groups, np.asarray(masks), reference)
        return _logit(np.asarray(model.network.predict_on_batch(inputs))[:, step, 0])

    return f


def sequence_group_shap(
    model,
    examples: SessionExamples,
    session_ids,
    reference: SequenceReference,
    text=None,
    method: str = "exact",
    seed: int = 0,
) -> GroupAttributions:
    """Group Shapley values of a sequence model's whole-session log-odds, one row per session."""
    groups = sequence_groups(model)
    rows, base, out, fns = [], [], [], {}
    for sid in session_ids:
        x, step = session_input(model, examples, sid, text)
        fns[sid] = sequence_value_fn(model, x, step, groups, reference)
        values, b, o = group_shapley(fns[sid], len(groups), method, seed=seed)
        rows.append(values)
        base.append(b)
        out.append(o)
    index = pd.Index(list(session_ids), name="session_id")
    return GroupAttributions(
        pd.DataFrame(
            np.array(rows).reshape(len(index), len(groups)), index=index, columns=list(groups)
        ),
        pd.Series(base, index=index),
        pd.Series(out, index=index),
        fns,
    )


def occlusion(model, examples: SessionExamples, session_id: str, text=None) -> pd.DataFrame:
    """How much each event moved a sequence model's whole-session score: the session scored
    with that one event removed (the next event's time gap absorbs its time) against the
    full session, in log-odds of the raw model (as SHAP; calibration steps would hide it).

    Returns one row per event: ``k, event_type, item_id, query_id``, ``p_full`` (calibrated
    probability of the whole session), ``logit_full``, ``logit_without`` and ``effect`` (their
    difference: positive, the event made a purchase look likelier).
    """
    one = examples.subset([session_id]).prefixes
    n = len(one)
    gaps = np.expm1(5 * one["ev_log_gap"].to_numpy())  # ev_log_gap = log1p(seconds) / 5
    copies = [one.assign(session_id=f"{session_id}#full")]
    for j in range(n):
        rest = one.drop(index=j).copy()
        if j + 1 < n:
            rest.loc[j + 1, "ev_log_gap"] = np.log1p(gaps[j] + gaps[j + 1]) / 5 if j > 0 else 0.0
        copies.append(rest.assign(session_id=f"{session_id}#{j}"))
    frame = pd.concat(copies, ignore_index=True)
    frame["k"] = frame.groupby("session_id", sort=False).cumcount() + 1
    frame["n_events"] = frame.groupby("session_id", sort=False)["k"].transform("max")
    frame["is_full"] = frame["k"] == frame["n_events"]
    probe = SessionExamples(pd.DataFrame({"session_id": frame["session_id"].unique()}), frame)
    raw = np.clip(model.raw_scores(probe, text)[frame["is_full"].to_numpy()], 1e-7, 1 - 1e-7)
    logit = _logit(raw)
    out = one[["k", "event_type", "item_id", "query_id"]].copy()
    out["p_full"] = float(model.calibrator(raw[:1])[0])
    out["logit_full"] = logit[0]
    out["logit_without"] = logit[1:] if n > 1 else np.nan
    out["effect"] = out["logit_full"] - out["logit_without"]
    return out.reset_index(drop=True)


def faithfulness_table(
    model,
    examples: SessionExamples,
    attributions: GroupAttributions,
    reference: SequenceReference,
    text=None,
    ks=(1, 2, 3),
    n_random: int = 20,
    seed: int = 42,
) -> pd.DataFrame:
    """Deletion check of group attributions: removing the top-k groups vs k random groups
    (each replaced by its reference), change of the whole-session log-odds."""
    from shopintent.explain import faithfulness

    groups = list(attributions.values.columns)
    fns = []
    for sid in attributions.values.index:
        if sid in attributions.value_fns:
            fns.append(attributions.value_fns[sid])
            continue
        x, step = session_input(model, examples, sid, text)
        fns.append(sequence_value_fn(model, x, step, groups, reference))
    return faithfulness.deletion_table(
        fns, attributions.values.to_numpy(), ks, n_random, seed, names=attributions.values.index
    )
