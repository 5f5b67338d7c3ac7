"""Notebook 03's glue: predictions of the whole family, the category table, metric keys."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.text.classifiers import MajorityClassifier, TfidfLogisticRegression
from shopintent.models.understanding.entities import Gazetteer
from shopintent.studies import query_understanding as qm


def test_as_proba_labels_of_and_examples_by_label():
    classes, p = qm.as_proba(["b", "a", "c"], ["a", "b", "c"])
    assert p.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert qm.labels_of((classes, p)).tolist() == ["b", "a", "c"]
    t = qm.examples_by_label(["x", "y", "z"], ["a", "b", "a"], ["a", "b", "c"], n=2)
    assert t.to_dict("list") == {"a": ["x", "z"], "b": ["y", ""], "c": ["", ""]}


def test_category_table_rolls_leaves_up_to_top_levels():
    classes = np.array(["a.x", "a.y", "b.z"])
    p = np.array([[0.4, 0.35, 0.25], [0.1, 0.2, 0.7], [0.45, 0.0, 0.55]])
    t = qm.category_table(["a.y", "b.z", "a.x"], {"m": (classes, p)}, n_boot=50)
    assert t.loc["m", "top1_accuracy"] == pytest.approx(1 / 3)  # a.x, b.z, b.z predicted
    assert t.loc["m", "top3_accuracy"] == pytest.approx(1.0)
    assert t.loc["m", "top_level_accuracy"] == pytest.approx(2 / 3)  # a (0.75), b (0.7), b (0.55)
    assert (
        t.loc["m", "top1_accuracy_low"]
        <= t.loc["m", "top1_accuracy"]
        <= t.loc["m", "top1_accuracy_high"]
    )


def test_log_linear_fusion_known_answer_and_weight_chosen_on_validation():
    a = (np.array(["x", "y"]), np.array([[0.9, 0.1], [0.2, 0.8]]))
    b = (np.array(["y", "x"]), np.array([[0.6, 0.4], [0.1, 0.9]]))  # other column order
    classes, p = qm.fuse(a, b, 0.5)
    # sqrt(0.9 * 0.4) : sqrt(0.1 * 0.6) and sqrt(0.2 * 0.9) : sqrt(0.8 * 0.1)
    expected = np.sqrt([[0.36, 0.06], [0.18, 0.08]])
    assert classes.tolist() == ["x", "y"]
    np.testing.assert_allclose(p, expected / expected.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(qm.fuse(a, b, 1.0)[1], a[1])
    # a is right on the first row only, b on the second only: only a blend gets both
    y = ["x", "x"]
    w, scores = qm.fusion_weight(y, a, b)
    assert scores[1.0] == scores[0.0] == 0.5 and scores[w] == 1.0 and 0 < w < 1
    d = qm.top1_differences(["x", "y"], {"tfidf_lr": b, "minilm_x": a}, "tfidf_lr", n_boot=50)
    assert set(d) == {"minilm_x"} and d["minilm_x"].point == pytest.approx(1.0)


def test_predict_all_and_task_predictions():
    texts = ["cheap lamp", "nexora vs voltix", "cheap saw", "kelvo or apex"]
    labels = ["purchase_ready", "comparison", "purchase_ready", "comparison"]
    models = {
        "intent/majority": MajorityClassifier().fit(texts, labels),
        "intent/tfidf_lr": TfidfLogisticRegression(c=10.0).fit(texts, labels),
        "entities/gazetteer": Gazetteer().add("lamp", "category"),
    }
    out = qm.predict_all(models, ["cheap lamp"])
    assert out["entities/gazetteer"] == [[(6, 10, "category")]]
    assert qm.labels_of(out["intent/tfidf_lr"]).tolist() == ["purchase_ready"]
    assert list(qm.task_predictions(out, "intent")) == ["majority", "tfidf_lr"]


def test_metrics_dict_keys_and_nulls():
    intent_table = pd.DataFrame(
        {"macro_f1": [0.9], "macro_f1_low": [0.8], "macro_f1_high": [0.95], "accuracy": [0.9]},
        index=pd.Index(["tfidf_lr"], name="model"),
    )
    entity_table = pd.DataFrame(
        [
            {"model": "tagger", "subset": "all", "f1": 0.8, "precision": 0.7, "recall": 0.9},
            {"model": "tagger", "subset": "typo", "f1": 0.6, "precision": 0.6, "recall": 0.6},
        ]
    )
    m = qm.metrics_dict(intent_table, None, entity_table, {"x/y/z": 1})
    assert (
        m["intent/tfidf_lr/macro_f1"] == 0.9
        and m["entities/tagger/f1_typo"] == 0.6
        and m["x/y/z"] == 1
    )
    assert m["query_category/minilm_finetuned/top1_accuracy"] is None
    empty = qm.metrics_dict()
    assert {f"intent/{k}/macro_f1" for k in qm.CLASSIFIERS} <= set(empty) and empty[
        "entities/tagger/f1"
    ] is None


def test_synthetic_models_load_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPINTENT_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="run notebook 03 on the synthetic shop"):
        qm.synthetic_models("smoke", mode="load")


def test_show_prints_lines_displays_tables_and_saves_figures(capsys, monkeypatch):
    import IPython.display

    shown, saved = [], []
    monkeypatch.setattr(IPython.display, "display", shown.append)

    class Run:
        def save_figure(self, fig, name):
            saved.append(name)
            return fig

    table = pd.DataFrame({"f1": [0.5]})
    part = qm.QueryPart(
        {"intent": ["a line", table, ("intent_f1", "the figure")]}, {}, [], "no labels here"
    )
    qm.show(part, "intent", Run())
    assert capsys.readouterr().out == "a line\n"
    assert shown[0] is table and shown[1] == "the figure" and saved == ["intent_f1"]
    qm.show(part, "real_intent", Run())  # a section this dataset does not allow
    assert capsys.readouterr().out == "no labels here\n" and len(shown) == 2


def test_queries_without_entity_spans_skip_the_entity_sections_with_the_reason(capsys):
    """Issue 18 (repeated_text): some queries lost their entity spans, so no tagger is fitted;
    the entity sections print why instead of pivoting an empty table, and every headline key of
    the labelled part is still recorded (None: not measurable here)."""
    from types import SimpleNamespace

    part_of = lambda spans: pd.DataFrame({"entities": spans})  # noqa: E731
    split = SimpleNamespace(
        train=part_of([[(0, 3, "brand")], None, None]),
        val=part_of([None, [(0, 3, "brand")]]),
        test=part_of([[(0, 3, "brand")]]),
    )
    why = qm.missing_spans_reason(split)
    assert why.startswith("entities skipped") and "2 of 3 training, 1 of 2 validation" in why
    part = qm.QueryPart({}, {}, [], "no labels here", {"entities": why})
    qm.show(part, "entities", None)
    assert capsys.readouterr().out == why + "\n"
    keys = ("entities/tagger/f1_typo", "entities/gazetteer/f1_typo")
    assert all(k in qm.metrics_dict() and qm.metrics_dict()[k] is None for k in keys)


@pytest.mark.slow  # ~15 logistic regressions: 20 s on the loaded 2 cores
def test_category_variants_join_both_feature_sets_and_choose_on_validation():
    """The brand word names the top level (TF-IDF sees it); the leaf within it is only in a
    stand-in encoder's vector: the joint and two-level regressions need both."""
    r = np.random.default_rng(0)

    def part(n, name):
        top, leaf = r.integers(0, 2, n), r.integers(0, 2, n)
        texts = [f"{'kelvo' if t else 'domix'} {name}{i}" for i, t in enumerate(top)]
        cats = [f"{'ab'[t]}.{'xy'[q]}" for t, q in zip(top, leaf, strict=True)]
        return pd.DataFrame({"text": texts, "category": cats, "sign": 2.0 * leaf - 1})

    train, val, test = part(300, "t"), part(120, "v"), part(200, "s")
    signs = pd.concat([train, val, test]).set_index("text")["sign"]

    class Vectors:  # what minilm_lr's features() gives: one vector per text
        def features(self, texts):
            return np.c_[signs.loc[list(texts)].to_numpy(), np.zeros(len(texts))]

    tfidf = TfidfLogisticRegression().fit(train["text"], train["category"])
    split = type("Split", (), {"train": train, "val": val, "test": test})
    models = {"category/tfidf_lr": tfidf, "category/minilm_lr": Vectors()}
    out, notes = qm.category_variants(models, split, seed=0)
    assert set(out) == {qm.JOINT, qm.HIERARCHICAL} and len(notes) == 2
    y = test["category"].to_numpy()
    for classes, proba in out.values():
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
        assert (classes[proba.argmax(axis=1)] == y).mean() > 0.9
    alone = tfidf.predict(test["text"])
    assert (alone == y).mean() < 0.7  # TF-IDF alone knows only the top level
