"""Why fine-tuning MiniLM collapsed on small real data, and what the recipe does now: review
sentiment (notebook 04's split and models) fine-tuned under variants of the recipe.

    python benchmarks/bench_finetune_recipe.py [--dataset amazon-reviews] [--profile default]
        [--only old,probe]

Needs the dataset prepared (``shopintent data prepare --dataset amazon-reviews --source
../shared/data/amazon-reviews-2018-all-beauty-5core``). Per variant: test and validation
macro-F1, ROC-AUC of P(negative), per-class F1, the share of each predicted label, the epoch
kept and the validation history, seconds (with the load average: figures taken while other
processes share the CPU are slow). The frozen TF-IDF and MiniLM logistic regressions are
printed first. Test numbers are read here only to diagnose; nothing is chosen on them.

Variants: ``old`` is the recipe before (a random head on the raw mean of the token vectors,
learning rate 5e-4, the epoch with the lowest weighted validation loss, epoch 0 never kept);
``old_*`` change one thing of it (class weights, learning rate and epochs, training sample);
``probe*`` / ``init*`` start the head as a logistic regression on the frozen, normalised
sentence vectors (fitted on the fine-tune's sample, or the notebook's ``minilm_lr`` given as
``init``) and keep the epoch the validation macro-F1 prefers, epoch 0 included.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

OLD = {"probe_first": False, "select_on": "loss", "normalize": False}
VARIANTS = {
    "old": ({**OLD}, {}),
    "old_unweighted": ({**OLD}, {"class_weight": None}),
    "old_lr5e-5_4ep": ({**OLD, "learning_rate": 5e-5, "epochs": 4}, {}),
    "old_all_train": ({**OLD, "max_train": 4_000}, {}),
    "probe": ({}, {}),
    "init": ({}, {"init": True}),
    "init_lr1e-4_3ep": ({"learning_rate": 1e-4, "epochs": 3}, {"init": True}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="amazon-reviews")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--only", default="", help="comma-separated variants (default: all)")
    args = ap.parse_args()

    from shopintent.data import registry
    from shopintent.features.text.encoders import load_minilm
    from shopintent.models.text.classifiers import FineTunedClassifier
    from shopintent.models.text.finetune import finetune_config
    from shopintent.models.understanding import sentiment
    from shopintent.studies import review_sentiment as study

    settings = study.Settings.for_profile(args.profile)
    table = sentiment.review_table(registry.load(args.dataset, args.profile))
    split = sentiment.split_reviews(
        table, args.profile, seed=args.seed, sizes=settings.review_sizes
    )
    print(
        {k: len(v) for k, v in split.parts().items()},
        "train labels",
        split.train["label"].value_counts().to_dict(),
        flush=True,
    )
    minilm = load_minilm(max_length=settings.review_length)
    models = sentiment.fit_sentiment_models(
        split, minilm, args.profile, args.seed, finetuned=False, log=lambda _: None
    )
    test, val = split.test, split.val

    def score(m) -> dict:
        p = m.predict_proba(test["text"].tolist())
        r = sentiment.sentiment_report(test["label"], m.classes_, p)
        rv = sentiment.sentiment_report(
            val["label"], m.classes_, m.predict_proba(val["text"].tolist())
        )
        pred = np.asarray(m.classes_)[p.argmax(axis=1)]
        return {
            "test_macro_f1": round(r["macro_f1"], 4),
            "val_macro_f1": round(rv["macro_f1"], 4),
            "roc_auc_negative": round(r["roc_auc_negative"], 4),
            "f1": {k: round(v, 3) for k, v in r["per_class_f1"].items()},
            "predicted_shares": {
                c: round(float(np.mean(pred == c)), 3) for c in sentiment.SENTIMENTS
            },
        }

    print("test label shares", test["label"].value_counts(normalize=True).round(3).to_dict())
    for name in ("tfidf_lr", "minilm_lr"):
        print(name, json.dumps(score(models[name])), flush=True)
    base = {"max_length": settings.review_length, **sentiment.FINETUNE[args.profile]}
    only = set(filter(None, args.only.split(",")))
    for name, (cfg, fit) in VARIANTS.items():
        if only and name not in only:
            continue
        load = os.getloadavg()[0]
        start = time.perf_counter()
        m = FineTunedClassifier.fit(
            minilm.backbone,
            minilm.tokenizer,
            split.train["text"].tolist(),
            split.train["label"],
            val["text"].tolist(),
            val["label"],
            config=finetune_config(args.profile, **{**base, **cfg}),
            seed=args.seed,
            class_weight=fit.get("class_weight", "balanced"),
            head="sentiment",
            init=models["minilm_lr"] if fit.get("init") else None,
        )
        seconds = time.perf_counter() - start
        info = m.network.info
        out = {
            **score(m),
            "best_epoch": info["best_epoch"],
            "n_train": info["n_train"],
            "probes": info["probes"],
            "history": m.network.history.round(4).to_dict("list"),
            "seconds": round(seconds, 1),
            "load": round(load, 1),
        }
        print(name, json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
