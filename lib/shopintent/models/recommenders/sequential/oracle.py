"""The ceiling of next-item recommendation on the synthetic shop: the generator's own chance of
each catalogue item being the sequence's next *new* item, given the latent state.

The state is the session of the prefix's last item (the shop's own session, redrawn with its
latents by ``data.synthetic.world.latent_sessions``): its target, intent, candidates and number
of views, and how many of those views the log shows up to that item. Then, with the generator's
view mechanism (``oracle`` in the parent package):

- each remaining view is the target (``REVISIT``), a distraction (∝ popularity) or a pick among
  the candidates (softmax of ``pick_logits``), independently — chance q_i for item i — except
  that the view at the target's own position (uniform over the positions not yet seen, if the
  target has not been viewed in the session yet) is the target for sure;
- the first new item among them is item i with chance ∝ q_i over the items not in the prefix;
  with the target's pending position, the new items drawn before it compete with the target
  itself (exact given the number of remaining views);
- if the session has no new item left, a cross-sell after a purchase (``complement_draws``,
  purchase probability of the session) or else the user's next sessions: their items in
  proportion to the user's per-session probabilities (``oracle.session_probabilities``), over
  the items not in the prefix — an approximation (the first new item of a later session is not
  exactly proportional to its inclusion probability). With sessions as the groups there is no
  later session: the row is renormalised over what the session itself can still show.

Each row is a distribution over the catalogue: non-negative, zero on the prefix's own items,
summing to 1. It uses the latents the log does not show (target, candidates, views left), so it
is an oracle of the state, a ceiling in expectation rather than on every sample. Its Monte Carlo
parts (later sessions, cross-sells) carry a small noise; the rest is exact given the state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.config import rng as seeded_rng
from shopintent.data.synthetic.events import DISTRACTION, REVISIT, pick_logits
from shopintent.data.synthetic.world import latent_catalogue, latent_sessions, latent_users
from shopintent.models.recommenders.oracle import (
    SESSIONS_PER_USER,
    complement_draws,
    merge_slots,
    session_probabilities,
    slot_softmax,
    unavailable_reason,
)
from shopintent.models.recommenders.sequential.base import SequenceRecommender
from shopintent.models.recommenders.sequential.data import GROUP_COLUMNS, first_interactions

#: Monte Carlo draws of a session's cross-sell (leaf and candidate set); rows scored at once
COMPLEMENT_DRAWS = 64
BATCH_ROWS = 1024


class SequenceOracle(SequenceRecommender):
    """``SequenceOracle(shop, by)`` then ``fit(train)``; ``score_sequences`` gives each row's
    next-new-item distribution (module docstring). ``by``: what the sequences' groups are, user
    or session ids (``SequenceSplit.by``). Raises ``ValueError`` with the reason without truth."""

    name = "oracle"

    def __init__(
        self, shop, by: str = "user", sessions_per_user: int = SESSIONS_PER_USER, seed: int = 0
    ):
        why = unavailable_reason(shop)
        if why is not None:
            raise ValueError(why)
        if by not in GROUP_COLUMNS:
            raise ValueError(f"by must be one of {', '.join(GROUP_COLUMNS)}, got {by!r}")
        self.shop, self.by = shop, by
        self.sessions_per_user, self.seed = int(sessions_per_user), int(seed)

    def _fit(self, train, val, **kwargs) -> None:
        shop = self.shop
        self.users_ = latent_users(shop)
        self.cat_ = latent_catalogue(shop)
        self.order_ = pd.Index(self.cat_.items["item_id"]).get_indexer(train.item_ids)
        if (self.order_ < 0).any():
            raise ValueError("oracle: the sequences' catalogue names items the shop lacks")
        sess, row = latent_sessions(shop, self.users_, self.cat_)
        self.sessions_ = sess
        truth = shop.extras["session_truth"]
        self.session_row_ = pd.Series(row, index=truth["session_id"].to_numpy())
        self.user_row_ = pd.Series(
            np.arange(len(self.users_)), index=shop.extras["user_truth"]["user_id"].to_numpy()
        )
        ev = shop.events[shop.events["item_id"].notna()]
        first = first_interactions(ev, self.by)
        group = first[GROUP_COLUMNS[self.by]].rename("group")  # session_id stays a column
        self.first_ = first.set_index([group, "item_id"])[["session_id", "ts"]]
        views = ev[ev["event_type"] == "view"].sort_values(["session_id", "ts"], kind="stable")
        self.view_sessions_ = pd.Index(pd.unique(views["session_id"]))
        code = self.view_sessions_.get_indexer(views["session_id"])
        self.view_start_ = np.searchsorted(code, np.arange(len(self.view_sessions_) + 1))
        self.view_ts_ = views["ts"].to_numpy()
        self.view_item_ = views["item_id"].to_numpy(dtype=object)

    def _state(self, sequences):
        """Per row: the latent row of the session of the prefix's last item (-1 for an empty
        prefix or one the log does not hold), the views the log shows in that session up to
        that item, and whether the session's target is among them."""
        n = len(sequences)
        srow = np.full(n, -1, dtype=np.int64)
        done = np.zeros(n, dtype=np.int64)
        target_seen = np.zeros(n, dtype=bool)
        rows = np.flatnonzero(sequences.lengths > 0)
        last = np.asarray(sequences.item_ids, dtype=object)[
            sequences.items[sequences.indptr[rows + 1] - 1]
        ]
        where = self.first_.reindex(list(zip(sequences.groups[rows], last, strict=True)))
        known = where["session_id"].notna().to_numpy()  # a prefix the log holds (not hand-made)
        rows, where = rows[known], where[known]
        srow[rows] = self.session_row_.loc[where["session_id"].to_numpy()].to_numpy()
        code = self.view_sessions_.get_indexer(where["session_id"])
        target_id = np.asarray(self.cat_.items["item_id"], dtype=object)[self.sessions_.target]
        for r, c, ts in zip(rows, code, where["ts"].to_numpy(), strict=True):
            if c < 0:
                continue
            lo, hi = self.view_start_[c], self.view_start_[c + 1]
            done[r] = np.searchsorted(self.view_ts_[lo:hi], ts, side="right")
            target_seen[r] = bool((self.view_item_[lo : lo + done[r]] == target_id[srow[r]]).any())
        return srow, done, target_seen

    def _later(self) -> np.ndarray:
        """Every user's per-session item probabilities (computed once: the next sessions)."""
        if not hasattr(self, "later_"):
            self.later_ = session_probabilities(
                self.users_, self.cat_, None, self.sessions_per_user, self.seed
            )
        return self.later_

    def score_sequences(self, sequences) -> np.ndarray:
        self._check_fitted(sequences)
        out = np.empty((len(sequences), sequences.n_items))
        gen = seeded_rng(self.seed, "oracle", "complements")
        for start in range(0, len(sequences), BATCH_ROWS):  # a few dense rows at a time
            rows = np.arange(start, min(start + BATCH_ROWS, len(sequences)))
            out[rows] = self._next_new(sequences.take(rows), gen)
        return out

    def _next_new(self, sequences, gen: np.random.Generator) -> np.ndarray:
        cat, sess, n_items = self.cat_, self.sessions_, len(self.cat_.popularity)
        srow, done, target_seen = self._state(sequences)
        has = srow >= 0
        s = np.maximum(srow, 0)
        intent = sess.intent[s]
        # one view's chance of each item (the forced target view aside), in generator order
        pick = slot_softmax(pick_logits(sess)[s])
        r, item, pk = merge_slots(sess.candidates[s], n_items, pick)
        q = np.tile(DISTRACTION * cat.popularity, (len(s), 1))
        q[r, item] += (1.0 - REVISIT[intent[r]] - DISTRACTION) * pk
        q[np.arange(len(s)), sess.target[s]] += REVISIT[intent]
        new = 1.0 - sequences.seen()[:, self.order_inverse()].toarray()
        new = np.asarray(new)
        qn = q * new
        big_q = qn.sum(axis=1)
        left = np.maximum(sess.n_views[s] - done, 0)
        pending = ~target_seen & (left > 0)
        target_new = new[np.arange(len(s)), sess.target[s]] > 0
        # chance that a new item comes before the target's pending view (uniform position)
        k = np.arange(max(int(left.max(initial=0)), 1))
        miss = (1.0 - big_q)[:, None] ** k[None, :]
        before = np.where(k[None, :] < left[:, None], 1.0 - miss, 0.0).sum(axis=1) / np.maximum(
            left, 1
        )
        iid = np.where(pending, left - 1, left)
        some = np.where(pending & target_new, before, 1.0 - (1.0 - big_q) ** np.maximum(iid, 0))
        share = np.divide(qn, big_q[:, None], out=np.zeros_like(qn), where=big_q[:, None] > 0)
        p = some[:, None] * share
        forced = pending & target_new
        p[np.flatnonzero(forced), sess.target[s][forced]] += 1.0 - some[forced]
        rest = 1.0 - p.sum(axis=1)
        # what comes after the session's views: a cross-sell, else (users) the next sessions
        reps = np.repeat(np.arange(len(s)), COMPLEMENT_DRAWS)
        crow, citem, cp = complement_draws(
            sess.user[s][reps],
            sess.leaf[s][reps],
            sess.purchase_prob[s][reps],
            self.users_,
            cat,
            gen,
        )
        comp = (
            sp.csr_matrix(
                (cp / COMPLEMENT_DRAWS, (reps[crow], citem)), shape=(len(s), n_items)
            ).toarray()
            * new
        )
        comp[done > sess.n_views[s]] = 0.0  # the log already shows the cross-sell's view
        comp_total = comp.sum(axis=1)
        p += rest[:, None] * comp
        rest = rest * (1.0 - comp_total)
        if self.by == "user":
            later = self._later()[sess.user[s]] * new
            total = later.sum(axis=1, keepdims=True)
            p += rest[:, None] * np.divide(later, total, out=np.zeros_like(later), where=total > 0)
        # no session (an empty prefix, or one not in the log): the user's next sessions, else
        # popularity
        user = self.user_row_.reindex(sequences.groups).to_numpy()
        for r in np.flatnonzero(~has):
            known = self.by == "user" and not np.isnan(user[r])
            p[r] = self._later()[int(user[r])] if known else cat.popularity
            p[r] *= new[r]
        totals = p.sum(axis=1, keepdims=True)
        p = np.divide(p, totals, out=np.zeros_like(p), where=totals > 0)
        return p[:, self.order_]

    def order_inverse(self) -> np.ndarray:
        """Columns of the sequences' catalogue in the shop's catalogue order."""
        inv = np.empty(len(self.order_), dtype=np.int64)
        inv[self.order_] = np.arange(len(self.order_))
        return inv
