"""Query understanding: the examples and their split, the scores, and the joint fine-tuned network
(intent, category and entity heads) on a tiny BERT — spans are exact substrings, save/load is
exact."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.text.classifiers import MajorityClassifier, TfidfLogisticRegression
from shopintent.models.understanding import intent


@pytest.fixture(scope="module")
def table(smoke_shop):
    return intent.query_table(smoke_shop)


def test_query_table_joins_time_intent_and_target_category(table, smoke_shop):
    assert len(table) == len(smoke_shop.queries) and table["ts"].is_monotonic_increasing
    row = table.iloc[0]
    truth = smoke_shop.extras["session_truth"].set_index("session_id")
    item = truth.loc[row["session_id"], "target_item_id"]
    assert row["category"] == smoke_shop.items.set_index("item_id").loc[item, "category"]
    assert row["top_category"] == row["category"].split(".")[0]
    assert set(table["intent"]) == set(intent.INTENTS) and table["category"].notna().all()
    first = smoke_shop.events[smoke_shop.events["query_id"] == row["query_id"]]["ts"].min()
    assert row["ts"] == first


def test_split_is_by_time_with_new_texts_and_capped(table):
    from shopintent.evaluation.leakage import check_text_split

    sp = intent.split_queries(table, "smoke", sizes=(200, 50, 100))
    assert [len(sp.train), len(sp.val), len(sp.test)] == [200, 50, 100]
    assert sp.protocol == "temporal-global-cutoff-new-texts" and sp.dropped["test"] > 0
    full = intent.split_queries(table, "smoke", sizes=(10**6,) * 3)
    check_text_split(**{k: p["text"] for k, p in full.parts().items()})
    assert (
        sp.train["ts"].max() < sp.val["ts"].min()
        and sp.val["ts"].max() < sp.cutoff <= sp.test["ts"].min()
    )
    again = intent.split_queries(table, "smoke", sizes=(200, 50, 100))
    assert again.train["query_id"].tolist() == sp.train["query_id"].tolist()  # seeded
    assert sp.summary().loc["test", "queries"] == 100


def test_top_k_roll_up_and_tables():
    classes = np.array(["a.x", "a.y", "b.z"])
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.4, 0.35, 0.25]])
    y = np.array(["a.y", "b.z", "b.z"])
    assert intent.top_k_accuracy(y, classes, p, 1) == pytest.approx(1 / 3)
    assert intent.top_k_accuracy(y, classes, p, 2) == pytest.approx(2 / 3)
    tops, q = intent.roll_up(p, classes, lambda c: c.split(".")[0])
    assert tops.tolist() == ["a", "b"] and np.allclose(q, [[0.8, 0.2], [0.3, 0.7], [0.75, 0.25]])
    t = intent.classification_table(y, {"m": (classes, p)}, labels=classes, n_boot=50, top_k=2)
    assert t.loc["m", "accuracy"] == pytest.approx(1 / 3) and t.loc[
        "m", "top2_accuracy"
    ] == pytest.approx(2 / 3)
    # macro-F1 over the three labels: a.x 0 (one false positive), a.y 0, b.z 2/3
    assert t.loc["m", "macro_f1"] == pytest.approx((2 / 3) / 3)
    assert t.loc["m", "macro_f1_low"] <= t.loc["m", "macro_f1"] <= t.loc["m", "macro_f1_high"]
    c = intent.confusion(y, classes[p.argmax(1)], classes)
    assert c.loc["b.z", "b.z"] == 1 and c.loc["b.z", "a.x"] == 1 and c.to_numpy().sum() == 3
    f1 = intent.per_class_f1(y, {"m": (classes, p)}, classes)
    assert f1.loc["b.z", "m"] == pytest.approx(2 / 3)


def test_skeleton_and_its_oracle():
    spans = [{"start": 0, "end": 6, "label": "brand"}, {"start": 7, "end": 11, "label": "model"}]
    assert intent.skeleton("Nexora Q480 under 500", spans) == "<brand> <model> under <n>"
    train = pd.DataFrame(
        {
            "text": ["nexora q480", "voltix v2", "kelvo s3", "cheap lamp", "cheap saw"],
            "entities": [spans, spans, spans, [(6, 10, "category")], [(6, 9, "category")]],
            "intent": [
                "navigational",
                "navigational",
                "comparison",
                "purchase_ready",
                "purchase_ready",
            ],
        }
    )
    test = pd.DataFrame(
        {"text": ["apex z9", "cheap drill", "what"], "entities": [spans, [(6, 11, "category")], []]}
    )
    assert intent.skeleton_oracle(train, test).tolist() == [
        "navigational",
        "purchase_ready",
        "navigational",
    ]


def test_indicative_terms_learning_curve_and_errors(table):
    sp = intent.split_queries(table, "smoke", sizes=(400, 50, 200))
    m = TfidfLogisticRegression(c=10.0).fit(sp.train["text"], sp.train["intent"])
    terms = intent.indicative_terms(m, n=5)
    assert list(terms.columns) == sorted(intent.INTENTS) and len(terms) == 5
    assert {"vs", "cheap"} & (set(terms["comparison"]) | set(terms["purchase_ready"]))
    curve = intent.learning_curve(
        {"tfidf_lr": lambda: TfidfLogisticRegression(c=10.0), "majority": MajorityClassifier},
        sp.train,
        sp.test,
        "intent",
        sizes=(50, 400),
    )
    assert curve["train_queries"].tolist() == [50, 50, 400, 400]
    wide = curve.pivot(index="train_queries", columns="model", values="macro_f1")
    assert (
        wide.loc[400, "tfidf_lr"] > wide.loc[50, "tfidf_lr"]
        and wide.loc[400, "tfidf_lr"] > wide.loc[400, "majority"]
    )
    errors = intent.error_examples(sp.test, m.classes_, m.predict_proba(sp.test["text"]), n=4)
    assert len(errors) == 4 and (errors["true"] != errors["predicted"]).all()
    assert errors["probability"].is_monotonic_decreasing


def _random_bert(num_layers: int, hidden_dim: int):
    """(a random BERT backbone, MiniLM's real WordPiece tokenizer), seeded."""
    import keras
    import keras_hub

    from shopintent.features.text.encoders import minilm_preset_dir

    tokenizer = keras_hub.models.BertTokenizer.from_preset(str(minilm_preset_dir()))
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=32,
        dropout=0.0,
    )
    return backbone, tokenizer


