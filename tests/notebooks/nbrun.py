"""Run one notebook in a test's workspace (or reuse the shared synthetic run-all's result)."""

import json
from pathlib import Path

from shopintent.cli import main


def run_notebook(workspace: Path, number: str, dataset: str, source=None) -> dict:
    """Run notebook ``number`` on ``dataset`` unless the workspace's run already has it (the
    shared synthetic run-all); assert it passed and rendered; return its metrics payload."""
    out = workspace / "reports" / f"{dataset}-smoke"
    run_json = out / "run.json"
    done = run_json.is_file() and any(
        nb["notebook"][:2] == number for nb in json.loads(run_json.read_text())["notebooks"]
    )
    if not done:
        args = ["run", "--profile", "smoke", "--dataset", dataset, "--only", number]
        assert main(args + (["--source", str(source)] if source else [])) == 0
    notebooks = {nb["notebook"][:2]: nb for nb in json.loads(run_json.read_text())["notebooks"]}
    nb = notebooks[number]
    assert nb["status"] == "passed", f"{nb['notebook']} on {dataset}: {nb['status']}: {nb['error']}"
    assert (out / nb["html"]).stat().st_size > 50_000
    return json.loads((out / "metrics" / f"{nb['notebook']}.json").read_text())
