"""The text classifier family: each beats the majority class on a tiny task, C is chosen on
validation, and a saved model (arrays / .keras, no pickle) predicts exactly as before."""

import json
import zipfile

import numpy as np
import pytest
from support.tiny_bert import tiny_bert

from shopintent.models.text.classifiers import (
    EncoderLogisticRegression,
    FineTunedClassifier,
    MajorityClassifier,
    TextClassifier,
    TfidfLogisticRegression,
)
from shopintent.models.text.finetune import (
    FineTunedNetwork,
    Head,
    _batches,
    _pad_rows,
    finetune_config,
)

# A small intent-like task: the class is carried by one cue word among shared product words.
CUES = {
    "deal": ["cheap", "sale", "deal"],
    "compare": ["vs", "compare", "best"],
    "product": ["nexora", "voltix", "kelvo"],
}
PRODUCTS = [
    "red drill",
    "blue lamp",
    "oak table",
    "steel hammer",
    "green chair",
    "black saw",
    "paint brush",
]


def make_texts(n, seed):
    r = np.random.default_rng(seed)
    labels = r.choice(sorted(CUES), n, p=[0.5, 0.3, 0.2])
    texts = [
        f"{r.choice(CUES[y])} {r.choice(PRODUCTS)}"
        if r.random() < 0.5
        else f"{r.choice(PRODUCTS)} {r.choice(CUES[y])}"
        for y in labels
    ]
    return texts, labels


TRAIN, VAL, TEST = make_texts(120, 0), make_texts(40, 1), make_texts(60, 2)


def macro_f1(model):
    from sklearn.metrics import f1_score

    return f1_score(TEST[1], model.predict(TEST[0]), average="macro")


def test_majority_predicts_the_most_frequent_label_with_its_share():
    m = MajorityClassifier().fit(*TRAIN)
    assert set(m.predict(TEST[0])) == {"compare"}  # half of the training labels
    counts = {c: (TRAIN[1] == c).mean() for c in m.classes_}
    np.testing.assert_allclose(m.predict_proba(["x"])[0], [counts[c] for c in m.classes_])


def test_tfidf_lr_beats_the_majority_and_chooses_c_on_validation():
    m = TfidfLogisticRegression().fit(*TRAIN, *VAL)
    assert macro_f1(m) > 0.9 > macro_f1(MajorityClassifier().fit(*TRAIN)) + 0.5
    assert set(m.validation) == {1.0, 3.0, 10.0, 30.0}
    assert m.validation[m.c_] == max(m.validation.values())
    p = m.predict_proba(TEST[0])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    terms = m.feature_names()
    assert "deal" in terms and " sa" in terms  # word and character n-grams


def test_tfidf_lr_matches_scikit_learn_probabilities():
    from sklearn.linear_model import LogisticRegression

    m = TfidfLogisticRegression(c=3.0).fit(*TRAIN)
    reference = LogisticRegression(C=3.0, max_iter=1000, random_state=42).fit(
        m.features(TRAIN[0]), TRAIN[1]
    )
    np.testing.assert_allclose(
        m.predict_proba(TEST[0]), reference.predict_proba(m.features(TEST[0])), atol=1e-10
    )


def test_binary_labels_work_as_two_softmax_rows():
    from sklearn.linear_model import LogisticRegression

    y = np.where(TRAIN[1] == "deal", "deal", "other")
    m = TfidfLogisticRegression(c=1.0).fit(TRAIN[0], y)
    reference = LogisticRegression(C=1.0, max_iter=1000, random_state=42).fit(
        m.features(TRAIN[0]), y
    )
    assert m.coef_.shape[0] == 2
    np.testing.assert_allclose(
        m.predict_proba(TEST[0]), reference.predict_proba(m.features(TEST[0])), atol=1e-10
    )


