"""Every notebook on every dataset variant: it passes, or skips with a stated reason (issue 18).

The matrix is (base, variant): the synthetic smoke shop and each real sample in ../shared/data
(prepared by its loader), plain and without each optional table or column
(``tests/support/variants.py``). Each cell runs the smoke run-all with ``--continue-on-error`` in
its own workspace and fails on a ``failed`` (or ``interrupted``, ``not run``) notebook, a skip
without a reason, or a traceback in an executed notebook, listing every notebook that did.

A large matrix (each cell is a run-all: minutes): pick a part with ``-k``, e.g.
``-k "synthetic and no_brands"`` or ``-k plain``, or with the environment:
``SHOPINTENT_VARIANT_BASES="synthetic rees46"``, ``SHOPINTENT_VARIANTS="plain no_prices"`` and
``SHOPINTENT_VARIANT_ONLY="01 05"`` (the notebooks to run; default all).
"""

import json
import os

import pytest
from support import variants as V

from shopintent.cli import main

pytestmark = [pytest.mark.notebook, pytest.mark.slow]
PLAIN = "plain"


def _listed(var: str, default: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(os.environ.get(var, "").split()) or default


BASES = _listed("SHOPINTENT_VARIANT_BASES", V.BASES)
VARIANTS = _listed("SHOPINTENT_VARIANTS", (PLAIN, *V.VARIANTS))
ONLY = _listed("SHOPINTENT_VARIANT_ONLY", ())


def _cells():
    for base in BASES:
        for variant in VARIANTS:
            yield pytest.param(base, variant, id=f"{base}-{variant}")


def _prepare(base: str, variant: str, shared_data) -> str:
    if variant == PLAIN:
        return V.prepare_base(base, shared_data)
    name = V.prepare_variant(base, variant, shared_data)
    if name is None:
        pytest.skip(f"{base} has nothing that {variant} removes")
    return name


def _tracebacks(executed) -> list[str]:
    """Error outputs (other than the skip) and printed tracebacks in an executed notebook."""
    found = []
    for cell in json.loads(executed.read_text()).get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out.get("ename") != "NotebookSkipped":
                found.append(f"{out.get('ename')}: {out.get('evalue')}")
            elif "Traceback (most recent call last)" in "".join(out.get("text", "")):
                found.append("a printed traceback")
    return found


@pytest.mark.parametrize(("base", "variant"), list(_cells()))
def test_every_notebook_passes_or_skips_with_a_reason(workspace, request, base, variant):
    shared = request.getfixturevalue("shared_data") if base != "synthetic" else None
    name = _prepare(base, variant, shared)
    only = ["--only", *ONLY] if ONLY else []
    main(["run", "--profile", "smoke", "--dataset", name, "--continue-on-error", *only])
    out = workspace / "reports" / f"{name}-smoke"
    notebooks = json.loads((out / "run.json").read_text())["notebooks"]
    assert notebooks
    problems = []
    for nb in notebooks:
        if nb["status"] not in ("passed", "skipped"):
            problems.append(f"{nb['notebook']}: {nb['status']}: {nb['error']}")
        elif nb["status"] == "skipped" and not (nb["error"] or "").strip():
            problems.append(f"{nb['notebook']}: skipped without a reason")
        executed = out / "executed" / f"{nb['notebook']}.ipynb"
        if nb["status"] in ("passed", "skipped") and executed.is_file():
            problems += [f"{nb['notebook']}: {t}" for t in _tracebacks(executed)]
    assert not problems, f"{name}:\n" + "\n".join(problems)
