"""Spark engine specifics: Java detection, a quiet terminal, errors naming files, the JVM's life.

The generic answers are checked by test_engines.py; these tests reuse its cached sessions
(the `engine` fixture) and start a JVM of their own only where a whole CLI run is the point.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pyspark
import pytest
from keyed_inputs import DUPLICATE_KEY_ANSWER, KEYED, duplicate_key_inputs, goal_file_errors

from workloads import spec
from workloads.data.dataset import Input
from workloads.engines import spark as spark_engine
from workloads.engines.spark import jvm
from workloads.engines.spark.engine import PY4J_SEND_ERROR
from workloads.layout import COLUMN_TYPES, GOAL_COLUMNS, GOALS, MATCHES
from workloads.runtime.errors import DataError, JobFailed
from workloads.runtime.settings import Settings

MIN_JAVA = jvm.min_java(pyspark.__version__)
needs_java = pytest.mark.skipif(not spark_engine.SparkEngine.availability().ok,
                                reason=f"Spark needs Java {MIN_JAVA}+")
#: "Java 17+ is needed for PySpark 4.x.y" with the installed PySpark.
NEEDED = f"Java {MIN_JAVA}+ is needed for PySpark {pyspark.__version__}"
#: Spark SQL's name of each type name of `layout.COLUMN_TYPES`.
SPARK_SQL_TYPES = {"int64": "bigint", "date": "date", "string": "string", "bool": "boolean"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workloads", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def env_without_java(java_home: str | None = None) -> dict[str, str]:
    """This environment with no `java` on PATH and JAVA_HOME unset (or set to `java_home`)."""
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    dirs = [d for d in env.get("PATH", "").split(os.pathsep)
            if d and not os.access(os.path.join(d, "java"), os.X_OK)]
    env["PATH"] = os.pathsep.join(dirs)
    if java_home is not None:
        env["JAVA_HOME"] = java_home
    return env


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --------------------------------------------------------------------------- Java detection


@pytest.mark.parametrize("java_home", [None, "empty"])
def test_cli_without_java_says_what_it_found(dataset, tmp_path, java_home):
    home = str(tmp_path) if java_home else None
    found = f"JAVA_HOME={home} has no bin/java" if home else "no java on PATH / JAVA_HOME"
    proc = cli("run", "wordcount", "--engine", "spark", "--data", str(dataset("tutorial").path),
               env=env_without_java(home))
    one_line_error(proc, NEEDED, f"found: {found}")


def test_engines_lists_spark_unavailable_without_java():
    proc = cli("engines", "--json", env=env_without_java())
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    rows = listed["engines"] if isinstance(listed, dict) else listed
    row = next(r for r in rows if r["engine"] == "spark")
    assert not row["available"]
    assert row["reason"] == f"{NEEDED}; found: no java on PATH / JAVA_HOME"


@pytest.mark.parametrize(("reported", "major"), [('"11.0.2" 2019-01-15', 11),
                                                 ('"1.8.0_292"', 8),
                                                 ('"17.0.15" 2025-04-15', 17),
                                                 ('"21" 2023-09-19', 21)])
def test_java_version_is_parsed(tmp_path, monkeypatch, reported, major):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text(f"#!/bin/sh\necho 'openjdk version {reported}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    avail = spark_engine.SparkEngine.availability()
    version = reported.split('"')[1]
    assert jvm.java_major(version) == major
    assert avail.ok is (major >= MIN_JAVA)
    if avail.ok:
        assert avail.versions["java"] == version and "pyspark" in avail.versions
    else:
        assert avail.reason == f"{NEEDED}; found: java {version} at JAVA_HOME={tmp_path}"


def test_conf_for_a_cluster_master():
    conf = spark_engine.SparkEngine(3, Settings(spark_master="spark://127.0.0.1:7077")).conf()
    assert conf["spark.master"] == "spark://127.0.0.1:7077"
    assert conf["spark.cores.max"] == "3"
    conf = spark_engine.SparkEngine(3, Settings()).conf()
    assert conf["spark.master"] == "local[3]" and "spark.cores.max" not in conf
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"


# --------------------------------------------------------------------------- a quiet terminal


@needs_java
def test_cli_run_prints_only_the_answer(dataset):
    proc = cli("run", "wordcount", "--engine", "spark", "--workers", "2", "--json", "--data",
               str(dataset("tutorial").path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert json.loads(proc.stdout)["check"] == "ok"


def damaged_copy(dataset, tmp_path: Path, edit) -> Path:
    """The scale-0.01 matches (CSV) copied to tmp_path, line 4 of the first file edited."""
    src = dataset("0.01").path / "matches"
    dst = tmp_path / "matches"
    dst.mkdir()
    for part in sorted(src.glob("*.csv")):
        shutil.copy(part, dst)
    first = sorted(dst.glob("*.csv"))[0]
    lines = first.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = edit(lines[3])
    first.write_text("".join(lines), encoding="utf-8")
    return first


@needs_java
def test_cli_malformed_row_is_one_line(dataset, tmp_path):
    data = tmp_path / "ds"
    shutil.copytree(dataset("0.01").path, data)
    bad = sorted((data / "matches").glob("*.csv"))[0]
    lines = bad.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].rsplit(",", 2)[0] + "\n"
    bad.write_text("".join(lines), encoding="utf-8")
    proc = cli("run", "home_advantage", "--engine", "spark", "--no-verify", "--data", str(data))
    one_line_error(proc, f"{bad}:4", "malformed row")


# --------------------------------------------------------------------------- the JVM's life


@needs_java
def test_each_start_gets_its_own_jvm(engine, dataset):
    """stop() ends the JVM; the next engine (other workers) starts a new one."""
    tutorial = dataset("tutorial")
    one = engine("spark", 1)
    assert one.sc.master == "local[1]" and one.run("mean_home_score", tutorial) > 0
    first_jvm = one._gateway.proc
    two = engine("spark", 2)  # the fixture stops the 1-worker engine first
    assert not one.started and first_jvm.poll() is not None, "the first JVM outlived stop()"
    assert two.sc.master == "local[2]" and two._gateway.proc.pid != first_jvm.pid
    assert two.run("home_advantage", tutorial) == tutorial.answer("home_advantage")


@needs_java
def test_a_killed_jvm_is_one_error_and_the_next_start_works(engine, dataset):
    """The JVM killed (SIGKILL, as by the kernel's out-of-memory killer): the next call fails
    with one line naming it and the signal, not Py4J's refused connection; stop() is quiet (no
    error, no warning) and clears what PySpark keeps in this process, so a new start works."""
    tutorial = dataset("tutorial")
    spark = engine("spark", 2)
    jvm_process = spark._gateway.proc
    jvm_process.kill()
    jvm_process.wait()
    with pytest.raises(JobFailed, match=rf"^Spark lost the job: its JVM \(PID "
                                        rf"{jvm_process.pid}\) was killed by SIGKILL"):
        spark.run("home_advantage", tutorial)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spark.stop()
    spark.start()
    assert spark.run("home_advantage", tutorial) == tutorial.answer("home_advantage")


@needs_java
def test_py4j_network_errors_are_not_logged_while_a_session_runs(engine, caplog):
    """Py4J logs a call that failed on the network on the root logger, with its traceback, as
    well as raising it (a JVM killed mid-call): only the engine's one line may say it."""
    engine("spark", 2)
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except ConnectionResetError:
        logging.exception(PY4J_SEND_ERROR)  # as py4j.java_gateway does
        logging.error("another error")
    assert [r.getMessage() for r in caplog.records] == ["another error"]