@pytest.fixture(scope="module")
def joint(table):
    """The query network on the smoke shop's queries: a small random BERT over MiniLM's real
    WordPiece vocabulary (so the shop's words tokenise as they would), a few epochs."""
    backbone, tokenizer = _random_bert(num_layers=2, hidden_dim=32)
    sp = intent.split_queries(table, "smoke", sizes=(240, 40, 60))
    network = intent.fit_query_network(
        backbone,
        tokenizer,
        sp,
        "smoke",
        epochs=6,
        batch_size=16,
        learning_rate=1e-2,
        warmup_frac=0.0,
        trainable_layers=2,
    )
    return network, sp


def test_network_targets_ignore_what_an_extra_row_does_not_label():
    """An extra row (a catalogue name) trains the category head, the tags where its spans are
    known, and never the intent head; a category no query names is ignored too."""
    spans = [{"start": 0, "end": 5, "label": "brand"}]
    queries = pd.DataFrame(
        {
            "text": ["kelvo deal", "cheap tablet", "kelvo vs domix"],
            "intent": ["purchase_ready", "exploratory", "comparison"],
            "category": ["home.lamp", "electronics.tablet", "home.lamp"],
            "entities": [spans, [], spans],
        }
    )
    extra = pd.DataFrame(
        {
            "text": ["Kelvo Nova 590", "Zentro S12 Lite"],
            "category": ["electronics.tablet", "nowhere.unseen"],
            "entities": [[*spans, {"start": 6, "end": 14, "label": "model"}], None],
        }
    )
    heads, texts, targets, val_targets = intent.network_targets(
        queries, queries, extra, typo_augmentation=0.0
    )
    assert [h.name for h in heads] == ["intent", "category", "tags"]
    assert texts == [*queries["text"], *extra["text"]]
    assert targets["intent"][3:] == [-1, -1]  # names carry no intent
    categories = heads[1].classes
    assert targets["category"] == [
        categories.index(c) for c in [*queries["category"], "electronics.tablet"]
    ] + [-1]
    tags = heads[2].classes
    assert [tags[i] for i in targets["tags"][3]] == ["B-brand", "B-model", "I-model"]
    assert targets["tags"][4] == [-1, -1, -1]  # spans unknown: every word ignored
    assert len(val_targets["intent"]) == len(queries)