@pytest.mark.parametrize(
    "make", [lambda: MajorityClassifier(), lambda: TfidfLogisticRegression(class_weight="balanced")]
)
def test_save_load_reproduces_predictions_without_pickle(make, tmp_path):
    m = make().fit(*TRAIN, *VAL)
    m.save(tmp_path / "m")
    again = TextClassifier.load(tmp_path / "m")
    assert type(again) is type(m) and list(again.classes_) == list(m.classes_)
    np.testing.assert_array_equal(again.predict_proba(TEST[0]), m.predict_proba(TEST[0]))
    meta = json.loads((tmp_path / "m" / "classifier.json").read_text())
    assert meta["kind"] == m.kind
    for npz in (tmp_path / "m").glob("*.npz"):
        with np.load(npz, allow_pickle=False) as z:  # plain numeric arrays only
            assert all(z[k].dtype.kind == "f" for k in z.files)


def test_load_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved classifier"):
        TextClassifier.load(tmp_path)
    (tmp_path / "classifier.json").write_text(json.dumps({"kind": "pickled"}))
    with pytest.raises(ValueError, match="unknown classifier kind 'pickled'"):
        TextClassifier.load(tmp_path)
    MajorityClassifier().fit(*TRAIN).save(tmp_path / "majority")
    assert type(MajorityClassifier.load(tmp_path / "majority")) is MajorityClassifier
    with pytest.raises(ValueError, match="a majority classifier, not a TfidfLogisticRegression"):
        TfidfLogisticRegression.load(tmp_path / "majority")


@pytest.fixture(scope="module")
def tiny():
    return tiny_bert()


def test_encoder_lr_on_frozen_vectors(tiny, tmp_path):
    from shopintent.features.text.encoders import KerasHubBertEncoder

    backbone, tokenizer = tiny
    encoder = KerasHubBertEncoder(
        "tiny", backbone, tokenizer, max_length=16, encoder_id="tiny@test", jit_compile=False
    )
    m = EncoderLogisticRegression(
        encoder=encoder, encoder_name="tiny", cache=tmp_path / "cache.sqlite"
    ).fit(*TRAIN, *VAL)
    assert m.name == "tiny_lr" and macro_f1(m) > macro_f1(MajorityClassifier().fit(*TRAIN)) + 0.2
    m.save(tmp_path / "m")
    again = TextClassifier.load(tmp_path / "m", encoder=encoder)
    np.testing.assert_allclose(again.predict_proba(TEST[0]), m.predict_proba(TEST[0]), atol=1e-6)
    assert (
        json.loads((tmp_path / "m" / "classifier.json").read_text())["encoder_id"]
        == "tiny@test+len16"
    )


@pytest.fixture(scope="module")
def finetuned(tiny):
    backbone, tokenizer = tiny
    before = backbone.get_weights()
    cfg = finetune_config(
        "smoke", epochs=8, batch_size=16, learning_rate=1e-2, warmup_frac=0.0, trainable_layers=1
    )
    model = FineTunedClassifier.fit(
        backbone, tokenizer, *TRAIN, *VAL, config=cfg, class_weight="balanced"
    )
    return model, before


