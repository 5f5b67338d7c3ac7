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

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED
from shopintent.evaluation.classification import macro_f1_difference as paired_difference
from shopintent.models.understanding import intent as qi

CLASSIFIERS = ("majority", "tfidf_lr", "minilm_lr", "minilm_finetuned")
TAGGERS = ("gazetteer", "gazetteer_train", "tagger")
#: learning-curve sizes (training queries) per profile
CURVE_SIZES = {"smoke": (50, 150, 600), "default": (100, 300, 1_000, 3_000), "full": (100, 1_000, 10_000, 30_000)}


def fit_query_models(split: qi.QuerySplit, items: pd.DataFrame, encoder, profile: str = "default",
                     seed: int = DEFAULT_SEED, log: Callable[[str], None] = print, **finetune) -> tuple[dict, object]:
    """Fit every model the split's labels allow; returns (models by key, the fine-tuned network).

    ``encoder`` is the frozen MiniLM (``load_minilm()``): its vectors feed the ``minilm_lr``
    models and its backbone is copied for fine-tuning. ``finetune`` overrides the
    ``text_finetune`` profile settings (e.g. ``epochs``).
    """
    from shopintent.models.text.classifiers import (
        EncoderLogisticRegression,
        MajorityClassifier,
        TfidfLogisticRegression,
    )
    from shopintent.models.understanding.entities import Gazetteer

    models: dict = {}
    train, val = split.train, split.val
    for task, col in (("intent", "intent"), ("category", "category")):
        if train[col].isna().any() or train[col].nunique() < 2:
            continue
        for name, make in (("majority", MajorityClassifier), ("tfidf_lr", TfidfLogisticRegression),
                           ("minilm_lr", lambda: EncoderLogisticRegression(encoder=encoder, seed=seed))):
            start = time.perf_counter()
            models[f"{task}/{name}"] = make().fit(train["text"], train[col], val["text"], val[col])
            log(f"{task}/{name}: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    network = qi.fit_query_network(encoder.backbone, encoder.tokenizer, split, profile, seed, **finetune)
    log(f"fine-tuned network {sorted(network.heads)}: {time.perf_counter() - start:.1f} s, "
        f"best epoch {network.info['best_epoch']}")
    views = qi.finetuned_views(network)
    for task in ("intent", "category"):
        if task in views:
            models[f"{task}/minilm_finetuned"] = views[task]
    if "tagger" in views:
        models["entities/gazetteer"] = Gazetteer.from_catalog(items)
        models["entities/gazetteer_train"] = Gazetteer.from_catalog(items).add_spans(train["text"], train["entities"])
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


def category_table(y_leaf, predictions: dict[str, tuple], n_boot: int = 1000, seed: int = DEFAULT_SEED) -> pd.DataFrame:
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
        rows[name] = {"top1_accuracy": ci.point, "top1_accuracy_low": ci.low, "top1_accuracy_high": ci.high,
                      "top3_accuracy": table.loc[name, "top3_accuracy"],
                      "top_level_accuracy": float((tops[p_top.argmax(axis=1)] == top).mean()),
                      "macro_f1": table.loc[name, "macro_f1"]}
    return pd.DataFrame(rows).T.rename_axis("model")


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
    return {"tfidf_lr": lambda: TfidfLogisticRegression(c=c_tfidf, seed=seed),
            "minilm_lr": lambda: EncoderLogisticRegression(encoder=encoder, c=c_minilm, seed=seed)}


def synthetic_models(profile: str, seed: int = DEFAULT_SEED, mode: str = "auto", encoder=None,
                     log: Callable[[str], None] = print) -> tuple[dict, str]:
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
        raise FileNotFoundError(f"no synthetic query models in {folder}: run notebook 03 on the synthetic shop "
                                f"(profile {profile}) first, or set SYNTHETIC_MODELS = 'train'")
    if registry.is_prepared("synthetic", profile):
        shop = registry.load("synthetic", profile)
    else:
        from shopintent.data.synthetic import generate

        shop = generate(profile, seed=seed)
    if encoder is None:
        from shopintent.features.text.encoders import load_minilm

        encoder = load_minilm()
    split = qi.split_queries(qi.query_table(shop), profile, seed=seed)
    models, network = fit_query_models(split, shop.items, encoder, profile, seed, log=log)
    qi.save_query_models(models, folder, network=network)
    return models, f"trained now on the synthetic shop ({profile}) and saved to {folder}"


def metrics_dict(intent_table: pd.DataFrame | None = None, category_table: pd.DataFrame | None = None,
                 entity_table: pd.DataFrame | None = None, extra: dict | None = None) -> dict:
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
            for col in ("top1_accuracy", "top1_accuracy_low", "top1_accuracy_high", "top3_accuracy",
                        "top_level_accuracy", "macro_f1"):
                if col in row:
                    m[f"query_category/{model}/{col}"] = float(row[col])
    if entity_table is None:
        m.update({"entities/gazetteer/f1": None, "entities/tagger/f1": None, "entities/tagger/f1_typo": None})
    else:
        for _, row in entity_table.iterrows():
            base = f"entities/{row['model']}"
            if row["subset"] == "all":
                m.update({f"{base}/f1": row["f1"], f"{base}/precision": row["precision"], f"{base}/recall": row["recall"]})
            else:
                m[f"{base}/f1_{row['subset']}"] = row["f1"]
    m.update(extra or {})
    return m


__all__ = ["CLASSIFIERS", "CURVE_SIZES", "TAGGERS", "as_proba", "category_table", "examples_by_label", "labels_of", "curve_models", "fit_query_models", "metrics_dict",
           "paired_difference", "predict_all", "synthetic_models", "task_predictions"]
