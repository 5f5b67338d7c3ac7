"""Token attributions with shap's Text masker on a tiny TF-IDF + logistic regression model."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from shopintent.explain import text

TRAIN = [
    ("cheap phone deal", "buy"),
    ("phone discount today", "buy"),
    ("cheap laptop deal", "buy"),
    ("laptop discount", "buy"),
    ("phone vs tablet", "compare"),
    ("best laptop reviews", "compare"),
    ("tablet reviews", "compare"),
    ("compare phone laptop", "compare"),
] * 3


@pytest.fixture(scope="module")
def model():
    texts, labels = zip(*TRAIN, strict=True)
    return make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0)).fit(
        list(texts), list(labels)
    )


def test_token_values_add_up_per_class(model):
    texts = ["cheap tablet deal", "best phone reviews today"]
    e = text.explain_texts(model.predict_proba, texts, model.classes_, max_evals=100)
    assert e.shape[0] == 2 and e[0].values.shape == (3, 2) and e[1].values.shape == (4, 2)
    assert [str(t).strip() for t in e[1].data] == ["best", "phone", "reviews", "today"]
    f = text.log_odds(model.predict_proba)
    for i, t in enumerate(texts):
        np.testing.assert_allclose(e[i].values.sum(axis=0) + e[i].base_values, f([t])[0], atol=1e-6)
    np.testing.assert_array_equal(text.predicted(e), [0, 1])  # buy, compare
    # the words the model learnt: "deal" raises buy; "reviews" raises compare
    assert e[0, 2, 0].values > 0 and e[1, 2, 1].values > 0


def test_table_html_and_faithfulness(model):
    texts = text.explainable(["cheap phone deal", "reviews", "tablet reviews best", "  "])
    assert texts == ["cheap phone deal", "tablet reviews best"]
    e = text.explain_texts(model.predict_proba, texts, model.classes_, max_evals=100)
    table = text.token_table(e, list(model.classes_))
    assert list(table["predicted"]) == ["buy", "compare"] and "deal (+" in table.loc[0, "raised_by"]
    html = text.html(e)
    assert "deal" in html and "reviews" in html and html.count("<div") > 2
    assert "np.float64" not in html and "rgb(255.0, 0.0," in html  # colours a browser can read
    faithful = text.faithfulness_table(model.predict_proba, texts, e, ks=(1,), n_random=10, seed=0)
    assert len(faithful) == 2 and (faithful["topk_drop"] >= faithful["random_drop"]).all()
    with pytest.raises(ValueError, match="fewer than two"):
        text.explain_texts(model.predict_proba, ["deal"], model.classes_)


def test_masker_deletes_words():
    m = text.masker()
    masked = str(m(np.array([True, False, True]), "cheap phone deal")[0][0])
    assert "phone" not in masked and "cheap" in masked and "deal" in masked
