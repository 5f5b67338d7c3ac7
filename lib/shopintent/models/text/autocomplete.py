"""Query auto-completion side by side, scored where it matters: by slice of the query log.

Completers share one method, ``complete_many(prefixes, k) -> list of up to k full queries``:

- ``PrefixFrequency``: the most frequent past queries that start with the prefix (the baseline
  every search team starts from, and hard to beat on the head of the log);
- the shop GPT (``shop_gpt.ShopGpt``): beam search over its words, so it can propose a query
  nobody typed before, and complete a prefix nobody typed before;
- ``BlendCompleter``, what a search team would ship: frequency's candidates and the GPT's own
  completions in one pool, ranked by a mixture of the two models' probabilities of the query
  given the prefix. The GPT orders the many once-searched queries that frequency can only sort
  alphabetically and proposes queries nobody typed; frequency keeps the head it knows best.
  The mixture's share is chosen on validation searches (never the test period); share 1 is the
  frequency ranking with the GPT's completions after it where frequency has fewer than ``k``.

Protocol (``reciprocal_ranks``): for each later search, the prefix is its first word as typed
(or its first ``n_chars`` characters); a completer proposes ``k`` full queries starting with it
(case-insensitive, whitespace normalised) and the search scores the reciprocal rank of its exact
query (0 when not proposed). ``slices`` cuts the test searches by what the training log knew:
the prefix seen or unseen, the query head / tail / new; ``slice_table`` reports MRR@k and hit@k
per slice and model, each with its bootstrap interval and its paired difference to the baseline.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED
from shopintent.evaluation.bootstrap import bootstrap_mean_ci, paired_bootstrap_diff

#: a query searched at least this often in training is "head"; fewer (but once or more) "tail"
HEAD_MIN_COUNT = 5
#: the frequency shares the blend is chosen from, on validation searches
SHARES = (1.0, 0.97, 0.95, 0.9, 0.8, 0.7, 0.5)


def normalize_query(text: str) -> str:
    """Lower-cased, whitespace collapsed: the form in which queries are compared."""
    return " ".join(str(text).lower().split())


def _prefix_form(prefix: str) -> str:
    """The normalised prefix; a trailing space (a whole word typed) is kept."""
    return normalize_query(prefix) + (" " if prefix.endswith(" ") and prefix.strip() else "")


class PrefixFrequency:
    """Baseline: the most frequent past queries that start with the prefix (case-insensitive);
    ties broken alphabetically, so the ranking is reproducible."""

    def fit(self, queries: Iterable[str]) -> PrefixFrequency:
        self.counts = Counter(q for q in map(normalize_query, queries) if q)
        self._sorted = sorted(self.counts)  # the queries starting with p are one run of it
        return self

    def candidates(self, prefix: str, n: int | None = None) -> list[tuple[str, int]]:
        """(query, count) of the past queries starting with the prefix, most frequent first."""
        p = _prefix_form(prefix)
        run = self._sorted[
            bisect_left(self._sorted, p) : bisect_left(self._sorted, p + chr(0x10FFFF))
        ]
        found = sorted(((q, self.counts[q]) for q in run), key=lambda kv: (-kv[1], kv[0]))
        return found if n is None else found[:n]

    def complete(self, prefix: str, k: int = 5) -> list[str]:
        return [q for q, _ in self.candidates(prefix, k)]

    def complete_many(self, prefixes: Sequence[str], k: int = 5) -> list[list[str]]:
        return [self.complete(p, k) for p in prefixes]


class Memo:
    """A completer's proposals, asked once per prefix (``depth`` of them) and served from memory:
    the blend and the completer's own evaluation then share one beam search per prefix."""

    def __init__(self, completer, depth: int = 10):
        self.completer, self.depth, self._seen = completer, depth, {}

    def complete_many(self, prefixes: Sequence[str], k: int = 5) -> list[list[str]]:
        if k > self.depth:
            raise ValueError(f"asked for {k} completions; this memo keeps {self.depth}")
        todo = [p for p in dict.fromkeys(prefixes) if p not in self._seen]
        if todo:
            self._seen.update(
                zip(todo, self.completer.complete_many(todo, self.depth), strict=True)
            )
        return [self._seen[p][:k] for p in prefixes]


