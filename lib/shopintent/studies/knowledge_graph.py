"""Notebook 09's comparisons as library calls: the KG-aware recommenders against the same learned
model without the KG (one protocol, ``recommenders.evaluate``), the share of recommendations a
KG path explains, and the MovieLens Freebase ablation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.data import registry
from shopintent.data.capabilities import Capabilities
from shopintent.data.store import ShopData
from shopintent.evaluation.bootstrap import Interval, paired_bootstrap_diff
from shopintent.evaluation.ranking import ranking_per_user
from shopintent.kg import explain
from shopintent.kg.blend import KGBlend, choose_weight
from shopintent.kg.build import ProductKG, build_kg
from shopintent.kg.ppr import KGPPR
from shopintent.models.recommenders.base import Recommendations, Recommender
from shopintent.models.recommenders.evaluate import RecTask, evaluate_recs, results_table
from shopintent.studies.settings import StudySettings

K = 20


@dataclass(frozen=True)
class Settings(StudySettings):
    """Notebook 09 by profile: Home Depot queries linked (section 2b), test queries whose truth
    spans are linked, and whether ``TAGGER_DIR="auto"`` loads notebook 03's neural tagger (not in
    smoke, whose runs stay free of TensorFlow's start-up)."""

    homedepot_queries: int
    test_queries: int
    load_tagger: bool

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {"homedepot_queries": 300, "test_queries": 1000, "load_tagger": False},
        "default": {"homedepot_queries": 2000, "test_queries": 5000, "load_tagger": True},
        "full": {"homedepot_queries": 2000, "test_queries": 5000, "load_tagger": True},
    }


#: What section 2b's second dataset must have: real queries, titles to guess brands from, and
#: relevance judgements for the silver check.
JUDGED_QUERIES = ("queries", "titles", "judgements")


def judged_queries_dataset(name: str | None, source) -> tuple[ShopData | None, str]:
    """Section 2b's dataset of real judged queries, and a note: ``name`` as prepared, else
    prepared now from the Home Depot files at ``source`` (under ``name``); ``(None, reason)``
    when neither is there or when the dataset lacks queries, titles or judgements."""
    if not name:
        return None, "no dataset of judged queries given"
    note = f"{name} (prepared)"
    if not registry.is_prepared(name):
        src = Path(source) if source else None
        if src is None or not src.exists():
            return None, f"{name} is not prepared and its source ({source}) was not found"
        if name in registry.dataset_names():
            registry.prepare(name, source=src)
        else:
            registry.prepare("homedepot", source=src, save_as=name)
        note = f"{name} (prepared now from {src})"
    data = registry.load(name)
    why = Capabilities.of(data).missing(*JUDGED_QUERIES)
    return (None, f"{name}: {why}") if why else (data, note)


def saved_tagger(tagger_dir, dataset: str, profile: str, load_auto: bool = True):
    """Notebook 03's neural entity tagger, or (None, why not). ``tagger_dir`` "auto" looks in
    ``models/<dataset>-<profile>/query_understanding/network`` when ``load_auto``
    (``Settings.load_tagger``); a path loads from there; None skips. The folder is this dataset's
    and profile's, so the tagger was trained on these queries' training part."""
    if tagger_dir is None:
        return None, "no neural tagger asked for (TAGGER_DIR = None)"
    if tagger_dir == "auto":
        if not load_auto:
            return None, f"{profile} profile: the neural tagger is not loaded (TensorFlow start-up)"
        from shopintent.models.understanding.intent import query_models_dir

        tagger_dir = query_models_dir(dataset, profile) / "network"
    folder = Path(tagger_dir)
    if not folder.is_dir():
        return None, f"no saved neural tagger at {folder} (notebook 03 saves one)"
    from shopintent.models.text.finetune import FineTunedNetwork
    from shopintent.models.understanding.intent import finetuned_views

    tagger = finetuned_views(FineTunedNetwork.load(folder)).get("tagger")
    if tagger is None:
        return None, f"{folder} has no tagging head"
    return tagger, f"neural tagger from {folder}"


