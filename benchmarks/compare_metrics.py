"""Compare the recorded metrics of two runs: same science, key by key.

    python benchmarks/compare_metrics.py reports/synthetic-smoke /tmp/before/synthetic-smoke

Reads every ``metrics/<notebook>.json`` of both run folders and prints each key whose value
differs (beyond ``--rtol``), each key only one side has, and each notebook only one side ran.
Durations and speeds (``duration_s``, keys ending in ``_seconds``, ``_s``, ``_ms``, ``per_s``,
``per_query``...) are left out: they measure the machine, not the method. Exits 1 when anything
differs, so a refactor can be checked with one command. Keys renamed since (``RENAMED``) are
read under their current name, so a run from before a rename compares key by key.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

#: Metric keys that time the machine rather than score a method.
#: Old key prefixes -> current ones (issue 18: keys name the data they were measured on).
RENAMED = {
    "msr_protocol/": "movielens-100k/msr_protocol/",
    "msr_tuning/": "movielens-100k/msr_tuning/",
    "tfrs_protocol/": "movielens-100k/tfrs_protocol/",
}
TIMING = re.compile(r"(seconds|_s|_ms|per_s|per_query|_minutes|texts_per_s|fit_time|duration)(/|$)")


def current_key(key: str) -> str:
    for old, new in RENAMED.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def load_run(folder: Path) -> dict[str, dict]:
    """``{notebook: metrics}`` of one run folder (``<run>/metrics/*.json``)."""
    out = {}
    for path in sorted((folder / "metrics").glob("*.json")):
        recorded = json.loads(path.read_text())
        metrics = {current_key(k): v for k, v in recorded.get("metrics", {}).items()}
        out[path.stem] = {"status": recorded.get("status"), **metrics}
    if not out:
        raise SystemExit(
            f"{folder}: no metrics/*.json (is it a run folder like reports/synthetic-smoke?)"
        )
    return out


def same(a, b, rtol: float) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rtol, abs_tol=rtol)
    return a == b


def compare(after: dict[str, dict], before: dict[str, dict], rtol: float = 0.0) -> list[str]:
    """One line per difference; empty when the two runs recorded the same science."""
    lines = []
    for nb in sorted(set(after) | set(before)):
        if nb not in before or nb not in after:
            lines.append(f"{nb}: only in {'after' if nb in after else 'before'}")
            continue
        a, b = after[nb], before[nb]
        for key in sorted(set(a) | set(b)):
            if TIMING.search(key):
                continue
            if key not in a or key not in b:
                lines.append(f"{nb}: {key} only in {'after' if key in a else 'before'}")
            elif not same(a[key], b[key], rtol):
                lines.append(f"{nb}: {key} {b[key]!r} -> {a[key]!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "after", type=Path, help="run folder to check, e.g. reports/synthetic-smoke"
    )
    parser.add_argument("before", type=Path, help="run folder it should match")
    parser.add_argument(
        "--rtol", type=float, default=0.0, help="relative tolerance (default: exact)"
    )
    args = parser.parse_args(argv)
    after, before = load_run(args.after), load_run(args.before)
    lines = compare(after, before, args.rtol)
    n_keys = sum(len(m) for m in after.values())
    for line in lines:
        print(line)
    print(
        f"{len(after)} notebooks, {n_keys} keys: "
        + (f"{len(lines)} differences" if lines else "the same (timings aside)")
    )
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
