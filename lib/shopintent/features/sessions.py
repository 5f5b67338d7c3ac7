"""Purchase-intent examples from the event log: session prefixes, their hand-made features and
the per-event encoding that sequence models read.

The definition (notebook 05 states it too). A session's *observable events* are its events in
time order (ties: log order) before its first purchase; a ``cut_at`` mask can end them earlier
(the synthetic shop lays out its cross-sell view and cart after drawing the outcome). A
*prefix* is a session's first k observable events, k = 1 … n; its label is whether the session
contains a purchase. Every observable event ends exactly one prefix, so the prefix table is the
observable events with cumulative features: the features of prefix k use events 1 … k of its
session and, for user and item history, only events strictly before the session's start.
The *full* prefix (k = n, "the whole session before the purchase") is the headline example.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PURCHASE = "purchase"
#: observable event types with a count feature each (a source lacking one gets zeros)
EVENT_TYPES = ("search", "view", "cart", "fav", "remove_from_cart")
#: the counts behind the logistic-regression baseline
COUNT_FEATURES = ("k", *(f"n_{t}" for t in EVENT_TYPES), "n_distinct_items")
USER_FEATURES = (
    "user_sessions",
    "user_purchase_sessions",
    "user_conversion",
    "user_recency_h",
    "user_tenure_d",
    "user_events",
    "user_carts",
    "user_rel_price",
)
SESSION_FEATURES = (
    "n_distinct_categories",
    "max_item_views",
    "repeat_share",
    "events_since_cart",
    "duration_log_s",
    "mean_log_gap",
    "max_log_gap",
    "last_log_gap",
    "rel_price_mean",
    "rel_price_min",
    "rel_price_max",
    "rel_price_last",
    "cart_rel_price",
    "cart_minus_view_price",
    "cart_minus_user_price",
    "item_conv_last",
    "item_conv_max",
    "item_conv_cart",
    "item_views_last",
    "hour_sin",
    "hour_cos",
    "weekday",
)
#: the hand-made features of one prefix: the LightGBM baseline's input
HANDMADE_FEATURES = (*COUNT_FEATURES, *SESSION_FEATURES, *USER_FEATURES)
#: per-event numeric inputs of the sequence models (fixed scales, no fitting)
EVENT_NUMERIC = ("log_gap", "rel_price", "has_price", "repeat", "item_conv", "item_views")
#: per-session inputs of the hybrid model (standardised inside the model's wrapper)
HYBRID_USER_FEATURES = (
    "user_sessions",
    "user_purchase_sessions",
    "user_conversion",
    "has_history",
    "user_recency_h",
    "user_tenure_d",
    "user_carts",
    "user_rel_price",
    "hour_sin",
    "hour_cos",
)


@dataclass
class SessionExamples:
    """Sessions and their prefixes, ready for the purchase-intent models.

    ``sessions``: one row per session with at least one observable event (``session_id,
    user_id, start, end, label, n_events`` and the user-history features as of ``start``).
    ``prefixes``: one row per prefix in session order then k, with the event that ends it
    (``event_type, item_id, query_id, category, brand, ts``), its per-event inputs
    (``EVENT_NUMERIC``) and the hand-made features of the whole prefix (``HANDMADE_FEATURES``).
    ``counts`` says what was left out and why.
    """

    sessions: pd.DataFrame
    prefixes: pd.DataFrame
    counts: dict = field(default_factory=dict)

    def subset(self, session_ids) -> SessionExamples:
        """The examples of these sessions (order kept as here)."""
        keep = pd.Index(pd.unique(np.asarray(session_ids, dtype=object)))
        s = self.sessions[keep.get_indexer(self.sessions["session_id"]) >= 0].reset_index(drop=True)
        p = self.prefixes[keep.get_indexer(self.prefixes["session_id"]) >= 0].reset_index(drop=True)
        return SessionExamples(s, p, dict(self.counts))

    @property
    def labels(self) -> np.ndarray:
        """0/1 label of every prefix."""
        return self.prefixes["label"].to_numpy(np.int64)

    def full_mask(self) -> np.ndarray:
        """Prefixes that hold the whole observable session (one per session)."""
        return self.prefixes["is_full"].to_numpy(bool)

    def capped_mask(self, k: int) -> np.ndarray:
        """One prefix per session: its first min(k, n) events.

        Every session is scored after at most k events.
        """
        p = self.prefixes
        return p["k"].to_numpy() == np.minimum(k, p["n_events"].to_numpy())


def _lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``keys.map(table)`` that keeps ``table``'s dtype (NaN/NaT where a key is absent).

    ``Series.map`` casts an empty datetime mapping, or a mapping of empty keys, to float and
    fails (``Cannot cast DatetimeArray to dtype float64``): a log without purchases has an
    empty map of first purchase times, one with only purchases no observable events.
    ``table`` has unique keys (a groupby result or a set index).
    """
    return pd.Series(table.reindex(keys.to_numpy()).array, index=keys.index, name=keys.name)


