"""Time, peak memory and disk size of the sharded synthetic shop, per number of events.

    python benchmarks/bench_synthetic_shards.py [--block-events 1000000] [1e6 1e7 ...]

Each size runs in a fresh process (so that peak RSS is its own) writing into a temporary
folder that is deleted afterwards. The load average before and after is printed: other
processes share the CPU, and wall time taken under load is high. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
from shopintent.data.synthetic.shards import generate_shards
n, block = int(float(sys.argv[1])), int(float(sys.argv[2]))
with tempfile.TemporaryDirectory(dir=sys.argv[3]) as d:
    t0 = time.perf_counter()
    path = generate_shards(Path(d) / "shop", n, block_events=block)
    wall = time.perf_counter() - t0
    files = [p for p in path.rglob("*") if p.is_file()]
    mib = sum(p.stat().st_size for p in files) / 2**20
    meta = json.loads((path / "meta.json").read_text())
print(json.dumps({"n": n, "wall_s": wall, "blocks": meta["blocks"], "files": len(files),
                  "mib": mib,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": meta["rows"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("events", nargs="*", default=["1e6"])
    parser.add_argument("--block-events", default="1e6")
    parser.add_argument("--tmp", default=None, help="folder for the temporary shop")
    args = parser.parse_args()
    print(
        f"{'events':>11} {'blocks':>6} {'wall s':>7} {'peak MiB':>9} {'disk MiB':>8} "
        f"{'files':>6}  load before -> after, rows"
    )
    for n in args.events:
        before = os.getloadavg()[0]
        out = subprocess.run(
            [sys.executable, "-c", CHILD, n, args.block_events, args.tmp or ""],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items() if not k.endswith("_truth"))
        print(
            f"{r['n']:>11,} {r['blocks']:>6} {r['wall_s']:>7.1f} {r['peak_rss_mib']:>9.0f} "
            f"{r['mib']:>8.0f} {r['files']:>6}  {before:.2f} -> {os.getloadavg()[0]:.2f}, {rows}",
            flush=True,
        )


if __name__ == "__main__":
    main()
