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

pytestmark = pytest.mark.notebook
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


@pytest.mark.slow
@pytest.mark.parametrize(("base", "variant"), list(_cells()))
def test_every_notebook_passes_or_skips_with_a_reason(workspace, request, base, variant):
    shared = request.getfixturevalue("shared_data") if base != "synthetic" else None
    name = _prepare(base, variant, shared)
    _run_and_check(workspace, name, list(ONLY))


#: the fast tier's guard: cheap cells where the data lacks one capability (no user ids; no
#: behaviour log at all) and each notebook must decide from it: pass, recording what the data
#: serves, or skip with the reason that names the missing capability
PASS, SKIP = "passed", "skipped"
FAST = [
    ("synthetic", "no_users", "users", {"01": PASS, "06": SKIP, "11": SKIP}),
    ("homedepot", "plain", "events", {"01": PASS, "05": SKIP}),
]
#: the metric keys of a passing notebook by the capability each reads: recorded (not None) where
#: the data has that capability, None or left out where it lacks it
KEYS_BY_CAPABILITY = {
    "01": {
        "events": (
            "eda/events/count",
            "eda/sessions/count",
            "eda/funnel/session_conversion",
            "eda/items/gini",
        ),
        "users": ("eda/funnel/user_conversion", "eda/rules/user_category_count"),
        "queries": ("eda/queries/count", "eda/queries/mean_words"),
    },
}


@pytest.mark.parametrize(
    ("base", "variant", "lacks", "expected"), FAST, ids=[f"{b}-{v}" for b, v, *_ in FAST]
)
def test_capability_skips_in_the_fast_tier(workspace, request, base, variant, lacks, expected):
    from shopintent.data import registry
    from shopintent.data.capabilities import Capabilities

    shared = request.getfixturevalue("shared_data") if base != "synthetic" else None
    name = _prepare(base, variant, shared)
    caps = Capabilities.of(registry.load(name, "smoke"))
    reason = caps.missing(lacks)
    assert reason is not None, f"{name} was meant to lack {lacks}"
    notebooks = _run_and_check(workspace, name, list(expected))
    assert {nb["notebook"][:2]: nb["status"] for nb in notebooks} == expected
    out = workspace / "reports" / f"{name}-smoke"
    for nb in notebooks:
        number = nb["notebook"][:2]
        if nb["status"] == SKIP:  # the reason names the capability the data lacks
            assert reason in nb["error"], (nb["notebook"], nb["error"])
            continue
        metrics = json.loads((out / "metrics" / f"{nb['notebook']}.json").read_text())["metrics"]
        for capability, keys in KEYS_BY_CAPABILITY.get(number, {}).items():
            values = {k: metrics.get(k) for k in keys}
            if caps.has(capability):
                assert None not in values.values(), (nb["notebook"], capability, values)
            else:
                assert set(values.values()) == {None}, (nb["notebook"], capability, values)


def _run_and_check(workspace, name: str, only: list[str]) -> list[dict]:
    flags = ["--only", *only] if only else []
    main(["run", "--profile", "smoke", "--dataset", name, "--continue-on-error", *flags])
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
    return notebooks
