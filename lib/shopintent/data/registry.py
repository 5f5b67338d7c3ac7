"""Which datasets exist, where each one is prepared, and how to prepare and load it.

The synthetic shop is generated and sized by profile (``data/processed/synthetic-<profile>/``),
or by a number of events (``synthetic-e<N>/``, e.g. ``synthetic-e10000000``: drawn in user blocks,
see ``synthetic/shards.py``); a public dataset is converted once from its original files
(``data/processed/<name>/``) whatever the profile. Source modules are imported only when used, so
listing is instant.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path

from shopintent.config import DEFAULT_SEED, PROFILES, get_profile, processed_root, raw_dir
from shopintent.data.store import ShopData, read_meta

SYNTHETIC = "synthetic"
#: public dataset name -> module in shopintent.data.sources with
#: ``load(source, **options) -> ShopData``
SOURCES: dict[str, str] = {
    "rees46": "shopintent.data.sources.rees46",
    "diginetica": "shopintent.data.sources.diginetica",
    "taobao": "shopintent.data.sources.taobao",
    "homedepot": "shopintent.data.sources.homedepot",
    "amazon-reviews": "shopintent.data.sources.amazon_reviews",
    "instacart": "shopintent.data.sources.instacart",
    "movielens-100k": "shopintent.data.sources.movielens",
    "groceries": "shopintent.data.sources.groceries",
    # generic layouts: a user's own files, columns named by a mapping (--columns)
    "clicks": "shopintent.data.sources.clicks",
    "orders": "shopintent.data.sources.orders",
    "reviews": "shopintent.data.sources.reviews",
    "judgements": "shopintent.data.sources.judgements",
}
#: the generic layouts among SOURCES (see ``data/sources/layouts.py``)
LAYOUTS = ("clicks", "orders", "reviews", "judgements")
#: engines that prepare a source: pandas (the default, in one process) and Spark (for logs that
#: outgrow one machine); SPARK_SOURCES names the sources Spark can prepare so far
ENGINES = ("pandas", "spark")
#: sources that are event logs: a pandas prepare of one checks first that it fits in memory
EVENT_LOGS = ("rees46", "taobao", "diginetica", "clicks", "orders")
SPARK_SOURCES: dict[str, str] = {
    "rees46": "shopintent.data.spark.rees46",
    "taobao": "shopintent.data.spark.taobao",
    "diginetica": "shopintent.data.spark.diginetica",
    "clicks": "shopintent.data.spark.clicks",
    "orders": "shopintent.data.spark.orders",
}


#: folder of a synthetic shop sized by events rather than profile: ``synthetic-e<N>``
_SIZED = re.compile(rf"{SYNTHETIC}-e([0-9]+)")
_COUNT = re.compile(r"([0-9]+(?:\.[0-9]*)?(?:e[0-9]+)?)([kmg]?)", re.IGNORECASE)


def parse_events(text: str | int) -> int:
    """A number of events as a person writes it: ``10000000``, ``10_000_000``, ``1e7``, ``10M``,
    ``2.5m``, ``500k``; a whole number of at least 1."""
    m = _COUNT.fullmatch(str(text).replace("_", "").replace(",", "").strip())
    if m is None:
        raise ValueError(f"--events {text!r}: give a whole number such as 10000000, 1e7 or 10M")
    value = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]
    if value != int(value) or value < 1:
        raise ValueError(f"--events {text!r} is not a whole number of at least 1")
    return int(value)


def sized_name(n_events: int) -> str:
    """The folder name of the synthetic shop of ``n_events`` events: ``synthetic-e<N>``."""
    return f"{SYNTHETIC}-e{int(n_events)}"


def is_sized(name: str) -> bool:
    """Whether ``name`` is a synthetic shop sized by events (``synthetic-e10000000``)."""
    return _SIZED.fullmatch(name) is not None


def dataset_names() -> list[str]:
    return [SYNTHETIC, *SOURCES]


def is_reserved(name: str) -> bool:
    """Folder names the synthetic shop writes itself: ``synthetic-<profile>`` for any profile,
    present or future, and ``synthetic-e<N>`` (compared without case: some file systems ignore
    it)."""
    low = name.lower()
    return low == SYNTHETIC or low.startswith(f"{SYNTHETIC}-")


def check_options(name: str, options: dict) -> None:
    """Refuse options the dataset's loader does not take, naming the ones it does."""
    if name == SYNTHETIC:
        takes: tuple[str, ...] = ()
    elif name not in SOURCES:
        return  # not a dataset: check_dataset says so
    else:
        takes = tuple(getattr(importlib.import_module(SOURCES[name]), "OPTIONS", ("on_bad_rows",)))
    unknown = [k for k in options if k not in takes]
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        ok = ", ".join("--" + k.replace("_", "-") for k in takes) or "no loader options"
        raise ValueError(f"{flags} does not apply to {name} (it takes {ok})")