def test_extra_rows_join_the_training_sample_with_the_labels_they_carry(table):
    """With ``max_train`` below the training queries, the queries are sampled down to it and
    every extra row (``category.catalogue_queries``) joins the sample on top."""
    backbone, tokenizer = _random_bert(num_layers=1, hidden_dim=16)
    sp = intent.split_queries(table, "smoke", sizes=(120, 30, 30))
    category = sp.train["category"].iloc[0]
    extra = pd.DataFrame(
        {
            "text": ["Kelvo Nova 590 SE", "Nova 590 SE", "Zentro S12 Lite"],
            "category": [category, category, "nowhere.unseen"],
            "entities": [
                [
                    {"start": 0, "end": 5, "label": "brand"},
                    {"start": 6, "end": 17, "label": "model"},
                ],
                [{"start": 0, "end": 11, "label": "model"}],
                None,
            ],
        }
    )
    network = intent.fit_query_network(
        backbone, tokenizer, sp, "smoke", epochs=1, max_train=100, trainable_layers=1, extra=extra
    )
    # max_train caps the queries alone; the extra rows come on top
    assert network.info["n_train"] == 100 + len(extra)
    assert "nowhere.unseen" not in network.heads["category"].classes
    assert set(network.heads) == {"intent", "category", "tags"}


def test_joint_network_heads_and_views(joint):
    network, sp = joint
    assert set(network.heads) == {"intent", "category", "tags"}
    assert network.heads["tags"].classes[0] == "O" and len(network.heads["tags"].classes) == 9
    views = intent.finetuned_views(network)
    assert set(views) == {"intent", "category", "tagger"}
    p = views["intent"].predict_proba(sp.test["text"])
    assert p.shape == (len(sp.test), 4) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    majority = (
        MajorityClassifier().fit(sp.train["text"], sp.train["intent"]).predict(sp.test["text"])
    )
    assert (views["intent"].predict(sp.test["text"]) == sp.test["intent"]).mean() > (
        majority == sp.test["intent"]
    ).mean()


def test_tagger_spans_are_exact_substrings(joint):
    network, sp = joint
    tagger = intent.finetuned_views(network)["tagger"]
    texts = list(sp.test["text"]) + ["iPhone 15 Pro, 128GB!", "café crème 😀 sofa", "  ", ""]
    spans = tagger.predict(texts)
    assert len(spans) == len(texts)
    for text, ex in zip(texts, spans, strict=True):
        for s, e, label in ex:
            assert 0 <= s < e <= len(text) and text[s:e] == text[s:e].strip() and text[s:e]
            assert label in intent.ENTITY_LABELS
    from shopintent.evaluation import entity_prf

    f1 = entity_prf(sp.test["entities"].tolist(), spans[: len(sp.test)])["f1"]
    assert f1 > 0.2  # a tiny random BERT after a few epochs: learning, not memorising the answer


def test_save_and_load_query_models(joint, tmp_path):
    from shopintent.models.understanding.entities import Gazetteer

    network, sp = joint
    views = intent.finetuned_views(network)
    models = {
        "intent/majority": MajorityClassifier().fit(sp.train["text"], sp.train["intent"]),
        "intent/tfidf_lr": TfidfLogisticRegression(c=1.0).fit(sp.train["text"], sp.train["intent"]),
        "intent/minilm_finetuned": views["intent"],
        "category/minilm_finetuned": views["category"],
        "entities/tagger": views["tagger"],
        "entities/gazetteer": Gazetteer().add_spans(sp.train["text"], sp.train["entities"]),
    }
    intent.save_query_models(models, tmp_path, network=network)
    again = intent.load_query_models(tmp_path)
    assert set(again) == set(models)
    texts = sp.test["text"].tolist()
    for key in ("intent/tfidf_lr", "intent/minilm_finetuned", "category/minilm_finetuned"):
        np.testing.assert_allclose(
            again[key].predict_proba(texts), models[key].predict_proba(texts), atol=1e-5
        )
    assert again["entities/tagger"].predict(texts) == models["entities/tagger"].predict(texts)
    assert again["entities/gazetteer"].predict(texts) == models["entities/gazetteer"].predict(texts)
    with pytest.raises(FileNotFoundError, match="run notebook 03 first"):
        intent.load_query_models(tmp_path / "nothing")
