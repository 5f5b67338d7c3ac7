"""The trained models notebook 10 explains: loaded from where an earlier notebook saved them,
else fitted here (so the notebook runs alone), with a sentence saying which."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def _matches(folder: Path, seed: int, pos_weight: float) -> bool:
    """A saved model fitted with this seed on these training labels (its class weight, negatives
    per positive, must be this split's: a model of other data is not explained as this one)."""
    import json

    meta = folder / "meta.json"
    if not meta.is_file():
        return False
    meta = json.loads(meta.read_text())
    return meta.get("seed") == seed and np.isclose(meta.get("pos_weight", np.nan), pos_weight, rtol=1e-9)


def purchase_models(split, shop, dataset: str, profile: str, seed: int = 42, epochs: int = 4,
                    max_len: int = 32, names=("lightgbm", "hybrid"), folder: Path | None = None,
                    log=print) -> tuple[dict, object, str]:
    """(models by name, the hybrid's text vectors, a note): notebook 05's saved purchase-intent
    models for this dataset and profile when they were fitted on these training sessions with
    the same seed (and, for the hybrid, its text vectors can be rebuilt: MiniLM from the
    embeddings cache or the same TF-IDF), else the missing ones fitted on ``split`` now
    (``epochs`` for the hybrid)."""
    from shopintent.models.purchase_intent import base as purchase
    from shopintent.models.purchase_intent import family
    from shopintent.models.purchase_intent.sequence import text_vectors_for

    folder = folder or family.model_dir(dataset, profile)
    pos_weight = purchase.balanced_pos_weight(split.train.labels)
    train_queries = split.train.prefixes["query_id"].dropna()
    models, notes, text = {}, [], None
    for name in names:
        if _matches(folder / name, seed, pos_weight):
            model = family.load_model(folder / name)
            if name == "hybrid":
                source = model.info.get("text_source")
                mode = "none" if source is None else "auto" if source == "minilm" else "tfidf"
                text, _ = text_vectors_for(shop, dataset, profile, mode, encode_limit=0,
                                           fit_query_ids=train_queries, seed=seed)
                if (text.dim if text is not None else 0) != model.text_dim:
                    notes.append(f"{name}: saved with {source} text vectors that are not cached here: refitted")
                    model = None
            if model is not None:
                models[name] = model
                notes.append(f"{name}: loaded from {folder / name} (notebook 05)")
                continue
        if name == "hybrid" and text is None:
            text, how = text_vectors_for(shop, dataset, profile, "auto", encode_limit=0,
                                         fit_query_ids=train_queries, seed=seed)
            notes.append(f"text vectors: {how}")
        models[name] = family.fit_all(split, text, names=(name,), seed=seed, epochs=epochs, max_len=max_len,
                                        log=log)[name]
        if not any(n.startswith(f"{name}: saved with") for n in notes):
            notes.append(f"{name}: fitted here (notebook 05 saved no model of these training sessions with seed {seed})")
        else:
            notes.append(f"{name}: fitted here ({epochs} epochs)")
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


def text_models(shop, dataset: str, profile: str = "default", seed: int = 42, min_texts: int = 60,
                folders: dict | None = None) -> tuple[dict[str, TextModel], str]:
    """The query-intent and review-sentiment ``tfidf_lr`` models of notebooks 03 and 04 with
    their test texts to explain (``intent.split_queries`` / ``sentiment.split_reviews``: by time,
    capped by profile): loaded from where those notebooks saved them (``folders`` overrides,
    by name), else fitted here as they fit them (``C`` chosen on the validation part). The note
    says what each is, or why it is missing (no labelled texts, too few, no library)."""
    out, notes = {}, []
    for name, module in (("query_intent", "shopintent.models.understanding.intent"),
                         ("review_sentiment", "shopintent.models.understanding.sentiment")):
        if _missing(module) or _missing("shopintent.models.text.classifiers"):
            notes.append(f"{name}: {module} (notebook {'03' if name == 'query_intent' else '04'}'s library) is not "
                         "available in this checkout, so there is no model to explain")
            continue
        if name == "query_intent":
            from shopintent.models.understanding import intent

            table = intent.query_table(shop)
            table = table[table["intent"].notna()].rename(columns={"intent": "label"})
            what = "queries with an intent label"
            split = intent.split_queries(table, profile, seed=seed) if len(table) >= min_texts else None
            saved = intent.query_models_dir(dataset, profile) / "intent" / "tfidf_lr"
        else:
            from shopintent.models.understanding import sentiment

            table = sentiment.review_table(shop)
            what = "reviews with a sentiment or rating"
            split = sentiment.split_reviews(table, profile, seed=seed) if len(table) >= min_texts else None
            saved = sentiment.sentiment_models_dir(dataset, profile) / "tfidf_lr"
        if split is None or split.train["label"].nunique() < 2 or not len(split.test):
            notes.append(f"{name}: {len(table)} {what} (at least {min_texts}, of two classes, are needed): "
                         "not explained")
            continue
        out[name] = _text_model(name, split, (folders or {}).get(name, saved), seed)
        notes.append(f"{name}: {out[name].description}")
    return out, "; ".join(notes)


def _text_model(name: str, split, saved: Path, seed: int) -> TextModel:
    from shopintent.models.text.classifiers import TextClassifier, TfidfLogisticRegression

    tr, va, te = (split.train, split.val, split.test)
    notebook = "03" if name == "query_intent" else "04"
    model = TextClassifier.load(saved) if (Path(saved) / "classifier.json").is_file() else None
    if model is not None and set(map(str, model.classes_)) == set(tr["label"].astype(str)):
        how = f"notebook {notebook}'s tfidf_lr, loaded from {saved}"
    else:
        model = TfidfLogisticRegression(seed=seed).fit(tr["text"], tr["label"], va["text"], va["label"])
        how = (f"tfidf_lr as in notebook {notebook}, fitted here ({len(tr):,} training texts, C = {model.c_} "
               f"chosen on {len(va):,}; notebook {notebook} saved none)")
    test_texts, test_labels = te["text"].astype(str).to_numpy(), te["label"].astype(str).to_numpy()
    accuracy = float((model.predict(test_texts) == test_labels).mean())
    picked = _round_robin(test_labels, seed)
    return TextModel(model.predict_proba, [str(c) for c in model.classes_], list(test_texts[picked]),
                     f"{how}; accuracy {accuracy:.3f} on {len(te):,} test texts ({split.protocol}), which are explained")


def _round_robin(labels: np.ndarray, seed: int) -> np.ndarray:
    """Positions in an order that cycles through the labels (seeded within each), so the first
    few texts explained cover every class."""
    r = np.random.default_rng(seed)
    groups = [r.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    longest = max((len(g) for g in groups), default=0)
    return np.array([g[i] for i in range(longest) for g in groups if i < len(g)], dtype=np.int64)


def add_kg_paths(table, shop, train_events, max_len: int = 3, recent: int = 20) -> tuple[object, str]:
    """``table`` (``user_id``, ``item_id`` per row) with a ``kg path`` column: the knowledge
    graph's path (notebook 09, ``shopintent.kg``) of at most ``max_len`` edges from one of the
    user's ``recent`` latest training items to the item, as text ("" when none); the graph is
    built here from the catalogue and ``train_events`` (co-occurrence from training only)."""
    if _missing("shopintent.kg.explain"):
        return table, ("no KG paths: shopintent.kg.explain (notebook 09's explanation paths) is not available in "
                       "this checkout")
    from shopintent.kg.build import build_kg
    from shopintent.kg.explain import explain_graph, explain_path

    kg = build_kg(shop.items, train_events, shop.queries if len(shop.queries) else None, extras=shop.extras)
    graph = explain_graph(kg)
    ev = train_events[train_events["item_id"].notna()].sort_values("ts", kind="stable")
    history = ev.groupby("user_id")["item_id"].agg(lambda s: list(dict.fromkeys(s[::-1]))[:recent])
    paths = [explain_path(graph, kg.item_nodes(history.get(u, [])), kg.item_nodes([i])[0], max_len)["text"]
             for u, i in zip(table["user_id"], table["item_id"], strict=True)]
    out = table.assign(**{"kg path": paths})
    share = float(np.mean([bool(p) for p in paths])) if paths else float("nan")
    return out, (f"KG of {kg.n_nodes:,} nodes and {kg.n_edges:,} edges built from the catalogue and the training "
                 f"events; {share:.0%} of these recommendations have a path of at most {max_len} edges")
