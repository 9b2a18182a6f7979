"""The fast tier's guard (tests/conftest.py): a test not marked slow that would start a JVM, asv,
Chromium, Ray, a cluster, a slow engine or a large dataset fails at once, naming what and how to
mark it, before anything starts."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import slow_command

PY = sys.executable


@pytest.mark.parametrize(("argv", "what"), [
    ([PY, "-m", "asv", "run", "--quick"], "asv"),
    (f"{PY} -m asv machine --yes", "asv"),
    (["/usr/lib/jvm/bin/java", "-cp", "spark.jar", "Main"], "a JVM"),
    (["/venv/pyspark/bin/spark-submit", "pyspark-shell"], "a JVM"),
    (["/venv/pyspark/bin/spark-class", "org.apache.spark.deploy.master.Master"], "a JVM"),
    (["java", "-version"], None),  # what Spark's availability asks: no JVM of Spark's
    (["chromium", "--headless", "about:blank"], "Chromium"),
    (["/venv/ray/core/src/ray/gcs/gcs_server", "--gcs_server_port=0"], "Ray"),
    ([PY, "-m", "workloads", "cluster", "up", "dask"], "a cluster"),
    ([PY, "-m", "workloads", "run", "wordcount", "--engine", "spark"], "the spark engine"),
    ([PY, "-m", "workloads", "run", "wordcount", "--engine", "duckdb"], None),
    ([PY, "-m", "workloads", "engines"], None),
    ([PY, "-m", "datagen", "--scale", "0.1", "10", "--out", "x"], "a dataset of scale 10"),
    ([PY, "-m", "datagen", "--scale", "1", "--workers", "20"], None),
    ([PY, "-m", "datagen", "--scale", "1e7"], None),  # refused before anything is written
    ([PY, "-m", "datagen", "--tutorial"], None),
])
def test_slow_commands_are_named(argv: list[str] | str, what: str | None) -> None:
    assert slow_command(argv) == what


def test_a_fast_test_cannot_start_one() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"starts asv: mark it @pytest.mark.slow"):
        subprocess.run([PY, "-m", "asv", "--version"], capture_output=True, check=False)


def test_a_fast_test_cannot_start_a_slow_engine(engine) -> None:
    with pytest.raises(pytest.fail.Exception, match="starts the mapreduce engine"):
        engine("mapreduce", 1)