# --------------------------------------------------------------------------- errors name files

#: Fields a workload reads that do not parse: Spark's FAILFAST read fails, and the error names
#: the line. (A malformed field the query does not read is not parsed while timed: runs on files
#: that do not match the manifest are validated first, the same way for every engine.)
MALFORMED = {
    "score not an integer": ("team_records", lambda line: ",".join(
        [*line.split(",")[:4], "two", *line.split(",")[5:]])),
    "neutral not a bool": ("home_advantage",
                           lambda line: line.rstrip("\n").rsplit(",", 1)[0] + ",Maybe\n"),
}


@needs_java
@pytest.mark.parametrize("edit", list(MALFORMED))
def test_unparsable_field_names_file_and_line(engine, dataset, tmp_path, edit):
    workload, damage = MALFORMED[edit]
    first = damaged_copy(dataset, tmp_path, damage)
    inp = Input("matches", tuple(str(p) for p in sorted(first.parent.glob("*.csv"))), "csv")
    with pytest.raises(DataError, match=f"{first}:4: malformed row"):
        engine("spark", 2).run_inputs(workload, {"matches": inp})


@needs_java
def test_corrupt_parquet_names_file(engine, dataset, tmp_path):
    src = dataset("0.01").input("matches", "parquet")
    bad = tmp_path / "part-00099.parquet"
    bad.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(DataError, match="part-00099.parquet"):
        engine("spark", 2).run_inputs("team_records",
                                      {"matches": Input("matches", (*src.paths, str(bad)),
                                                        "parquet")})