class BlendCompleter:
    """A mixture of the two models' probabilities of a query given the prefix:
    ``share * P_frequency + (1 - share) * P_lm``, over a pool of frequency's top
    ``n_candidates`` and the LM's own ``depth`` completions. ``P_frequency`` is a query's count
    over all past queries with the prefix (0 for one nobody typed); ``P_lm`` is the LM's
    whole-query probability renormalised over the pool. ``share`` 1 is frequency's own ranking
    with the LM's completions after it where frequency runs short."""

    name = "blend"

    def __init__(self, frequency: PrefixFrequency, lm, share=0.9, n_candidates=50, depth=10):
        self.frequency, self.share, self.n_candidates = frequency, share, n_candidates
        self.lm = lm if isinstance(lm, Memo) else Memo(lm, depth)
        self._pools: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}

    def _pool(self, prefixes: Sequence[str]) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
        """Per prefix, cached (choosing ``share`` re-ranks the same pools): the queries in
        frequency's order then the LM's, P_frequency and P_lm."""
        new = [p for p in dict.fromkeys(prefixes) if p not in self._pools]
        if new:
            pools = []
            for p, proposed in zip(new, self.lm.complete_many(new, self.lm.depth), strict=True):
                found = self.frequency.candidates(p)
                total = sum(c for _, c in found)
                pool = {q: c / total for q, c in found[: self.n_candidates]}
                pool.update({q: 0.0 for q in map(normalize_query, proposed) if q not in pool})
                pools.append(pool)
            texts = sorted({q for pool in pools for q in pool})
            log_p = dict(zip(texts, self.lm.completer.log_prob(texts).tolist(), strict=True))
            for p, pool in zip(new, pools, strict=True):
                queries = list(pool)
                lm = np.array([log_p[q] for q in queries])
                lm = np.exp(lm - lm.max()) if len(lm) else lm
                self._pools[p] = (queries, np.array(list(pool.values())), lm / lm.sum())
        return [self._pools[p] for p in prefixes]

    def complete_many(self, prefixes: Sequence[str], k: int = 5) -> list[list[str]]:
        out = []
        for queries, freq, lm in self._pool(prefixes):
            score = self.share * freq + (1 - self.share) * lm
            order = np.argsort(-score, kind="stable")  # ties keep frequency's order
            out.append([queries[i] for i in order[:k]])
        return out

    def choose_share(
        self, val_queries: Sequence[str], prefix: str = "first word", k: int = 5, grid=SHARES
    ) -> dict[float, float]:
        """Set ``share`` to the grid value with the best MRR@k on validation searches (never the
        test period); returns MRR@k by share (a tie goes to the larger share, frequency's
        side)."""
        scores = {}
        for share in grid:
            self.share = share
            scores[share] = float(reciprocal_ranks(self, val_queries, prefix, k).mean())
        self.share = max(scores, key=lambda v: (scores[v], v))
        return scores


def query_prefix(query: str, prefix: str = "first word", n_chars: int = 3) -> str:
    """What the user has typed: the first word, or the first ``n_chars`` characters.

    The first word comes without a trailing space.
    """
    q = normalize_query(query)
    if prefix == "first word":
        return q.split(" ")[0]
    if prefix == "n chars":
        return q[:n_chars]
    raise ValueError(f"prefix must be 'first word' or 'n chars', got {prefix!r}")


def reciprocal_ranks(
    model, test_queries: Sequence[str], prefix: str = "first word", k: int = 5, n_chars: int = 3
) -> np.ndarray:
    """One value per non-empty test search: 1/rank of its exact query among the model's ``k``
    completions of its prefix, 0 when absent. Completions are asked once per distinct prefix."""
    targets = [q for q in map(normalize_query, test_queries) if q]
    if not targets:
        raise ValueError("no test queries to evaluate")
    prefixes = [query_prefix(q, prefix, n_chars) for q in targets]
    distinct = sorted(set(prefixes))
    proposals = dict(zip(distinct, model.complete_many(distinct, k), strict=True))
    out = np.zeros(len(targets))
    for i, (q, p) in enumerate(zip(targets, prefixes, strict=True)):
        found = [normalize_query(c) for c in proposals[p][:k]]
        if q in found:
            out[i] = 1.0 / (found.index(q) + 1)
    return out


