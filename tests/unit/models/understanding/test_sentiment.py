"""Review sentiment: labels from truth or stars, the time split, the scores (against scikit-learn),
negative terms, text-vs-stars disagreements, and models that beat the majority class and reload."""

import numpy as np
import pandas as pd
import pytest
from support.tiny_bert import tiny_bert

from shopintent.models.text.classifiers import (
    FineTunedClassifier,
    MajorityClassifier,
    TfidfLogisticRegression,
)
from shopintent.models.text.finetune import finetune_config
from shopintent.models.understanding import sentiment


def test_sentiment_from_rating():
    assert sentiment.sentiment_from_rating([1, 2, 3, 4, 5]).tolist() == [
        "negative",
        "negative",
        "neutral",
        "positive",
        "positive",
    ]


def test_review_table_prefers_ground_truth(smoke_shop):
    t = sentiment.review_table(smoke_shop)
    assert len(t) == len(smoke_shop.reviews) and (t["label_source"] == "ground truth").all()
    assert (
        t["label"]
        == smoke_shop.reviews.set_index("review_id").loc[t["review_id"], "sentiment"].to_numpy()
    ).all()
    assert set(t["category"]) <= {c.split(".")[0] for c in smoke_shop.items["category"]}
    no_truth = smoke_shop.reviews.assign(sentiment=None)
    shop = type("Shop", (), {"reviews": no_truth, "items": smoke_shop.items.iloc[:0]})()
    t2 = sentiment.review_table(shop)
    assert (t2["label_source"] == "rating").all() and t2["category"].isna().all()
    assert (t2["label"] == sentiment.sentiment_from_rating(t2["rating"])).all()


def test_split_reviews_at_random_with_labels_stratified_or_by_time(smoke_shop):
    t = sentiment.review_table(smoke_shop)
    sp = sentiment.split_reviews(t, "smoke", protocol="temporal-global-cutoff", sizes=(30, 5, 10))
    assert [len(sp.train), len(sp.val), len(sp.test)] == [30, 5, 10]
    assert sp.train["ts"].max() < sp.val["ts"].min() and sp.cutoff <= sp.test["ts"].min()
    s = sp.summary()
    assert np.allclose(s[list(sentiment.SENTIMENTS)].sum(axis=1), 1.0)
    table = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(100)],
            "ts": pd.date_range("2024-01-01", periods=100, tz="UTC"),
            "label": ["negative"] * 10 + ["neutral"] * 20 + ["positive"] * 70,
            "text": "x",
        }
    )
    sp = sentiment.split_reviews(table, "default", protocol="random-stratified", seed=1)
    assert sp.protocol == "random-stratified" and [len(sp.train), len(sp.val), len(sp.test)] == [
        70,
        10,
        20,
    ]
    assert sp.test["label"].value_counts().to_dict() == {
        "positive": 14,
        "neutral": 4,
        "negative": 2,
    }
    assert set(sp.train["review_id"]).isdisjoint(sp.test["review_id"]) and pd.isna(sp.cutoff)
    with pytest.raises(ValueError, match="unknown protocol"):
        sentiment.split_reviews(table, "default", protocol="shuffle")


def test_default_split_keeps_each_text_on_one_side_and_the_random_one_leaks():
    from shopintent.evaluation.leakage import TextSplitLeak, check_text_split
    from shopintent.normalise import normalise_text

    n = 400  # 100 texts, each on four products (as Amazon's 5-core files), copies re-cased
    table = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(n)],
            "ts": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
            "label": [
                ("negative", "neutral", "positive", "positive")[i % 100 % 4] for i in range(n)
            ],
            "text": [f"Text {i % 100}" if i % 2 else f"text  {i % 100} " for i in range(n)],
        }
    )
    sp = sentiment.split_reviews(table, "default", seed=1)
    assert sp.protocol == "text-grouped-stratified" and pd.isna(sp.cutoff)
    test = set(normalise_text(sp.test["text"]))
    assert test.isdisjoint(normalise_text(sp.train["text"]))
    assert test.isdisjoint(normalise_text(sp.val["text"]))
    check_text_split(**{k: p["text"] for k, p in sp.parts().items()})
    assert sp.summary().loc["test", "distinct_texts"] == len(sp.test) / 4
    leaky = sentiment.split_reviews(table, "default", protocol="random-stratified", seed=1)
    with pytest.raises(TextSplitLeak, match="test rows have their text in train"):
        check_text_split(**{k: p["text"] for k, p in leaky.parts().items()})


