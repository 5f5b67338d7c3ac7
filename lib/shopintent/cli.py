"""The ``shopintent`` command line.

    shopintent data prepare --dataset synthetic --profile default [--seed 42]
    shopintent data prepare --dataset synthetic --engine spark --events 10M   (synthetic-e10000000)
    shopintent data prepare --dataset taobao [--source PATH] [--on-bad-rows skip]
                            [--session-gap 30min]
    shopintent data prepare --dataset rees46 --source my_logs.csv --name myshop
    shopintent data prepare --dataset clicks|orders|reviews|judgements --source FILE_OR_FOLDER
                            --name myshop --columns FIELD=COLUMN,...|mapping.json
                            [--sep ';'] [--encoding latin-1] [--na-values NA,null]
                            [--time-format iso|unix_s|unix_ms|'%d/%m/%Y %H:%M']
                            [--event-types view=pv|click,cart=addtocart,purchase=buy]
    shopintent data list
    shopintent run [--profile smoke|default|full] [--dataset NAME] [--source PATH]
                   [--only 01 05 ...] [--continue-on-error]

Heavy modules are imported inside the commands, so ``shopintent --help`` answers at once.
Errors end in one line on stderr: bad input exits 2; a file-system error (disk full, no
permission, not a folder) names the path and exits 1, as does a folder in use by another
process; Ctrl-C exits 130 and SIGTERM 143, after ``run`` has stopped its notebooks and marked
them interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from shopintent.config import DEFAULT_SEED, PROFILES
from shopintent.io import InUseError


def _seed(text: str) -> int:
    """A seed for numpy's generators: a whole number in [0, 2**32)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..{2**32 - 1}")
    return value


