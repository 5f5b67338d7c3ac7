"""Query understanding: what a search wants (intent), which category it targets, what it names.

The examples are a dataset's queries (``query_table``): text, first search time, and where the
source knows them the intent, entity spans and typo flag (the synthetic shop records them)
and the target category (the category of the item the search session was after, from
``session_truth``; both the leaf ``electronics.smartphone`` and the top level). Queries are
split by the time of their search, and validation and test keep only texts not searched in
an earlier part (protocol ``temporal-global-cutoff-new-texts``: shoppers repeat queries, and a
repeated text scores the model on a query it trained on); then a seeded sample per part keeps
the run inside the profile's budget (``QUERY_SIZES``).

Models: the ``text_classifier`` family for intent and leaf category (top-level scores are the
leaf probabilities summed per top level) and, for the fine-tuned MiniLM, one network with an
intent head, a category head and a BIO token head (``fit_query_network``), so one forward pass
serves all three. ``save_query_models``/``load_query_models`` keep them under
``models/<dataset>-<profile>/query_understanding/`` for later notebooks.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, artefact_dir, rng
from shopintent.data.schema import INTENTS
from shopintent.data.splits import TextSplit
from shopintent.io import read_json, write_json
from shopintent.models.understanding.entities import ENTITY_LABELS

#: (train, validation, test) queries kept per profile, sampled (seeded) from each time period
QUERY_SIZES = {
    "smoke": (600, 150, 400),
    "default": (3_000, 400, 2_000),
    "full": (30_000, 3_000, 20_000),
}
TYPO_AUGMENTATION = 0.5  # share of training queries given one extra typo inside an entity


def query_table(shop) -> pd.DataFrame:
    """One row per query: ``query_id``, ``text``, ``ts`` (its first search), ``session_id`` and,
    where known, ``intent``, ``entities``, ``has_typo``, ``category`` and ``top_category``."""
    q = shop.queries.copy()
    searches = shop.events.loc[
        shop.events["event_type"].eq("search") & shop.events["query_id"].notna(),
        ["query_id", "session_id", "ts"],
    ]
    first = searches.sort_values("ts", kind="stable").drop_duplicates("query_id")
    q = q.merge(first, on="query_id", how="left")
    for col in ("intent", "entities", "has_typo"):
        if col not in q.columns:
            q[col] = None
    q["category"] = None
    truth = shop.extras.get("session_truth")
    if truth is not None and "target_item_id" in truth.columns:
        target = q["session_id"].map(truth.set_index("session_id")["target_item_id"])
        q["category"] = target.map(shop.items.set_index("item_id")["category"]).astype(object)
    q["top_category"] = [c.split(".")[0] if isinstance(c, str) else None for c in q["category"]]
    q["text"] = q["text"].fillna("").astype(str)
    cols = [
        "query_id",
        "text",
        "ts",
        "session_id",
        "intent",
        "entities",
        "has_typo",
        "category",
        "top_category",
    ]
    return q[cols].sort_values(["ts", "query_id"], kind="stable").reset_index(drop=True)


class QuerySplit(TextSplit):
    """Train / validation / test queries by search time, each a seeded sample of its period;
    ``dropped`` counts the validation and test queries left out as texts seen earlier."""

    unit = "queries"

    def columns(self, part: pd.DataFrame) -> dict:
        typo = part["has_typo"]
        return {"typo_share": float(typo.astype(float).mean()) if typo.notna().any() else np.nan}


def split_queries(
    table: pd.DataFrame,
    profile: str = "default",
    test_frac: float = 0.2,
    val_frac: float = 0.1,
    seed: int = DEFAULT_SEED,
    sizes: tuple[int, int, int] | None = None,
) -> QuerySplit:
    """Split by search time with validation and test keeping only texts not searched in an
    earlier part (``data.splits.temporal_text_split``), then keep at most ``sizes`` (train, val,
    test) queries per part."""
    from shopintent.data.splits import temporal_text_split

    labelled = table[table["ts"].notna()]
    sp = temporal_text_split(labelled, test_frac=test_frac, val_frac=val_frac)
    return QuerySplit.capped(
        (sp.train, sp.val, sp.test),
        sizes or QUERY_SIZES[profile],
        seed,
        "queries",
        sp.cutoff,
        sp.protocol,
        sp.dropped,
    )


# ---- the fine-tuned network: intent, category and entity heads on one MiniLM ---------------------


def network_targets(
    train: pd.DataFrame,
    val: pd.DataFrame,
    extra: pd.DataFrame | None = None,
    typo_augmentation: float = TYPO_AUGMENTATION,
    seed: int = DEFAULT_SEED,
) -> tuple[list, list[str], dict, dict]:
    """``(heads, training texts, targets, validation targets)`` of the query network: an
    ``intent`` and a ``category`` head where every query carries that label (classes: the
    training queries'), a BIO ``tags`` head where every query carries spans. A share of the
    training queries gets one extra typo (``entities.augment_typos``). ``extra`` rows come after
    the queries; a head gets -1 (ignored by the loss) for a row without its label, a class the
    queries never name, or, for tags, every word of a row whose spans are unknown (None)."""
    from shopintent.models.text.finetune import Head
    from shopintent.models.understanding import alignment as al
    from shopintent.models.understanding.entities import augment_typos

    extra = extra if extra is not None else pd.DataFrame(columns=["text", "category", "entities"])
    heads, targets, val_targets = [], {}, {}
    texts = train["text"].tolist()
    spans = train["entities"].tolist()
    has_spans = (
        bool(len(train)) and train["entities"].notna().all() and val["entities"].notna().all()
    )
    if has_spans and typo_augmentation > 0:
        texts, spans, _ = augment_typos(texts, train["entities"].tolist(), typo_augmentation, seed)
    texts = texts + extra["text"].astype(str).tolist()
    spans = spans + (
        extra["entities"].tolist() if "entities" in extra.columns else [None] * len(extra)
    )
    for head, col in (("intent", "intent"), ("category", "category")):
        if train[col].notna().all() and val[col].notna().all() and train[col].nunique() >= 2:
            classes = tuple(sorted(train[col].unique()))
            index = {c: i for i, c in enumerate(classes)}
            heads.append(Head(head, "sequence", classes))
            more = extra[col] if col in extra.columns else [None] * len(extra)
            targets[head] = [index[c] for c in train[col]] + [index.get(c, -1) for c in more]
            val_targets[head] = [index.get(c, -1) for c in val[col]]  # unseen in training: ignored
    if has_spans:
        tags = al.tag_vocabulary(ENTITY_LABELS)
        index = {t: i for i, t in enumerate(tags)}
        heads.append(Head("tags", "token", tuple(tags)))
        targets["tags"] = [
            [index[t] for t in al.bio_tags(al.split_words(x), s)]
            if s is not None
            else [-1] * len(al.split_words(x))
            for x, s in zip(texts, spans, strict=True)
        ]
        val_targets["tags"] = [
            [index[t] for t in al.bio_tags(al.split_words(x), s)]
            for x, s in zip(val["text"], val["entities"], strict=True)
        ]
    return heads, texts, targets, val_targets


def fit_query_network(
    backbone,
    tokenizer,
    split: QuerySplit,
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    typo_augmentation: float = TYPO_AUGMENTATION,
    init: dict | None = None,
    extra: pd.DataFrame | None = None,
    **overrides,
):
    """Fine-tune MiniLM with the heads the labels allow: ``intent``, ``category`` (leaf) and
    ``tags`` (BIO over ``ENTITY_LABELS``). A share of the training queries gets one extra typo
    in an entity word (``entities.augment_typos``); validation picks the epoch. ``init`` maps
    ``intent``/``category`` to fitted frozen-MiniLM logistic regressions (``minilm_lr``), the
    heads' starting points (see ``FineTunedNetwork.fit``). ``extra``: more training rows with
    ``text`` and ``category`` and, where known, ``entities`` (``category.catalogue_queries``):
    the heads they carry no label for ignore them; ``max_train`` caps the queries alone and
    every extra row joins the sample."""
    from shopintent.models.text.finetune import FineTunedNetwork, finetune_config

    train = split.train
    config = finetune_config(profile, **overrides)
    if extra is not None and len(extra):
        # max_train caps the queries (a seeded sample); every extra row comes on top
        if len(train) > config.max_train:
            train = train.sample(n=config.max_train, random_state=seed).sort_index()
        config = replace(config, max_train=len(train) + len(extra))
    heads, texts, targets, val_targets = network_targets(
        train, split.val, extra, typo_augmentation, seed
    )
    if not heads:
        raise ValueError(
            "fit_query_network: the training queries carry no intent, category or entity labels"
        )
    head_init = {
        h.name: (init[h.name].coef_.T, init[h.name].intercept_)
        for h in heads
        if h.name in (init or {}) and tuple(init[h.name].classes_) == h.classes
    }
    return FineTunedNetwork.fit(
        backbone,
        tokenizer,
        heads,
        texts,
        targets,
        split.val["text"].tolist(),
        val_targets,
        config=config,
        seed=seed,
        head_init=head_init,
    )


def finetuned_views(network) -> dict:
    """``intent``/``category`` classifiers and the ``tagger`` that a query network's heads offer."""
    from shopintent.models.text.classifiers import FineTunedClassifier
    from shopintent.models.understanding.entities import NeuralTagger

    views = {
        name: FineTunedClassifier(network, name)
        for name in ("intent", "category")
        if name in network.heads
    }
    if "tags" in network.heads:
        views["tagger"] = NeuralTagger(network, "tags")
    return views


# ---- scores --------------------------------------------------------------------------------------


def top_k_accuracy(y, classes, proba: np.ndarray, k: int) -> float:
    """Share of rows whose true label is among the ``k`` most probable classes."""
    y = np.asarray(y).astype(str)
    top = np.asarray(classes)[np.argsort(-proba, axis=1)[:, :k]]
    return float((top == y[:, None]).any(axis=1).mean()) if len(y) else float("nan")


def roll_up(proba: np.ndarray, classes, parent) -> tuple[np.ndarray, np.ndarray]:
    """Leaf probabilities summed per parent (``parent(leaf)``): (parent classes, (n, parents))."""
    parents = np.array([parent(c) for c in classes])
    names = np.unique(parents)
    return names, np.stack([proba[:, parents == p].sum(axis=1) for p in names], axis=1)


def classification_table(
    y,
    predictions: dict[str, tuple],
    labels=None,
    n_boot: int = 1000,
    seed: int = DEFAULT_SEED,
    top_k: int = 3,
) -> pd.DataFrame:
    """One row per model: macro-F1 with its 95% bootstrap interval over queries, accuracy and
    top-k accuracy. ``predictions[name] = (classes, proba)``."""
    from shopintent.evaluation.classification import macro_f1_ci

    y = np.asarray(y).astype(str)
    labels = sorted(set(y)) if labels is None else list(labels)
    rows = []
    for name, (classes, proba) in predictions.items():
        classes = np.asarray(classes).astype(str)
        pred = classes[proba.argmax(axis=1)]
        f1 = macro_f1_ci(y, pred, labels, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "model": name,
                "macro_f1": f1.point,
                "macro_f1_low": f1.low,
                "macro_f1_high": f1.high,
                "accuracy": float((pred == y).mean()),
                f"top{top_k}_accuracy": top_k_accuracy(y, classes, proba, top_k),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def per_class_f1(y, predictions: dict[str, tuple], labels) -> pd.DataFrame:
    """F1 per class (rows) and model (columns)."""
    from shopintent.evaluation import multiclass_report

    out = {}
    for name, (classes, proba) in predictions.items():
        pred = np.asarray(classes).astype(str)[proba.argmax(axis=1)]
        out[name] = multiclass_report(np.asarray(y).astype(str), pred, labels=list(labels))[
            "per_class_f1"
        ]
    return pd.DataFrame(out)


def confusion(y, pred, labels) -> pd.DataFrame:
    """Counts: true label (rows) by predicted label (columns)."""
    from sklearn.metrics import confusion_matrix

    m = confusion_matrix(
        np.asarray(y).astype(str), np.asarray(pred).astype(str), labels=list(labels)
    )
    return pd.DataFrame(
        m, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted")
    )


def indicative_terms(model, n: int = 8) -> pd.DataFrame:
    """The ``n`` TF-IDF features with the largest weight for each class (columns). Character
    n-grams are quoted, their spaces shown as ``·`` (``'·vs·'``), so they read apart from words."""
    names = model.feature_names().astype(object)
    n_words = len(model.vectorizers[0].get_feature_names_out())
    names[n_words:] = ["'" + t.replace(" ", "·") + "'" for t in names[n_words:]]
    return pd.DataFrame(
        {c: names[np.argsort(-model.coef_[i])[:n]] for i, c in enumerate(model.classes_)}
    )


def skeleton(text: str, spans) -> str:
    """The query with each entity replaced by its label and numbers by ``<n>``: its template."""
    from shopintent.models.understanding.alignment import as_spans

    out, pos = [], 0
    for s, e, label in as_spans(spans):
        out += [text[pos:s].lower(), f"<{label}>"]
        pos = e
    out.append(text[pos:].lower())
    return re.sub(r"\d+", "<n>", "".join(out))


def skeleton_oracle(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Each test query's most frequent training intent among queries with the same template
    (its ``skeleton``, built from the *true* entity spans), else the overall most frequent one.
    On the synthetic shop this approximates the best intent any text model can reach: the
    generator picks a template per intent, and templates are shared between intents."""
    keys = [skeleton(t, s) for t, s in zip(train["text"], train["entities"], strict=True)]
    table = pd.DataFrame({"k": keys, "intent": train["intent"].to_numpy()})
    best = table.groupby("k")["intent"].agg(lambda s: s.value_counts().index[0])
    fallback = train["intent"].value_counts().index[0]
    return np.array(
        [
            best.get(skeleton(t, s), fallback)
            for t, s in zip(test["text"], test["entities"], strict=True)
        ]
    )


def learning_curve(
    make_models: dict,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    sizes,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Test macro-F1 of each ``make_models[name]()`` refitted on growing seeded subsets of the
    training queries (the same subsets for every model). Hyper-parameters stay fixed."""
    from sklearn.metrics import f1_score

    rows = []
    order = rng(seed, "learning-curve").permutation(len(train))
    labels = sorted(test[target].unique())
    for n in sizes:
        part = train.iloc[np.sort(order[: min(n, len(train))])]
        if part[target].nunique() < 2:
            continue
        for name, make in make_models.items():
            pred = make().fit(part["text"], part[target]).predict(test["text"])
            rows.append(
                {
                    "model": name,
                    "train_queries": len(part),
                    "macro_f1": f1_score(
                        test[target].astype(str),
                        pred,
                        labels=labels,
                        average="macro",
                        zero_division=0,
                    ),
                }
            )
    return pd.DataFrame(rows)


def error_examples(
    test: pd.DataFrame, classes, proba: np.ndarray, target: str = "intent", n: int = 10
) -> pd.DataFrame:
    """The ``n`` most confident mistakes: text, truth, prediction, probability.

    A repeated query is listed once.
    """
    classes = np.asarray(classes).astype(str)
    pred, conf = classes[proba.argmax(axis=1)], proba.max(axis=1)
    wrong = np.flatnonzero(pred != test[target].astype(str).to_numpy())
    worst = wrong[np.argsort(-conf[wrong], kind="stable")]
    out = pd.DataFrame(
        {
            "text": test["text"].to_numpy()[worst],
            "true": test[target].to_numpy()[worst],
            "predicted": pred[worst],
            "probability": conf[worst].round(3),
        }
    )
    return out.drop_duplicates(["text", "true", "predicted"]).head(n).reset_index(drop=True)


# ---- files ---------------------------------------------------------------------------------------


def query_models_dir(dataset: str, profile: str) -> Path:
    """``models/<dataset>-<profile>/query_understanding/``."""
    return artefact_dir(dataset, profile, "query_understanding")


def save_query_models(models: dict, folder: str | Path, network=None) -> Path:
    """``models`` maps ``intent/<name>``, ``category/<name>`` and ``entities/gazetteer`` to fitted
    models (the fine-tuned views are saved once, as ``network/``); ``index.json`` lists them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = {}
    for key, model in models.items():
        if getattr(model, "kind", "") == "finetuned" or getattr(model, "name", "") == "tagger":
            index[key] = "network"
            continue
        model.save(folder / key)
        index[key] = key
    if network is not None:
        network.save(folder / "network")
    write_json(folder / "index.json", index)
    return folder


def load_query_models(folder: str | Path, encoder=None) -> dict:
    """The models ``save_query_models`` wrote, under the same keys (``intent/minilm_finetuned``,
    ``entities/tagger``, ...); ``encoder`` serves the frozen-MiniLM models if already built."""
    from shopintent.models.text.classifiers import TextClassifier
    from shopintent.models.text.finetune import FineTunedNetwork
    from shopintent.models.understanding.entities import Gazetteer

    folder = Path(folder)
    if not (folder / "index.json").is_file():
        raise FileNotFoundError(
            f"no saved query models in {folder} (index.json missing): run notebook 03 first"
        )
    index = read_json(folder / "index.json")
    views = (
        finetuned_views(FineTunedNetwork.load(folder / "network"))
        if "network" in index.values()
        else {}
    )
    out = {}
    for key, where in index.items():
        if where == "network":
            task = key.split("/")[0]
            out[key] = views["tagger" if task == "entities" else task]
        elif key.startswith("entities/"):
            out[key] = Gazetteer.load(folder / where)
        else:
            out[key] = TextClassifier.load(folder / where, encoder=encoder)
    return out


__all__ = [
    "ENTITY_LABELS",
    "INTENTS",
    "QUERY_SIZES",
    "QuerySplit",
    "network_targets",
    "classification_table",
    "confusion",
    "error_examples",
    "finetuned_views",
    "fit_query_network",
    "indicative_terms",
    "learning_curve",
    "load_query_models",
    "per_class_f1",
    "query_models_dir",
    "query_table",
    "roll_up",
    "save_query_models",
    "skeleton",
    "skeleton_oracle",
    "split_queries",
    "top_k_accuracy",
]