def test_report_matches_scikit_learn():
    from sklearn.metrics import f1_score, roc_auc_score

    y = np.array(["negative", "positive", "neutral", "positive", "negative", "positive"])
    classes = np.array(["negative", "neutral", "positive"])
    p = np.array(
        [
            [0.7, 0.2, 0.1],
            [0.1, 0.1, 0.8],
            [0.3, 0.4, 0.3],
            [0.5, 0.1, 0.4],
            [0.2, 0.3, 0.5],
            [0.1, 0.2, 0.7],
        ]
    )
    rep = sentiment.sentiment_report(y, classes, p)
    assert rep["macro_f1"] == pytest.approx(f1_score(y, classes[p.argmax(1)], average="macro"))
    assert rep["roc_auc_negative"] == pytest.approx(roc_auc_score(y == "negative", p[:, 0]))
    assert rep["accuracy"] == pytest.approx(4 / 6)
    table = sentiment.comparison_table(y, {"m": (classes, p)}, n_boot=100)
    assert table.loc["m", "macro_f1"] == pytest.approx(rep["macro_f1"])
    assert table.loc["m", "roc_auc_negative_low"] <= table.loc["m", "roc_auc_negative"] <= 1.0
    assert table.loc["m", "f1_neutral"] == pytest.approx(1.0)


def test_negative_terms_find_the_complaint():
    texts = [
        "the battery died fast",
        "battery died after a week",
        "great screen",
        "lovely screen and colour",
        "battery died again",
        "great value",
        "great screen bright",
        "nice colour",
    ] * 2
    labels = [
        "negative",
        "negative",
        "positive",
        "positive",
        "negative",
        "positive",
        "positive",
        "positive",
    ] * 2
    terms = sentiment.negative_terms(
        texts, labels, groups=["electronics"] * 16, top_n=3, min_count=2
    )
    assert terms["group"].eq("electronics").all()
    assert set(terms["term"].head(2)) <= {"battery died", "battery", "died"}
    assert terms["z"].is_monotonic_decreasing and terms["negative_count"].iat[0] == 6


def test_disagreements_pick_text_against_stars():
    test = pd.DataFrame({"rating": [5, 5, 1, 4], "text": ["awful", "great", "love it", "fine"]})
    classes = ["negative", "neutral", "positive"]
    p = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    d = sentiment.disagreements(test, classes, p, n=1)
    assert d["text"].tolist() == ["awful", "love it"] and d["probability"].tolist() == [0.9, 0.8]


# Reviews whose words carry their sentiment, with the imbalance of real reviews.
WORDS = {
    "positive": ["great", "love", "best"],
    "neutral": ["okay", "fine"],
    "negative": ["terrible", "broke"],
}


def reviews(n, seed):
    r = np.random.default_rng(seed)
    y = r.choice(sentiment.SENTIMENTS, n, p=[0.2, 0.15, 0.65])
    return [
        f"{r.choice(WORDS[s])} {r.choice(['drill', 'lamp', 'chair'])} {r.choice(['red', 'blue'])}"
        for s in y
    ], y


TRAIN, VAL, TEST = reviews(150, 0), reviews(40, 1), reviews(80, 2)


def test_models_beat_the_majority_class_and_reload(tmp_path):
    majority = sentiment.sentiment_report(
        TEST[1], *_proba(MajorityClassifier().fit(*TRAIN), TEST[0])
    )
    tfidf = TfidfLogisticRegression(class_weight="balanced").fit(*TRAIN, *VAL)
    rep = sentiment.sentiment_report(TEST[1], *_proba(tfidf, TEST[0]))
    assert rep["macro_f1"] > majority["macro_f1"] + 0.5 and rep["roc_auc_negative"] > 0.95
    backbone, tokenizer = tiny_bert()
    cfg = finetune_config(
        "smoke", epochs=8, batch_size=16, learning_rate=1e-2, warmup_frac=0.0, trainable_layers=1
    )
    ft = FineTunedClassifier.fit(
        backbone, tokenizer, *TRAIN, *VAL, config=cfg, class_weight="balanced"
    )
    rep_ft = sentiment.sentiment_report(TEST[1], *_proba(ft, TEST[0]))
    assert rep_ft["macro_f1"] > majority["macro_f1"] + 0.3 and rep_ft["roc_auc_negative"] > 0.8
    sentiment.save_sentiment_models({"tfidf_lr": tfidf, "minilm_finetuned": ft}, tmp_path)
    again = sentiment.load_sentiment_models(tmp_path)
    assert set(again) == {"tfidf_lr", "minilm_finetuned"}
    for name, m in (("tfidf_lr", tfidf), ("minilm_finetuned", ft)):
        np.testing.assert_allclose(
            again[name].predict_proba(TEST[0]), m.predict_proba(TEST[0]), atol=1e-6
        )
    with pytest.raises(FileNotFoundError, match="run notebook 04 first"):
        sentiment.load_sentiment_models(tmp_path / "none")


def _proba(model, texts):
    return model.classes_, model.predict_proba(texts)


def test_prediction_shares():
    classes = ["negative", "neutral", "positive"]
    p = np.array([[0.6, 0.2, 0.2], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    t = sentiment.prediction_shares(
        ["positive", "positive", "positive", "negative"], {"m": (classes, p)}
    )
    assert (
        t.loc["negative", "m"] == 0.5
        and t.loc["neutral", "truth"] == 0.0
        and t.loc["positive", "truth"] == 0.75
    )