def _gap(text: str) -> str:
    """A session gap such as 30min or 1h (checked here, passed on as text)."""
    from shopintent.data.sessions import parse_gap

    try:
        parse_gap(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _events(text: str) -> int:
    """A number of events: 10000000, 1e7 or 10M."""
    from shopintent.data.registry import parse_events

    try:
        return parse_events(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _parser() -> argparse.ArgumentParser:
    from shopintent.data.registry import dataset_names

    parser = argparse.ArgumentParser(prog="shopintent", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="prepare and list datasets").add_subparsers(
        dest="action", required=True
    )
    prep = data.add_parser(
        "prepare", help="build a dataset's canonical tables under data/processed/"
    )
    prep.add_argument("--dataset", default="synthetic", choices=dataset_names())
    prep.add_argument(
        "--profile",
        default="default",
        choices=list(PROFILES),
        help="size of the synthetic shop (real datasets are converted whole)",
    )
    prep.add_argument("--seed", type=_seed, default=DEFAULT_SEED)
    prep.add_argument(
        "--source",
        default=None,
        help="folder or file of the original dataset (default: data/raw/<dataset>/)",
    )
    prep.add_argument(
        "--on-bad-rows",
        default=None,
        choices=["error", "skip"],
        help="stop at the first unparseable row (default: error) or skip and count such rows",
    )
    prep.add_argument(
        "--name", default=None, help="save a source's conversion under your own dataset name"
    )
    prep.add_argument(
        "--session-gap",
        default=None,
        type=_gap,
        help="inactivity that ends a session, for sources without sessions (e.g. 30min)",
    )
    prep.add_argument(
        "--engine",
        default="pandas",
        choices=["pandas", "spark"],
        help="pandas (default; in this process) or spark (logs that outgrow one machine: "
        "local[*], or the cluster of --spark-master / $SHOPINTENT_SPARK_MASTER)",
    )
    prep.add_argument(
        "--spark-master",
        default=None,
        metavar="URL",
        help="with --engine spark: local[N], spark://host:7077, yarn, k8s://... or a Spark "
        "Connect sc://host:15002 (default: $SHOPINTENT_SPARK_MASTER, else local[*])",
    )
    prep.add_argument(
        "--events",
        default=None,
        type=_events,
        metavar="N",
        help="synthetic shop of about N events (10000000, 1e7, 10M) in data/processed/"
        "synthetic-e<N>/, drawn in user blocks; with --engine spark written block by block "
        "(bounded memory); --engine spark alone takes the profile's number of events",
    )
    prep.add_argument(
        "--ignore-memory-check",
        action="store_true",
        help="prepare on pandas even when the source looks too large for the memory free "
        "(also: SHOPINTENT_IGNORE_MEMORY_CHECK=1)",
    )
    layout = prep.add_argument_group(
        "generic layouts (clicks, orders, reviews, judgements): your own CSV/TSV/Parquet files"
    )
    layout.add_argument(
        "--columns",
        default=None,
        metavar="FIELD=COLUMN,...|FILE.json",
        help="which source column holds each field of the layout (see the README)",
    )
    layout.add_argument("--sep", default=None, help="field separator (default , and tab for .tsv)")
    layout.add_argument("--encoding", default=None, help="text encoding (default utf-8)")
    layout.add_argument(
        "--na-values", default=None, metavar="NA,...", help="further spellings of an empty field"
    )
    layout.add_argument(
        "--time-format",
        default=None,
        help="iso (default), unix_s, unix_ms or a strftime pattern such as '%%d/%%m/%%Y %%H:%%M'",
    )
    layout.add_argument(
        "--event-types",
        default=None,
        metavar="TYPE=VALUE|VALUE,...|FILE.json",
        help="clicks: canonical event type = the source's value(s), e.g. view=pv,purchase=buy",
    )
    prep.set_defaults(func=_cmd_prepare)
    lst = data.add_parser("list", help="show prepared datasets with row counts")
    lst.set_defaults(func=_cmd_list)

    run = sub.add_parser("run", help="execute the notebooks with papermill and write HTML reports")
    run.add_argument(
        "--dataset",
        default="synthetic",
        help=f"{', '.join(dataset_names())}, or a name given with `data prepare --name`",
    )
    run.add_argument("--profile", default="default", choices=list(PROFILES))
    run.add_argument("--seed", type=_seed, default=DEFAULT_SEED)
    run.add_argument(
        "--source", default=None, help="original files, if the dataset is not prepared yet"
    )
    run.add_argument(
        "--only", nargs="+", metavar="NN", help="run only these notebooks (number or name)"
    )
    run.add_argument(
        "--continue-on-error", action="store_true", help="run later notebooks after a failure"
    )
    run.add_argument(
        "--notebooks", default=None, help=argparse.SUPPRESS
    )  # tests: another notebook folder
    run.set_defaults(func=_cmd_run)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopintent.pipeline import NOTEBOOKS_DIR, run_all
    from shopintent.reporting import run_dir

    if args.source is not None and not Path(args.source).exists():
        raise FileNotFoundError(f"--source {args.source} does not exist")
    start = time.perf_counter()
    results = run_all(
        args.dataset,
        args.profile,
        args.seed,
        source=args.source,
        only=args.only,
        continue_on_error=args.continue_on_error,
        notebooks_dir=Path(args.notebooks) if args.notebooks else NOTEBOOKS_DIR,
        echo=lambda line: print(line, flush=True),
    )
    failed = [r.notebook for r in results if r.status == "failed"]
    print(
        f"{len(results)} notebooks in {time.perf_counter() - start:.0f} s: "
        + ", ".join(
            f"{sum(r.status == s for r in results)} {s}"
            for s in ("passed", "failed", "skipped", "not run")
            if any(r.status == s for r in results)
        )
        + f" -> {run_dir(args.dataset, args.profile) / 'index.html'}"
    )
    return 1 if failed else 0


#: the options of the generic layouts (each layout's loader says which it takes)
LAYOUT_OPTIONS = ("columns", "sep", "encoding", "na_values", "time_format", "event_types")


def _cmd_prepare(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from shopintent.data.registry import prepare

    start = time.perf_counter()
    with tqdm(desc=f"prepare {args.dataset}", unit="step", file=sys.stderr, leave=False) as bar:

        def progress(stage: str) -> None:
            bar.set_postfix_str(stage)
            bar.update()

        given = {
            "on_bad_rows": args.on_bad_rows,
            "session_gap": args.session_gap,
            **{k: getattr(args, k) for k in LAYOUT_OPTIONS},
        }
        # only the options given: the loader states which it takes
        options = {k: v for k, v in given.items() if v is not None}
        path = prepare(
            args.dataset,
            profile=args.profile,
            seed=args.seed,
            source=args.source,
            progress=progress,
            save_as=args.name,
            engine=args.engine,
            spark_master=args.spark_master,
            n_events=args.events,
            check_memory=not args.ignore_memory_check,
            **options,
        )
    print(f"prepared {args.dataset} in {time.perf_counter() - start:.1f} s -> {path}")
    _print_rows(path)
    return 0


def _print_rows(path) -> None:
    from shopintent.data.store import read_meta

    meta = read_meta(path)
    print("  " + ", ".join(f"{name} {n:,}" for name, n in meta["rows"].items()))
    skipped = meta.get("bad_rows", {})
    for name, n in skipped.get("lines_read", {}).items():
        dropped = skipped.get("per_file", {}).get(name)
        print(
            f"  {name}: {n['lines']:,} lines read = {n['header']} header"
            + f" + {n['records']:,} records"
            + (f" + {n['malformed']:,} malformed" if n["malformed"] else "")
            + (
                f" + {n['continuation']:,} lines inside multi-line fields"
                if n.get("continuation")
                else ""
            )
            + (f"; {dropped:,} skipped" if dropped else "")
        )
    if skipped.get("total"):
        print(
            f"  skipped {skipped['total']:,} bad rows: "
            + "; ".join(f"{f}: {', '.join(ex)}" for f, ex in skipped["examples"].items())
        )
    for name, d in skipped.get("duplicates", {}).items():
        fate = "dropped" if d["dropped"] else "kept"
        print(
            f"  {name}: {d['rows']:,} exact duplicate rows {fate} ("
            + ", ".join(d["examples"])
            + ")"
        )
    for note in meta.get("notes", []):
        print(f"  {note}")


def _cmd_list(args: argparse.Namespace) -> int:
    from shopintent.config import processed_root
    from shopintent.data.registry import list_prepared

    found = list_prepared()
    if not found:
        print(
            f"no prepared datasets under {processed_root()}; "
            "run `shopintent data prepare --dataset synthetic --profile smoke`"
        )
        return 0
    for d in found:
        rows = ", ".join(f"{name} {n:,}" for name, n in d["rows"].items())
        state = f"BROKEN: {d['broken']}; prepare it again" if d.get("broken") else rows
        print(f"{d['name']:<24} {state}")
    return 1 if any(d.get("broken") for d in found) else 0


class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that every clean-up runs."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    except ValueError:  # not the main thread
        previous = None
    try:
        return args.func(args)
    except KeyboardInterrupt as err:
        signum = getattr(err, "signum", signal.SIGINT)
        print(f"shopintent: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    except (ValueError, FileNotFoundError) as err:  # SchemaError and SourceError are ValueErrors
        print(f"shopintent: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permission, not a directory...: the path, not a traceback
        print(f"shopintent: error: {_os_error(err)}", file=sys.stderr)
        return 1
    except InUseError as err:  # another process writes the same dataset or report folder
        print(f"shopintent: error: {err}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _os_error(err: OSError) -> str:
    """'No space left on device: /path' (errno's words and the path), or the message as it is."""
    if err.filename is None:
        return str(err)
    where = f"{err.filename}" + (f" -> {err.filename2}" if err.filename2 else "")
    return f"{err.strerror or err}: {where}"


if __name__ == "__main__":
    sys.exit(main())