def graph_metrics(kg: ProductKG, prefix: str = "kg") -> dict[str, float]:
    """``kg/nodes``, ``kg/edges``, ``kg/nodes/<type>``, ``kg/edges/<relation>`` (Freebase relations
    summed as ``fb``), components and mean item degree."""
    from shopintent.kg.stats import components, degrees, node_counts

    out: dict[str, float] = {f"{prefix}/nodes": kg.n_nodes, f"{prefix}/edges": kg.n_edges}
    out.update({f"{prefix}/nodes/{t}": int(n) for t, n in node_counts(kg).items()})
    rel = kg.edges["relation"].where(~kg.edges["relation"].str.startswith("fb:"), "fb")
    out.update({f"{prefix}/edges/{r}": int(n) for r, n in rel.value_counts().items()})
    comp = components(kg)
    out[f"{prefix}/components"] = comp["components"]
    out[f"{prefix}/largest_component_share"] = comp["largest_share"]
    out[f"{prefix}/items_in_largest_component"] = comp["items_in_largest"]
    d = degrees(kg)
    out[f"{prefix}/item_mean_degree"] = float(d.loc[d["type"] == "item", "degree"].mean())
    return out


def linking_metrics(table: pd.DataFrame, prefix: str = "kg/entity_linking") -> dict[str, float]:
    """The recorded keys of ``linking_eval.accuracy_table``: overall, on typos, spans, per label."""
    out = {
        f"{prefix}/accuracy": table.loc["all", "accuracy"],
        f"{prefix}/accuracy_typo": table.loc["all", "accuracy_typo"],
        f"{prefix}/spans": int(table.loc["all", "spans"]),
    }
    out.update(
        {
            f"{prefix}/{label}/accuracy": table.loc[label, "accuracy"]
            for label in table.index
            if label != "all"
        }
    )
    return out


def evaluate_models(
    models: dict[str, Recommender], task: RecTask, *, n_boot: int = 1000, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, dict], dict[str, Recommendations]]:
    """Top-``K`` lists of fitted models for the task's users, scored by ``evaluate_recs``:
    (table best first, rows by name, recommendations by name)."""
    rows, recs = {}, {}
    for name, model in models.items():
        recs[name] = model.recommend(task.users, K)
        rows[name] = evaluate_recs(name, recs[name].index, task, n_boot=n_boot, seed=seed)
    return results_table(list(rows.values())), rows, recs


def paired_difference(
    a: Recommendations,
    b: Recommendations,
    task: RecTask,
    metric: str = "ndcg@10",
    n_boot: int = 1000,
    seed: int = 0,
) -> Interval:
    """Mean per-user ``metric`` of ``a`` minus ``b`` on the same users, with a bootstrap interval
    over users (paired: the spread between users cancels)."""
    pa = ranking_per_user(a.index, task.truth, (10, 20))[metric].to_numpy()
    pb = ranking_per_user(b.index, task.truth, (10, 20))[metric].to_numpy()
    return paired_bootstrap_diff(pa, pb, n_boot=n_boot, seed=seed)


def history_sources(
    task: RecTask, kg: ProductKG, query_entities: pd.DataFrame | None = None
) -> list[list[str]]:
    """Per test user, the explanation sources: their training items' nodes and the entities
    their latest training searches named (``KGPPR.query_entities_``)."""
    item_nodes = np.asarray(kg.item_nodes(task.train.item_ids), dtype=object)
    seen = task.seen.tocsr()
    sources = [
        list(item_nodes[seen.indices[seen.indptr[r] : seen.indptr[r + 1]]])
        for r in range(seen.shape[0])
    ]
    if query_entities is not None and len(query_entities):
        by_user = query_entities.groupby("user_id")["node_id"].agg(list)
        for r, u in enumerate(task.users):
            sources[r].extend(by_user.get(u, []))
    return sources


