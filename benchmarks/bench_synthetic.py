"""Generation time and peak memory of the synthetic shop, per profile.

    python benchmarks/bench_synthetic.py [smoke default full]

Each profile runs in a fresh process so that peak RSS is its own. Prints one line each.
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, tempfile, time
from shopintent.data.synthetic import generate
profile = sys.argv[1]
t0 = time.perf_counter()
shop = generate(profile)
t1 = time.perf_counter()
with tempfile.TemporaryDirectory() as d:
    shop.save(d + "/shop")
t2 = time.perf_counter()
print(json.dumps({"profile": profile, "generate_s": t1 - t0, "save_s": t2 - t1,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": shop.row_counts()}))
"""


def main(profiles: list[str]) -> None:
    print(f"{'profile':<8} {'generate s':>10} {'save s':>7} {'peak MiB':>9}  rows")
    for profile in profiles:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, profile], check=True, capture_output=True, text=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items() if not k.endswith("_truth"))
        print(
            f"{profile:<8} {r['generate_s']:>10.1f} {r['save_s']:>7.1f} "
            f"{r['peak_rss_mib']:>9.0f}  {rows}"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or ["smoke", "default"])
