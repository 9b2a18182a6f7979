"""Shared fixtures: datasets generated once per test session, engines started once and cached."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workloads import engines
from workloads.dataset import Dataset
from workloads.engines.base import Engine

#: Scales every test session generates (small: tests stay fast).
TEST_SCALES = ("0.01", "0.1", "1")


def run_cli(*args: str, check: bool = False, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m ...` in this interpreter, capturing text output; `env` adds variables."""
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          check=check, timeout=timeout, env={**os.environ, **(env or {})})


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
            if not avail.ok:
                pytest.fail(f"engine {name} unavailable: {avail.reason}")
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