def autocomplete_eval(
    model, test_queries: Sequence[str], prefix: str = "first word", k: int = 5, n_chars: int = 3
) -> dict:
    """MRR@k and hit@k of ``model`` over ``test_queries`` (one per search; see
    ``reciprocal_ranks``)."""
    rr = reciprocal_ranks(model, test_queries, prefix, k, n_chars)
    return {
        f"mrr@{k}": float(rr.mean()),
        f"hit@{k}": float((rr > 0).mean()),
        "n": len(rr),
        "prefix": prefix if prefix == "first word" else f"first {n_chars} chars",
    }


def slices(
    test_queries: Sequence[str],
    train_queries: Iterable[str],
    prefix: str = "first word",
    n_chars: int = 3,
    head_min_count: int = HEAD_MIN_COUNT,
) -> pd.DataFrame:
    """One row per non-empty test search, booleans by what the training searches knew:
    ``seen_prefix`` (some training query starts with the typed prefix) / ``unseen_prefix``;
    ``head`` (the query itself searched >= ``head_min_count`` times), ``tail`` (1 to
    ``head_min_count - 1`` times), ``new`` (never)."""
    counts = Counter(q for q in map(normalize_query, train_queries) if q)
    targets = [q for q in map(normalize_query, test_queries) if q]
    prefixes = [query_prefix(q, prefix, n_chars) for q in targets]
    known = sorted(counts)
    seen = {}
    for p in set(prefixes):  # a binary search in the sorted queries: any starting with p?
        i = int(np.searchsorted(known, p))
        seen[p] = i < len(known) and known[i].startswith(p)
    n = np.array([counts.get(q, 0) for q in targets])
    seen_prefix = np.array([seen[p] for p in prefixes], dtype=bool)
    return pd.DataFrame(
        {
            "all": True,
            "seen_prefix": seen_prefix,
            "unseen_prefix": ~seen_prefix,
            "head": n >= head_min_count,
            "tail": (n >= 1) & (n < head_min_count),
            "new": n == 0,
        }
    )


def slice_table(
    ranks: dict[str, np.ndarray],
    cuts: pd.DataFrame,
    baseline: str = "prefix_frequency",
    k: int = 5,
    n_boot: int = 1000,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Per slice and model: searches, MRR@k and hit@k with 95% bootstrap intervals, and the
    paired difference in MRR@k to ``baseline`` with its interval (searches resampled)."""
    rows = []
    for cut in cuts.columns:
        keep = cuts[cut].to_numpy()
        for model, rr in ranks.items():
            r = rr[keep]
            row = {"slice": cut, "model": model, "searches": int(keep.sum())}
            if len(r) == 0:
                rows.append(row)
                continue
            mrr, hit = (
                bootstrap_mean_ci(r, n_boot=n_boot, seed=seed),
                bootstrap_mean_ci((r > 0).astype(float), n_boot=n_boot, seed=seed),
            )
            row.update(
                {
                    f"mrr@{k}": mrr.point,
                    f"mrr@{k}_low": mrr.low,
                    f"mrr@{k}_high": mrr.high,
                    f"hit@{k}": hit.point,
                    f"hit@{k}_low": hit.low,
                    f"hit@{k}_high": hit.high,
                }
            )
            if model != baseline and baseline in ranks:
                d = paired_bootstrap_diff(r, ranks[baseline][keep], n_boot=n_boot, seed=seed)
                gain = f"mrr@{k}_gain"
                row.update({gain: d.point, f"{gain}_low": d.low, f"{gain}_high": d.high})
            rows.append(row)
    return pd.DataFrame(rows)