def explained_shares(
    kg: ProductKG,
    sources: list[list[str]],
    recs: dict[str, Recommendations],
    k: int = 10,
    max_len: int = explain.MAX_LEN,
) -> pd.DataFrame:
    """Per model, the share of its top-``k`` slots (padding aside) with a KG path of at most
    1 .. ``max_len`` edges from the user's sources (columns ``paths<=h``), and with a path of
    catalogue facts alone, no co-view or co-purchase edge (``facts_only<=max_len``).
    Reachability is computed once for all models."""
    reach = explain.reachable(kg, sources, max_len)
    facts = explain.reachable(
        kg, sources, max_len, adjacency=explain.explain_adjacency(kg, behaviour=False)
    )
    rows = {}
    for name, r in recs.items():
        ids = r.item_ids[:, :k]
        valid = ~pd.isna(ids)
        targets = np.where(
            valid,
            np.asarray(["item:" + str(i) for i in ids.ravel()], dtype=object).reshape(ids.shape),
            None,
        )
        row = {
            f"paths<={h}": explain.explained(kg, sources, targets, h, reach=reach)[valid].mean()
            for h in range(1, max_len + 1)
        }
        row[f"facts_only<={max_len}"] = explain.explained(
            kg, sources, targets, max_len, reach=facts
        )[valid].mean()
        rows[name] = {c: float(v) if valid.any() else float("nan") for c, v in row.items()}
    return pd.DataFrame(rows).T


def example_rows(
    sources: list[list[str]], n: int = 3, seed: int = 0, min_sources: int = 3
) -> list[int]:
    """``n`` users (row positions) drawn at random among those with at least ``min_sources``
    sources (fewer if not enough have them): a user without history has nothing to explain from."""
    eligible = np.flatnonzero([len(s) >= min_sources for s in sources])
    if len(eligible) == 0:
        eligible = np.flatnonzero([len(s) > 0 for s in sources])
    pick = np.random.default_rng(seed).choice(eligible, size=min(n, len(eligible)), replace=False)
    return sorted(int(r) for r in pick)


#: the columns of ``explanation_examples``
EXAMPLE_COLUMNS = ("user_id", "rank", "item_id", "edges", "explanation", "path")


def explanation_examples(
    graph, sources: list[list[str]], recs: Recommendations, users, rows: list[int], k: int = 3
) -> pd.DataFrame:
    """The rendered path of the top-``k`` items of the users at ``rows`` (empty text: no path);
    no rows (no user with a history to explain from): an empty table with the same columns."""
    out = []
    for r in rows:
        for rank, item in enumerate(recs.item_ids[r, :k], start=1):
            if item is None:
                continue
            e = explain.explain_path(graph, sources[r], f"item:{item}")
            out.append(
                {
                    "user_id": users[r],
                    "rank": rank,
                    "item_id": item,
                    "edges": len(e["path"]) - 1 if e["path"] else None,
                    "explanation": e["text"] or "(no path of length <= 3)",
                    "path": e["path"],
                }
            )
    return pd.DataFrame(out, columns=EXAMPLE_COLUMNS)


def kg_blend_run(
    base_factory: Callable[[], Recommender],
    kg_factory: Callable[[], KGPPR],
    kg: ProductKG,
    train: pd.DataFrame,
    items: pd.DataFrame,
    validation: tuple[pd.DataFrame, RecTask],
    *,
    base_model: Recommender | None = None,
    scope: str = "tail",
    transform: str = "log",
    n_boot_val: int = 200,
    seed: int = 0,
):
    """Choose the blend weight on ``validation`` (fresh models fitted on its earlier part), then
    fit on all of ``train``: returns (choice, fitted KGPPR on ``kg``, fitted KGBlend). ``kg`` must
    be built from ``train``; ``base_model`` reuses a base already fitted on ``train``."""
    fit_events, val_task = validation
    choice = choose_weight(
        base_factory(),
        kg_factory(),
        fit_events,
        items,
        val_task,
        scope=scope,
        transform=transform,
        n_boot=n_boot_val,
        seed=seed,
    )
    kg_model = kg_factory()
    kg_model.kg = kg
    kg_model.fit(train, items)
    base = base_model if base_model is not None else base_factory().fit(train, items)
    blended = KGBlend(base, kg_model, choice.weight, choice.scope, choice.transform).fit(
        train, items, fitted=True
    )
    return choice, kg_model, blended


