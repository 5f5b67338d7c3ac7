"""The reliability diagram every notebook draws alike (studies.figures) and its three users."""

import numpy as np
import pytest

from shopintent.studies import advertising, purchase_intent_figures, understanding_figures
from shopintent.studies.figures import reliability_figure


def _points(fig, name, panel=1):
    axis = "x" if panel == 1 else f"x{panel}"
    (trace,) = [t for t in fig.data if t.name == name and t.xaxis == axis]
    return list(trace.x), list(trace.y), list(trace.customdata)


def test_points_are_the_bins_observed_rates_and_empty_bins_are_left_out():
    y = np.array([1, 1, 0, 0, 0, 1])
    p = np.array([0.95, 0.91, 0.93, 0.12, 0.18, 0.15])
    fig = reliability_figure({"test": {"m": (y, p)}}, "t", unit="rows")
    x, observed, count = _points(fig, "m")
    assert x == pytest.approx([0.15, 0.93])  # two non-empty bins of ten, in order
    assert observed == pytest.approx([1 / 3, 2 / 3])
    assert count == [3, 3]
    assert any(t.name is None and list(t.x) == [0, 1] == list(t.y) for t in fig.data)


def test_a_model_keeps_one_legend_entry_and_its_colour_across_panels():
    r = np.random.default_rng(0)
    y, p = r.integers(0, 2, 200), r.random(200)
    fig = reliability_figure(
        {"raw": {"a": (y, p), "b": (y, p)}, "calibrated": {"a": (y, p), "b": (y, p)}},
        "t",
        colour=lambda name, i: {"a": "#111111", "b": "#222222"}[name],
    )
    a = [t for t in fig.data if t.name == "a"]
    assert [t.showlegend for t in a] == [True, False]
    assert {t.line.color for t in a} == {"#111111"}
    assert [ann.text for ann in fig.layout.annotations] == ["raw", "calibrated"]


def test_top_label_calibration_from_a_probability_matrix():
    classes = ("neg", "pos")
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    fig = understanding_figures.reliability_figure(["neg", "pos", "pos"], {"m": (classes, proba)})
    x, observed, _ = _points(fig, "m")
    assert x == pytest.approx([0.7, 0.8, 0.9])  # the top class's probability, one per bin
    assert observed == pytest.approx([1.0, 0.0, 1.0])  # row 2's top class (neg) is wrong


def test_the_notebooks_wrappers_draw_their_panels():
    r = np.random.default_rng(1)
    y, p = r.integers(0, 2, 300), r.random(300)
    ads = advertising.reliability_figure({"synthetic": (y, {"lr": p}), "avazu": (y, {"lr": p})})
    assert [a.text for a in ads.layout.annotations] == ["synthetic", "avazu"]
    assert ads.layout.yaxis.title.text == "observed click rate"
    buy = purchase_intent_figures.calibration_figure(y, {"logreg": p}, {"logreg": p})
    assert len([t for t in buy.data if t.name == "logreg"]) == 2
    assert buy.data[0].line.color == purchase_intent_figures.COLOURS["logreg"]