def _prepared_names() -> list[str]:
    """Folders prepared under a name of the user's own (``prepare(..., name="myshop")``)."""
    root = processed_root()
    if not root.is_dir():
        return []
    folders = (meta.parent.name for meta in root.glob("*/meta.json"))
    return sorted(n for n in folders if not n.startswith(f"{SYNTHETIC}-") and n not in SOURCES)


def check_dataset(name: str) -> None:
    if is_sized(name):
        return
    if name not in dataset_names() and name not in _prepared_names():
        prepared = _prepared_names()
        mine = f"; prepared under own names: {', '.join(prepared)}" if prepared else ""
        raise ValueError(
            f"unknown dataset {name!r}; valid datasets: {', '.join(dataset_names())}{mine}"
        )


def dataset_dir(name: str, profile: str = "default") -> Path:
    """Folder of a prepared dataset (the synthetic shop has one per profile, and one per number of
    events it was prepared with: ``synthetic-e<N>``)."""
    check_dataset(name)
    get_profile(profile)
    return processed_root() / (f"{SYNTHETIC}-{profile}" if name == SYNTHETIC else name)


def is_prepared(name: str, profile: str = "default") -> bool:
    return (dataset_dir(name, profile) / "meta.json").is_file()


def prepare(
    name: str,
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    source: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    save_as: str | None = None,
    engine: str = "pandas",
    spark_master: str | None = None,
    n_events: int | None = None,
    check_memory: bool = True,
    **options,
) -> Path:
    """Build a dataset's canonical tables and save them atomically; returns the folder.

    ``save_as`` stores a source's conversion under a name of your own (e.g. your shop's logs
    in the REES46 layout as ``myshop``), which ``load`` and ``shopintent run`` then accept.
    ``engine="spark"`` reads, checks and writes the source on Spark (``spark_master``, else
    ``$SHOPINTENT_SPARK_MASTER``, else ``local[*]``): events partitioned by day.
    The synthetic shop with ``n_events`` (or with ``engine="spark"``: the profile's number of
    events) goes to ``synthetic-e<N>``, drawn in user blocks: on Spark's layout block by block in
    bounded memory, on pandas whole. A pandas prepare of an event log that would not fit in the
    memory free stops before reading (``check_memory=False`` or
    ``$SHOPINTENT_IGNORE_MEMORY_CHECK=1`` skips the check).
    """
    check_options(name, options)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    if spark_master is not None and engine != "spark":
        raise ValueError("--spark-master applies only with --engine spark")
    if n_events is not None and name != SYNTHETIC:
        raise ValueError(f"--events sizes the synthetic shop; {name} is converted whole")
    if name == SYNTHETIC and (engine == "spark" or n_events is not None):
        if spark_master is not None:
            raise ValueError(
                "--spark-master does not apply to the synthetic shop: this process writes it "
                "block by block in Spark's layout"
            )
        if save_as is not None:
            raise ValueError("--name does not apply to the synthetic shop")
        return _prepare_sized(profile, seed, n_events, engine, progress, check_memory)
    if engine == "spark" and name not in SPARK_SOURCES:
        raise ValueError(
            f"--engine spark does not prepare {name} yet (it prepares "
            f"{', '.join(SPARK_SOURCES)}); use --engine pandas"
        )
    if save_as is not None:
        if is_reserved(save_as):
            raise ValueError(
                f"--name {save_as!r} is reserved: {SYNTHETIC}-<profile> and {SYNTHETIC}-e<N> "
                "folders hold the synthetic shop of each profile or size; choose another name"
            )
        if (
            name == SYNTHETIC
            or not save_as.replace("-", "").replace("_", "").isalnum()
            or save_as in dataset_names()
        ):
            raise ValueError(
                f"--name {save_as!r}: give a public source's conversion a new name of letters, "
                "digits, - and _ (not a dataset name already used)"
            )
        check_dataset(name)
        target = processed_root() / save_as
    else:
        target = dataset_dir(name, profile)
    if name == SYNTHETIC:
        if source is not None:
            raise ValueError("the synthetic shop is generated: --source does not apply")
        from shopintent.data.synthetic import generate

        data = generate(profile, seed=seed, progress=progress)
    else:
        src = Path(source) if source is not None else raw_dir(name)
        if not src.exists():
            raise FileNotFoundError(
                f"{name}: source {src} does not exist; download the dataset there "
                f"or pass --source PATH"
            )
        if engine == "spark":
            return _prepare_on_spark(name, src, target, save_as, spark_master, options)
        if check_memory and name in EVENT_LOGS:
            from shopintent.data.memory import check_fits

            check_fits(save_as or name, source=src, layout=name)
        module = importlib.import_module(SOURCES[name])
        data = module.load(src, **options)
        data.meta.setdefault("source", str(src))
    data.meta["dataset"] = save_as or name
    data.meta.setdefault("format", name)
    return data.save(target)