def _ordered(events: pd.DataFrame) -> pd.DataFrame:
    e = events.reset_index(drop=True)
    e = e.assign(_row=np.arange(len(e)))
    return e.sort_values(["session_id", "ts", "_row"], kind="stable", ignore_index=True)


def observable_mask(ordered: pd.DataFrame, cut: np.ndarray | None = None) -> np.ndarray:
    """Rows of session-ordered events that lie before their session's first purchase (or cut)."""
    sid = pd.factorize(ordered["session_id"])[0]
    stop = (ordered["event_type"] == PURCHASE).to_numpy()
    if cut is not None:
        stop = stop | cut
    # an event is observable iff no stop event precedes it or is it, within its session
    seen = pd.Series(stop.astype(np.int64)).groupby(sid).cumsum().to_numpy()
    return seen == 0


def session_table(events: pd.DataFrame) -> pd.DataFrame:
    """One row per session: ``session_id, user_id`` (of its first event), ``start, end`` (first
    and last event, purchases included), ``label`` (1 if it holds a purchase),
    ``first_purchase``."""
    e = _ordered(events)
    g = e.groupby("session_id", sort=False)
    out = g.agg(user_id=("user_id", "first"), start=("ts", "min"), end=("ts", "max")).reset_index()
    purchases = e[e["event_type"] == PURCHASE].groupby("session_id")["ts"].min()
    out["first_purchase"] = _lookup(out["session_id"], purchases)
    out["label"] = out["first_purchase"].notna().astype(np.int64)
    return out


def _asof(left: pd.DataFrame, right: pd.DataFrame, by: str, cols: list[str]) -> pd.DataFrame:
    """For each left row (``by``, ``at``), the right row's ``cols`` at the last ``ts`` strictly
    before ``at`` (cumulative columns, so: totals of everything before ``at``); 0 if none."""
    left = left.assign(_i=np.arange(len(left))).sort_values("at", kind="stable")
    right = right.sort_values("ts", kind="stable")
    merged = pd.merge_asof(
        left,
        right[["ts", by, *cols]],
        left_on="at",
        right_on="ts",
        by=by,
        allow_exact_matches=False,
        direction="backward",
    )
    merged = merged.sort_values("_i")
    return merged[cols].fillna(0).reset_index(drop=True)


