"""Recording a notebook's results: metric validation, figures, skipping."""

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure

from shopintent.reporting import (
    NotebookSkipped,
    check_metrics,
    run_dir,
    start_notebook,
)


def test_metric_keys_and_values_are_checked():
    assert check_metrics(
        {"eda/events/count": np.int64(3), "a/b/c": 0.5, "x/y": None, "s/t@10": float("nan")}
    ) == {"eda/events/count": 3, "a/b/c": 0.5, "x/y": None, "s/t@10": None}
    with pytest.raises(ValueError, match="flat, lower-case and slash-separated"):
        check_metrics({"Purchase Intent/AUC": 0.7})
    with pytest.raises(ValueError, match="expected a number, got str"):
        check_metrics({"a/b": "0.7"})
    with pytest.raises(ValueError, match="expected a number, got bool"):
        check_metrics({"a/b": True})


def test_record_skip_and_figures(tmp_path):
    run = start_notebook("07_example", "synthetic", "smoke", 3, report_dir=str(tmp_path))
    run.save_figure(go.Figure(go.Bar(x=[1], y=[2])), "bars")
    fig = Figure()
    fig.add_subplot().plot([0, 1])
    run.save_figure(fig, "line")
    bars = (tmp_path / "figures" / "07_example" / "bars.html").read_text()
    assert (
        "plotly.js v" not in bars
        and '<script charset="utf-8" src="../../plotly.min.js"></script>' in bars
    )
    assert (tmp_path / "plotly.min.js").read_text().count(
        "plotly.js v"
    ) == 1  # the run folder's one copy
    assert (tmp_path / "figures" / "07_example" / "line.png").stat().st_size > 1000
    path = run.record({"example/model/auc": 0.75}, headline=["example/model/auc"])
    saved = json.loads(path.read_text())
    assert (
        saved["status"] == "passed"
        and saved["seed"] == 3
        and saved["metrics"] == {"example/model/auc": 0.75}
    )
    with pytest.raises(ValueError, match="headline keys not among the metrics"):
        run.record({"example/model/auc": 0.75}, headline=["example/model/f1"])
    with pytest.raises(NotebookSkipped, match="needs reviews"):
        run.skip("needs reviews")
    assert json.loads(path.read_text())["status"] == "skipped"


def test_run_dir_is_per_dataset_and_profile(tmp_path):
    assert run_dir("taobao", "smoke", tmp_path) == tmp_path / "taobao-smoke"
