"""Notebook 03's models in a few calls: fit the whole family on a query split, predict with all of
it, and get the synthetic shop's models for a dataset whose queries carry no labels.

Keys name task and model, as the metrics do: ``intent/<model>`` and ``category/<model>`` for
``majority``, ``tfidf_lr``, ``minilm_lr`` and ``minilm_finetuned``; ``entities/gazetteer``
(catalogue terms only), ``entities/gazetteer_train`` (plus every mention in the training
queries) and ``entities/tagger`` (the fine-tuned network's token head).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED
from shopintent.evaluation.classification import macro_f1_difference as paired_difference
from shopintent.evaluation.leakage import check_text_split, duplicate_texts
from shopintent.models.understanding import intent as qi
from shopintent.studies.settings import StudySettings

CLASSIFIERS = ("majority", "tfidf_lr", "minilm_lr", "minilm_finetuned")
TAGGERS = ("gazetteer", "gazetteer_train", "tagger")


@dataclass(frozen=True)
class Settings(StudySettings):
    """``query_sizes``: at most (train, validation, test) labelled queries; ``curve_sizes``: the
    learning curve's training sizes; ``real_queries``: unlabelled queries analysed (section 8);
    ``catalogue_names``: the category models learn from the catalogue's names too (section 5);
    ``epochs``: the query network's fine-tuning epochs (default 5: with the names its validation
    score still rose at the fine-tune profile's 3, 0.904 -> 0.921)."""

    query_sizes: tuple[int, int, int]
    curve_sizes: tuple[int, ...]
    real_queries: int
    catalogue_names: bool
    epochs: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {
            "query_sizes": qi.QUERY_SIZES["smoke"],
            "curve_sizes": (50, 150, 600),
            "real_queries": 500,
            "catalogue_names": True,
            "epochs": 2,
        },
        "default": {
            "query_sizes": qi.QUERY_SIZES["default"],
            "curve_sizes": (100, 300, 1_000, 3_000),
            "real_queries": 3000,
            "catalogue_names": True,
            "epochs": 5,
        },
        "full": {
            "query_sizes": qi.QUERY_SIZES["full"],
            "curve_sizes": (100, 1_000, 10_000, 30_000),
            "real_queries": 20000,
            "catalogue_names": True,
            "epochs": 4,
        },
    }


def fit_query_models(
    split: qi.QuerySplit,
    items: pd.DataFrame,
    encoder,
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    log: Callable[[str], None] = print,
    names: pd.DataFrame | None = None,
    **finetune,
) -> tuple[dict, object]:
    """Fit every model the split's labels allow; returns (models by key, the fine-tuned network).

    ``encoder`` is the frozen MiniLM (``load_minilm()``): its vectors feed the ``minilm_lr``
    models and its backbone is copied for fine-tuning. ``names``: more category-labelled
    training queries every category model learns from too (``category.catalogue_queries``).
    ``finetune`` overrides the ``text_finetune`` profile settings (e.g. ``epochs``).
    """
    from shopintent.models.text.classifiers import (
        EncoderLogisticRegression,
        MajorityClassifier,
        TfidfLogisticRegression,
    )
    from shopintent.models.understanding.entities import Gazetteer

    models: dict = {}
    train, val = split.train, split.val
    names = names if names is not None else pd.DataFrame(columns=["text", "category"])
    for task, col in (("intent", "intent"), ("category", "category")):
        if train[col].isna().any() or train[col].nunique() < 2:
            continue
        texts, labels = train["text"], train[col]
        if task == "category" and len(names):
            texts = pd.concat([texts, names["text"]], ignore_index=True)
            labels = pd.concat([labels, names["category"]], ignore_index=True)
        for name, make in (
            ("majority", MajorityClassifier),
            ("tfidf_lr", TfidfLogisticRegression),
            ("minilm_lr", lambda: EncoderLogisticRegression(encoder=encoder, seed=seed)),
        ):
            start = time.perf_counter()
            models[f"{task}/{name}"] = make().fit(texts, labels, val["text"], val[col])
            log(f"{task}/{name}: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    init = {
        t: models[f"{t}/minilm_lr"] for t in ("intent", "category") if f"{t}/minilm_lr" in models
    }
    network = qi.fit_query_network(
        encoder.backbone,
        encoder.tokenizer,
        split,
        profile,
        seed,
        init=init,
        extra=names,
        **finetune,
    )
    log(
        f"fine-tuned network {sorted(network.heads)}: {time.perf_counter() - start:.1f} s, "
        f"best epoch {network.info['best_epoch']}"
    )
    views = qi.finetuned_views(network)
    for task in ("intent", "category"):
        if task in views:
            models[f"{task}/minilm_finetuned"] = views[task]
    if "tagger" in views:
        models["entities/gazetteer"] = Gazetteer.from_catalog(items)
        models["entities/gazetteer_train"] = Gazetteer.from_catalog(items).add_spans(
            train["text"], train["entities"]
        )
        models["entities/tagger"] = views["tagger"]
    return models, network


