"""Query category models: the two-level regression multiplies parent and leaf probabilities,
the joint regression uses both feature sets where each alone misses half the labels, and the
catalogue's names become labelled training queries."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.models.understanding.category import (
    HierarchicalLogisticRegression,
    JointLogisticRegression,
    catalogue_queries,
    parent_of,
)


def _data(n: int, seed: int):
    """Leaves a.x, a.y, b.x, b.y: the parent is in the sparse features (a one-hot word), the
    leaf within the parent only in the dense vector's sign."""
    r = np.random.default_rng(seed)
    parent = r.integers(0, 2, n)
    leaf = r.integers(0, 2, n)
    sparse = sp.csr_matrix(np.eye(2)[parent])
    dense = np.c_[np.where(leaf == 1, 1.0, -1.0) + r.normal(0, 0.3, n), r.normal(0, 1, n)]
    y = np.array([f"{'ab'[p]}.{'xy'[q]}" for p, q in zip(parent, leaf, strict=True)])
    return sparse, dense, y


def test_parent_of_a_dot_path():
    assert parent_of("electronics.smartphone") == "electronics" and parent_of("toys") == "toys"


def test_hierarchy_is_parent_times_leaf_given_parent():
    sparse, dense, y = _data(400, 0)
    x = sp.hstack([sparse, sp.csr_matrix(dense)]).tocsr()
    model = HierarchicalLogisticRegression(c=10.0).fit(x, y)
    p = model.predict_proba(x[:50])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    # summed per parent, the leaf probabilities are the parent regression's
    by_parent = np.c_[p[:, :2].sum(axis=1), p[:, 2:].sum(axis=1)]
    np.testing.assert_allclose(by_parent, model.top_.predict_proba(x[:50]), atol=1e-9)
    xt, dt, yt = _data(300, 1)
    test = sp.hstack([xt, sp.csr_matrix(dt)]).tocsr()
    assert (model.classes_[model.predict_proba(test).argmax(axis=1)] == yt).mean() > 0.9


def test_joint_regression_needs_both_feature_sets_and_chooses_on_validation():
    sparse, dense, y = _data(400, 0)
    vs, vd, vy = _data(200, 1)
    ts, td, ty = _data(300, 2)
    joint = JointLogisticRegression(c_grid=(1.0, 10.0), scale_grid=(0.5, 1.0)).fit(
        sparse, dense, y, vs, vd, vy
    )
    assert set(joint.validation) == {(0.5, 1.0), (0.5, 10.0), (1.0, 1.0), (1.0, 10.0)}
    assert joint.validation[(joint.scale_, joint.c_)] == max(joint.validation.values())
    top1 = (joint.classes_[joint.predict_proba(ts, td).argmax(axis=1)] == ty).mean()
    # either feature set alone can tell at most one of the two splits: about 0.5 at best
    only_sparse = JointLogisticRegression(scale_grid=(0.0,)).fit(sparse, dense, y, vs, vd, vy)
    alone = (only_sparse.classes_[only_sparse.predict_proba(ts, td).argmax(axis=1)] == ty).mean()
    assert top1 > 0.9 and alone < 0.6


def _items(**columns) -> pd.DataFrame:
    base = {
        "title": [
            "Kelvo Nova 590 SE Microwave, white, 1.5L",
            "Kelvo Nova 590 SE Microwave, black, 1.5L",
            "Zentro S12 Lite Tablet, green, 128GB",
            "Olea Ultra 10 Coffee Beans, 250g",
        ],
        "brand": ["Kelvo", "Kelvo", "Zentro", "Olea"],
        "model": ["Nova 590 SE", "Nova 590 SE", "S12 Lite", None],
        "category": [
            "appliances.microwave",
            "appliances.microwave",
            "electronics.tablet",
            "grocery.coffee",
        ],
    }
    base.update(columns)
    return pd.DataFrame({k: v for k, v in base.items() if v is not None})


def test_catalogue_queries_name_brand_and_model_with_exact_spans():
    names = catalogue_queries(_items())
    # one row per distinct (text, category): the two colours of the microwave give one name
    # each; an item without a model gives none
    assert names[["text", "category"]].values.tolist() == [
        ["Nova 590 SE", "appliances.microwave"],
        ["Kelvo Nova 590 SE", "appliances.microwave"],
        ["S12 Lite", "electronics.tablet"],
        ["Zentro S12 Lite", "electronics.tablet"],
    ]
    spans = [
        [(s["label"], text[s["start"] : s["end"]]) for s in row]
        for text, row in zip(names["text"], names["entities"], strict=True)
    ]
    assert spans == [
        [("model", "Nova 590 SE")],
        [("brand", "Kelvo"), ("model", "Nova 590 SE")],
        [("model", "S12 Lite")],
        [("brand", "Zentro"), ("model", "S12 Lite")],
    ]


def test_catalogue_queries_without_models_take_title_heads_without_the_leaf():
    names = catalogue_queries(_items(model=None))
    assert names["text"].tolist() == ["Kelvo Nova 590 SE", "Zentro S12 Lite", "Olea Ultra 10 Beans"]
    empty_models = catalogue_queries(_items(model=[None] * 4))  # a column with no value in it
    assert empty_models["text"].tolist() == names["text"].tolist()
    assert names["entities"].isna().all()  # spans unknown: a tagger ignores these rows
    assert catalogue_queries(_items(category=None)).empty
    unlabelled = _items(category=[None, None, None, None])
    assert catalogue_queries(unlabelled).empty


def test_catalogue_queries_read_a_numeric_model_as_its_digits():
    # a CSV's numeric model column with a gap is read as floats: 590.0 is the model "590"
    names = catalogue_queries(_items(model=[590, 590, 12.5, None]))
    assert names["text"].tolist() == ["590", "Kelvo 590", "12.5", "Zentro 12.5"]
