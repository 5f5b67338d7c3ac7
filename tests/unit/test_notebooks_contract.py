"""Every notebook: committed without outputs, one `parameters` cell with the standard names."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
STANDARD = ("DATASET", "PROFILE", "SEED", "DATA_DIR", "REPORT_DIR")


def test_there_are_notebooks():
    assert any(p.name.startswith("00_template") for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_contract(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), (
        "has outputs"
    )
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    source = "".join(params[0]["source"])
    assert all(f"{name} =" in source for name in STANDARD)
    assert nb["metadata"]["kernelspec"]["name"] == "shopintent"
    assert nb["cells"][0]["cell_type"] == "markdown" and nb["cells"][0]["source"][0].startswith(
        "# "
    )
    stem = path.stem
    assert any(f'start_notebook("{stem}"' in "".join(c["source"]) for c in code), (
        "start_notebook(<its own name>)"
    )
    assert "record(" in "".join(code[-1]["source"]), "the last cell records the metrics"
