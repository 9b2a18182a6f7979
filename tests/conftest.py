"""Shared fixtures: datasets generated once per test session, engines started once and cached."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psutil
import pytest

from datagen.synthetic import MAX_SCALE
from workloads import engines
from workloads.data.dataset import Dataset
from workloads.engines.base import Engine

ROOT = Path(__file__).resolve().parents[1]
# A suite started in the background by a script (`make test &`) ignores Ctrl-C, and would pass
# that on to every process it starts: the tests send real SIGINTs, so they get Python's handler
# (and the processes they start, the default action).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: Scales every test session generates (small: tests stay fast).
TEST_SCALES = ("0.01", "0.1", "1")
#: The fast tier (`pytest -m "not slow"`) leaves out what takes seconds to start or run: the
#: engines whose start is a JVM, a Ray or Dask cluster, process pools or fresh batch jobs; the
#: modules that start clusters, asv, a browser or interrupt whole commands; the tests that use a
#: fixture of SLOW_FIXTURES; and the few other tests marked `@pytest.mark.slow` where they are
#: defined (each starts a JVM, a Dask cluster or pool, or generates scale 10 or more).
SLOW_ENGINES = {"spark", "ray", "dask-distributed", "dask-processes", "mapreduce", "batch"}
SLOW_MODULES = {"test_benchmarks", "test_cluster", "test_hosts", "test_interrupts",
                "test_scale_out", "test_probes", "test_engine_spark", "test_engine_ray",
                "test_engine_batch", "test_engine_mapreduce", "test_budget_polars",
                "test_budget_duckdb", "test_datagen_force", "test_report_robustness"}
#: Fixtures that run asv: every test that uses one, directly or through another, is slow.
SLOW_FIXTURES = {"asv_runs"}
#: Only slow tests generate datasets of this scale or larger.
SLOW_SCALE = 10.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = {str(v) for v in callspec.params.values()} if callspec else set()
        if (item.module.__name__ in SLOW_MODULES or params & SLOW_ENGINES
                or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)


# --------------------------------------------------------------------------- the fast tier's guard

#: The test whose setup, call or teardown runs now (None between tests).
_current: pytest.Item | None = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    global _current
    _current = item
    try:
        return (yield)
    finally:
        _current = None


def refuse_in_fast_test(what: str) -> None:
    """Fail the running test if it is in the fast tier: it would start `what`."""
    if _current is not None and _current.get_closest_marker("slow") is None:
        pytest.fail(f"{_current.nodeid} starts {what}: mark it @pytest.mark.slow "
                    "(or list it in tests/conftest.py), the fast tier starts none",
                    pytrace=False)


def slow_command(args: str | bytes | os.PathLike | Sequence) -> str | None:
    """What a command line would start that the fast tier must not (a JVM, asv, Chromium, a
    cluster, a run of a slow engine, a dataset of scale 10 or more), in words; else None."""
    if isinstance(args, (str, bytes, os.PathLike)):
        args = shlex.split(os.fsdecode(args))
    argv = [os.fsdecode(a) for a in args]
    names = [os.path.basename(a) for a in argv]
    if {"spark-submit", "spark-class"} & set(names) or (
            names and names[0] == "java" and argv[1:] != ["-version"]):
        return "a JVM"
    if any(n.startswith("chromium") for n in names):
        return "Chromium"
    if {"gcs_server", "raylet"} & set(names):
        return "Ray"
    module = argv[argv.index("-m") + 1:] if "-m" in argv[:-1] else []
    if module[:1] == ["asv"]:
        return "asv"
    if module[:2] == ["workloads", "cluster"]:
        return "a cluster"
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == "--engine" and value in SLOW_ENGINES:
            return f"the {value} engine"
    if module[:1] == ["datagen"] and "--scale" in argv:
        for value in argv[argv.index("--scale") + 1:]:
            if value.startswith("-"):
                break
            try:
                scale = float(value)
            except ValueError:
                continue
            if SLOW_SCALE <= scale <= MAX_SCALE:
                return f"a dataset of scale {value}"
    return None


def _audit(event: str, args: tuple) -> None:
    """Every `subprocess.Popen` of this pytest process (run, check_output, ... and the
    frameworks' own launches) passes here, whoever calls it."""
    if event == "subprocess.Popen" and _current is not None:
        what = slow_command(args[1])
        if what is not None:
            refuse_in_fast_test(what)


sys.addaudithook(_audit)


def run_cli(*args: str, check: bool = False, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m ...` in this interpreter, capturing text output; `env` adds variables."""
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          check=check, timeout=timeout, env={**os.environ, **(env or {})})


def process_tree(pids: list[int]) -> list[psutil.Process]:
    """The processes `pids` and all their descendants (executors, nanny children...)."""
    procs = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs += [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return procs


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
    """The tutorial and TEST_SCALES, generated by two workers (test_datagen compares these
    bytes with a one-worker run's); no test writes into them."""
    out = tmp_path_factory.mktemp("data")
    run_cli("datagen", "--tutorial", "--out", str(out), check=True)
    run_cli("datagen", "--scale", *TEST_SCALES, "--workers", "2", "--out", str(out), check=True)
    return out


@pytest.fixture(scope="session")
def dataset(data_dir: Path) -> Callable[[str], Dataset]:
    """dataset("tutorial") or dataset("0.1"): a generated dataset of this session."""

    def get(name: str) -> Dataset:
        return Dataset.open(data_dir / (name if name == "tutorial" else f"scale-{name}"))

    return get


#: The scale whose match CSV (1.07 GB) is four times a 256 MiB budget; goals 0.8 GB more.
FOUR_TIMES_256MIB = "300"


@pytest.fixture(scope="session")
def four_times_256mib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Scale 300 in CSV, generated once for the engines tested under a 256 MiB budget and removed
    at the session's end: pytest keeps its last sessions' folders, and this one holds 2.2 GB."""
    out = tmp_path_factory.mktemp("four-times")
    run_cli("datagen", "--scale", FOUR_TIMES_256MIB, "--formats", "csv", "--out", str(out),
            check=True, timeout=600)
    yield out / f"scale-{FOUR_TIMES_256MIB}"
    shutil.rmtree(out, ignore_errors=True)


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
            if name in SLOW_ENGINES:
                refuse_in_fast_test(f"the {name} engine")
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