def _prepare_sized(
    profile: str,
    seed: int,
    n_events: int | None,
    engine: str,
    progress: Callable[[str], None] | None,
    check_memory: bool,
) -> Path:
    """The synthetic shop of ``n_events`` (default: the profile's) in ``synthetic-e<N>``."""
    from shopintent.data.synthetic import shards

    n = get_profile(profile).n_events if n_events is None else int(n_events)
    target = processed_root() / sized_name(n)
    if engine == "spark":
        return shards.generate_shards(target, n, seed, progress=progress)
    if check_memory:
        from shopintent.data.memory import check_fits

        check_fits(sized_name(n), n_events=n)
    return shards.generate_frames(n, seed, progress=progress).save(target)


def _prepare_on_spark(
    name: str,
    src: Path,
    target: Path,
    save_as: str | None,
    master: str | None,
    options: dict,
) -> Path:
    from shopintent.data.spark.session import spark_session

    module = importlib.import_module(SPARK_SOURCES[name])
    shop = module.load(spark_session(master), src, **options)
    shop.meta.update(source=str(src), dataset=save_as or name, format=name)
    return shop.save(target)


def load(name: str, profile: str = "default", tables: tuple[str, ...] | None = None) -> ShopData:
    """A prepared dataset (``tables`` limits the extra tables read)."""
    path = dataset_dir(name, profile)
    if not is_prepared(name, profile):
        hint = f" --profile {profile}" if name == SYNTHETIC else ""
        if is_sized(name):
            name, hint = SYNTHETIC, f" --engine spark --events {_SIZED.fullmatch(name).group(1)}"
        raise FileNotFoundError(
            f"dataset {name!r} is not prepared at {path}; "
            f"run `shopintent data prepare --dataset {name}{hint}`"
        )
    held = read_meta(path).get("dataset", name)
    if name == SYNTHETIC and held != SYNTHETIC:  # written by --name before the name was reserved
        raise ValueError(
            f"{path} holds the dataset {held!r}, not the synthetic shop; move it away "
            f"and run `shopintent data prepare --dataset synthetic --profile {profile}`"
        )
    return ShopData.load(path, tables=tables)


def list_prepared() -> list[dict]:
    """One record per prepared dataset folder: name, path and row counts per table."""
    out = []
    root = processed_root()
    if not root.is_dir():
        return out
    for path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            meta = read_meta(path)
        except (OSError, ValueError):
            continue
        rows = meta.get("rows", {})
        out.append(
            {
                "name": path.name,
                "path": str(path),
                "dataset": meta.get("dataset", path.name),
                "profile": meta.get("profile"),
                "rows": rows,
                "broken": _broken(path, rows),
            }
        )
    return out


def _broken(path: Path, rows: dict) -> str | None:
    """Why a prepared folder cannot be read (a table missing, truncated or not the rows meta.json
    says), from each Parquet footer only; None when it looks whole."""
    from shopintent.data.store import parquet_rows

    for table, n in rows.items():
        file = path / f"{table}.parquet"
        if not file.exists():
            return f"{file.name} is missing"
        try:
            found = parquet_rows(file)
        except FileNotFoundError:
            return f"{file.name} is missing"
        except (OSError, ValueError) as err:  # pyarrow.ArrowInvalid is a ValueError
            return f"{file.name} is truncated or corrupt ({str(err).splitlines()[0]})"
        if found != n:
            return f"{file.name} holds {found:,} rows, meta.json says {n:,}"
    return None


__all__ = [
    "PROFILES",
    "SOURCES",
    "check_dataset",
    "check_options",
    "dataset_dir",
    "dataset_names",
    "is_prepared",
    "is_reserved",
    "is_sized",
    "list_prepared",
    "load",
    "parse_events",
    "prepare",
    "sized_name",
]
