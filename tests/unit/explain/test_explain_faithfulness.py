"""The deletion check on models whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from shopintent.explain import faithfulness
from shopintent.studies.explainability import faithfulness_metrics  # notebook 10's recorded keys


def _linear(w, b=0.0):
    w = np.asarray(w, dtype=np.float64)
    return lambda x: np.asarray(x, dtype=np.float64) @ w + b


def test_one_dominant_feature_top_k_drop_beats_random():
    w = np.array([10.0, 0.1, 0.1, 0.1, 0.1])
    predict = _linear(w, 1.0)
    background = np.zeros((3, 5))
    rows = np.random.default_rng(1).normal(size=(30, 5))
    rows[:, 0] = np.abs(rows[:, 0]) + 0.5  # feature 0 always carries the largest attribution
    # exact SHAP of a linear model against a background: w * (x - mean(background))
    attributions = rows * w
    fns = [faithfulness.tabular_value_fn(predict, r, background) for r in rows]
    table = faithfulness.deletion_table(fns, attributions, ks=(1,), n_random=10, seed=0)
    # removing feature 0 sets it to the background mean (0): the output drops by exactly |10 x0|
    np.testing.assert_allclose(table["topk_drop"], np.abs(10 * rows[:, 0]))
    s = faithfulness.summarise(table)
    assert s.loc[1, "topk_drop"] > 3 * s.loc[1, "random_drop"]
    assert s.loc[1, "share_topk_larger"] > 0.7 and s.loc[1, "examples"] == 30
    m = faithfulness_metrics(table, "linear", 1, 0)
    assert m["explain/faithfulness/linear/topk_drop"] == pytest.approx(table["topk_drop"].mean())
    assert m["explain/faithfulness/linear/random_drop"] == pytest.approx(
        table["random_drop"].mean()
    )
    low, diff, high = (
        m[f"explain/faithfulness/linear/difference{s}"] for s in ("_low", "", "_high")
    )
    assert (
        diff == pytest.approx((table["topk_drop"] - table["random_drop"]).mean())
        and 0 < low < diff < high
    )


def test_random_drops_are_seeded_and_averaged():
    predict = _linear([1.0, 2.0, 3.0, 4.0])
    row, bg = np.ones(4), np.zeros((1, 4))
    f = faithfulness.tabular_value_fn(predict, row, bg)
    top, rand = faithfulness.deletion_drops(
        f, [0.1, 0.2, 0.3, 0.4], k=1, n_random=2000, rng=np.random.default_rng(0)
    )
    assert top == pytest.approx(4.0)
    assert rand == pytest.approx(2.5, abs=0.1)  # the mean weight of one random feature
    a = faithfulness.deletion_table([f], [[0.1, 0.2, 0.3, 0.4]], ks=(1, 2), n_random=5, seed=7)
    b = faithfulness.deletion_table([f], [[0.1, 0.2, 0.3, 0.4]], ks=(1, 2), n_random=5, seed=7)
    pd.testing.assert_frame_equal(a, b)


def test_value_function_averages_over_the_background():
    predict = _linear([1.0, 1.0])
    f = faithfulness.tabular_value_fn(predict, [5.0, 7.0], np.array([[0.0, 0.0], [2.0, 4.0]]))
    out = f(np.array([[True, True], [False, True], [True, False], [False, False]]))
    np.testing.assert_allclose(out, [12.0, 8.0, 7.0, 3.0])


def test_examples_with_too_few_features_are_left_out():
    f = faithfulness.tabular_value_fn(_linear([1.0, 1.0]), [1.0, 1.0], np.zeros((1, 2)))
    table = faithfulness.deletion_table([f], [[1.0, 0.5]], ks=(1, 2))
    assert list(table["k"]) == [1]
    assert faithfulness_metrics(table, "m", 2, 0)["explain/faithfulness/m/topk_drop"] is None
    with pytest.raises(ValueError, match="k=2"):
        faithfulness.deletion_drops(f, [1.0, 0.5], k=2)
