"""Evaluation protocols for product search, each giving per-query metrics to bootstrap.

``judged_task`` (human relevance judgements, the extra table ``relevance``, e.g. Kaggle Home
Depot search relevance; no time in such a source, so queries are split at random, by query):

1. Query texts are folded (lower case, whitespace collapsed) so that "Angle Bracket" and
   "angle bracket" are one query; judgements of folded duplicates are averaged.
2. A product is *relevant* to a query when its mean rating is >= 2.67 (ratings 1 irrelevant,
   2 somewhat, 3 highly relevant; e.g. three raters giving 3, 3, 2).
3. Folded queries are shuffled with ``seed``; the first ``n_test`` of those with at least one
   relevant product are the test queries, the next ``n_validation`` such are validation, and
   every other query (with or without relevant products) is training (fine-tuning pairs only).
   Both sizes are upper bounds: a dataset with fewer such queries holds out at most half of
   them, in the same ratio (``held_out_sizes``); the protocol line states the sizes used.
4. The catalogue is every product (``n_items=None``), or a seeded subset of at most
   ``n_items`` products (at least every judged one): every product judged for a validation or
   test query, plus products drawn at random from the rest. Its size is ``task.meta["n_items"]``:
   state it next to every number, since recall falls as the catalogue grows. Columns are in a
   seeded random order, so ties (e.g. TF-IDF zeros) are not broken in favour of judged products.
5. Retrieval: each test query ranks the whole catalogue; Recall@10 and NDCG@10 with binary gain.
6. Re-ranking: each test query's judged products (at least 2 of them) are ordered by the model's
   score; NDCG@10 with graded gain ``relevance - 1`` (0 to 2). ``random_rerank_ndcg`` gives the
   expected NDCG of a random order: about 0.92 on the default subset, so this metric is
   nearly saturated (most judged products are relevant) and separates models little.

``synthetic_task`` (the synthetic shop; split by time):

1. Each session with a purchase and a search before it gives one pair: the text of its last
   search before its first purchase, and that purchased item (the session's target). The
   purchased item is the only relevant item (a complement bought later is not a search result).
2. Sessions are ordered by their first event; with ``test_frac`` and ``validation_frac`` of the
   pairs, sessions starting at or after the test cut-off are test, those in the window before
   it are validation, the earlier ones training. Cut-offs are in ``task.meta``.
3. Retrieval over the full catalogue (item text = title + brand, see ``search.item_texts``);
   Recall@10 and NDCG@10 (binary gain; with one relevant item, NDCG = 1 / log2(1 + rank)).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.config import DEFAULT_SEED, rng
from shopintent.evaluation import Interval, bootstrap_mean_ci, ranking_per_user, topk_from_scores
from shopintent.evaluation.bootstrap import paired_bootstrap_diff
from shopintent.models.search.retrievers import HybridRetriever, Retriever, item_texts

RELEVANT_AT = 2.67


@dataclass
class QuerySet:
    """Queries with their relevance over the task's catalogue (row ``i`` = ``query_ids[i]``)."""

    query_ids: np.ndarray
    texts: list[str]
    truth: sp.csr_matrix  # (n_queries, n_items), 1 = relevant
    judged: sp.csr_matrix | None = None  # (n_queries, n_items) raw relevance 1-3 of judged products

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class SearchTask:
    """One protocol's catalogue, splits and training pairs; ``meta`` holds sizes and cut-offs."""

    protocol: str
    item_ids: np.ndarray
    item_texts: list[str]
    validation: QuerySet
    test: QuerySet
    train_pairs: (
        pd.DataFrame
    )  # query_id, query, item_id, item_text: relevant pairs of training queries
    meta: dict = field(default_factory=dict)

    def pairs(self, split: str) -> pd.DataFrame:
        """Relevant ``query_id, query, item_id, item_text`` pairs of one split.

        ``split`` is ``train``, ``validation`` or ``test``.
        """
        if split == "train":
            return self.train_pairs
        qs = {"validation": self.validation, "test": self.test}[split]
        t = qs.truth.tocoo()
        return pd.DataFrame(
            {
                "query_id": qs.query_ids[t.row],
                "query": np.asarray(qs.texts, dtype=object)[t.row],
                "item_id": self.item_ids[t.col],
                "item_text": np.asarray(self.item_texts, dtype=object)[t.col],
            }
        )


def fold_query(text: str) -> str:
    """Lower case, whitespace collapsed: the form by which queries are deduplicated and split."""
    return " ".join(str(text).lower().split())


