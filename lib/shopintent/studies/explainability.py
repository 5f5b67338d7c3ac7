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
