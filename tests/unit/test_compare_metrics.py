"""benchmarks/compare_metrics.py reads keys renamed since under their current name."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "compare_metrics.py"


def _module():
    spec = importlib.util.spec_from_file_location("compare_metrics", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _folder(root: Path, metrics: dict) -> Path:
    (root / "metrics").mkdir(parents=True)
    payload = {"status": "passed", "metrics": metrics}
    (root / "metrics" / "06_recommender_baselines.json").write_text(json.dumps(payload))
    return root


def test_a_run_from_before_the_movielens_rename_compares_key_by_key(tmp_path):
    cm = _module()
    before = _folder(tmp_path / "b", {"msr_protocol/ease/ndcg@10": 0.5, "tfrs_protocol/a/b": 1})
    after = _folder(
        tmp_path / "a",
        {"movielens-100k/msr_protocol/ease/ndcg@10": 0.5, "movielens-100k/tfrs_protocol/a/b": 2},
    )
    assert cm.compare(cm.load_run(after), cm.load_run(before)) == [
        "06_recommender_baselines: movielens-100k/tfrs_protocol/a/b 1 -> 2"
    ]