@needs_java
def test_missing_parquet_file_is_named(engine, dataset, tmp_path):
    src = dataset("0.01").input("matches", "parquet")
    gone = str(tmp_path / "part-99999.parquet")
    with pytest.raises(DataError, match="part-99999.parquet is missing"):
        engine("spark", 2).run_inputs("team_ratings",
                                      {"matches": Input("matches", (*src.paths, gone), "parquet")})


@needs_java
@pytest.mark.parametrize("scale", ["tutorial", "0.1"])
def test_keyed_workloads_on_parquet(scale, engine, dataset):
    """CSV is checked by test_engines.py for every engine."""
    ds = dataset(scale)
    for workload in KEYED:
        spec.get(workload).check(ds.answer(workload), engine("spark", 2).run(workload, ds,
                                                                             "parquet"))


@needs_java
def test_goal_csv_scorer_na_is_a_name(engine, tmp_path):
    """The scorer `NA` stays the string (Spark's default nullValue is ""), an unknown minute
    `NA` does not fail the read, and the flags TRUE/FALSE are booleans."""
    path = tmp_path / "goals.csv"
    path.write_text(",".join(GOAL_COLUMNS) + "\n2001-01-01,A,B,A,NA,NA,TRUE,FALSE\n"
                    "2001-01-01,A,B,B,Bo,7,FALSE,TRUE\n")
    e = engine("spark", 2)
    rows = e._read(Input("goals", (str(path),), "csv")).collect()
    assert [(r.scorer, r.minute, r.own_goal, r.penalty) for r in rows] == [
        ("NA", "NA", True, False), ("Bo", "7", False, True)]


@needs_java
@pytest.mark.parametrize("kind", [MATCHES, GOALS])
def test_csv_schema_is_the_declared_column_types(engine, dataset, kind):
    """Scores and match ids as 64-bit integers, dates as dates; a goal's minute stays a string
    (see the test above)."""
    schema = engine("spark", 2)._read(dataset("tutorial").input(kind, "csv")).schema
    expected = {c: SPARK_SQL_TYPES[t] for c, t in COLUMN_TYPES[kind].items()}
    if kind == GOALS:
        expected["minute"] = "string"
    assert {f.name: f.dataType.simpleString() for f in schema} == expected


@needs_java
def test_every_matching_pair_counts(engine, tmp_path):
    answer = engine("spark", 2).run_inputs("top_scorers", duplicate_key_inputs(tmp_path))
    spec.get("top_scorers").check(DUPLICATE_KEY_ANSWER, answer)


@needs_java
def test_goal_file_errors_name_the_file(engine, dataset, tmp_path):
    for inputs, message in goal_file_errors(dataset, tmp_path):
        with pytest.raises(DataError, match=message):
            engine("spark", 2).run_inputs("top_scorers", inputs)


# Last: it stops the cached session (the next file's tests start their own anyway).
@needs_java
def test_starting_another_engine_stops_the_running_one(engine):
    running = engine("spark", 2)
    other = spark_engine.SparkEngine(2)
    try:
        other.start()  # a process holds one SparkContext: the running engine is stopped
        assert not running.started and running._gateway is None
    finally:
        other.stop()
    assert other._gateway is None and spark_engine.SparkEngine._active is None
