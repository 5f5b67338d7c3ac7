"""Peak memory of a pandas prepare per byte of source, per format: the factors behind
``data/memory.py``'s early stop.

    python benchmarks/bench_prepare_memory.py [--copies 100]

The real samples in ../shared/data are small, so each is enlarged by stacking copies of its rows
with the keys shifted per copy (no two rows alike: a loader drops exact duplicates). Each case
runs ``registry.prepare`` in a fresh process; the figure is (peak RSS - RSS after the imports) /
bytes of the source files, and for the synthetic shop the same per event. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CHILD = r"""
import json, os, resource, sys
import psutil
from shopintent.data import registry
from shopintent.data.sources import clicks, diginetica, orders, rees46, taobao  # noqa: F401
name, source, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
base = psutil.Process().memory_info().rss
if name == "synthetic":
    registry.prepare("synthetic", n_events=int(source), check_memory=False)
else:
    registry.prepare(name, source=source, save_as="m", check_memory=False, **options)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"base": base, "peak": peak}))
"""


def _stack(lines: list[str], copies: int, shift) -> str:
    lines = [line if line.endswith("\n") else line + "\n" for line in lines]
    return "".join(shift(line, k) for k in range(copies) for line in lines)


def build(folder: Path, copies: int) -> list[tuple[str, Path, dict]]:
    cases = []
    # rees46: user ids and session UUIDs shifted per copy
    head, *rows = (
        (SHARED / "rees46-2019oct-head1000" / "2019-Oct-sample.csv").read_text().splitlines(True)
    )

    def rees(line, k):
        f = line.rstrip("\n").split(",")
        f[7], f[8] = str(int(f[7]) + k * 10**9), f"{k:08x}" + f[8][8:]
        return ",".join(f) + "\n"

    csv = folder / "rees46" / "2019-Oct.csv"
    csv.parent.mkdir()
    csv.write_text(head + _stack(rows, copies, rees))
    cases.append(("rees46", csv.parent, {}))
    gz = folder / "rees46gz" / "2019-Oct.csv.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(csv.read_bytes(), mtime=0))
    cases.append(("rees46", gz.parent, {}))
    # taobao: user ids shifted
    rows = (SHARED / "taobao-userbehavior-sample" / "UserBehavior.csv").read_text().splitlines(True)

    def tao(line, k):
        f = line.split(",", 1)
        return f"{int(f[0]) + k * 10**7},{f[1]}"

    tb = folder / "taobao" / "UserBehavior.csv"
    tb.parent.mkdir()
    tb.write_text(_stack(rows, copies, tao))
    cases.append(("taobao", tb.parent, {}))
    # diginetica: session ids shifted in views and purchases; the categories once
    dg = folder / "diginetica"
    dg.mkdir()
    src = SHARED / "diginetica-sample-srgnn"
    shutil.copy(src / "product-categories.csv", dg)
    for name in ("sample_train-item-views.csv", "train-purchases.csv"):
        head, *rows = (src / name).read_text().splitlines(True)

        def dig(line, k):
            f = line.split(";", 1)
            return f"{int(f[0]) + k * 10**6};{f[1]}"

        (dg / name).write_text(head + _stack(rows, copies // 3, dig))
    cases.append(("diginetica", dg, {}))
    cl = folder / "clicks" / "views.csv"
    cl.parent.mkdir()
    shutil.copy(dg / "sample_train-item-views.csv", cl)
    mapping = "session=session_id,item=item_id,user=user_id,time=eventdate"
    cases.append(("clicks", cl, {"columns": mapping, "sep": ";", "na_values": "NA"}))
    # orders: the UCI year of order lines (525k rows) as Parquet and as CSV
    uci = SHARED / "uci-online-retail-ii-2009-2010" / "online_retail_II_2009-2010.parquet"
    cols = (
        "order=Invoice,item=StockCode,time=InvoiceDate,customer=Customer ID,quantity=Quantity,"
        "price=Price,description=Description"
    )
    cases.append(("orders", uci, {"columns": cols, "on_bad_rows": "skip"}))
    oc = folder / "orders.csv"
    df = pd.read_parquet(uci)
    df.astype({"Customer ID": "Int64"}).to_csv(oc, index=False)
    cases.append(("orders", oc, {"columns": cols, "on_bad_rows": "skip"}))
    return cases


def _size(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else (path.stat().st_size)
    )


def run(name: str, source: str, options: dict, data: Path) -> dict:
    env = {**__import__("os").environ, "SHOPINTENT_DATA": str(data)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, name, source, json.dumps(options)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    shutil.rmtree(data, ignore_errors=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    import os

    print(f"load {os.getloadavg()[0]:.2f}")
    print(f"{'case':<34} {'source MiB':>10} {'peak-base MiB':>13} {'RAM/source byte':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, source, options in build(folder, args.copies):
            r = run(name, str(source), options, folder / "data")
            size = _size(source)
            grow = r["peak"] - r["base"]
            label = f"{name} {source.name}"
            print(f"{label:<34} {size / 2**20:>10.1f} {grow / 2**20:>13.0f} {grow / size:>15.1f}")
        r = run("synthetic", str(args.events), {}, folder / "data")
        grow = r["peak"] - r["base"]
        print(
            f"synthetic {args.events:,} events: {grow / 2**20:.0f} MiB, "
            f"{grow / args.events:.0f} B/event"
        )
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
