"""KG-aware candidates: personalised PageRank from a user's recent items and searched entities.

``personalized_pagerank`` runs networkx's PageRank iteration (same teleport, same handling of
dangling nodes, same stopping rule) for many personalisation vectors at once: one sparse
matrix times a dense (nodes x users) block per step, instead of one networkx call per user.
``networkx_pagerank`` is the exact reference it is tested against.

``KGPPR`` is the ``kg_ppr`` recommender: it builds the KG from the training events it is fitted
on (so validation fits never see validation co-occurrences), seeds each user with the
``n_recent`` latest training items (weighted by event weight) and the entities linked in the
``n_queries`` latest training searches, and ranks items by PageRank mass divided by
``degree ** degree_power`` (0 = plain PageRank; higher values take mass from hub items, which
the walk reaches from everywhere). ``blend.KGBlend`` mixes it with a learned model. Saved as a
folder (``save``/``load``): the graph (``store``), the training interactions, the training
searches with their texts and the linker's extra aliases, so that a loaded model seeds and
walks exactly as the fitted one. Registered as ``kg_ppr`` (``models.recommenders.registry``).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.io import read_json, staging_dir, write_json, write_npz
from shopintent.kg.build import ProductKG, build_kg
from shopintent.kg.linking import (
    EntityLinker,
    mine_category_aliases,
    title_category_aliases,
    user_query_entities,
)
from shopintent.models.recommenders.base import Interactions, Recommender
from shopintent.models.recommenders.registry import register

#: multiplier of each relation's edges in the walk
#: (relations not listed: ``DEFAULT_RELATION_WEIGHT``).
#: Query intents join every category, so they would leak mass across the whole shop: off.
RELATION_WEIGHTS = {
    "co_viewed": 1.0,
    "co_bought": 2.0,
    "has_brand": 1.0,
    "has_model": 2.0,
    "in_category": 1.0,
    "parent": 0.5,
    "has_attribute": 0.5,
    "intent_category": 0.0,
}
DEFAULT_RELATION_WEIGHT = 1.0


def edge_strength(edges: pd.DataFrame, relation_weights: dict | None = None) -> np.ndarray:
    """Walk weight of each edge: relation multiplier x (1 + log count) (facts have count 1)."""
    rw = {**RELATION_WEIGHTS, **(relation_weights or {})}
    mult = edges["relation"].map(rw).fillna(DEFAULT_RELATION_WEIGHT).to_numpy(dtype=np.float64)
    return mult * (1.0 + np.log(np.maximum(edges["weight"].to_numpy(dtype=np.float64), 1.0)))


def adjacency(
    kg: ProductKG, relation_weights: dict | None = None
) -> tuple[pd.Index, sp.csr_matrix]:
    """Symmetric (nodes x nodes) CSR of summed edge strengths, rows in ``kg.nodes`` order."""
    index = pd.Index(kg.nodes["node_id"])
    s, t = index.get_indexer(kg.edges["source"]), index.get_indexer(kg.edges["target"])
    w = edge_strength(kg.edges, relation_weights)
    keep = (w > 0) & (s != t)
    n = len(index)
    a = sp.csr_matrix(
        (np.r_[w[keep], w[keep]], (np.r_[s[keep], t[keep]], np.r_[t[keep], s[keep]])), shape=(n, n)
    )
    a.sum_duplicates()
    return index, a


def personalized_pagerank(
    a: sp.spmatrix,
    seeds: np.ndarray | sp.spmatrix,
    alpha: float = 0.85,
    *,
    tol: float = 1e-6,
    max_iter: int = 100,
    dtype=np.float64,
) -> np.ndarray:
    """PageRank of the weighted graph ``a`` (n x n, edge i->j weight a[i, j]) personalised by each
    row of ``seeds`` (m x n, non-negative; rows are normalised), as networkx computes it: mass at
    a node without out-edges jumps to the personalisation, and a row stops changing when its L1
    change is below ``n * tol``. Returns (m, n); rows of all-zero seeds stay zero."""
    a = sp.csr_matrix(a, dtype=np.float64)
    n = a.shape[0]
    out_w = np.asarray(a.sum(axis=1)).ravel()
    dangling = out_w == 0
    inv = np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, out_w))
    pt = sp.csr_matrix(
        (sp.diags(inv) @ a).T, dtype=dtype
    )  # column-stochastic transpose: x_new = P^T x
    p = np.asarray(seeds.toarray() if sp.issparse(seeds) else seeds, dtype=dtype).T.copy()  # (n, m)
    total = p.sum(axis=0)
    active = total > 0
    p[:, active] /= total[active]
    x = p.copy()
    todo = np.flatnonzero(active)
    for _ in range(max_iter):
        if len(todo) == 0:
            break
        xs, ps = x[:, todo], p[:, todo]
        new = alpha * (pt @ xs + ps * xs[dangling].sum(axis=0)) + (1 - alpha) * ps
        err = np.abs(new - xs).sum(axis=0)
        x[:, todo] = new
        todo = todo[err >= n * tol]
    return x.T


def networkx_pagerank(
    kg: ProductKG,
    seeds: dict[str, float],
    alpha: float = 0.85,
    relation_weights: dict | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> dict:
    """The reference: ``networkx.pagerank`` on the KG's graph with the same edge strengths."""
    g = nx.Graph()
    g.add_nodes_from(kg.nodes["node_id"])
    index, a = adjacency(kg, relation_weights)
    coo = sp.triu(a).tocoo()
    g.add_weighted_edges_from(zip(index[coo.row], index[coo.col], coo.data, strict=True))
    return nx.pagerank(
        g, alpha=alpha, personalization=seeds, weight="weight", tol=tol, max_iter=max_iter
    )