def _query_set(
    rel: pd.DataFrame, keys: np.ndarray, texts: pd.Series, col: pd.Index, relevant_at: float
) -> QuerySet:
    rows = pd.Index(keys)
    r = rel[rel["key"].isin(rows)]
    i, j = rows.get_indexer(r["key"]), col.get_indexer(r["item_id"])
    judged = sp.csr_matrix((r["relevance"].to_numpy(), (i, j)), shape=(len(rows), len(col)))
    truth = judged.copy()  # a copy: eliminate_zeros must not touch the judged matrix's index arrays
    truth.data = (truth.data >= relevant_at).astype(np.float64)
    truth.eliminate_zeros()
    return QuerySet(np.asarray(keys, dtype=object), texts.loc[keys].tolist(), truth, judged)


def held_out_sizes(n_eligible: int, n_test: int, n_validation: int) -> tuple[int, int]:
    """Test and validation queries taken of ``n_eligible`` (queries with a relevant product).

    ``n_test`` and ``n_validation`` are upper bounds: all of them when there are enough eligible
    queries; else at most half of the eligible queries are held out (the rest train the
    fine-tuned models), shared in the ratio asked for, each at least 1. Fewer than 4 eligible
    queries cannot be split: ValueError.
    """
    if n_test < 1 or n_validation < 1:
        raise ValueError(f"n_test={n_test} and n_validation={n_validation} must be at least 1")
    if n_eligible >= n_test + n_validation:
        return n_test, n_validation
    if n_eligible < 4:
        raise ValueError(
            f"only {n_eligible} queries have a relevant product: too few to hold out test and "
            "validation queries"
        )
    held = n_eligible // 2
    test = min(held - 1, max(1, round(held * n_test / (n_test + n_validation))))
    return test, held - test


def judged_task(
    shop,
    n_test: int = 500,
    n_validation: int = 250,
    n_items: int | None = 10_000,
    seed: int = DEFAULT_SEED,
    relevant_at: float = RELEVANT_AT,
) -> SearchTask:
    """The protocol of judged relevance (module docstring) on any dataset with the extra table
    ``relevance`` (``query_id item_id relevance``): query split, catalogue, relevance.

    ``n_test``, ``n_validation`` and ``n_items`` are upper bounds (``held_out_sizes``; the
    catalogue holds every product judged for a test or validation query, plus distractors up to
    ``n_items``); the sizes used are in ``meta`` and the protocol line. ``query_id`` in the
    splits is the folded query text; ``train_pairs`` lists every training query's relevant
    products with their titles (drawn from all products, not only the subset).
    """
    name = getattr(shop, "meta", {}).get("dataset", "judged")
    queries = shop.queries[["query_id", "text"]].assign(key=lambda d: d["text"].map(fold_query))
    rel = shop.extras["relevance"].merge(queries[["query_id", "key"]], on="query_id")
    rel = rel.groupby(["key", "item_id"], as_index=False, sort=False)["relevance"].mean()
    first_text = queries.drop_duplicates("key").set_index("key")["text"]
    keys = first_text.index.to_numpy()[
        rng(seed, "homedepot-query-split").permutation(len(first_text))
    ]
    has_relevant = set(rel.loc[rel["relevance"] >= relevant_at, "key"])
    eligible = np.array([k for k in keys if k in has_relevant], dtype=object)
    try:
        n_test_used, n_val_used = held_out_sizes(len(eligible), n_test, n_validation)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None
    test_keys = eligible[:n_test_used]
    val_keys = eligible[n_test_used : n_test_used + n_val_used]
    held = set(test_keys) | set(val_keys)
    train_keys = np.array([k for k in keys if k not in held], dtype=object)

    titles = shop.items.set_index("item_id")["title"].fillna("").astype(str)
    judged_items = pd.Index(pd.unique(rel.loc[rel["key"].isin(held), "item_id"]))
    judged_items = judged_items[judged_items.isin(titles.index)]
    r = rng(seed, "homedepot-catalogue")
    if n_items is None or max(n_items, len(judged_items)) >= len(titles):
        chosen = titles.index.to_numpy()
    else:  # every judged product, and distractors drawn from the rest up to n_items
        others = titles.index.difference(judged_items).to_numpy()
        n_extra = max(0, n_items - len(judged_items))
        extra = others[np.sort(r.choice(len(others), n_extra, replace=False))]
        chosen = np.concatenate([judged_items.to_numpy(dtype=object), extra])
    item_ids = np.asarray(chosen, dtype=object)[r.permutation(len(chosen))]
    col = pd.Index(item_ids)

    pos = rel[rel["key"].isin(set(train_keys)) & (rel["relevance"] >= relevant_at)]
    pos = pos[pos["item_id"].isin(titles.index)]
    train_pairs = pd.DataFrame(
        {
            "query_id": pos["key"].to_numpy(),
            "query": first_text.loc[pos["key"]].to_numpy(),
            "item_id": pos["item_id"].to_numpy(),
            "item_text": titles.loc[pos["item_id"]].to_numpy(),
        }
    )
    size = "all" if len(item_ids) == len(titles) else "subset"
    meta = {
        "dataset": name,
        "n_items": len(item_ids),
        "n_items_total": len(titles),
        "n_items_judged": len(judged_items),
        "catalogue": size,
        "n_test": int(n_test_used),
        "n_validation": int(n_val_used),
        "n_test_asked": n_test,
        "n_validation_asked": n_validation,
        "n_eligible_queries": len(eligible),
        "n_train_queries": len(train_keys),
        "n_train_pairs": len(train_pairs),
        "relevant_at": relevant_at,
        "seed": seed,
    }
    fewer = (
        f" (of {n_test} / {n_validation} asked: {len(eligible)} queries have a relevant product)"
        if (n_test_used, n_val_used) != (n_test, n_validation)
        else ""
    )
    protocol = (
        f"{name}: judged relevance, random query split (seed {seed}), {n_test_used} test / "
        f"{n_val_used} validation queries{fewer}, catalogue {len(item_ids):,} of "
        f"{len(titles):,} products ({len(judged_items):,} judged for them), "
        f"relevant = relevance >= {relevant_at}"
    )
    return SearchTask(
        protocol,
        item_ids,
        titles.loc[item_ids].tolist(),
        _query_set(rel, val_keys, first_text, col, relevant_at),
        _query_set(rel, test_keys, first_text, col, relevant_at),
        train_pairs,
        meta,
    )


