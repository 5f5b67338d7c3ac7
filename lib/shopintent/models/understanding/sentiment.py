"""Review sentiment: negative, neutral or positive, read from the review's text.

The label is the source's ``sentiment`` where it has one (the synthetic shop), else the star
rating's (1-2 negative, 3 neutral, 4-5 positive); ``label_source`` says which. Real reviews
are mostly positive, so models weigh classes inversely to their frequency and are compared
on macro-F1 (every class counts the same) and on how well P(negative) ranks the negative
reviews (one-vs-rest ROC-AUC), not on accuracy alone. Reviews are split at random with the
labels stratified and each distinct text in one part only, or by time (``split_reviews`` says
why); ``REVIEW_SIZES`` caps each part per profile. The classifiers are
``text_classifier``'s; this module adds the labels, the scores, what negative reviews talk
about (``negative_terms``) and where text and stars disagree (``disagreements``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, artefact_dir
from shopintent.data.splits import TextSplit

SENTIMENTS = ("negative", "neutral", "positive")
#: (train, validation, test) reviews kept per profile, sampled (seeded) from each time period
REVIEW_SIZES = {
    "smoke": (400, 100, 300),
    "default": (4_000, 600, 1_500),
    "full": (100_000, 10_000, 20_000),
}
#: word pieces a review is cut to: the summary and opening carry most of the sentiment
REVIEW_LENGTH = {"smoke": 32, "default": 64, "full": 256}
#: fine-tuning budget per profile: reviews are longer than queries, so fewer of them (default:
#: 2 epochs, to keep make run under 30 minutes; the synthetic shop's reviews are learnt in one)
FINETUNE = {
    "smoke": {"max_train": 200, "epochs": 2},
    "default": {"max_train": 1_500, "epochs": 2},
    "full": {"max_train": 20_000, "epochs": 3},
}


def sentiment_from_rating(rating) -> np.ndarray:
    """negative for 1-2 stars, neutral for 3, positive for 4-5 (as the synthetic shop)."""
    r = np.asarray(rating, dtype=np.float64)
    return np.where(r <= 2, "negative", np.where(r == 3, "neutral", "positive")).astype(object)


def review_table(shop) -> pd.DataFrame:
    """One row per review with text: ``review_id``, ``text``, ``rating``, ``ts``, ``item_id``,
    ``label``, ``label_source`` (``ground truth`` or ``rating``) and the item's ``category``
    (top level; null where the catalogue has none)."""
    r = shop.reviews.copy()
    r = r[r["text"].notna() & r["text"].astype(str).str.strip().ne("")]
    truth = (
        r["sentiment"] if "sentiment" in r.columns else pd.Series(None, index=r.index, dtype=object)
    )
    from_rating = pd.Series(sentiment_from_rating(r["rating"]), index=r.index)
    r["label"] = truth.where(truth.notna(), from_rating).astype(str)
    r["label_source"] = np.where(truth.notna(), "ground truth", "rating")
    category = (
        r["item_id"].map(shop.items.set_index("item_id")["category"]) if len(shop.items) else None
    )
    r["category"] = (
        [c.split(".")[0] if isinstance(c, str) else None for c in category]
        if category is not None
        else None
    )
    cols = ["review_id", "text", "rating", "ts", "item_id", "label", "label_source", "category"]
    return r[cols].sort_values(["ts", "review_id"], kind="stable").reset_index(drop=True)


class ReviewSplit(TextSplit):
    """Train / validation / test reviews with each label's share per part."""

    unit = "reviews"

    def columns(self, part: pd.DataFrame) -> dict:
        shares = part["label"].value_counts(normalize=True)
        return {s: float(shares.get(s, 0.0)) for s in SENTIMENTS}


