"""Notebook 01 via `shopintent run --only 01`, smoke profile: synthetic shop and real samples."""

import json

import pytest
from nbrun import run_notebook

pytestmark = pytest.mark.notebook
KEYS = (
    "eda/events/count",
    "eda/sessions/count",
    "eda/funnel/view_to_cart",
    "eda/funnel/cart_to_purchase",
    "eda/funnel/session_conversion",
    "eda/items/gini",
    "eda/rules/count",
)
SAMPLES = {"taobao": "taobao-userbehavior-sample", "rees46": "rees46-2019oct-head1000"}


def _run_01(workspace, dataset, source=None):
    run_notebook(workspace, "01", dataset, source)
    out = workspace / "reports" / f"{dataset}-smoke"
    assert (out / "html" / "01_user_behavior_eda.html").stat().st_size > 100_000
    assert "01_user_behavior_eda" in (out / "index.html").read_text()
    metrics = json.loads((out / "metrics" / "01_user_behavior_eda.json").read_text())["metrics"]
    assert set(KEYS) <= metrics.keys()
    return metrics


def test_notebook_01_on_the_synthetic_shop(synthetic_run):
    m = _run_01(synthetic_run, "synthetic")
    assert 17_000 < m["eda/events/count"] < 23_000
    assert 0.01 < m["eda/funnel/session_conversion"] < 0.10
    assert 0.4 < m["eda/items/gini"] < 0.9 and m["eda/rules/category_count"] > 0


# real samples: make test-all. The fast tier runs notebook 01's sections on the same samples
# without a kernel (tests/unit/studies/test_user_behavior_steps.py) and the notebook itself on the
# synthetic shop, on it without user ids and on Home Depot (no behaviour log; test_variants.py)
@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(SAMPLES))
def test_notebook_01_on_real_samples(workspace, shared_data, dataset):
    m = _run_01(workspace, dataset, shared_data / SAMPLES[dataset])
    if dataset == "taobao":
        assert (
            m["eda/events/count"] == 4321 and m["eda/queries/count"] is None
        )  # no search in Taobao
    else:
        assert m["eda/events/count"] == 1000 and m["eda/funnel/cart_to_purchase"] is not None
