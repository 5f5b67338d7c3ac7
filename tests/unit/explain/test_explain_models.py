"""Notebook 10's models: a saved purchase model is reused only when it was fitted on the same
training sessions with the same seed; text models are trained on the labelled texts."""

import numpy as np
import pytest

from shopintent.studies import explainability as models


@pytest.fixture(scope="module")
def split(smoke_shop):
    from shopintent.features import sessions
    from shopintent.models.purchase_intent import base as purchase

    return purchase.split_examples(sessions.build_examples(smoke_shop.events, smoke_shop.items))


def test_saved_purchase_model_is_reused_only_for_the_same_training_data(
    split, smoke_shop, tmp_path
):
    from shopintent.models.purchase_intent import base as purchase

    saved = purchase.HandmadeLightGBM(seed=7, num_boost_round=20).fit(split.train, split.val)
    saved.save(tmp_path / "lightgbm")
    got, _, note = models.purchase_models(
        split,
        smoke_shop,
        "synthetic",
        "smoke",
        seed=7,
        names=("lightgbm",),
        folder=tmp_path,
        log=lambda *_: None,
    )
    assert note == (
        f"lightgbm (notebook 05's): reused from {tmp_path / 'lightgbm'} (fitted on the same data)"
    )
    np.testing.assert_allclose(got["lightgbm"].raw_scores(split.test), saved.raw_scores(split.test))
    got, _, note = models.purchase_models(
        split,
        smoke_shop,
        "synthetic",
        "smoke",
        seed=8,
        names=("lightgbm",),
        folder=tmp_path,
        log=lambda *_: None,
    )  # another seed
    assert "fitted on other data: fitted here (seed 8)" in note and got["lightgbm"].seed == 8
    other = purchase.split_examples(
        split.train, test_frac=0.3, val_frac=0.1
    )  # other training sessions
    weight = purchase.balanced_pos_weight
    assert weight(other.train.labels) != weight(split.train.labels)
    _, _, note = models.purchase_models(
        other,
        smoke_shop,
        "synthetic",
        "smoke",
        seed=7,
        names=("lightgbm",),
        folder=tmp_path,
        log=lambda *_: None,
    )
    assert "fitted on other data" in note
    _, _, note = models.purchase_models(
        split,
        smoke_shop,
        "synthetic",
        "smoke",
        seed=7,
        names=("lightgbm",),
        folder=tmp_path / "missing",
        log=lambda *_: None,
    )
    assert "none saved at" in note


def test_text_models_on_the_smoke_shop(smoke_shop, tmp_path):
    found, note = models.text_models(
        smoke_shop,
        "synthetic",
        "smoke",
        seed=0,
        folders={"query_intent": tmp_path / "none", "review_sentiment": tmp_path / "none"},
    )
    assert set(found) == {"query_intent", "review_sentiment"}
    intent = found["query_intent"]
    assert sorted(intent.classes) == sorted(smoke_shop.queries["intent"].unique())
    p = intent.predict_proba(intent.texts[:5])
    assert p.shape == (5, 4) and np.allclose(p.sum(axis=1), 1)
    # held-out texts, first ones cycling through the true intents
    labels = smoke_shop.queries.drop_duplicates("text").set_index("text")["intent"]
    assert len({labels[t] for t in intent.texts[:4] if t in labels.index}) >= 3
    assert "fitted here" in note and "accuracy" in note


def test_text_models_load_the_saved_classifier_and_skip_small_tables(smoke_shop, tmp_path):
    from shopintent.models.text.classifiers import MajorityClassifier
    from shopintent.models.understanding import intent, sentiment

    reviews = sentiment.split_reviews(sentiment.review_table(smoke_shop), "smoke", seed=0).train
    saved = MajorityClassifier().fit(reviews["text"], reviews["label"])
    saved.save(tmp_path / "sentiment")  # stands for notebook 04's saved model
    MajorityClassifier().fit(["x"] * 4, intent.INTENTS).save(tmp_path / "intent")
    folders = {"query_intent": tmp_path / "intent", "review_sentiment": tmp_path / "sentiment"}
    found, note = models.text_models(
        smoke_shop, "synthetic", "smoke", seed=0, min_texts=5000, folders=folders
    )
    assert not found and "72 reviews with a sentiment or rating (at least 5000" in note
    found, note = models.text_models(
        smoke_shop, "synthetic", "smoke", seed=0, min_texts=60, folders=folders
    )
    assert f"reused from {tmp_path / 'sentiment'}" in note
    assert f"reused from {tmp_path / 'intent'}" in note
    p = found["review_sentiment"].predict_proba(["great", "awful"])
    np.testing.assert_allclose(p, np.tile(saved.prior_, (2, 1)))  # the majority model, as saved