def split_reviews(
    table: pd.DataFrame,
    profile: str = "default",
    protocol: str = "text-grouped-stratified",
    test_frac: float = 0.2,
    val_frac: float = 0.1,
    seed: int = DEFAULT_SEED,
    sizes: tuple[int, int, int] | None = None,
) -> ReviewSplit:
    """Train / validation / test reviews, then at most ``sizes`` (train, val, test) per part.

    ``text-grouped-stratified`` (the default) draws the parts at random with every label in
    about the same share and every normalised text in one part only (``data.splits.
    text_grouped_split``): Amazon's 5-core files attach one review's text to several sibling
    products, and a random split then scores models on texts they trained on (All_Beauty:
    4,219 reviews, 1,370 distinct texts). ``random-stratified`` is that plain random split
    (labels stratified, texts not grouped), kept only to show how much it inflates the scores;
    ``temporal-global-cutoff`` puts the latest reviews in test. Sentiment is read from a
    review's own text, so a random split leaks no future behaviour; but real review labels
    drift with time (in Amazon's All_Beauty sample three quarters of the negative reviews are
    from 2018), and a time split can leave a handful of negative reviews to learn from.
    """
    from sklearn.model_selection import train_test_split

    from shopintent.data.splits import temporal_split, text_grouped_split

    if protocol == "temporal-global-cutoff":
        sp = temporal_split(table, test_frac=test_frac, val_frac=val_frac)
        parts, cutoff = (sp.train, sp.val, sp.test), sp.cutoff
    elif protocol == "text-grouped-stratified":
        sp = text_grouped_split(table, test_frac, val_frac, seed, col_label="label")
        parts, cutoff = (sp.train, sp.val, sp.test), pd.NaT
    elif protocol == "random-stratified":
        counts = table["label"].value_counts()
        strat = table["label"] if counts.min() >= 3 else None
        rest, test = train_test_split(table, test_size=test_frac, random_state=seed, stratify=strat)
        strat = rest["label"] if strat is not None else None
        train, val = train_test_split(
            rest, test_size=val_frac / (1 - test_frac), random_state=seed, stratify=strat
        )
        parts, cutoff = (train, val, test), pd.NaT
    else:
        raise ValueError(
            f"unknown protocol {protocol!r}: text-grouped-stratified, random-stratified or "
            "temporal-global-cutoff"
        )
    if pd.isna(cutoff):
        parts = tuple(p.sort_values(["ts", "review_id"], kind="stable") for p in parts)
    return ReviewSplit.capped(
        parts, sizes or REVIEW_SIZES[profile], seed, "reviews", cutoff, protocol
    )


def sentiment_report(y, classes, proba: np.ndarray, n_bins: int = 10) -> dict:
    """``macro_f1``, ``accuracy``, ``per_class_f1``, ``roc_auc_negative`` (P(negative) against
    "is negative"), ``log_loss`` and top-label ``ece``."""
    from sklearn.metrics import log_loss, roc_auc_score

    from shopintent.evaluation import expected_calibration_error, multiclass_report

    y = np.asarray(y).astype(str)
    classes = np.asarray(classes).astype(str)
    pred = classes[proba.argmax(axis=1)]
    report = multiclass_report(y, pred, labels=list(SENTIMENTS))
    neg = y == "negative"
    p_neg = proba[:, list(classes).index("negative")] if "negative" in classes else np.zeros(len(y))
    index = {c: i for i, c in enumerate(classes)}
    known = np.array([c in index for c in y])
    return {
        "macro_f1": report["macro_f1"],
        "accuracy": report["accuracy"],
        "per_class_f1": report["per_class_f1"],
        "roc_auc_negative": float(roc_auc_score(neg, p_neg))
        if 0 < neg.sum() < len(y)
        else float("nan"),
        "log_loss": float(log_loss(y[known], np.clip(proba[known], 1e-7, 1), labels=list(classes)))
        if known.any()
        else float("nan"),
        "ece": expected_calibration_error(np.array([index.get(c, -1) for c in y]), proba, n_bins),
    }