def test_finetuned_classifier_learns_and_keeps_the_base_untouched(finetuned, tiny):
    model, before = finetuned
    assert macro_f1(model) > 0.8
    h = model.network.history
    info = model.network.info
    assert h["epoch"].tolist() == list(range(9))
    # the head starts as a logistic regression on the frozen vectors (epoch 0 scores it), and
    # the epoch kept is the first with the best validation macro-F1, epoch 0 included
    assert info["probes"]["label"]["init"] == "probe"
    assert h["val_macro_f1"].iat[0] == pytest.approx(info["probes"]["label"]["val_macro_f1"])
    assert info["best_epoch"] == int(h["val_macro_f1"].idxmax())
    assert model.network.info["trainable"] == ["transformer_layer_1"]
    for a, b in zip(before, tiny[0].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    import keras_hub

    tuned = next(
        layer
        for layer in model.network.network.layers
        if isinstance(layer, keras_hub.models.BertBackbone)
    )
    for name in ("token_embedding", "transformer_layer_0"):
        for a, b in zip(
            tiny[0].get_layer(name).get_weights(), tuned.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(a, b)


def test_a_harmful_finetune_keeps_the_frozen_logistic_regression(tiny, tmp_path):
    """Started from a frozen-encoder LR (``init``), a fine-tune that only hurts (a learning rate
    of 3) is not kept: validation prefers epoch 0, and the network predicts what the LR does."""
    from shopintent.features.text.encoders import KerasHubBertEncoder

    backbone, tokenizer = tiny
    encoder = KerasHubBertEncoder("tiny", backbone, tokenizer, max_length=16, jit_compile=False)
    lr = EncoderLogisticRegression(encoder=encoder, encoder_name="tiny", cache=False).fit(
        *TRAIN, *VAL
    )
    cfg = finetune_config("smoke", max_length=16, epochs=1, learning_rate=3.0, warmup_frac=0.0)
    model = FineTunedClassifier.fit(backbone, tokenizer, *TRAIN, *VAL, config=cfg, init=lr)
    h = model.network.history
    assert (
        model.network.info["best_epoch"] == 0
        and h["val_macro_f1"].iat[1] < h["val_macro_f1"].iat[0]
    )
    np.testing.assert_allclose(model.predict_proba(TEST[0]), lr.predict_proba(TEST[0]), atol=1e-4)
    with pytest.raises(ValueError, match="classes"):
        FineTunedClassifier.fit(
            backbone,
            tokenizer,
            TRAIN[0],
            np.where(TRAIN[1] == "deal", "deal", "x"),
            config=cfg,
            init=lr,
        )


def test_finetuned_save_load_round_trip(finetuned, tmp_path):
    model, _ = finetuned
    model.save(tmp_path / "ft")
    assert {p.name for p in (tmp_path / "ft").iterdir()} == {
        "network.keras",
        "vocab.txt",
        "network.json",
        "classifier.json",
    }
    again = TextClassifier.load(tmp_path / "ft")
    assert isinstance(again, FineTunedClassifier) and list(again.classes_) == list(model.classes_)
    np.testing.assert_allclose(
        again.predict_proba(TEST[0]), model.predict_proba(TEST[0]), atol=1e-6
    )


def test_predictions_do_not_depend_on_batch_company(finetuned):
    model, _ = finetuned
    texts = list(TEST[0][:7]) + ["red drill " * 6]  # a longer text lands in another length bucket
    alone = np.vstack([model.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(model.predict_proba(texts), alone, atol=1e-5)


def test_length_buckets_and_filler_rows():
    lengths = np.array([3, 7, 9, 12, 20, 5])
    batches = _batches(lengths, 16, batch=2, r=None)
    assert [(w, rows.tolist()) for w, rows in batches] == [
        (8, [0, 1]),
        (8, [5]),
        (16, [2, 3]),
        (16, [4]),
    ]
    hidden = np.arange(6, dtype=np.float32).reshape(
        1, 3, 2
    )  # one row's cached states: 3 tokens of 2 dimensions
    filled = _pad_rows(
        hidden, 3, "hidden"
    )  # filler rows: [CLS] and the first piece's states, then zeros
    assert filled.tolist() == [
        [[0, 1], [2, 3], [4, 5]],
        [[0, 1], [2, 3], [0, 0]],
        [[0, 1], [2, 3], [0, 0]],
    ]
    assert _pad_rows(np.array([1]), 3, "y_intent").tolist() == [1, -1, -1]
    assert _pad_rows(np.array([[True, True, False]]), 2, "padding_mask").tolist() == [
        [True, True, False],
        [True, True, False],
    ]


def test_head_checks():
    with pytest.raises(ValueError, match="kind must be one of"):
        Head("x", "pixel", ("a", "b"))
    with pytest.raises(ValueError, match="at least 2 classes"):
        Head("x", "sequence", ("a",))


def test_a_saved_network_file_is_a_keras_zip(finetuned, tmp_path):
    model, _ = finetuned
    model.network.save(tmp_path / "n")
    assert zipfile.is_zipfile(tmp_path / "n" / "network.keras")
    assert FineTunedNetwork.load(tmp_path / "n").heads["label"].classes == tuple(model.classes_)