def purchase_search_pairs(shop) -> pd.DataFrame:
    """One row per session with a search before its first purchase: ``session_id, start, ts,
    query_id, query, item_id`` (``ts`` = that last search's time, ``start`` = the session's first
    event, ``item_id`` = the first purchased item)."""
    ev = shop.events.reset_index(drop=True)
    ev = ev.assign(order=np.arange(len(ev))).sort_values(["ts", "order"], kind="stable")
    start = ev.groupby("session_id")["ts"].min().rename("start")
    buys = ev[ev["event_type"] == "purchase"].drop_duplicates("session_id")[
        ["session_id", "ts", "order", "item_id"]
    ]
    searches = ev[(ev["event_type"] == "search") & ev["query_id"].notna()][
        ["session_id", "ts", "order", "query_id"]
    ]
    s = searches.merge(buys, on="session_id", suffixes=("", "_buy"))
    before = (s["ts"] < s["ts_buy"]) | ((s["ts"] == s["ts_buy"]) & (s["order"] < s["order_buy"]))
    last = s[before].drop_duplicates("session_id", keep="last")
    text = shop.queries.set_index("query_id")["text"]
    out = pd.DataFrame(
        {
            "session_id": last["session_id"].to_numpy(),
            "start": start.loc[last["session_id"]].to_numpy(),
            "ts": last["ts"].to_numpy(),
            "query_id": last["query_id"].to_numpy(),
            "query": text.loc[last["query_id"]].to_numpy(),
            "item_id": last["item_id"].to_numpy(),
        }
    )
    return out.sort_values(["start", "session_id"], kind="stable").reset_index(drop=True)


def _single_truth(pairs: pd.DataFrame, col: pd.Index) -> sp.csr_matrix:
    n = len(pairs)
    return sp.csr_matrix(
        (np.ones(n), (np.arange(n), col.get_indexer(pairs["item_id"]))), shape=(n, len(col))
    )