def comparison_table(
    y, predictions: dict[str, tuple], n_boot: int = 1000, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """One row per model: macro-F1 with its 95% bootstrap interval over reviews, ROC-AUC of
    P(negative) with its interval, accuracy, per-class F1, log loss and ECE."""
    from shopintent.evaluation.classification import macro_f1_ci, roc_auc_ci

    y = np.asarray(y).astype(str)
    neg = (y == "negative").astype(int)
    rows = []
    for name, (classes, proba) in predictions.items():
        classes = np.asarray(classes).astype(str)
        rep = sentiment_report(y, classes, proba)
        pred = classes[proba.argmax(axis=1)]
        f1 = macro_f1_ci(y, pred, SENTIMENTS, n_boot=n_boot, seed=seed)
        row = {
            "model": name,
            "macro_f1": f1.point,
            "macro_f1_low": f1.low,
            "macro_f1_high": f1.high,
        }
        p_neg = (
            proba[:, list(classes).index("negative")] if "negative" in classes else np.zeros(len(y))
        )
        if 0 < neg.sum() < len(y):
            auc = roc_auc_ci(neg, p_neg, n_boot=n_boot, seed=seed)
            row.update(
                roc_auc_negative=auc.point,
                roc_auc_negative_low=auc.low,
                roc_auc_negative_high=auc.high,
            )
        row.update(
            accuracy=rep["accuracy"],
            log_loss=rep["log_loss"],
            ece=rep["ece"],
            **{f"f1_{c}": rep["per_class_f1"][c] for c in SENTIMENTS},
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def prediction_shares(y, predictions: dict[str, tuple]) -> pd.DataFrame:
    """Share of each label in the truth and in each model's decisions (rows: labels): a model
    that ranks well (high ROC-AUC) but over-predicts the rare classes shows it here."""
    out = {"truth": pd.Series(np.asarray(y).astype(str)).value_counts(normalize=True)}
    for name, (classes, proba) in predictions.items():
        pred = np.asarray(classes).astype(str)[proba.argmax(axis=1)]
        out[name] = pd.Series(pred).value_counts(normalize=True)
    return pd.DataFrame(out).reindex(list(SENTIMENTS)).fillna(0.0)


def negative_terms(
    texts, labels, groups=None, top_n: int = 8, min_count: int = 3, prior: float = 0.01
) -> pd.DataFrame:
    """Terms (words and two-word phrases, English stop words out) most associated with negative
    reviews, per group (e.g. category): the z-scored log-odds ratio of a term in negative vs the
    other reviews with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008), which
    keeps rare terms from topping the list by chance. Rows: group, term, z, negative/other
    counts."""
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels).astype(str)
    groups = (
        np.full(len(labels), "all", dtype=object)
        if groups is None
        else pd.Series(groups, dtype=object).fillna("all").to_numpy()
    )
    texts = [str(t) for t in texts]
    rows = []
    for g in sorted(set(groups)):
        m = groups == g
        if (labels[m] == "negative").sum() < 2 or (labels[m] != "negative").sum() < 2:
            continue
        vec = CountVectorizer(
            ngram_range=(1, 2),
            stop_words="english",
            min_df=min_count,
            token_pattern=r"(?u)\b[a-z][a-z]+\b",
        )
        try:
            x = vec.fit_transform([t for t, k in zip(texts, m, strict=True) if k])
        except ValueError:  # no term is frequent enough
            continue
        neg = labels[m] == "negative"
        a = np.asarray(x[neg].sum(axis=0)).ravel()
        b = np.asarray(x[~neg].sum(axis=0)).ravel()
        alpha = prior * (a + b) + 1e-3
        a0, b0 = alpha.sum(), alpha.sum()
        delta = np.log((a + alpha) / (a.sum() + a0 - a - alpha)) - np.log(
            (b + alpha) / (b.sum() + b0 - b - alpha)
        )
        z = delta / np.sqrt(1 / (a + alpha) + 1 / (b + alpha))
        for j in np.argsort(-z)[:top_n]:
            rows.append(
                {
                    "group": g,
                    "term": vec.get_feature_names_out()[j],
                    "z": float(z[j]),
                    "negative_count": int(a[j]),
                    "other_count": int(b[j]),
                }
            )
    return pd.DataFrame(rows, columns=["group", "term", "z", "negative_count", "other_count"])


def disagreements(test: pd.DataFrame, classes, proba: np.ndarray, n: int = 8) -> pd.DataFrame:
    """Reviews whose text reads one way and whose stars say the other: the highest P(negative)
    among 4-5 star reviews and the highest P(positive) among 1-2 star reviews."""
    classes = list(np.asarray(classes).astype(str))
    out = []
    for stars, cls, what in (
        ((4, 5), "negative", "text negative, stars high"),
        ((1, 2), "positive", "text positive, stars low"),
    ):
        if cls not in classes:
            continue
        m = np.flatnonzero(test["rating"].isin(stars).to_numpy())
        p = proba[m, classes.index(cls)]
        for i in m[np.argsort(-p)][:n]:
            out.append(
                {
                    "kind": what,
                    "rating": int(test["rating"].iat[i]),
                    "probability": float(proba[i, classes.index(cls)]),
                    "text": str(test["text"].iat[i])[:300],
                }
            )
    return pd.DataFrame(out, columns=["kind", "rating", "probability", "text"])


def fit_sentiment_models(
    split: ReviewSplit,
    encoder,
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    log=print,
    finetuned: bool = True,
    **finetune,
) -> dict:
    """``majority``, ``tfidf_lr``, ``minilm_lr`` and (with ``finetuned``) ``minilm_finetuned``,
    all with balanced class weights, C and the fine-tuning epoch chosen on validation.
    ``encoder`` is the frozen MiniLM; reviews are cut to ``REVIEW_LENGTH[profile]`` word pieces
    for fine-tuning; ``finetune`` overrides ``FINETUNE[profile]`` (e.g. ``epochs``)."""
    import time

    from shopintent.models.text.classifiers import (
        EncoderLogisticRegression,
        FineTunedClassifier,
        MajorityClassifier,
        TfidfLogisticRegression,
    )
    from shopintent.models.text.finetune import finetune_config

    tr, va = split.train, split.val
    models = {}
    for name, make in (
        ("majority", MajorityClassifier),
        ("tfidf_lr", lambda: TfidfLogisticRegression(class_weight="balanced", seed=seed)),
        (
            "minilm_lr",
            lambda: EncoderLogisticRegression(encoder=encoder, class_weight="balanced", seed=seed),
        ),
    ):
        start = time.perf_counter()
        models[name] = make().fit(tr["text"], tr["label"], va["text"], va["label"])
        log(f"{name}: {time.perf_counter() - start:.1f} s")
    if not finetuned:
        return models
    cfg = finetune_config(
        profile, **{"max_length": REVIEW_LENGTH[profile], **FINETUNE[profile], **finetune}
    )
    start = time.perf_counter()
    models["minilm_finetuned"] = FineTunedClassifier.fit(
        encoder.backbone,
        encoder.tokenizer,
        tr["text"].tolist(),
        tr["label"],
        va["text"].tolist(),
        va["label"],
        config=cfg,
        seed=seed,
        class_weight="balanced",
        head="sentiment",
        init=models["minilm_lr"],
    )
    info = models["minilm_finetuned"].network.info
    log(
        f"minilm_finetuned: {time.perf_counter() - start:.1f} s on {info['n_train']} reviews, "
        f"best epoch {info['best_epoch']}"
    )
    return models


def sentiment_models_dir(dataset: str, profile: str) -> Path:
    """``models/<dataset>-<profile>/sentiment/``: one folder per model (``TextClassifier.load``)."""
    return artefact_dir(dataset, profile, "sentiment")


def save_sentiment_models(models: dict, folder: str | Path) -> dict[str, Path]:
    return {name: m.save(Path(folder) / name) for name, m in models.items()}


def load_sentiment_models(folder: str | Path, encoder=None) -> dict:
    """Every model saved under ``folder`` by ``save_sentiment_models``."""
    from shopintent.models.text.classifiers import TextClassifier

    folder = Path(folder)
    found = sorted(p.parent for p in folder.glob("*/classifier.json"))
    if not found:
        raise FileNotFoundError(f"no saved sentiment models in {folder}: run notebook 04 first")
    return {p.name: TextClassifier.load(p, encoder=encoder) for p in found}


__all__ = [
    "FINETUNE",
    "REVIEW_LENGTH",
    "fit_sentiment_models",
    "REVIEW_SIZES",
    "ReviewSplit",
    "SENTIMENTS",
    "comparison_table",
    "disagreements",
    "load_sentiment_models",
    "negative_terms",
    "prediction_shares",
    "review_table",
    "save_sentiment_models",
    "sentiment_from_rating",
    "sentiment_models_dir",
    "sentiment_report",
    "split_reviews",
]