def freebase_ablation(
    base_factory: Callable[[], Recommender],
    kg_factory: Callable[[], KGPPR],
    shop_extras: dict,
    train: pd.DataFrame,
    items: pd.DataFrame,
    task: RecTask,
    validation: tuple[pd.DataFrame, RecTask],
    *,
    base_model: Recommender,
    build_options: dict | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The KG with and without the shipped Freebase triples, each as ``kg_ppr`` and as the blend
    (its weight chosen on validation for that KG): rows named ``..._freebase`` /
    ``..._no_freebase``."""
    models: dict[str, Recommender] = {}
    weights = {}
    for tag, fb in (("freebase", True), ("no_freebase", False)):
        opts = {**(build_options or {}), "freebase": fb}

        def factory(opts=opts):
            m = kg_factory()
            m.extras, m.build_options = shop_extras, opts
            return m

        kg = build_kg(items, train, extras=shop_extras, **opts)
        choice, kg_model, blended = kg_blend_run(
            base_factory, factory, kg, train, items, validation, base_model=base_model, seed=seed
        )
        kg_model.name, blended.name = f"kg_ppr_{tag}", f"{base_model.name}_kg_blend_{tag}"
        models[kg_model.name], models[blended.name] = kg_model, blended
        weights[tag] = choice.weight
    table, rows, _ = evaluate_models(models, task, n_boot=n_boot, seed=seed)
    table["blend_weight"] = [
        weights[
            "freebase"
            if n.endswith("_freebase") and not n.endswith("no_freebase")
            else "no_freebase"
        ]
        if "blend" in n
        else np.nan
        for n in table.index
    ]
    return table, rows


# --- the notebook's gated parts: (result, None), or (None, a one-line reason) -------------------

#: What section 2's linking accuracy needs: the session's target item and the query's entity spans.
LINKING_NEEDS = ("session_truth", "query_entities")
#: What sections 3, 4 and 6 (recommendations to users) need.
RECS_NEEDS = ("users",)
#: What section 6 needs besides: Freebase triples linked to the items (extra tables kg, kg_link).
FREEBASE_NEEDS = (*RECS_NEEDS, "kg_triples")
LINKING_COLUMNS = ["query", "text", "label", "name", "confidence", "method", "correct"]


@dataclass
class Linking:
    """Section 2: the gold entity spans of the test queries, what the linker made of each
    (``linked``) and the accuracy table (``linking_eval.accuracy_table``)."""

    test_queries: np.ndarray
    spans: pd.DataFrame
    linked: pd.DataFrame
    table: pd.DataFrame

    @property
    def metrics(self) -> dict:
        return linking_metrics(self.table)

    @property
    def typos(self) -> pd.DataFrame:
        """Typo'd mentions with what they were linked to (the first ten)."""
        linked = self.linked
        return linked[linked["has_typo"] & linked["truth"].notna()][LINKING_COLUMNS].head(10)

    @property
    def errors(self) -> pd.DataFrame:
        linked = self.linked
        wrong = ~linked["correct"] & linked["truth"].notna()
        return linked[wrong][[*LINKING_COLUMNS, "truth"]].head(10)


def linking_accuracy(
    caps: Capabilities, linker, shop: ShopData, test_events: pd.DataFrame, n_queries: int
) -> tuple[Linking | None, str | None]:
    """Section 2: link the gold spans of the first ``n_queries`` test-period queries and score
    each link against the catalogue (``kg.linking_eval``); None without entity spans or the
    sessions' truth."""
    why = caps.skip_reason("linking accuracy", *LINKING_NEEDS)
    if why:
        return None, why
    from shopintent.kg import linking_eval

    test_queries = test_events["query_id"].dropna().unique()[:n_queries]
    spans = linking_eval.truth_spans(
        shop.queries, shop.events, shop.items, shop.extras["session_truth"], test_queries
    )
    linked = linking_eval.link_truth_spans(linker, spans)
    return Linking(test_queries, spans, linked, linking_eval.accuracy_table(linked)), None


@dataclass
class EndToEnd:
    """Section 2, end to end: accuracy per tagger (rows) and where the neural tagger came from."""

    table: pd.DataFrame
    tagger_note: str

    @property
    def metrics(self) -> dict:
        return {
            f"kg/entity_linking/{name}/end_to_end_accuracy": r["accuracy"]
            for name, r in self.table.iterrows()
        }


def end_to_end_linking(
    caps: Capabilities,
    linking: Linking | None,
    linker,
    shop: ShopData,
    *,
    tagger_dir,
    dataset: str,
    profile: str,
    load_tagger: bool,
) -> tuple[EndToEnd | None, str | None]:
    """Section 2 from spans a tagger finds: this module's gazetteer over the KG's aliases, the
    catalogue gazetteer of notebook 03 and, where saved, its neural tagger (``saved_tagger``);
    scored against ``linking``'s gold spans."""
    why = caps.skip_reason("end-to-end linking", *LINKING_NEEDS)
    if why or linking is None:
        return None, why
    from shopintent.kg import linking_eval
    from shopintent.models.understanding.entities import Gazetteer

    queries = shop.queries
    sample = queries[queries["query_id"].isin(linking.test_queries)].reset_index(drop=True)
    qids, texts = sample["query_id"].to_numpy(), sample["text"].tolist()
    found = linker.find_mentions(texts)
    taggers = {
        "kg_gazetteer": found.assign(query_id=qids[found["query"].astype(int)]),
        "catalog_gazetteer": linking_eval.link_predicted_spans(
            linker, qids, texts, Gazetteer.from_catalog(shop.items).predict(texts)
        ),
    }
    tagger, note = saved_tagger(tagger_dir, dataset, profile, load_tagger)
    if tagger is not None:
        taggers["neural_tagger"] = linking_eval.link_predicted_spans(
            linker, qids, texts, tagger.predict(texts)
        )
    table = pd.DataFrame(
        {
            name: linking_eval.predicted_span_accuracy(spans, linking.spans)
            for name, spans in taggers.items()
        }
    ).T
    return EndToEnd(table, note), None


@dataclass
class JudgedLinking:
    """Section 2b: the silver check on real judged queries (``check``), the linked queries
    (``table``) and which dataset they came from (``note``)."""

    note: str
    table: pd.DataFrame
    check: dict

    @property
    def metrics(self) -> dict:
        return {f"kg/homedepot/{k}": v for k, v in self.check.items()}

    @property
    def with_mentions(self) -> pd.DataFrame:
        return self.table[self.table["mentions"] != ""].head(15)


def judged_linking(
    caps: Capabilities, name: str | None, source, n_queries: int, seed: int = 0
) -> tuple[JudgedLinking | None, str | None]:
    """Section 2b, next to section 2's accuracy (so only where that runs): brands found in real
    queries of the dataset ``name`` (``judged_queries_dataset``), checked against the guessed
    brands of products judged relevant to them (``linking_eval.homedepot_linking``)."""
    what = "section 2b (it runs next to section 2's linking accuracy)"
    why = caps.skip_reason(what, *LINKING_NEEDS)
    if why:
        return None, why
    from shopintent.kg import linking_eval

    data, note = judged_queries_dataset(name, source)
    if data is None:
        return None, f"{caps.dataset}: section 2b skipped: {note}"
    table, check = linking_eval.homedepot_linking(
        data.items, data.queries, data.extras["relevance"], n_queries, seed=seed
    )
    return JudgedLinking(note, table, check), None


@dataclass
class Blend:
    """Section 3: the tuned learned model (``tuned``), the blend weight chosen on validation
    (``choice``), the fitted ``kg_model`` and ``blended``, and what they were made with."""

    base_name: str
    tuned: object
    choice: object
    kg_model: KGPPR
    blended: KGBlend
    validation: tuple
    base_factory: Callable[[], Recommender]
    kg_factory: Callable[[], KGPPR]

    @property
    def summary(self) -> str:
        c = self.choice
        return (
            f"{self.base_name}: {self.tuned.params}; blend weight {c.weight} (scope {c.scope}, "
            f"validation NDCG@10 floor {c.floor:.4f})"
        )


def blend_with_kg(
    caps: Capabilities,
    kg: ProductKG,
    shop: ShopData,
    train: pd.DataFrame,
    *,
    base_model: str,
    grid: dict | None,
    profile: str,
    alpha: float,
    max_neighbours: int,
    seed: int = 0,
) -> tuple[Blend | None, str | None]:
    """Section 3: tune ``base_model`` (``grid``, else every other value of its search space) on
    a validation period carved from ``train``, then blend it with personalised PageRank on the KG
    (``kg_blend_run``); None without user ids (nobody to recommend to)."""
    why = caps.skip_reason("section 3 (KG-aware recommendation)", *RECS_NEEDS)
    if why:
        return None, why
    from shopintent.models.recommenders import tune

    items = shop.items
    queries = shop.queries if caps.has("queries") else None
    grid = grid or {k: v[::2] for k, v in tune.search_space(profile)[base_model].items()}
    folds = tune.validation_folds(train, items, seed=seed)  # one temporal fold: training's last 20%
    tuned = tune.tune(base_model, grid, train, items, folds=folds, seed=seed)

    def base_factory():
        return tune.MODELS[base_model](**tuned.params)

    def kg_factory():
        return KGPPR(
            queries=queries,
            extras=shop.extras,
            alpha=alpha,
            build_options={"max_neighbours": max_neighbours},
        )

    choice, kg_model, blended = kg_blend_run(
        base_factory, kg_factory, kg, train, items, folds[0], base_model=tuned.model, seed=seed
    )
    return Blend(
        base_model, tuned, choice, kg_model, blended, folds[0], base_factory, kg_factory
    ), None


@dataclass
class BlendEvaluation:
    """Section 3 on the test period: the table of every model (best first), its rows and
    top-``K`` lists by name, and the blend minus its base (paired NDCG@10 difference)."""

    table: pd.DataFrame
    rows: dict[str, dict]
    recs: dict[str, Recommendations]
    diff: Interval
    blend: Blend

    @property
    def metrics(self) -> dict:
        from shopintent.models.recommenders.evaluate import metric_keys

        out: dict = {}
        for row in self.rows.values():
            out.update(metric_keys(row))
        name, base = self.blend.blended.name, self.blend.base_name
        for suffix, value in zip(("", "_low", "_high"), self.diff, strict=True):
            out[f"recs/{name}/ndcg@10_minus_{base}{suffix}"] = value
        out[f"recs/{name}/blend_weight"] = self.blend.choice.weight
        return out

    @property
    def summary(self) -> str:
        b = self.blend
        return (
            f"NDCG@10 {b.blended.name} - {b.base_name}: {self.diff} (paired bootstrap over users)"
        )


def evaluate_blend(
    caps: Capabilities,
    blend: Blend | None,
    train: pd.DataFrame,
    items: pd.DataFrame,
    task: RecTask,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[BlendEvaluation | None, str | None]:
    """Section 3: popularity, the learned model, ``kg_ppr`` and the blend on the test period,
    full-catalogue ranking (``evaluate_models``), and the blend's paired difference."""
    why = caps.skip_reason("section 3's test (KG-aware recommendation)", *RECS_NEEDS)
    if why or blend is None:
        return None, why
    from shopintent.models.recommenders.baselines import Popularity

    models = {
        "popularity": Popularity().fit(train, items),
        blend.base_name: blend.tuned.model,
        "kg_ppr": blend.kg_model,
        blend.blended.name: blend.blended,
    }
    table, rows, recs = evaluate_models(models, task, n_boot=n_boot, seed=seed)
    diff = paired_difference(
        recs[blend.blended.name], recs[blend.base_name], task, n_boot=n_boot, seed=seed
    )
    return BlendEvaluation(table, rows, recs, diff, blend), None


@dataclass
class ExplanationPaths:
    """Section 4: the share of each model's top-10 explained by a KG path (``shares``), the
    explanation graph, each test user's sources, and a few users' paths in words."""

    shares: pd.DataFrame
    graph: object
    sources: list[list[str]]
    rows_shown: list[int]
    examples: pd.DataFrame
    blend_name: str

    @property
    def metrics(self) -> dict:
        out = {"kg/explained_share": self.shares.loc[self.blend_name, "paths<=3"]}
        out.update(
            {
                f"kg/explained_share/{name}/{col.replace('<=', '_max_edges_')}": v
                for name, row in self.shares.iterrows()
                for col, v in row.items()
            }
        )
        return out


def explanation_paths(
    caps: Capabilities,
    evaluation: BlendEvaluation | None,
    kg: ProductKG,
    task: RecTask,
    *,
    k: int = 10,
    seed: int = 0,
) -> tuple[ExplanationPaths | None, str | None]:
    """Section 4: KG paths of at most three edges from each test user's history to the items
    recommended (``explained_shares``), and three users' paths in words."""
    why = caps.skip_reason("section 4 (explanation paths)", *RECS_NEEDS)
    if why or evaluation is None:
        return None, why
    blend = evaluation.blend
    sources = history_sources(task, kg, blend.kg_model.query_entities_)
    shares = explained_shares(kg, sources, evaluation.recs, k=k)
    graph = explain.explain_graph(kg)
    rows = example_rows(sources, 3, seed=seed)  # users with some history to explain from
    name = blend.blended.name
    examples = explanation_examples(graph, sources, evaluation.recs[name], task.users, rows, k=3)
    return ExplanationPaths(shares, graph, sources, rows, examples, name), None


def explanation_subgraph(
    caps: Capabilities, paths: ExplanationPaths | None, seed: int = 0
) -> tuple[object | None, str | None]:
    """Section 4: the subgraph around the first example user (history on one side,
    recommendations on the other); None without example explanations."""
    why = caps.skip_reason("section 4 (explanation paths)", *RECS_NEEDS)
    if why or paths is None:
        return None, why
    if paths.examples.empty:  # e.g. every user id one basket: no user has anything to explain
        return None, (
            f"{caps.dataset}: no explanation subgraph: no test user has training items or searches"
        )
    from shopintent.studies import knowledge_graph_figures as figures

    first = paths.examples["user_id"].iloc[0]
    one = paths.examples[paths.examples["user_id"] == first]
    return figures.subgraph_figure(
        paths.graph,
        one["path"].tolist(),
        f"Why user {first} gets these items ({paths.blend_name})",
        seed=seed,
        history=paths.sources[paths.rows_shown[0]],
    ), None


@dataclass
class FreebaseComparison:
    """Section 6: the KG with and without the Freebase triples, as ``kg_ppr`` and as the blend."""

    table: pd.DataFrame
    rows: dict[str, dict]

    @property
    def metrics(self) -> dict:
        from shopintent.models.recommenders.evaluate import metric_keys

        out: dict = {}
        for row in self.rows.values():
            out.update(metric_keys(row))
        return out


def freebase_comparison(
    caps: Capabilities,
    blend: Blend | None,
    shop: ShopData,
    train: pd.DataFrame,
    task: RecTask,
    *,
    max_neighbours: int,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[FreebaseComparison | None, str | None]:
    """Section 6 (``freebase_ablation``) where the dataset ships Freebase triples linked to its
    items (extra tables kg and kg_link); None without them or without user ids."""
    why = caps.skip_reason("section 6 (the Freebase-enriched graph)", *FREEBASE_NEEDS)
    if why or blend is None:
        return None, why and f"{why} (extra tables kg and kg_link)"
    table, rows = freebase_ablation(
        blend.base_factory,
        blend.kg_factory,
        shop.extras,
        train,
        shop.items,
        task,
        blend.validation,
        base_model=blend.tuned.model,
        build_options={"max_neighbours": max_neighbours},
        n_boot=n_boot,
        seed=seed,
    )
    return FreebaseComparison(table, rows), None