def synthetic_task(shop, test_frac: float = 0.2, validation_frac: float = 0.1) -> SearchTask:
    """The synthetic-shop protocol (module docstring): (last query before the purchase, purchased
    item) per session, split by session start time, full catalogue."""
    if not (0 < test_frac < 1 and 0 < validation_frac < 1 and test_frac + validation_frac < 1):
        raise ValueError("test_frac and validation_frac must be in (0, 1) with a sum below 1")
    pairs = purchase_search_pairs(shop)
    if len(pairs) < 10:
        raise ValueError(f"synthetic: only {len(pairs)} sessions have a search before a purchase")
    start = pairs["start"]
    test_from = start.iloc[int(np.floor(len(pairs) * (1 - test_frac)))]
    val_from = start.iloc[int(np.floor(len(pairs) * (1 - test_frac - validation_frac)))]
    test, val, train = (
        pairs[start >= test_from],
        pairs[(start >= val_from) & (start < test_from)],
        pairs[start < val_from],
    )
    item_ids = shop.items["item_id"].to_numpy(dtype=object)
    texts = item_texts(shop.items).tolist()
    col, by_id = pd.Index(item_ids), pd.Series(texts, index=item_ids)

    def qs(p: pd.DataFrame) -> QuerySet:
        return QuerySet(
            p["session_id"].to_numpy(dtype=object), p["query"].tolist(), _single_truth(p, col)
        )

    train_pairs = pd.DataFrame(
        {
            "query_id": train["query_id"].to_numpy(),
            "query": train["query"].to_numpy(),
            "item_id": train["item_id"].to_numpy(),
            "item_text": by_id.loc[train["item_id"]].to_numpy(),
        }
    )
    meta = {
        "dataset": "synthetic",
        "n_items": len(item_ids),
        "n_items_total": len(item_ids),
        "catalogue": "all",
        "n_test": len(test),
        "n_validation": len(val),
        "n_train_pairs": len(train),
        "validation_from": str(val_from),
        "test_from": str(test_from),
    }
    protocol = (
        "synthetic: last search before the purchase -> purchased item; "
        f"sessions from {test_from:%Y-%m-%d %H:%M} "
        f"are test ({len(test)}), from {val_from:%Y-%m-%d %H:%M} validation ({len(val)}); "
        f"full catalogue of {len(item_ids):,} items"
    )
    return SearchTask(protocol, item_ids, texts, qs(val), qs(test), train_pairs, meta)