def user_history(
    events: pd.DataFrame, sessions: pd.DataFrame, rel_price: pd.Series | None = None
) -> pd.DataFrame:
    """User features of each session from the user's events strictly before the session starts.

    ``user_sessions`` (sessions started before), ``user_purchase_sessions`` (sessions whose first
    purchase came before), ``user_conversion`` (their ratio, NaN without history),
    ``user_recency_h`` (log1p hours since the last event), ``user_tenure_d`` (days since the first),
    ``user_events``, ``user_carts``, ``user_rel_price`` (mean log price relative to the category
    median of the items viewed; needs ``rel_price`` aligned with ``events``).
    """
    e = events[["user_id", "ts", "event_type"]].copy()
    e["rp"] = rel_price.to_numpy() if rel_price is not None else np.nan
    e = e.sort_values(["user_id", "ts"], kind="stable")
    g = e.groupby("user_id", sort=False)
    e["events"] = g.cumcount() + 1
    e["carts"] = (e["event_type"] == "cart").astype(np.int64).groupby(e["user_id"]).cumsum()
    viewed = (e["event_type"] == "view") & e["rp"].notna()
    e["rp_sum"] = e["rp"].where(viewed, 0.0).groupby(e["user_id"]).cumsum()
    e["rp_n"] = viewed.astype(np.int64).groupby(e["user_id"]).cumsum()
    e["first_ts"] = g["ts"].transform("min")
    left = pd.DataFrame({"user_id": sessions["user_id"], "at": sessions["start"]}).reset_index(
        drop=True
    )
    hist = _asof(left, e, "user_id", ["events", "carts", "rp_sum", "rp_n"])
    last = _asof_time(left, e, "user_id")

    starts = (
        sessions[["user_id", "start"]]
        .rename(columns={"start": "ts"})
        .sort_values("ts", kind="stable")
    )
    starts["n"] = starts.groupby("user_id").cumcount() + 1
    firsts = sessions.loc[sessions["first_purchase"].notna(), ["user_id", "first_purchase"]]
    firsts = firsts.rename(columns={"first_purchase": "ts"}).sort_values("ts", kind="stable")
    firsts["n"] = firsts.groupby("user_id").cumcount() + 1
    n_sess = _asof(left, starts, "user_id", ["n"])["n"].to_numpy()
    n_buy = (
        _asof(left, firsts, "user_id", ["n"])["n"].to_numpy()
        if len(firsts)
        else np.zeros(len(left))
    )
    start = sessions["start"]
    hours = (start.reset_index(drop=True) - last["last"]).dt.total_seconds().to_numpy() / 3600
    first = _lookup(sessions["user_id"], e.groupby("user_id")["first_ts"].first())
    tenure = (start - first).dt.total_seconds().to_numpy() / 86400
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "user_sessions": n_sess,
                "user_purchase_sessions": n_buy,
                "user_conversion": np.where(n_sess > 0, n_buy / np.maximum(n_sess, 1), np.nan),
                "user_recency_h": np.log1p(hours.astype(np.float64)),
                "user_tenure_d": np.where(hist["events"].to_numpy() > 0, tenure, np.nan),
                "user_events": hist["events"].to_numpy(),
                "user_carts": hist["carts"].to_numpy(),
                "user_rel_price": np.where(
                    hist["rp_n"] > 0, hist["rp_sum"] / hist["rp_n"].clip(lower=1), np.nan
                ),
            }
        )


def _asof_time(left: pd.DataFrame, events: pd.DataFrame, by: str) -> pd.DataFrame:
    """Time of each left row's last ``by`` event strictly before ``at`` (NaT if none)."""
    right = events[[by, "ts"]].assign(last=events["ts"]).sort_values("ts", kind="stable")
    left = left.assign(_i=np.arange(len(left))).sort_values("at", kind="stable")
    merged = pd.merge_asof(
        left, right, left_on="at", right_on="ts", by=by, allow_exact_matches=False
    )
    return merged.sort_values("_i").reset_index(drop=True)[["last"]]


def item_history(events: pd.DataFrame, item_id: pd.Series, at: pd.Series) -> pd.DataFrame:
    """Each (item, time) pair's views and purchases in the whole log strictly before that time:
    ``item_views`` (log1p of views) and ``item_conv`` (purchases per view, smoothed towards 0:
    (purchases + 0.1) / (views + 2)). NaN where there is no item (searches)."""
    e = events.loc[events["item_id"].notna(), ["item_id", "ts", "event_type"]].sort_values(
        "ts", kind="stable"
    )
    e["views"] = (e["event_type"] == "view").astype(np.int64).groupby(e["item_id"]).cumsum()
    e["buys"] = (e["event_type"] == PURCHASE).astype(np.int64).groupby(e["item_id"]).cumsum()
    has = item_id.notna().to_numpy()
    left = pd.DataFrame({"item_id": item_id[has], "at": at[has]}).reset_index(drop=True)
    h = _asof(left, e, "item_id", ["views", "buys"])
    views = np.full(len(item_id), np.nan)
    conv = np.full(len(item_id), np.nan)
    views[has] = np.log1p(h["views"].to_numpy())
    conv[has] = (h["buys"].to_numpy() + 0.1) / (h["views"].to_numpy() + 2.0)
    return pd.DataFrame({"item_views": views, "item_conv": conv})