def predict_all(models: dict, texts) -> dict:
    """Classifiers: key -> (classes, probabilities); taggers: key -> spans per text."""
    texts = list(texts)
    out = {}
    for key, model in models.items():
        if key.startswith("entities/"):
            out[key] = model.predict(texts)
        else:
            out[key] = (np.asarray(model.classes_).astype(str), model.predict_proba(texts))
    return out


def task_predictions(predictions: dict, task: str) -> dict:
    """``{model: (classes, proba)}`` of one task, in the order of ``CLASSIFIERS``."""
    return {m: predictions[f"{task}/{m}"] for m in CLASSIFIERS if f"{task}/{m}" in predictions}


def category_table(
    y_leaf, predictions: dict[str, tuple], n_boot: int = 1000, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """Leaf category: top-1 accuracy (with its 95% bootstrap interval), top-3 accuracy, macro-F1;
    top level: accuracy of the leaf probabilities summed per top-level category."""
    from shopintent.evaluation import bootstrap_ci

    y = np.asarray(y_leaf).astype(str)
    top = np.array([c.split(".")[0] for c in y])
    table = qi.classification_table(y, predictions, n_boot=n_boot, seed=seed, top_k=3)
    rows = {}
    for name, (classes, proba) in predictions.items():
        hit = (np.asarray(classes)[proba.argmax(axis=1)] == y).astype(float)
        ci = bootstrap_ci(lambda h: h.mean(axis=-1), hit, n_boot=n_boot, seed=seed, vectorized=True)
        tops, p_top = qi.roll_up(proba, classes, lambda c: c.split(".")[0])
        rows[name] = {
            "top1_accuracy": ci.point,
            "top1_accuracy_low": ci.low,
            "top1_accuracy_high": ci.high,
            "top3_accuracy": table.loc[name, "top3_accuracy"],
            "top_level_accuracy": float((tops[p_top.argmax(axis=1)] == top).mean()),
            "macro_f1": table.loc[name, "macro_f1"],
        }
    return pd.DataFrame(rows).T.rename_axis("model")


#: the language model's weight in the log-linear fusion, chosen on validation from this grid
FUSION_GRID = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
FUSION = "minilm_tfidf_fusion"


def fuse(a: tuple, b: tuple, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Log-linear fusion of two models' ``(classes, proba)``: softmax of
    ``weight * log p_a + (1 - weight) * log p_b`` (a weighted geometric mean, renormalised),
    on ``a``'s classes (``b``'s columns are reordered to them; a class ``b`` lacks gets 1e-9)."""
    classes_a, pa = np.asarray(a[0]).astype(str), np.asarray(a[1], dtype=np.float64)
    index_b = {c: i for i, c in enumerate(np.asarray(b[0]).astype(str))}
    pb = np.full_like(pa, 1e-9)
    for j, c in enumerate(classes_a):
        if c in index_b:
            pb[:, j] = np.asarray(b[1], dtype=np.float64)[:, index_b[c]]
    z = weight * np.log(np.clip(pa, 1e-9, 1)) + (1 - weight) * np.log(np.clip(pb, 1e-9, 1))
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return classes_a, e / e.sum(axis=1, keepdims=True)


def fusion_weight(y_val, a: tuple, b: tuple, grid=FUSION_GRID) -> tuple[float, dict[float, float]]:
    """(the weight of ``a`` with the best *validation* top-1 accuracy, the accuracy per weight):
    the first of the best on the grid, so a tie keeps the smaller weight."""
    y = np.asarray(y_val).astype(str)
    scores = {}
    for w in grid:
        classes, p = fuse(a, b, float(w))
        scores[float(w)] = float((classes[p.argmax(axis=1)] == y).mean())
    best = max(scores.values())
    return next(w for w, v in scores.items() if v == best), scores


#: query category from TF-IDF and MiniLM features in one regression, and the same features
#: through the category path (parent, then leaf given parent): ``models.understanding.category``
JOINT, HIERARCHICAL = "minilm_tfidf_joint_lr", "minilm_tfidf_hierarchical_lr"


def category_variants(
    models: dict, split, seed: int = DEFAULT_SEED, names: pd.DataFrame | None = None
) -> tuple[dict, list[str]]:
    """``({JOINT: (classes, proba), HIERARCHICAL: ...}`` on ``split.test``, notes): the joint
    regression on the fitted ``category/tfidf_lr`` and ``category/minilm_lr`` models' features
    (their vectorisers and encoder; C and the vectors' scale chosen on ``split.val`` top-1), and
    the two-level regression on the same features (its C chosen on ``split.val`` too). Both
    learn from ``names`` too (extra training queries, as the fitted models did)."""
    from shopintent.models.understanding.category import (
        HierarchicalLogisticRegression,
        JointLogisticRegression,
        joint_features,
    )

    tfidf, encoder = models["category/tfidf_lr"], models["category/minilm_lr"]
    train = split.train[["text", "category"]]
    if names is not None and len(names):
        train = pd.concat([train, names[["text", "category"]]], ignore_index=True)
    parts = {
        name: (tfidf.features(list(df["text"])), encoder.features(list(df["text"])))
        for name, df in (("train", train), ("val", split.val), ("test", split.test))
    }
    y, y_val = train["category"], split.val["category"]
    joint = JointLogisticRegression(seed=seed).fit(*parts["train"], y, *parts["val"], y_val)
    out = {JOINT: (joint.classes_, joint.predict_proba(*parts["test"]))}
    x = {k: joint_features(*v, joint.scale_) for k, v in parts.items()}
    scores, fitted = {}, {}
    for c in (10.0, 30.0):
        fitted[c] = HierarchicalLogisticRegression(c=c, seed=seed).fit(x["train"], y)
        p = fitted[c].predict_proba(x["val"])
        scores[c] = float((fitted[c].classes_[p.argmax(axis=1)] == np.asarray(y_val)).mean())
    c = max(scores, key=scores.get)
    out[HIERARCHICAL] = (fitted[c].classes_, fitted[c].predict_proba(x["test"]))
    notes = [
        f"{JOINT}: TF-IDF and MiniLM vectors x {joint.scale_} in one regression, C {joint.c_}, "
        f"validation top-1 {joint.validation[(joint.scale_, joint.c_)]:.4f} "
        f"(by (scale, C): { {k: round(v, 4) for k, v in joint.validation.items()} })",
        f"{HIERARCHICAL}: P(top level) x P(leaf | top level) on the same features, C {c}, "
        f"validation top-1 {scores[c]:.4f} (by C: { {k: round(v, 4) for k, v in scores.items()} })",
    ]
    return out, notes


def top1_differences(
    y,
    predictions: dict[str, tuple],
    baseline: str,
    n_boot: int = 1000,
    seed: int = DEFAULT_SEED,
    models: tuple[str, ...] | None = None,
) -> dict:
    """Each language model's (or each of ``models``') top-1 accuracy minus ``baseline``'s on the
    same queries, with a paired 95% bootstrap interval (per-query hit differences resampled
    together)."""
    from shopintent.evaluation import bootstrap_mean_ci

    y = np.asarray(y).astype(str)

    def hits(p):
        return (np.asarray(p[0]).astype(str)[p[1].argmax(axis=1)] == y).astype(float)

    base = hits(predictions[baseline])
    return {
        m: bootstrap_mean_ci(hits(p) - base, n_boot=n_boot, seed=seed)
        for m, p in predictions.items()
        if (m in models if models else m.startswith("minilm"))
    }


#: TF-IDF + LR on the training queries alone: what every category model learnt before the
#: catalogue's names joined its training data
QUERIES_ONLY = "tfidf_lr_queries_only"


def catalogue_names(items: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The extra category-labelled training queries ``items`` give (``catalogue_queries``) where
    ``settings.catalogue_names`` asks for them, else none."""
    from shopintent.models.understanding.category import catalogue_queries

    if not settings.catalogue_names:
        return pd.DataFrame(columns=["text", "category", "entities"])
    return catalogue_queries(items)


def queries_only_baseline(split, seed: int = DEFAULT_SEED):
    """TF-IDF + LR on the training queries alone (``QUERIES_ONLY``), C chosen on validation."""
    from shopintent.models.text.classifiers import TfidfLogisticRegression

    train, val = split.train, split.val
    return TfidfLogisticRegression(seed=seed).fit(
        train["text"], train["category"], val["text"], val["category"]
    )


def as_proba(labels, classes) -> tuple[np.ndarray, np.ndarray]:
    """Hard predictions as (classes, one-hot probabilities), to sit in a table with the models."""
    classes = np.asarray(classes).astype(str)
    labels = np.asarray(labels).astype(str)
    return classes, (labels[:, None] == classes[None, :]).astype(np.float64)


def labels_of(prediction: tuple) -> np.ndarray:
    """The top class of each row of a (classes, probabilities) prediction."""
    classes, proba = prediction
    return np.asarray(classes).astype(str)[proba.argmax(axis=1)]


def examples_by_label(texts, labels, order, n: int = 5) -> pd.DataFrame:
    """The first ``n`` texts predicted as each label (one column per label, blanks where fewer)."""
    texts, labels = pd.Series(list(texts), dtype=object), np.asarray(labels).astype(str)
    cols = {lab: texts[labels == lab].head(n).tolist() for lab in order}
    return pd.DataFrame({lab: v + [""] * (n - len(v)) for lab, v in cols.items()})


def curve_models(models: dict, encoder, seed: int = DEFAULT_SEED) -> dict:
    """Factories for the learning curve: TF-IDF and MiniLM logistic regressions at the C each
    chose on validation at full size (refitting C per size would tune on a moving target)."""
    from shopintent.models.text.classifiers import (
        EncoderLogisticRegression,
        TfidfLogisticRegression,
    )

    c_tfidf, c_minilm = models["intent/tfidf_lr"].c_, models["intent/minilm_lr"].c_
    return {
        "tfidf_lr": lambda: TfidfLogisticRegression(c=c_tfidf, seed=seed),
        "minilm_lr": lambda: EncoderLogisticRegression(encoder=encoder, c=c_minilm, seed=seed),
    }


def synthetic_models(
    profile: str,
    seed: int = DEFAULT_SEED,
    mode: str = "auto",
    encoder=None,
    log: Callable[[str], None] = print,
) -> tuple[dict, str]:
    """The synthetic shop's query models for applying to another dataset: (models, how got).

    ``mode``: ``load`` (saved by notebook 03 on ``synthetic``/``profile``), ``train`` (fit them
    now on the synthetic shop of ``profile``, generated if not prepared), ``auto`` (load if
    saved, else train). Training here saves them too, so the next run loads them.
    """
    from shopintent.data import registry

    folder = qi.query_models_dir("synthetic", profile)
    if mode in ("auto", "load") and (folder / "index.json").is_file():
        return qi.load_query_models(folder, encoder=encoder), f"loaded from {folder}"
    if mode == "load":
        raise FileNotFoundError(
            f"no synthetic query models in {folder}: run notebook 03 on the synthetic shop "
            f"(profile {profile}) first, or set SYNTHETIC_MODELS = 'train'"
        )
    if registry.is_prepared("synthetic", profile):
        shop = registry.load("synthetic", profile)
    else:
        from shopintent.data.synthetic import generate

        shop = generate(profile, seed=seed)
    if encoder is None:
        from shopintent.features.text.encoders import load_minilm

        encoder = load_minilm()
    split = qi.split_queries(qi.query_table(shop), profile, seed=seed)
    settings = Settings.for_profile(profile)
    names = catalogue_names(shop.items, settings)
    models, network = fit_query_models(
        split, shop.items, encoder, profile, seed, log=log, names=names, epochs=settings.epochs
    )
    qi.save_query_models(models, folder, network=network)
    return models, f"trained now on the synthetic shop ({profile}) and saved to {folder}"


def metrics_dict(
    intent_table: pd.DataFrame | None = None,
    category_table: pd.DataFrame | None = None,
    entity_table: pd.DataFrame | None = None,
    extra: dict | None = None,
) -> dict:
    """Flat metric keys: ``intent/<model>/macro_f1`` (+ ``_low``/``_high``, ``accuracy``),
    ``query_category/<model>/top1_accuracy``, ``top3_accuracy``, ``top_level_accuracy``,
    ``macro_f1``; ``entities/<tagger>/f1`` (+ precision, recall, ``f1_typo``, ``f1_<label>``).
    A table that is None gives None for the notebook's required keys (not measurable here)."""
    m: dict = {}
    if intent_table is None:
        m.update({f"intent/{k}/macro_f1": None for k in CLASSIFIERS})
    else:
        for model, row in intent_table.iterrows():
            for col in ("macro_f1", "macro_f1_low", "macro_f1_high", "accuracy"):
                m[f"intent/{model}/{col}"] = float(row[col])
    if category_table is None:
        m.update({f"query_category/{k}/top1_accuracy": None for k in CLASSIFIERS})
    else:
        for model, row in category_table.iterrows():
            for col in (
                "top1_accuracy",
                "top1_accuracy_low",
                "top1_accuracy_high",
                "top3_accuracy",
                "top_level_accuracy",
                "macro_f1",
            ):
                if col in row:
                    m[f"query_category/{model}/{col}"] = float(row[col])
    if entity_table is None:
        m.update(
            {
                "entities/gazetteer/f1": None,
                "entities/gazetteer/f1_typo": None,
                "entities/tagger/f1": None,
                "entities/tagger/f1_typo": None,
            }
        )
    else:
        for _, row in entity_table.iterrows():
            base = f"entities/{row['model']}"
            if row["subset"] == "all":
                m.update(
                    {
                        f"{base}/f1": row["f1"],
                        f"{base}/precision": row["precision"],
                        f"{base}/recall": row["recall"],
                    }
                )
            else:
                m[f"{base}/f1_{row['subset']}"] = row["f1"]
    m.update(extra or {})
    return m


# -- the notebook's two readings: queries with truth (sections 1-7), real queries (section 8) -----


@dataclass
class QueryPart:
    """What notebook 03 shows of one dataset: ``sections`` (name -> lines, tables and
    ``(name, figure)`` pairs, in order), the recorded ``metrics`` and ``headline`` keys, and the
    line printed for a section this dataset's queries do not allow (``missing``, or the
    section's own reason in ``notes``)."""

    sections: dict[str, list]
    metrics: dict
    headline: list[str]
    missing: str
    notes: dict[str, str] = field(default_factory=dict)


def labelled_part(
    table: pd.DataFrame,
    items: pd.DataFrame,
    encoder,
    settings: Settings,
    profile: str,
    folder,
    seed: int = DEFAULT_SEED,
    n_boot: int = 1000,
    log: Callable[[str], None] = print,
    **finetune,
) -> QueryPart:
    """Sections 1-7 on queries labelled with intent, category and entities (the synthetic shop):
    split by time with validation and test keeping only texts not searched earlier (the leak
    check, ``check_text_split``, raises if one is), fit every model, score intent (with the
    template oracle and paired differences), the learning curve, category and entities; the
    models are saved to ``folder``."""
    from shopintent.models.understanding import entities
    from shopintent.studies import understanding_figures as figures

    split = qi.split_queries(table, profile, seed=seed, sizes=settings.query_sizes)
    check_text_split(**{name: part["text"] for name, part in split.parts().items()})
    duplicates = duplicate_texts(table["text"])
    train, test = split.train, split.test
    spread = pd.crosstab(train["intent"], train["top_category"], normalize="index").round(2)
    sections: dict[str, list] = {
        "split": [
            f"{duplicates['rows']:,} queries, {duplicates['distinct']:,} distinct texts; "
            f"{duplicates['repeated_rows']:,} share their text with another query",
            f"{split.protocol}: left out as texts searched in an earlier part, "
            f"{split.dropped['val']:,} validation and {split.dropped['test']:,} test queries; "
            "leak check passed (no validation or test text in an earlier part)",
            split.summary(),
            spread,
        ]
    }
    names = catalogue_names(items, settings)
    finetune = {"epochs": settings.epochs, **finetune}
    models, network = fit_query_models(
        split, items, encoder, profile, seed, log=log, names=names, **finetune
    )
    predictions = predict_all(models, test["text"])
    intents = task_predictions(predictions, "intent")
    oracle = as_proba(qi.skeleton_oracle(train, test), qi.INTENTS)
    intent_table = qi.classification_table(
        test["intent"],
        {**intents, "template_oracle": oracle},
        labels=qi.INTENTS,
        n_boot=n_boot,
        seed=seed,
        top_k=2,
    )
    sections["intent"] = [intent_table.round(4)]
    pred = {m: labels_of(p) for m, p in intents.items()}
    differences = {
        m: paired_difference(
            test["intent"], pred[m], pred["tfidf_lr"], list(qi.INTENTS), n_boot, seed
        )
        for m in ("minilm_finetuned", "minilm_lr")
    }
    info = {k: network.info[k] for k in ("n_train", "best_epoch", "train_seconds", "trainable")}
    sections["intent_difference"] = [
        *(f"macro-F1 {m} − tfidf_lr: {d}" for m, d in differences.items()),
        f"validation macro-F1 by C — tfidf_lr {models['intent/tfidf_lr'].validation}, "
        f"minilm_lr {models['intent/minilm_lr'].validation}",
        f"fine-tuning: {info}",
        network.history.round(4),
    ]
    per_class = qi.per_class_f1(test["intent"], intents, qi.INTENTS)
    conf = qi.confusion(test["intent"], pred["minilm_finetuned"], qi.INTENTS)
    sections["intent_figures"] = [
        (
            "intent_f1",
            figures.per_class_f1_figure(per_class, "Intent: F1 per class and model (test queries)"),
        ),
        (
            "intent_confusion",
            figures.confusion_figure(
                conf, "Intent confusion, fine-tuned MiniLM (share of each true intent)"
            ),
        ),
    ]
    sections["errors"] = [
        qi.error_examples(test, *intents["minilm_finetuned"], target="intent", n=10),
        qi.indicative_terms(models["intent/tfidf_lr"], n=10),
    ]
    curve = qi.learning_curve(
        curve_models(models, encoder, seed), train, test, "intent", settings.curve_sizes, seed=seed
    )
    oracle_f1 = intent_table.loc["template_oracle", "macro_f1"]
    sections["learning_curve"] = [
        curve.pivot(index="train_queries", columns="model", values="macro_f1").round(4),
        (
            "intent_learning_curve",
            figures.learning_curve_figure(
                curve, "Intent macro-F1 against training queries", oracle_f1, "template oracle"
            ),
        ),
    ]
    categories = task_predictions(predictions, "category")
    # the fine-tuned MiniLM and TF-IDF in one model: their probabilities fused, the weight chosen
    # on the validation queries (MiniLM reads generic words, TF-IDF memorises model names)
    pair = ("category/minilm_finetuned", "category/tfidf_lr")
    fusion_note = None
    if all(k in models for k in pair):
        val_pred = predict_all({k: models[k] for k in pair}, split.val["text"])
        w, by_weight = fusion_weight(split.val["category"], val_pred[pair[0]], val_pred[pair[1]])
        categories[FUSION] = fuse(predictions[pair[0]], predictions[pair[1]], w)
        fusion_note = (
            f"{FUSION}: fine-tuned MiniLM weight {w} in the log-linear fusion with TF-IDF, chosen "
            f"on validation top-1 accuracy {by_weight[w]:.4f} (MiniLM alone {by_weight[1.0]:.4f}, "
            f"TF-IDF alone {by_weight[0.0]:.4f})"
        )
    variant_notes = []
    if all(f"category/{m}" in models for m in ("tfidf_lr", "minilm_lr")):
        variants, variant_notes = category_variants(models, split, seed, names)
        categories.update(variants)
    catalogue_lines, catalogue_gain = None, {}
    if len(names) and "category/tfidf_lr" in models:
        only = queries_only_baseline(split, seed)
        categories[QUERIES_ONLY] = (
            np.asarray(only.classes_).astype(str),
            only.predict_proba(test["text"]),
        )
    categories_table = category_table(test["category"], categories, n_boot, seed)
    category_gaps = top1_differences(test["category"], categories, "tfidf_lr", n_boot, seed)
    if QUERIES_ONLY in categories:
        catalogue_gain = top1_differences(
            test["category"], categories, QUERIES_ONLY, n_boot, seed, ("tfidf_lr",)
        )
        catalogue_lines = [
            f"category models learnt from {len(train):,} training queries and {len(names):,} "
            "names the catalogue gives (category.catalogue_queries), e.g. "
            + "; ".join(
                f"'{t}' -> {c}"
                for t, c in names[["text", "category"]].head(3).itertuples(index=False)
            ),
            f"top-1 accuracy tfidf_lr − {QUERIES_ONLY} (what the catalogue's names add): "
            f"{catalogue_gain['tfidf_lr']}",
        ]
    tops, p_top = qi.roll_up(
        categories["minilm_finetuned"][1],
        categories["minilm_finetuned"][0],
        lambda c: c.split(".")[0],
    )
    conf = qi.confusion(
        test["top_category"], tops[p_top.argmax(axis=1)], sorted(test["top_category"].unique())
    )
    sections["category"] = [
        categories_table.astype(float).round(4),
        *(catalogue_lines or []),
        *([fusion_note] if fusion_note else []),
        *variant_notes,
        *(f"top-1 accuracy {m} − tfidf_lr: {d}" for m, d in category_gaps.items()),
        (
            "category_confusion",
            figures.confusion_figure(conf, "Top-level category confusion, fine-tuned MiniLM"),
        ),
    ]
    spans = {k.split("/")[1]: v for k, v in predictions.items() if k.startswith("entities/")}
    notes: dict[str, str] = {}
    entity_table = None
    if spans:
        typos = test["has_typo"].tolist()
        entity_table = entities.entity_table(test["entities"].tolist(), spans, typos)
        sections["entities"] = [
            entity_table.pivot(index="subset", columns="model", values="f1").round(4),
            (
                "entities",
                figures.entity_figure(entity_table, "Entity F1 by label and on queries with typos"),
            ),
        ]
        typo_rows = np.flatnonzero(test["has_typo"].to_numpy())[:10]
        sections["entity_examples"] = [
            entities.examples_table(
                test["text"].tolist(), test["entities"].tolist(), spans, typo_rows
            )
        ]
    else:
        notes["entities"] = notes["entity_examples"] = missing_spans_reason(split)
    saved = qi.save_query_models(models, folder, network=network)
    sections["saved"] = [f"{saved} {sorted(models)}"]
    extra = {
        "intent/template_oracle/macro_f1": oracle_f1,
        "query_understanding/data/train_queries": len(train),
        "query_understanding/data/test_queries": len(test),
        "query_understanding/data/queries": duplicates["rows"],
        "query_understanding/data/distinct_texts": duplicates["distinct"],
        "query_understanding/data/repeated_text_queries": duplicates["repeated_rows"],
        "query_understanding/data/seen_texts_dropped_val": split.dropped["val"],
        "query_understanding/data/seen_texts_dropped_test": split.dropped["test"],
        "query_understanding/minilm_finetuned/train_seconds": network.info["train_seconds"],
        "query_understanding/minilm_finetuned/best_epoch": network.info["best_epoch"],
    }
    gaps = [("tfidf_lr", category_gaps), (QUERIES_ONLY, catalogue_gain)]
    for baseline, by_model in gaps:
        for m, d in by_model.items():
            key = f"query_category/{m}/top1_minus_{baseline}"
            extra.update({key: d.point, f"{key}_low": d.low, f"{key}_high": d.high})
    for m, d in differences.items():
        extra.update(
            {
                f"intent/{m}/minus_tfidf_lr": d.point,
                f"intent/{m}/minus_tfidf_lr_low": d.low,
                f"intent/{m}/minus_tfidf_lr_high": d.high,
            }
        )
    metrics = metrics_dict(
        intent_table.drop(index="template_oracle"), categories_table, entity_table, extra
    )
    headline = [
        "intent/minilm_finetuned/macro_f1",
        "intent/tfidf_lr/macro_f1",
        "query_category/minilm_finetuned/top1_accuracy",
        f"query_category/{FUSION}/top1_accuracy",
        "query_category/tfidf_lr/top1_accuracy",
        "entities/tagger/f1_typo",
        "entities/gazetteer/f1_typo",
    ]
    return QueryPart(
        sections,
        metrics,
        headline,
        "these queries carry labels: section 8 is for a dataset whose queries have none",
        notes,
    )


def missing_spans_reason(split) -> str:
    """Why no entity tagger was fitted: training or validation queries without entity spans
    (the taggers train and are scored on fully annotated queries only)."""
    parts = {"training": split.train, "validation": split.val, "test": split.test}
    counts = ", ".join(
        f"{int(p['entities'].isna().sum()):,} of {len(p):,} {name}" for name, p in parts.items()
    )
    return (
        f"entities skipped: queries without entity annotations ({counts}); "
        "the taggers need every training and validation query annotated"
    )


def real_queries_part(
    table: pd.DataFrame,
    shop,
    encoder,
    settings: Settings,
    profile: str,
    dataset: str,
    seed: int = DEFAULT_SEED,
    mode: str = "auto",
    log: Callable[[str], None] = print,
) -> QueryPart:
    """Section 8 on a dataset whose queries carry no labels: the synthetic shop's models
    (``synthetic_models``) applied to a seeded sample of ``settings.real_queries`` queries, the
    predicted intent shares, the entities found and, where the dataset has relevance judgements,
    the silver brand check."""
    from shopintent.models.understanding import entities
    from shopintent.studies import understanding_figures as figures

    models, how = synthetic_models(profile, seed, mode, encoder=encoder, log=log)
    real = table.sample(n=min(len(table), settings.real_queries), random_state=seed)
    real = real.reset_index(drop=True)
    predictions = predict_all(models, real["text"])
    intents = task_predictions(predictions, "intent")
    real_intent = {m: labels_of(p) for m, p in intents.items() if m != "majority"}
    title = f"Predicted intent of {len(real):,} {dataset} queries"
    sections: dict[str, list] = {
        "real_intent": [
            f"synthetic models: {how}",
            ("real_intent_shares", figures.share_figure(real_intent, title, order=qi.INTENTS)),
            examples_by_label(real["text"], real_intent["minilm_finetuned"], qi.INTENTS, n=5),
        ]
    }
    found = predictions["entities/tagger"]
    per_label = {
        lab: float(np.mean([any(s[2] == lab for s in ex) for ex in found]))
        for lab in entities.ENTITY_LABELS
    }
    relevance = shop.extras.get("relevance")
    silver = None if relevance is None else entities.silver_brand_spans(real, shop.items, relevance)
    check = entities.silver_check(silver, found) if silver is not None else None
    sections["real_entities"] = [
        f"share of queries with a mention: { {k: round(v, 3) for k, v in per_label.items()} }",
        entities.examples_table(real["text"].tolist(), None, {"tagger": found}, range(12)),
        f"silver brand check (tagger): {check}",
    ]
    shown = real_intent["minilm_finetuned"]
    extra = {f"real/minilm_finetuned/share_{i}": float(np.mean(shown == i)) for i in qi.INTENTS}
    extra.update({f"real/tagger/share_with_{lab}": v for lab, v in per_label.items()})
    extra["real/data/queries"] = len(real)
    if check is not None:
        extra.update(
            {
                "entities/tagger/silver_brand_recall": check["recall"],
                "entities/tagger/silver_brand_precision": check["precision"],
                "entities/silver/queries_with_brand": check["queries"],
            }
        )
    metrics = metrics_dict(extra=extra)
    headline = [
        k
        for k in (
            "entities/tagger/silver_brand_recall",
            "real/minilm_finetuned/share_navigational",
            "real/data/queries",
        )
        if k in metrics
    ]
    return QueryPart(
        sections,
        metrics,
        headline,
        f"{dataset}: queries without intent, category or entity labels; sections 1-7 "
        "need them, section 8 applies the synthetic shop's models instead",
    )


def show(part: QueryPart, section: str, run) -> None:
    """Show one section of ``part`` in the notebook: lines printed, tables displayed, figures
    saved through ``run`` (``reporting.start_notebook``) and displayed; a section the part lacks
    prints why."""
    from IPython.display import display

    if section not in part.sections:
        print(part.notes.get(section, part.missing))
        return
    for item in part.sections[section]:
        if isinstance(item, str):
            print(item)
        elif isinstance(item, tuple):
            display(run.save_figure(item[1], item[0]))
        else:
            display(item)


__all__ = [
    "CLASSIFIERS",
    "FUSION",
    "HIERARCHICAL",
    "JOINT",
    "QueryPart",
    "Settings",
    "TAGGERS",
    "as_proba",
    "category_table",
    "category_variants",
    "curve_models",
    "examples_by_label",
    "fit_query_models",
    "fuse",
    "fusion_weight",
    "labelled_part",
    "labels_of",
    "metrics_dict",
    "paired_difference",
    "predict_all",
    "real_queries_part",
    "show",
    "synthetic_models",
    "task_predictions",
    "top1_differences",
]
