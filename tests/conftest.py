"""Shared test settings: the project's Keras setting, and data written to a temp folder."""

import os
from pathlib import Path

import pytest

# Must be set before anything touches tf.keras (see DESIGN.md, "the two Keras worlds").
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Session fixtures too costly to build on every pytest-xdist worker: the tests that use one
# run together on one worker (`make test` runs `-n 2 --dist loadgroup`), the rest spread out.
_WORKER_GROUPS = {"_synthetic_smoke_run": "smoke-run-all", "spark": "spark"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        used = getattr(item, "fixturenames", ())
        group = next((g for name, g in _WORKER_GROUPS.items() if name in used), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """Point SHOPINTENT_DATA at an empty temp folder for one test."""
    root = tmp_path / "data"
    monkeypatch.setenv("SHOPINTENT_DATA", str(root))
    return root


@pytest.fixture(scope="session")
def smoke_shop():
    """The smoke-profile synthetic shop, generated once per test session (about a second)."""
    from shopintent.data.synthetic import generate

    return generate("smoke", seed=42)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real samples in ../shared/data; tests using them skip when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data samples not found at {SHARED_DATA} (a fresh clone has none; CI has them)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session (2 cores, UI off) shared by every Spark test; skips without Java.

    Starting the JVM takes several seconds: tests keep their inputs tiny and share this session.
    """
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -r requirements)")
    from shopintent.data.spark.session import SMALL_INPUTS, JavaNotFound, find_java, spark_session

    try:
        find_java()
    except JavaNotFound as err:
        pytest.skip(f"Spark tests need Java: {err}")
    session = spark_session(
        "local[2]",
        ui=False,
        shuffle_partitions=2,
        scratch=tmp_path_factory.mktemp("spark"),
        **SMALL_INPUTS,  # tiny inputs: no query code generation, a light JVM
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def smoke_parquet(smoke_shop, tmp_path_factory):
    """The smoke shop saved as the canonical store (a folder of Parquet tables), once."""
    return smoke_shop.save(tmp_path_factory.mktemp("shop") / "synthetic-smoke")


@pytest.fixture(scope="session")
def spark_events(spark, smoke_parquet):
    """The smoke shop's events as a Spark DataFrame (the Spark agreement tests' input)."""
    return spark.read.parquet(str(smoke_parquet / "events.parquet"))


@pytest.fixture(scope="session")
def spark_items(spark, smoke_parquet):
    """The smoke shop's items as a Spark DataFrame."""
    return spark.read.parquet(str(smoke_parquet / "items.parquet"))


def pytest_terminal_summary(terminalreporter, config):
    """The smoke run-all's wall time (tests/notebooks/conftest.py writes it to a file)."""
    base = config._tmp_path_factory.getbasetemp()  # xdist workers' temp folders sit below it
    name = "run-all-seconds.txt"
    # resolved: pytest's "...current" links name the same folders again
    found = sorted({p.resolve() for p in [*base.glob(f"*/{name}"), *base.glob(f"*/*/{name}")]})
    for done in found:
        terminalreporter.write_line(
            f"smoke run-all on the synthetic shop: {float(done.read_text()):.0f} s "
            f"(reports in {done.parent / 'reports'})"
        )
    if len(found) > 1:  # e.g. a pytest/pytest-xdist pair whose --dist loadgroup does not group
        terminalreporter.write_line(
            f"the smoke run-all ran {len(found)} times: its tests did not share one xdist worker",
            red=True,
        )