def relative_price(
    events: pd.DataFrame, items: pd.DataFrame
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(category, brand, log(price / median catalogue price of its category)) per event.

    The item's catalogue price, else the event's own price; the median is over the catalogue
    (a fact about the assortment, not about behaviour, so it carries no future behaviour).
    """
    meta = items.drop_duplicates("item_id").set_index("item_id")
    category = events["item_id"].map(meta["category"])
    brand = events["item_id"].map(meta["brand"])
    price = (
        events["item_id"]
        .map(meta["price"])
        .astype(np.float64)
        .fillna(events["price"].astype(np.float64))
    )
    medians = meta.groupby("category")["price"].median()
    overall = meta["price"].median()
    median = category.map(medians).astype(np.float64).fillna(overall)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.log(price / median)
    rel = rel.where(np.isfinite(rel))
    return category, brand, rel


def build_examples(
    events: pd.DataFrame, items: pd.DataFrame, cut_at: pd.Series | None = None
) -> SessionExamples:
    """Sessions and prefixes with every feature, from the canonical ``events`` and ``items``.

    ``cut_at`` (boolean, aligned with ``events``) marks events at which a session's observable
    part ends early (``synthetic_decision_cut``); purchases always end it.
    """
    e = _ordered(events.assign(_cut=False if cut_at is None else cut_at.to_numpy()))
    category, brand, rel = relative_price(e, items)
    sessions = session_table(e)
    obs_mask = observable_mask(e, e["_cut"].to_numpy(bool))
    n_obs = e.loc[obs_mask].groupby("session_id").size()
    sessions["n_events"] = sessions["session_id"].map(n_obs).fillna(0).astype(np.int64)
    counts = {
        "sessions": len(sessions),
        "sessions_without_observable_events": int((sessions["n_events"] == 0).sum()),
        "events": len(e),
        "observable_events": int(obs_mask.sum()),
        "cut_events": int(e["_cut"].sum()) if cut_at is not None else 0,
    }
    sessions = sessions.join(user_history(e, sessions, rel))
    sessions = sessions[sessions["n_events"] > 0].sort_values(
        ["start", "session_id"], kind="stable", ignore_index=True
    )

    p = e.loc[obs_mask, ["session_id", "user_id", "ts", "event_type", "item_id", "query_id"]].copy()
    p["category"], p["brand"], p["rel_price"] = category[obs_mask], brand[obs_mask], rel[obs_mask]
    info = sessions.set_index("session_id")
    p = p.reset_index(drop=True)  # every observable event's session is among those kept
    sid = p["session_id"]
    p["start"] = _lookup(sid, info["start"])
    p["label"] = _lookup(sid, info["label"]).astype(np.int64)
    p["n_events"] = _lookup(sid, info["n_events"]).astype(np.int64)
    p["k"] = p.groupby("session_id", sort=False).cumcount() + 1
    p["is_full"] = p["k"] == p["n_events"]
    p = p.join(item_history(e, p["item_id"], p["start"]))
    p = _prefix_features(p, info)
    return SessionExamples(sessions, p, counts)


def _cum(values: pd.Series, groups: np.ndarray, how: str) -> pd.Series:
    """Cumulative mean / max / min within groups, skipping NaN and carrying the last value."""
    g = values.groupby(groups)
    if how == "mean":
        n = values.notna().astype(np.int64).groupby(groups).cumsum()
        return (values.fillna(0).groupby(groups).cumsum() / n.where(n > 0)).astype(np.float64)
    filled = g.cummax() if how == "max" else g.cummin()
    return filled.groupby(groups).ffill()


def _prefix_features(p: pd.DataFrame, info: pd.DataFrame) -> pd.DataFrame:
    """Per-event inputs and cumulative hand-made features; row i uses its session's rows up to i."""
    sid = pd.factorize(p["session_id"])[0]
    etype = p["event_type"]
    has_item = p["item_id"].notna()
    gap = p.groupby(sid)["ts"].diff().dt.total_seconds()
    log_gap = np.log1p(gap.clip(lower=0))
    repeat = p[has_item].duplicated(["session_id", "item_id"]).reindex(p.index, fill_value=False)
    is_view = etype == "view"
    is_cart = etype == "cart"
    out = {}
    for t in EVENT_TYPES:
        out[f"n_{t}"] = (etype == t).astype(np.int64).groupby(sid).cumsum()
    out["n_distinct_items"] = (has_item & ~repeat).astype(np.int64).groupby(sid).cumsum()
    first_cat = p["category"].notna() & ~p.duplicated(["session_id", "category"])
    out["n_distinct_categories"] = first_cat.astype(np.int64).groupby(sid).cumsum()
    item_views = (is_view.astype(np.int64).groupby([sid, p["item_id"].fillna("")]).cumsum()).where(
        is_view, 0
    )
    out["max_item_views"] = item_views.groupby(sid).cummax()
    n_item_events = has_item.astype(np.int64).groupby(sid).cumsum()
    out["repeat_share"] = 1 - out["n_distinct_items"] / n_item_events.where(n_item_events > 0)
    cart_k = p["k"].where(is_cart).groupby(sid).ffill()
    out["events_since_cart"] = p["k"] - cart_k
    out["duration_log_s"] = np.log1p((p["ts"] - p["start"]).dt.total_seconds())
    out["mean_log_gap"] = _cum(log_gap, sid, "mean")
    out["max_log_gap"] = _cum(log_gap, sid, "max")
    out["last_log_gap"] = log_gap
    rel = p["rel_price"]
    view_rel = rel.where(is_view)
    cart_rel = rel.where(is_cart)
    out["rel_price_mean"] = _cum(view_rel, sid, "mean")
    out["rel_price_min"] = _cum(view_rel, sid, "min")
    out["rel_price_max"] = _cum(view_rel, sid, "max")
    out["rel_price_last"] = rel.groupby(sid).ffill()
    out["cart_rel_price"] = _cum(cart_rel, sid, "mean")
    out["cart_minus_view_price"] = out["cart_rel_price"] - out["rel_price_mean"]
    user = info.loc[p["session_id"], list(USER_FEATURES)].reset_index(drop=True)
    out["cart_minus_user_price"] = out["cart_rel_price"] - user["user_rel_price"]
    out["item_conv_last"] = p["item_conv"].groupby(sid).ffill()
    out["item_conv_max"] = _cum(p["item_conv"], sid, "max")
    out["item_conv_cart"] = _cum(p["item_conv"].where(is_cart), sid, "mean")
    out["item_views_last"] = p["item_views"].groupby(sid).ffill()
    hour = p["start"].dt.hour + p["start"].dt.minute / 60
    out["hour_sin"] = np.sin(2 * np.pi * hour / 24)
    out["hour_cos"] = np.cos(2 * np.pi * hour / 24)
    out["weekday"] = p["start"].dt.day_of_week
    feats = pd.DataFrame(out).astype(np.float64)
    events = pd.DataFrame(
        {
            "log_gap": log_gap.fillna(0) / 5,
            "rel_price": rel.fillna(0).clip(-3, 3),
            "has_price": rel.notna().astype(np.float64),
            "repeat": repeat.astype(np.float64),
            "item_conv": np.sqrt(p["item_conv"].fillna(0)) * 3,
            "item_views": p["item_views"].fillna(0) / 5,
        }
    )
    user = user.assign(has_history=(user["user_sessions"] > 0).astype(np.float64))
    return pd.concat(
        [
            p.reset_index(drop=True),
            events.add_prefix("ev_"),
            feats,
            user.drop(columns=[c for c in user.columns if c in feats.columns]),
        ],
        axis=1,
    )


def handmade_matrix(prefixes: pd.DataFrame, columns=HANDMADE_FEATURES) -> pd.DataFrame:
    """The hand-made features of each prefix (``k`` is the prefix length), NaN where undefined."""
    return prefixes[list(columns)].astype(np.float64)


# ---- sequence encoding -------------------------------------------------------------------------

PAD, UNKNOWN = 0, 1
SEQUENCE_FIELDS = ("event_type", "item_id", "category", "brand")


@dataclass
class Vocabulary:
    """String → int per field (0 = padding, 1 = unknown/absent), learnt from training prefixes.

    Values seen fewer than ``min_count`` times share the unknown id, so a rare or new item
    behaves like an unseen one at test time rather than like noise learnt from one example.
    """

    values: dict[str, list[str]]

    @classmethod
    def fit(
        cls, prefixes: pd.DataFrame, min_count: int = 2, item_min_count: int | None = None
    ) -> Vocabulary:
        """``item_min_count`` overrides ``min_count`` for items; None leaves every item unknown."""
        values = {}
        for f in SEQUENCE_FIELDS:
            least = 1 if f == "event_type" else item_min_count if f == "item_id" else min_count
            if least is None:
                values[f] = []
                continue
            counts = prefixes[f].dropna().astype(str).value_counts()
            values[f] = sorted(counts[counts >= least].index.tolist())
        return cls(values)

    def size(self, f: str) -> int:
        return len(self.values[f]) + 2

    def encode(self, f: str, column: pd.Series) -> np.ndarray:
        index = pd.Index(self.values[f])
        codes = index.get_indexer(column.astype(object).where(column.notna(), None).astype(str))
        codes = np.where(column.isna().to_numpy(), -1, codes)
        return (codes + 2).clip(min=UNKNOWN).astype(np.int32)

    def to_json(self) -> str:
        return json.dumps(self.values)

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        return cls(json.loads(text))


def event_arrays(prefixes: pd.DataFrame, vocab: Vocabulary) -> dict[str, np.ndarray]:
    """Flat per-event inputs: one int32 id array per ``SEQUENCE_FIELDS`` (event types are never
    unknown-as-padding: an unseen type gets id 1) and ``numeric`` (n, len(EVENT_NUMERIC))."""
    out = {f: vocab.encode(f, prefixes[f]) for f in SEQUENCE_FIELDS}
    out["event_type"] = np.maximum(out["event_type"], UNKNOWN)
    out["numeric"] = prefixes[[f"ev_{c}" for c in EVENT_NUMERIC]].to_numpy(np.float32)
    return out


def sequence_rows(prefixes: pd.DataFrame, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of at most ``max_len`` events that together end every prefix once.

    Returns ``index`` (rows, max_len) of prefix-row numbers (-1 = padding) and ``target``
    (rows, max_len) bool: which steps' outputs score a prefix. A session of n ≤ max_len
    events is one row whose step j scores prefix j + 1 (a causal LSTM sees only events
    1 … j + 1 there); a longer session adds, for every k > max_len, a window of its last
    ``max_len`` events whose final step scores prefix k.
    """
    k = prefixes["k"].to_numpy()
    n = prefixes["n_events"].to_numpy()
    pos = np.arange(len(prefixes))
    heads = np.flatnonzero(k == 1)
    rows = [], []
    length = np.minimum(n[heads], max_len)
    grid = np.arange(max_len)
    idx = heads[:, None] + grid[None, :]
    valid = grid[None, :] < length[:, None]
    rows[0].append(np.where(valid, idx, -1))
    rows[1].append(valid)
    late = np.flatnonzero(k > max_len)
    if len(late):
        start = pos[late] - max_len + 1
        rows[0].append(start[:, None] + grid[None, :])
        tgt = np.zeros((len(late), max_len), dtype=bool)
        tgt[:, -1] = True
        rows[1].append(tgt)
    return np.concatenate(rows[0]).astype(np.int64), np.concatenate(rows[1])


def text_rows(prefixes: pd.DataFrame, item_ids=None, query_ids=None) -> np.ndarray:
    """Row of each event's text vector in ``[zeros; item vectors; query vectors]``: a search's
    query vector, an item event's item vector, 0 (zeros) where there is none."""
    out = np.zeros(len(prefixes), dtype=np.int64)
    n_items = 0
    if item_ids is not None:
        n_items = len(item_ids)
        r = pd.Index(item_ids).get_indexer(prefixes["item_id"])
        out = np.where(r >= 0, r + 1, out)
    if query_ids is not None:
        r = pd.Index(query_ids).get_indexer(prefixes["query_id"])
        out = np.where(r >= 0, 1 + n_items + r, out)
    return out
