"""Shared fixtures: datasets generated once per test session, engines started once and cached."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workloads import engines
from workloads.data.dataset import Dataset
from workloads.engines.base import Engine

ROOT = Path(__file__).resolve().parents[1]
#: Scales every test session generates (small: tests stay fast).
TEST_SCALES = ("0.01", "0.1", "1")
#: The fast tier (`pytest -m "not slow"`) leaves out the engines whose start or first query
#: takes seconds (a JVM, a Ray or Dask cluster, process pools, fresh batch jobs) and the modules
#: that start clusters, asv, a browser or interrupt whole commands.
SLOW_ENGINES = {"spark", "ray", "dask-distributed", "dask-processes", "mapreduce", "batch"}
SLOW_MODULES = {"test_benchmarks", "test_cluster", "test_interrupts", "test_scale_out",
                "test_probes", "test_engine_spark", "test_engine_ray", "test_engine_batch",
                "test_engine_mapreduce"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = {str(v) for v in callspec.params.values()} if callspec else set()
        if item.module.__name__ in SLOW_MODULES or params & SLOW_ENGINES:
            item.add_marker(pytest.mark.slow)


def run_cli(*args: str, check: bool = False, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m ...` in this interpreter, capturing text output; `env` adds variables."""
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          check=check, timeout=timeout, env={**os.environ, **(env or {})})


def require(what: str, present: bool, install: str) -> None:
    """Skip a test on a machine without `what`, in one line naming the command that installs
    it; under CI ($CI set, as .ci/run does) a missing part fails the test instead."""
    if present:
        return
    message = f"{what} is not installed: run {install}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_slurm() -> None:
    """A single-node Slurm: installed, and this process root (slurmd runs as root)."""
    installed = bool(shutil.which("slurmctld") or Path("/usr/sbin/slurmctld").exists())
    require("Slurm", installed, ".ci/install-slurm.sh (as root)")
    if os.geteuid() != 0:
        pytest.skip("the single-node Slurm cluster runs slurmd as root")


def asv_args(tmp: Path, command: str, *args: str) -> list[str]:
    """`python -m asv COMMAND ARGS` on this checkout, with its results, environments and HTML
    under `tmp` (never the user's .asv); run it with HOME=tmp for a private machine file."""
    conf = json.loads((ROOT / "asv.conf.json").read_text())
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"),
                results_dir=str(tmp / "results"), env_dir=str(tmp / "env"),
                html_dir=str(tmp / "html"))
    (tmp / "asv.conf.json").write_text(json.dumps(conf))
    return [sys.executable, "-m", "asv", command, "--config", str(tmp / "asv.conf.json"), *args]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    run_cli("datagen", "--tutorial", "--out", str(out), check=True)
    run_cli("datagen", "--scale", *TEST_SCALES, "--out", str(out), check=True)
    return out


@pytest.fixture(scope="session")
def dataset(data_dir: Path) -> Callable[[str], Dataset]:
    """dataset("tutorial") or dataset("0.1"): a generated dataset of this session."""

    def get(name: str) -> Dataset:
        return Dataset.open(data_dir / (name if name == "tutorial" else f"scale-{name}"))

    return get


@pytest.fixture(scope="session")
def engine() -> Iterator[Callable[[str, int], Engine]]:
    """engine(name, workers): a started engine shared by the session, stopped at its end.

    One instance per engine name is kept (a JVM holds one SparkContext), so order tests with the
    (engine, workers) parameter varying slowest.
    """
    started: dict[str, Engine] = {}

    def get(name: str, workers: int = 1) -> Engine:
        current = started.get(name)
        if current is not None and current.workers != workers:
            current.stop()
            current = None
        if current is None:
            avail = engines.availability(name)
            require(f"what engine {name} needs", avail.ok,
                    f".ci/install-java.sh or `make venv` ({avail.reason})")
            current = started[name] = engines.create(name, workers)
            current.start()
        return current

    def release(name: str) -> None:
        """Stop the cached engine `name` (a test needs the JVM or the cluster for itself)."""
        if name in started:
            started.pop(name).stop()

    get.release = release  # type: ignore[attr-defined]
    yield get
    for e in started.values():
        e.stop()