class KGPPR(Recommender):
    """Personalised PageRank over the product KG (``kg_ppr``).

    ``kg``: a prebuilt graph (its behaviour edges must come from the same training events);
    None builds one from the training events in ``fit`` (with ``queries``/``extras`` as in
    ``build_kg``). ``queries`` also lets searches seed the walk (``n_queries`` per user).
    """

    name = "kg_ppr"

    def __init__(
        self,
        kg: ProductKG | None = None,
        *,
        queries: pd.DataFrame | None = None,
        extras: dict | None = None,
        alpha: float = 0.85,
        n_recent: int = 20,
        n_queries: int = 5,
        query_weight: float = 1.0,
        degree_power: float = 0.0,
        relation_weights: dict | None = None,
        build_options: dict | None = None,
        tol: float = 1e-5,
        batch_size: int = 1024,
    ) -> None:
        self.kg = kg
        self.queries = queries
        self.extras = extras
        self.alpha = float(alpha)
        self.n_recent = int(n_recent)
        self.n_queries = int(n_queries)
        self.query_weight = float(query_weight)
        self.degree_power = float(degree_power)
        self.relation_weights = relation_weights
        self.build_options = build_options or {}
        self.tol = float(
            tol
        )  # networkx's default is 1e-6; the top of the ranking is settled well before
        self.batch_size = int(batch_size)

    def fit(self, train: pd.DataFrame, items: pd.DataFrame, **kwargs) -> KGPPR:
        self.train_ = train
        self._last = None
        return super().fit(train, items, **kwargs)

    def _fit(self, data: Interactions, items: pd.DataFrame) -> None:
        self.kg_ = (
            self.kg
            if self.kg is not None
            else build_kg(
                items, self.train_, self.queries, extras=self.extras, **self.build_options
            )
        )
        self._index_graph(data)
        aliases = None
        if self.queries is not None and self.n_queries > 0 and self.query_weight > 0:
            aliases = pd.concat(
                [
                    title_category_aliases(self.kg_, items),
                    mine_category_aliases(self.train_, self.queries, self.kg_),
                ]
            )
        train = self.train_
        searches = train[train["query_id"].notna()] if "query_id" in train else train.iloc[:0]
        searches = searches[["user_id", "ts", "query_id"]] if len(searches) else None
        self._set_searches(aliases, searches)
        self.train_ = None  # not kept: the model holds what it needs

    def _index_graph(self, data: Interactions) -> None:
        """The walk's matrix over ``kg_``, each catalogue item's node and its degree penalty."""
        self.index_, self.adjacency_ = adjacency(self.kg_, self.relation_weights)
        self.item_pos_ = self.index_.get_indexer(self.kg_.item_nodes(data.item_ids))
        if (self.item_pos_ < 0).any():
            raise ValueError(
                "KGPPR: the KG lacks item nodes for some catalogue items "
                f"(e.g. {data.item_ids[np.flatnonzero(self.item_pos_ < 0)[0]]!r}); "
                "build it from the same items"
            )
        degree = np.asarray(self.adjacency_.sum(axis=1)).ravel()[self.item_pos_]
        self.penalty_ = np.power(np.maximum(degree, 1.0), -self.degree_power)

    def _set_searches(self, aliases: pd.DataFrame | None, searches: pd.DataFrame | None) -> None:
        """The linker (None without aliases: searches do not seed) and the training searches."""
        self.aliases_ = aliases
        self.linker_ = None if aliases is None else EntityLinker(self.kg_, aliases)
        self.searches_ = searches
        self.query_entities_ = pd.DataFrame(columns=["user_id", "node_id", "weight"])
        self.linked_users_: set = set()

    # -- persistence ------------------------------------------------------------------------
    _SETTINGS = (
        "alpha",
        "n_recent",
        "n_queries",
        "query_weight",
        "degree_power",
        "relation_weights",
        "build_options",
        "tol",
        "batch_size",
    )

    def save(self, path: str | Path) -> Path:
        """Write the folder ``path`` (replaced atomically): ``kg/`` (``store.save_kg``),
        ``interactions.npz``, ``searches.parquet`` and ``queries.parquet`` (the training searches
        and their texts, when searches seed the walk), ``aliases.parquet`` and ``model.json``."""
        from shopintent.kg.store import save_kg
        from shopintent.models.recommenders.persist import interaction_arrays

        self._check_fitted()
        path = Path(path)
        meta = {
            "name": self.name,
            "settings": {k: getattr(self, k) for k in self._SETTINGS},
            "searches": self.searches_ is not None,
            "linker": self.linker_ is not None,
        }
        with staging_dir(path) as tmp:
            save_kg(self.kg_, tmp / "kg")
            write_npz(tmp / "interactions.npz", interaction_arrays(self.data_))
            if self.searches_ is not None:
                self.searches_.to_parquet(tmp / "searches.parquet", index=False)
                if self.queries is not None:
                    asked = self.queries[self.queries["query_id"].isin(self.searches_["query_id"])]
                    asked[["query_id", "text"]].to_parquet(tmp / "queries.parquet", index=False)
            if self.aliases_ is not None:
                self.aliases_[["node_id", "alias"]].to_parquet(tmp / "aliases.parquet", index=False)
            write_json(tmp / "model.json", meta, indent=1)
        return path

    @classmethod
    def load(cls, path: str | Path) -> KGPPR:
        """The model ``save`` wrote: same seeds, same walk, same scores."""
        from shopintent.kg.store import load_kg
        from shopintent.models.recommenders.persist import interactions_from

        path = Path(path)
        meta = read_json(path / "model.json")
        queries = path / "queries.parquet"
        self = cls(
            load_kg(path / "kg"),
            **meta["settings"],
            queries=pd.read_parquet(queries) if queries.is_file() else None,
        )
        self.name = meta["name"]
        with np.load(path / "interactions.npz", allow_pickle=False) as z:
            self.data_ = interactions_from({k: z[k] for k in z.files})
        self.items_ = pd.DataFrame({"item_id": self.data_.item_ids})
        self.kg_, self.train_, self._last = self.kg, None, None
        self._index_graph(self.data_)
        read = {
            f: pd.read_parquet(path / f"{f}.parquet") if (path / f"{f}.parquet").is_file() else None
            for f in ("aliases", "searches")
        }
        self._set_searches(read["aliases"] if meta["linker"] else None, read["searches"])
        return self

    def _query_entities(self, users: pd.Index) -> pd.DataFrame:
        """Linked entities of the users' latest training searches (linked once per user, cached)."""
        new = [u for u in users if u not in self.linked_users_]
        if new and self.searches_ is not None:
            found = user_query_entities(
                self.searches_, self.queries, self.linker_, users=new, n_recent=self.n_queries
            )
            self.query_entities_ = pd.concat([self.query_entities_, found], ignore_index=True)
        self.linked_users_.update(new)
        q = self.query_entities_
        return q[q["user_id"].isin(users)]

    def seeds(self, users) -> sp.csr_matrix:
        """(len(users), n_nodes) personalisation: the latest items (event weights) of each user,
        plus their searched entities scaled so queries weigh ``query_weight`` x the items' total."""
        users = pd.Index(users)
        rows = self.data_.user_index(users)
        m, n = self.data_.matrix, len(self.index_)
        known = np.flatnonzero(rows >= 0)
        sub, last = m[rows[known]], self.data_.last_ts[rows[known]]
        r_list, c_list, v_list = [], [], []
        for j, u in enumerate(known):
            lo, hi = sub.indptr[j], sub.indptr[j + 1]
            cols, vals, ts = (
                sub.indices[lo:hi],
                sub.data[lo:hi],
                last.data[last.indptr[j] : last.indptr[j + 1]],
            )
            keep = (
                np.argsort(-ts, kind="stable")[: self.n_recent]
                if len(ts) == len(cols)
                else slice(None)
            )
            r_list.append(np.full(len(cols[keep]), u))
            c_list.append(self.item_pos_[cols[keep]])
            v_list.append(vals[keep] / vals[keep].sum())
        item_seeds = sp.csr_matrix(
            (
                np.concatenate(v_list) if v_list else [],
                (
                    np.concatenate(r_list) if r_list else [],
                    np.concatenate(c_list) if c_list else [],
                ),
            ),
            shape=(len(users), n),
        )
        if self.linker_ is None or self.searches_ is None:
            return item_seeds
        q = self._query_entities(users)
        if q.empty:
            return item_seeds
        qr, qc = users.get_indexer(q["user_id"]), self.index_.get_indexer(q["node_id"])
        qs = sp.csr_matrix(
            (q["weight"].to_numpy(dtype=np.float64), (qr, qc)), shape=(len(users), n)
        )
        qsum = np.asarray(qs.sum(axis=1)).ravel()
        qs = sp.diags(np.where(qsum > 0, self.query_weight / np.where(qsum > 0, qsum, 1), 0.0)) @ qs
        return sp.csr_matrix(item_seeds + qs)

    def score(self, users) -> np.ndarray:
        """PageRank item scores for every user with a seed (known items or linked searches);
        users with neither get training popularity, like the base class's cold users. The last
        call's result is kept, so a blend and the model itself score the same users once."""
        self._check_fitted()
        users = list(users)
        cached = getattr(self, "_last", None)
        if cached is not None and cached[0] == users:
            return cached[1].copy()
        out = np.empty((len(users), self.data_.n_items))
        pop = self._cold_scores()
        if self.linker_ is not None and self.searches_ is not None:
            self._query_entities(pd.Index(users))  # every user's searches in one linking call
        for lo in range(0, len(users), self.batch_size):
            batch = users[lo : lo + self.batch_size]
            seeds = self.seeds(batch)
            ranks = personalized_pagerank(
                self.adjacency_, seeds, self.alpha, tol=self.tol, dtype=np.float32
            )[:, self.item_pos_]
            scores = ranks * self.penalty_
            empty = np.asarray(seeds.sum(axis=1)).ravel() == 0
            scores[empty] = (
                pop / max(pop.max(), 1.0) * 1e-9
            )  # order by popularity, below any walk score
            out[lo : lo + len(batch)] = scores
        self._last = (users, out)
        return out.copy()

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.score(self.data_.user_ids[rows])


register("kg_ppr", KGPPR, saves_to="folder")