def _gains(judged: sp.csr_matrix, i: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = judged.indptr[i], judged.indptr[i + 1]
    return judged.indices[lo:hi], judged.data[lo:hi] - 1.0


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def rerank_ndcg(scores: np.ndarray, judged: sp.csr_matrix, k: int = 10) -> np.ndarray:
    """Per query: NDCG@k of its judged products ordered by ``scores`` (row = query, column =
    item), gain = relevance - 1; ties keep catalogue order. NaN for a query with fewer than 2
    judged products or no positive gain."""
    out = np.full(judged.shape[0], np.nan)
    for i in range(judged.shape[0]):
        cols, gain = _gains(judged, i)
        ideal = np.sort(gain)[::-1][:k]
        if len(cols) < 2 or ideal.sum() <= 0:
            continue
        order = np.argsort(-np.asarray(scores[i, cols], dtype=np.float64), kind="stable")[:k]
        out[i] = (gain[order] * _discounts(len(order))).sum() / (
            ideal * _discounts(len(ideal))
        ).sum()
    return out


def random_rerank_ndcg(judged: sp.csr_matrix, k: int = 10) -> np.ndarray:
    """Per query: the expected NDCG@k of a uniformly random order of its judged products, exactly
    (each of the first min(k, n) positions holds the mean gain in expectation). NaN as in
    ``rerank_ndcg``."""
    out = np.full(judged.shape[0], np.nan)
    for i in range(judged.shape[0]):
        _, gain = _gains(judged, i)
        ideal = np.sort(gain)[::-1][:k]
        if len(gain) >= 2 and ideal.sum() > 0:
            out[i] = (
                gain.mean() * _discounts(len(ideal)).sum() / (ideal * _discounts(len(ideal))).sum()
            )
    return out


def evaluate_search(
    retriever: Retriever, queries: QuerySet, k: int = 10, chunk: int = 512
) -> pd.DataFrame:
    """Per query (rows of ``queries``): ``recall@k``, ``ndcg@k`` (binary gain) over the fitted
    catalogue and, where judgements exist, ``rerank_ndcg@k``; plus ``query_id``. Scores are
    computed ``chunk`` queries at a time."""
    recs, rerank = [], []
    for lo in range(0, len(queries), chunk):
        s = retriever.scores(queries.texts[lo : lo + chunk])
        recs.append(topk_from_scores(s, k))
        if queries.judged is not None:
            rerank.append(rerank_ndcg(s, queries.judged[lo : lo + len(s)], k))
    per = ranking_per_user(np.vstack(recs), queries.truth, ks=(k,), relevance="binary")
    out = pd.DataFrame(
        {
            "query_id": queries.query_ids,
            f"recall@{k}": per[f"recall@{k}"].to_numpy(),
            f"ndcg@{k}": per[f"ndcg@{k}"].to_numpy(),
        }
    )
    if rerank:
        out[f"rerank_ndcg@{k}"] = np.concatenate(rerank)
    return out


def best_on_validation(
    task: SearchTask, models: Mapping[str, Retriever], metric: str = "recall", k: int = 10
) -> tuple[str, pd.DataFrame]:
    """The model with the best mean ``metric@k`` on the *validation* queries (e.g. which TF-IDF
    goes into a hybrid), and every model's validation ``recall@k`` and ``ndcg@k``."""
    rows = []
    for name, model in models.items():
        if not model.is_fitted_on(task.item_ids):
            model.fit(task.item_ids, task.item_texts)
        per = evaluate_search(model, task.validation, k)
        rows.append(
            {
                "model": name,
                f"recall@{k}": per[f"recall@{k}"].mean(),
                f"ndcg@{k}": per[f"ndcg@{k}"].mean(),
            }
        )
    table = pd.DataFrame(rows)
    return str(table["model"].iat[int(np.argmax(table[f"{metric}@{k}"].to_numpy()))]), table


@dataclass
class SearchComparison:
    """Per-query metrics of each model on the test queries, hybrid weights chosen on
    validation, and times in seconds (``fit`` = indexing the catalogue, ``test`` = scoring the
    test queries)."""

    protocol: str
    per_query: dict[str, pd.DataFrame]
    weights: dict[str, float]
    weight_tables: dict[str, pd.DataFrame]
    seconds: pd.DataFrame
    meta: dict

    def summary(self, n_boot: int = 1000, seed: int = DEFAULT_SEED) -> pd.DataFrame:
        return summarise(self.per_query, n_boot=n_boot, seed=seed)


def compare_search_models(
    task: SearchTask, models: Mapping[str, Retriever], k: int = 10, weight_metric: str = "recall"
) -> SearchComparison:
    """Fit every model on the task's catalogue, choose each hybrid's weight on the *validation*
    queries only (``HybridRetriever.choose_weight``), then evaluate all on the test queries.

    A hybrid's components may be other entries of ``models``: they are fitted once. The test
    queries are never seen before the weights are fixed.
    """
    per_query, weights, tables, times = {}, {}, {}, []
    for name, model in models.items():
        start = time.perf_counter()
        if not model.is_fitted_on(task.item_ids):
            model.fit(task.item_ids, task.item_texts)
        fit_s = time.perf_counter() - start
        if isinstance(model, HybridRetriever):
            weights[name] = model.choose_weight(
                task.validation.texts, task.validation.truth, metric=weight_metric, k=k
            )
            tables[name] = model.weight_table
        start = time.perf_counter()
        per_query[name] = evaluate_search(model, task.test, k)
        times.append({"model": name, "fit_s": fit_s, "test_s": time.perf_counter() - start})
    if task.test.judged is not None:
        per_query["random_order"] = pd.DataFrame(
            {
                "query_id": task.test.query_ids,
                f"rerank_ndcg@{k}": random_rerank_ndcg(task.test.judged, k),
            }
        )
    return SearchComparison(
        task.protocol, per_query, weights, tables, pd.DataFrame(times), dict(task.meta)
    )


def summarise(
    per_query: Mapping[str, pd.DataFrame], n_boot: int = 1000, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """One row per (model, metric): mean over queries with its 95% bootstrap interval and the
    number of queries it is defined for."""
    rows = []
    for name, df in per_query.items():
        for metric in (c for c in df.columns if c != "query_id"):
            iv = bootstrap_mean_ci(df[metric].to_numpy(dtype=np.float64), n_boot=n_boot, seed=seed)
            rows.append(
                {
                    "model": name,
                    "metric": metric,
                    "mean": iv.point,
                    "low": iv.low,
                    "high": iv.high,
                    "n_queries": int(df[metric].notna().sum()),
                }
            )
    return pd.DataFrame(rows)


def paired_difference(
    a: pd.DataFrame, b: pd.DataFrame, metric: str, n_boot: int = 1000, seed: int = DEFAULT_SEED
) -> Interval:
    """Mean per-query difference ``a - b`` of ``metric`` on the same queries, with its 95%
    bootstrap interval (queries resampled together, so the interval is tighter than comparing
    two separate intervals)."""
    if not np.array_equal(a["query_id"].to_numpy(), b["query_id"].to_numpy()):
        raise ValueError(
            "paired_difference: the two tables must hold the same queries in the same order"
        )
    return paired_bootstrap_diff(
        a[metric].to_numpy(dtype=np.float64),
        b[metric].to_numpy(dtype=np.float64),
        n_boot=n_boot,
        seed=seed,
    )
