"""Notebook 10's settings by profile and the trained models it explains: reused from where an
earlier notebook saved them (``studies.artefacts.reuse_or_fit``), else fitted here (so the notebook
runs alone), with a sentence saying which."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.studies.artefacts import fingerprint, reuse_or_fit
from shopintent.studies.settings import StudySettings


@dataclass(frozen=True)
class Settings(StudySettings):
    """How much notebook 10 explains: LightGBM rows (``n_shap``), sessions explained group by
    group (``n_sessions``), texts explained word by word (``n_texts``, each of queries and
    reviews) with ``max_evals`` model calls each, rows in the LightGBM faithfulness check
    (``n_faithful``), the hybrid's epochs if notebook 05 saved none, and users whose re-ranked
    lists are shown (``n_users``)."""

    n_shap: int
    n_sessions: int
    n_texts: int
    n_faithful: int
    epochs: int
    max_evals: int
    n_users: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {
            "n_shap": 300,
            "n_sessions": 16,
            "n_texts": 6,
            "n_faithful": 40,
            "epochs": 3,
            "max_evals": 100,
            "n_users": 3,
        },
        "default": {
            "n_shap": 2000,
            "n_sessions": 80,
            "n_texts": 12,
            "n_faithful": 200,
            "epochs": 8,
            "max_evals": 300,
            "n_users": 5,
        },
        "full": {
            "n_shap": 2000,
            "n_sessions": 80,
            "n_texts": 12,
            "n_faithful": 200,
            "epochs": 8,
            "max_evals": 300,
            "n_users": 5,
        },
    }


def purchase_models(
    split,
    shop,
    dataset: str,
    profile: str,
    seed: int = 42,
    epochs: int = 4,
    max_len: int = 32,
    names=("lightgbm", "hybrid"),
    folder: Path | None = None,
    log=print,
) -> tuple[dict, object, str]:
    """(models by name, the hybrid's text vectors, a note): notebook 05's saved purchase-intent
    models for this dataset and profile when they were fitted on these training labels with the
    same seed (the fingerprint: seed and class weight, negatives per positive; for the hybrid,
    its text vectors must also be rebuilt here: MiniLM saved, or the same TF-IDF), else the
    missing ones fitted on ``split`` now (``epochs`` for the hybrid)."""
    from shopintent.models.purchase_intent import base as purchase
    from shopintent.models.purchase_intent import family
    from shopintent.models.purchase_intent.sequence import text_vectors_for

    folder = folder or family.model_dir(dataset, profile)
    mine = fingerprint(seed, purchase.balanced_pos_weight(split.train.labels))
    train_queries = split.train.prefixes["query_id"].dropna()
    models, notes, text = {}, [], None

    def load(path: Path):
        nonlocal text
        if not (path / "meta.json").is_file():
            return None
        model = family.load_model(path)
        if path.name == "hybrid" and fingerprint(model.seed, model.pos_weight) == mine:
            source = model.info.get("text_source")
            mode = "none" if source is None else "auto" if source == "minilm" else "tfidf"
            text, _ = text_vectors_for(
                shop, dataset, profile, mode, encode_limit=0, fit_query_ids=train_queries, seed=seed
            )
            if (text.dim if text is not None else 0) != model.text_dim:
                notes.append(
                    f"{path.name}: saved with {source} text vectors that are not saved here"
                )
                return None
        return model

    def fitter(name: str):
        def fit():
            nonlocal text
            how = f"{epochs} epochs" if name == "hybrid" else f"seed {seed}"
            if name == "hybrid" and text is None:
                text, text_how = text_vectors_for(
                    shop,
                    dataset,
                    profile,
                    "auto",
                    encode_limit=0,
                    fit_query_ids=train_queries,
                    seed=seed,
                )
                notes.append(f"text vectors: {text_how}")
            model = family.fit_all(
                split, text, names=(name,), seed=seed, epochs=epochs, max_len=max_len, log=log
            )[name]
            return model, how

        return fit

    for name in names:
        models[name], note, _ = reuse_or_fit(
            folder / name,
            mine,
            fitter(name),
            load,
            lambda m: fingerprint(m.seed, m.pos_weight),
            what=f"{name} (notebook 05's)",
        )
        notes.append(note)
    return models, text, "; ".join(notes)


@dataclass
class TextModel:
    """A text classifier to explain: ``predict_proba(list of str) -> (n, classes)``, its class
    names, held-out texts to explain and a line saying what it is."""

    predict_proba: Callable
    classes: list[str]
    texts: list[str]
    description: str


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def text_models(
    shop,
    dataset: str,
    profile: str = "default",
    seed: int = 42,
    min_texts: int = 60,
    folders: dict | None = None,
) -> tuple[dict[str, TextModel], str]:
    """The query-intent and review-sentiment ``tfidf_lr`` models of notebooks 03 and 04 with
    their test texts to explain (``intent.split_queries`` / ``sentiment.split_reviews``: by time,
    capped by profile): loaded from where those notebooks saved them (``folders`` overrides,
    by name), else fitted here as they fit them (``C`` chosen on the validation part). The note
    says what each is, or why it is missing (no labelled texts, too few, no library)."""
    out, notes = {}, []
    for name, module in (
        ("query_intent", "shopintent.models.understanding.intent"),
        ("review_sentiment", "shopintent.models.understanding.sentiment"),
    ):
        if _missing(module) or _missing("shopintent.models.text.classifiers"):
            notes.append(
                f"{name}: {module} "
                f"(notebook {'03' if name == 'query_intent' else '04'}'s library) is not "
                "available in this checkout, so there is no model to explain"
            )
            continue
        if name == "query_intent":
            from shopintent.models.understanding import intent

            table = intent.query_table(shop)
            table = table[table["intent"].notna()].rename(columns={"intent": "label"})
            what = "queries with an intent label"
            split = (
                intent.split_queries(table, profile, seed=seed) if len(table) >= min_texts else None
            )
            saved = intent.query_models_dir(dataset, profile) / "intent" / "tfidf_lr"
        else:
            from shopintent.models.understanding import sentiment

            table = sentiment.review_table(shop)
            what = "reviews with a sentiment or rating"
            split = (
                sentiment.split_reviews(table, profile, seed=seed)
                if len(table) >= min_texts
                else None
            )
            saved = sentiment.sentiment_models_dir(dataset, profile) / "tfidf_lr"
        if split is None or split.train["label"].nunique() < 2 or not len(split.test):
            notes.append(
                f"{name}: {len(table)} {what} (at least {min_texts}, of two classes, are needed): "
                "not explained"
            )
            continue
        out[name] = _text_model(name, split, (folders or {}).get(name, saved), seed)
        notes.append(f"{name}: {out[name].description}")
    return out, "; ".join(notes)


def _text_model(name: str, split, saved: Path, seed: int) -> TextModel:
    from shopintent.models.text.classifiers import TextClassifier, TfidfLogisticRegression

    tr, va, te = (split.train, split.val, split.test)
    notebook = "03" if name == "query_intent" else "04"
    # the saved classifier carries only its classes: the same label set is the fingerprint
    labels = fingerprint(sorted(set(tr["label"].astype(str))))

    def fit():
        fitted = TfidfLogisticRegression(seed=seed).fit(
            tr["text"], tr["label"], va["text"], va["label"]
        )
        return fitted, f"{len(tr):,} training texts, C = {fitted.c_} chosen on {len(va):,}"

    def load(folder: Path):
        return TextClassifier.load(folder) if (folder / "classifier.json").is_file() else None

    model, how, _ = reuse_or_fit(
        saved,
        labels,
        fit,
        load,
        lambda m: fingerprint(sorted(set(map(str, m.classes_)))),
        what=f"tfidf_lr of notebook {notebook}",
    )
    test_texts, test_labels = te["text"].astype(str).to_numpy(), te["label"].astype(str).to_numpy()
    accuracy = float((model.predict(test_texts) == test_labels).mean())
    picked = _round_robin(test_labels, seed)
    return TextModel(
        model.predict_proba,
        [str(c) for c in model.classes_],
        list(test_texts[picked]),
        f"{how}; accuracy {accuracy:.3f} on {len(te):,} test texts "
        f"({split.protocol}), which are explained",
    )


def _round_robin(labels: np.ndarray, seed: int) -> np.ndarray:
    """Positions in an order that cycles through the labels (seeded within each), so the first
    few texts explained cover every class."""
    r = np.random.default_rng(seed)
    groups = [r.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    longest = max((len(g) for g in groups), default=0)
    return np.array([g[i] for i in range(longest) for g in groups if i < len(g)], dtype=np.int64)


def faithfulness_metrics(
    table: pd.DataFrame, model: str, k: int, seed: int, n_boot: int = 1000
) -> dict:
    """``explain/faithfulness/<model>/topk_drop`` and ``/random_drop`` at ``k`` (None when no
    example had more than k features), their per-example difference with a 95% bootstrap
    interval over examples (``difference``, ``_low``, ``_high``), k, the seed and the count
    (``table``: ``explain.faithfulness`` rows)."""
    from shopintent.evaluation.bootstrap import bootstrap_mean_ci

    at = table[table["k"] == k]
    key = f"explain/faithfulness/{model}"
    n = len(at)
    gap = (at["topk_drop"] - at["random_drop"]).to_numpy()
    diff = bootstrap_mean_ci(gap, n_boot=n_boot, seed=seed) if n else (None, None, None)
    return {
        f"{key}/topk_drop": float(at["topk_drop"].mean()) if n else None,
        f"{key}/random_drop": float(at["random_drop"].mean()) if n else None,
        f"{key}/difference": diff[0],
        f"{key}/difference_low": diff[1],
        f"{key}/difference_high": diff[2],
        f"{key}/k": k,
        f"{key}/examples": n,
        f"{key}/seed": seed,
    }


def reranking_metrics(result) -> dict:
    """``explain/<model>/<column>`` of an ``explain.ranking.RerankResult``'s scores (NaN: None)."""
    out = {}
    for model, row in result.scores.iterrows():
        for col, value in row.items():
            out[f"explain/{model}/{col}"] = None if pd.isna(value) else float(value)
    return out


def add_kg_paths(
    table, shop, train_events, max_len: int = 3, recent: int = 20
) -> tuple[object, str]:
    """``table`` (``user_id``, ``item_id`` per row) with a ``kg path`` column: the knowledge
    graph's path (notebook 09, ``shopintent.kg``) of at most ``max_len`` edges from one of the
    user's ``recent`` latest training items to the item, as text ("" when none); the graph is
    built here from the catalogue and ``train_events`` (co-occurrence from training only)."""
    if _missing("shopintent.kg.explain"):
        return table, (
            "no KG paths: shopintent.kg.explain (notebook 09's explanation paths) is not "
            "available in this checkout"
        )
    from shopintent.kg.build import build_kg
    from shopintent.kg.explain import explain_graph, explain_path

    kg = build_kg(
        shop.items, train_events, shop.queries if len(shop.queries) else None, extras=shop.extras
    )
    graph = explain_graph(kg)
    ev = train_events[train_events["item_id"].notna()].sort_values("ts", kind="stable")
    history = ev.groupby("user_id")["item_id"].agg(lambda s: list(dict.fromkeys(s[::-1]))[:recent])
    paths = [
        explain_path(graph, kg.item_nodes(history.get(u, [])), kg.item_nodes([i])[0], max_len)[
            "text"
        ]
        for u, i in zip(table["user_id"], table["item_id"], strict=True)
    ]
    out = table.assign(**{"kg path": paths})
    share = float(np.mean([bool(p) for p in paths])) if paths else float("nan")
    return out, (
        f"KG of {kg.n_nodes:,} nodes and {kg.n_edges:,} edges built from the catalogue "
        "and the training "
        f"events; {share:.0%} of these recommendations have a path of at most {max_len} edges"
    )


# --- the notebook's gated parts: (result, None), or (None, a one-line reason) -------------------

#: What each part of notebook 10 needs from the data (capabilities).
PARTS = {
    "purchase intent (sections 1-3)": ("events", "sessions", "timestamps", "purchases"),
    "text models (section 4)": ("queries",),
    "recommenders (section 5)": ("users", "interactions", "timestamps"),
}
PURCHASE, TEXT, RECOMMENDERS = PARTS
#: the reason of sections 2, 3 and 6's purchase-intent parts where section 1 had nothing
AFTER_SECTION_1 = "skipped with section 1: no purchase-intent models to explain"


def nothing_to_explain(caps) -> str | None:
    """None where at least one part of ``PARTS`` can run, else every part's reason, joined."""
    if not all(caps.missing(*need) for need in PARTS.values()):
        return None
    return "; ".join(caps.skip_reason(part, *need) for part, need in PARTS.items())


@dataclass
class PurchaseExplanations:
    """Section 1: notebook 05's models (``models``, the hybrid's ``text_vectors``, ``note`` on
    where they came from), the time split, and LightGBM's SHAP values on whole test sessions."""

    split: object
    models: dict
    text_vectors: object
    note: str
    shap: object  # explain.tabular.TreeAttributions

    @property
    def test(self):
        return self.split.test

    @property
    def full(self) -> np.ndarray:
        return self.split.test.full_mask()

    @property
    def metrics(self) -> dict:
        return {"explain/purchase_lightgbm/top_feature_share": self.shap.top_feature_share()}

    @property
    def additivity(self) -> str:
        s = self.shap
        gap = np.abs(s.values.sum(axis=1) + s.base - s.output).max()
        return (
            f"{len(s.values):,} whole test sessions; largest |sum of SHAP − (score − base)|: "
            f"{gap:.1e}"
        )


def purchase_explanations(
    caps, shop, dataset: str, profile: str, seed: int, epochs: int, n_shap: int
) -> tuple[PurchaseExplanations | None, str | None]:
    """Section 1: the purchase-intent models (``purchase_models``) and LightGBM's SHAP values on
    ``n_shap`` whole test sessions; None without sessions with purchases, or where the time
    split leaves no buyer in training or no class contrast in the test period."""
    why = caps.skip_reason(PURCHASE, *PARTS[PURCHASE])
    if why:
        return None, why
    from shopintent.explain import tabular
    from shopintent.features import sessions
    from shopintent.models.purchase_intent import base as purchase

    examples = sessions.build_examples(shop.events, shop.items)
    split = (
        purchase.split_examples(examples, test_frac=0.2, val_frac=0.1)
        if len(examples.sessions)
        else None
    )
    if (
        split is None
        or split.train.sessions["label"].sum() < 2
        or split.test.sessions["label"].nunique() < 2
    ):
        return None, f"{caps.dataset}: {PURCHASE} skipped: no purchases to explain in both periods"
    models, text, note = purchase_models(split, shop, dataset, profile, seed, epochs)
    test = split.test
    shap_lgb = tabular.lightgbm_shap(
        models["lightgbm"], test, n=n_shap, seed=seed, mask=test.full_mask()
    )
    return PurchaseExplanations(split, models, text, note, shap_lgb), None


@dataclass
class LocalExplanations:
    """Section 1's two example sessions (``picked``: the surest buyer, the surest false alarm),
    their events in words, and LightGBM's SHAP values of their whole-session rows."""

    picked: list[str]
    described: pd.Series
    rows: pd.Index
    shap: object

    def figures(self, test) -> dict[str, object]:
        """One waterfall per picked session, by the name it is saved under."""
        from shopintent.studies import explainability_figures as figures

        out = {}
        for sid in self.picked:
            row = self.rows[test.prefixes.loc[self.rows, "session_id"].to_numpy() == sid][0]
            bought = "bought" if test.prefixes.loc[row, "label"] else "did not buy"
            score = 1 / (1 + np.exp(-self.shap.output[list(self.rows).index(row)]))
            out[f"lightgbm_local_{sid}"] = figures.shap_local_figure(
                self.shap.values,
                self.shap.features,
                row,
                self.shap.base,
                title=f"LightGBM, session {sid} ({bought}): raw score {score:.2f}",
            )
        return out


def local_explanations(
    purchase: PurchaseExplanations | None,
) -> tuple[LocalExplanations | None, str | None]:
    """Section 1: the two sessions worth explaining and their LightGBM SHAP values."""
    if purchase is None:
        return None, AFTER_SECTION_1
    from shopintent.explain import tabular
    from shopintent.studies import purchase_intent as purchase_study

    test, full = purchase.test, purchase.full
    picked = purchase_study.example_sessions(test, purchase.models["lightgbm"].predict(test))
    rows = test.prefixes.index[full & test.prefixes["session_id"].isin(picked).to_numpy()]
    local = tabular.lightgbm_shap(
        purchase.models["lightgbm"], test, mask=np.isin(np.arange(len(full)), rows)
    )
    described = purchase_study.describe_sessions(test.prefixes, picked).to_frame("events")
    return LocalExplanations(picked, described, rows, local), None


@dataclass
class HybridExplanations:
    """Section 2: the hybrid's exact group Shapley values on ``sample`` sessions (the picked two
    first) against ``reference``."""

    reference: object
    sample: list[str]
    shap: object  # explain.groups.GroupAttributions

    def figures(self, test, picked) -> dict[str, object]:
        from shopintent.studies import explainability_figures as figures

        labels = test.sessions.set_index("session_id")["label"]
        return {
            f"hybrid_groups_{sid}": figures.group_waterfall_figure(
                self.shap.values.loc[sid],
                self.shap.base.loc[sid],
                f"Hybrid, session {sid} ({'bought' if labels.loc[sid] else 'did not buy'}): "
                "groups of evidence, log-odds",
            )
            for sid in picked
        }


def hybrid_explanations(
    purchase: PurchaseExplanations | None,
    local: LocalExplanations | None,
    n_sessions: int,
    seed: int,
) -> tuple[HybridExplanations | None, str | None]:
    """Section 2: group Shapley values of the hybrid LSTM on ``n_sessions`` test sessions."""
    if purchase is None or local is None:
        return None, AFTER_SECTION_1
    from shopintent.explain import groups

    test = purchase.test
    reference = groups.SequenceReference.fit(purchase.split.train.prefixes)
    test_sessions = test.sessions["session_id"]
    sample = list(test_sessions.sample(min(n_sessions, len(test_sessions)), random_state=seed))
    sample = list(dict.fromkeys(local.picked + sample))[: max(n_sessions, len(local.picked))]
    values = groups.sequence_group_shap(
        purchase.models["hybrid"], test, sample, reference, purchase.text_vectors
    )
    return HybridExplanations(reference, sample, values), None


def compare_purchase_models(
    purchase: PurchaseExplanations | None, hybrid: HybridExplanations | None
) -> tuple[object | None, str | None]:
    """Section 3: LightGBM's SHAP values summed within the hybrid's groups on the same sessions,
    next to the hybrid's (``explain.tabular.GroupComparison``)."""
    if purchase is None or hybrid is None:
        return None, AFTER_SECTION_1
    from shopintent.explain import tabular

    test = purchase.test
    mask = purchase.full & test.prefixes["session_id"].isin(hybrid.sample).to_numpy()
    lgb_rows = tabular.lightgbm_shap(purchase.models["lightgbm"], test, mask=mask)
    lgb_groups = tabular.group_values(lgb_rows.values, tabular.PURCHASE_FEATURE_GROUPS)
    lgb_groups.index = test.prefixes.loc[lgb_groups.index, "session_id"].to_numpy()
    return tabular.compare_groups({"lightgbm": lgb_groups, "hybrid": hybrid.shap.values}), None


@dataclass
class RerankerExplanations:
    """Section 5: the re-ranker against its base (``result``: ``explain.ranking.RerankResult``),
    a few users' top items with the re-ranker's reasons and the KG path (``table``, ``kg_note``)."""

    result: object
    table: pd.DataFrame
    kg_note: str

    @property
    def metrics(self) -> dict:
        return reranking_metrics(self.result)


def reranker_explanations(
    caps, shop, n_users: int, seed: int, n_candidates: int = 50
) -> tuple[RerankerExplanations | None, str | None]:
    """Section 5: item-kNN candidates re-ranked by LightGBM, explained by SHAP and the KG; None
    without users, items or times, or where no user is active in two periods
    (``explain.ranking.ranking_skip_reason``)."""
    why = caps.skip_reason(RECOMMENDERS, *PARTS[RECOMMENDERS])
    if why:
        return None, why
    from shopintent.explain import ranking as explain_ranking

    split = explain_ranking.split_for_ranking(shop.events)
    why = explain_ranking.ranking_skip_reason(*split)
    if why:
        return None, f"{caps.dataset}: {why}"
    result = explain_ranking.fit_and_evaluate(
        *split, shop.items, seed=seed, n_candidates=n_candidates
    )
    table = explain_ranking.explanation_table(result, shop.items, n_users=n_users, k=3, seed=seed)
    table, kg_note = add_kg_paths(table, shop, split[2])
    return RerankerExplanations(result, table, kg_note), None


def faithfulness_tables(
    purchase: PurchaseExplanations | None,
    hybrid: HybridExplanations | None,
    explained: dict,
    text_models: dict,
    n_faithful: int,
    n_random: int,
    seed: int,
    ks=(1, 2, 3),
) -> dict[str, pd.DataFrame]:
    """Section 6: per explained model (those of sections 1-2 where they ran, and each explained
    text model), the drop of its output when the top-k features go against k at random."""
    from shopintent.explain import groups, tabular
    from shopintent.explain import text as explain_text

    out = {}
    if purchase is not None and hybrid is not None:
        out["purchase_lightgbm"] = tabular.purchase_faithfulness(
            purchase.models["lightgbm"],
            purchase.shap,
            purchase.split.train,
            n_faithful,
            ks,
            n_random,
            seed,
        )
        out["purchase_hybrid"] = groups.faithfulness_table(
            purchase.models["hybrid"],
            purchase.test,
            hybrid.shap,
            hybrid.reference,
            purchase.text_vectors,
            ks,
            n_random,
            seed,
        )
    for name, (texts, explanation) in explained.items():
        out[name] = explain_text.faithfulness_table(
            text_models[name].predict_proba, texts, explanation, ks, n_random, seed
        )
    return out
