"""The helpers of `workloads.runtime` that every package shares: each defined once, each checked
here against what it must leave behind."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from workloads.runtime import environment, limits, processes, scratch, signals
from workloads.runtime.errors import ParbenchError, first_line
from workloads.runtime.settings import Settings

ROOT = str(Path(__file__).resolve().parents[1])


class Silent(Exception):
    """An exception whose message is empty, as DuckDB's and Ray's can be."""


@pytest.mark.parametrize("message", ["", "  ", "\n\n"])
def test_first_line_of_an_empty_message_is_the_type(message: str) -> None:
    assert first_line(Silent(message)) == "Silent"
    assert first_line(message) == ""


def test_first_line_is_the_first_with_text() -> None:
    error = ValueError("\n  cannot read a.csv: line 3\nTraceback (most recent call last):\n")
    assert first_line(error) == "cannot read a.csv: line 3"
    assert first_line("java.io.IOException: gone\n\tat Foo.bar") == "java.io.IOException: gone"


def test_variables_are_as_before_after_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBENCH_TEST_SET", "before")
    monkeypatch.delenv("PARBENCH_TEST_UNSET", raising=False)
    values = {"PARBENCH_TEST_SET": "1", "PARBENCH_TEST_UNSET": "2"}
    # restored on the way out of an error too
    with pytest.raises(KeyError), environment.variables(values):
        assert {key: os.environ[key] for key in values} == values
        del os.environ["PARBENCH_TEST_SET"]  # what the block does to them does not last
        os.environ["PARBENCH_TEST_UNSET"] = "changed"
        raise KeyError("inside")
    assert os.environ["PARBENCH_TEST_SET"] == "before"
    assert "PARBENCH_TEST_UNSET" not in os.environ


def test_kept_puts_back_the_handlers_the_block_replaced() -> None:
    before = {sig: signal.getsignal(sig) for sig in signals.INTERRUPTS}

    def framework(signum: int, frame: object) -> None:  # as Ray's node sets for SIGTERM
        raise SystemExit(1)

    with pytest.raises(RuntimeError), signals.kept(signal.SIG_IGN) as previous:
        assert previous == before
        assert [signal.getsignal(sig) for sig in signals.INTERRUPTS] == [signal.SIG_IGN] * len(
            signals.INTERRUPTS)
        signal.signal(signal.SIGTERM, framework)
        raise RuntimeError("inside")
    assert {sig: signal.getsignal(sig) for sig in signals.INTERRUPTS} == before


def test_kept_sets_nothing_outside_the_main_thread() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: dict[str, object] = {}

    def body() -> None:
        with signals.kept(signal.SIG_IGN) as previous:
            seen.update(previous=previous, inside=signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(timeout=60)
    assert seen == {"previous": {}, "inside": before}


def test_held_signals_arrive_after_the_step() -> None:
    finished = []
    # Python's own Ctrl-C handler, whatever this run inherited (a background job ignores SIGINT)
    with signals.kept(signal.default_int_handler, (signal.SIGINT,)):
        with pytest.raises(KeyboardInterrupt), signals.HeldSignals() as held:
            signal.raise_signal(signal.SIGINT)  # its handler runs before raise_signal returns
            assert held.caught == [signal.SIGINT]
            finished.append(True)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert finished == [True]


def sleeper() -> tuple[subprocess.Popen[bytes], float]:
    """A child that ignores SIGTERM (a process that must be killed), and its start time."""
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                              "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
    return child, psutil.Process(child.pid).create_time()


def test_end_kills_only_the_processes_whose_start_time_matches() -> None:
    """`b` stands for a PID reused by another process: its recorded start time differs."""
    (a, created_a), (b, created_b) = sleeper(), sleeper()
    try:
        assert processes.is_running(a.pid, created_a)
        assert not processes.is_running(b.pid, created_b - 1.0)
        processes.end({a.pid: created_a, b.pid: created_b - 1.0}, grace=0.2)
        assert not processes.is_running(a.pid, created_a)
        assert b.poll() is None and processes.is_running(b.pid, created_b)
    finally:
        for child in (a, b):
            child.kill()
            child.wait(timeout=60)


@pytest.mark.parametrize(("status", "words"), [
    (1, "exited with status 1"), (-signal.SIGABRT, "was killed by SIGABRT"),
    (-signal.SIGKILL, "was killed by SIGKILL (the kernel's out-of-memory killer sends it, "
                      "or kill -9)"), (-99, "was killed by signal 99")])
def test_how_a_process_ended_names_its_status_or_signal(status: int, words: str) -> None:
    assert processes.how_ended(status) == words


def test_made_by_finds_what_a_process_made_by_its_pid(tmp_path: Path) -> None:
    mine = scratch.folder("test", within=tmp_path)
    (tmp_path / f"{scratch.PREFIX}test.zz-000000").mkdir()  # another PID's (base 36)
    (tmp_path / "unrelated").mkdir()
    try:
        assert scratch.made_by(os.getpid(), tmp_path) == [mine]
    finally:
        scratch.remove(mine)
    assert scratch.made_by(os.getpid(), tmp_path) == []


def test_a_lasting_folder_is_not_removed_with_this_process_files(tmp_path: Path) -> None:
    """A cluster's folder outlives the `up` that made it; an engine's goes when it stops."""
    lasting, passing = scratch.lasting_folder("test", tmp_path), scratch.folder("test", tmp_path)
    for made in (lasting, passing):
        scratch.remove(made)  # what remove_all, at exit or after a signal, does to each
        assert scratch.is_made_here(made)
    assert lasting.is_dir() and not passing.exists()
    assert not scratch.is_made_here(tmp_path)


#: Prints the bounds as this machine's limits set them for the process (a JSON object).
BOUNDS = """
import json
from workloads.runtime import limits
from workloads.runtime.errors import ParbenchError
try:
    default = limits.default_workers(2)
except ParbenchError as exc:
    default = str(exc)
print(json.dumps({"cores": limits.cores(), "threads": limits.machine_bound(0).workers,
                  "cluster": limits.machine_bound(2, least=0).__dict__,
                  "engine": limits.machine_bound(2).workers, "default": default,
                  "default_threads": limits.default_workers()}))
"""


def bounds_under(limit: Callable[[], None]) -> dict[str, Any]:
    """BOUNDS in a fresh Python started under `limit` (a ulimit, an affinity)."""
    proc = subprocess.run([sys.executable, "-c", BOUNDS], capture_output=True, text=True,
                          timeout=120, preexec_fn=limit, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_one_core_bounds_threads_at_workers_per_core_and_defaults_to_one() -> None:
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity here")
    found = bounds_under(lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    assert (found["cores"], found["threads"], found["default_threads"]) == \
        (1, limits.WORKERS_PER_CORE, 1)
    assert found["cluster"]["workers"] <= limits.WORKERS_PER_CORE


def test_the_process_limit_bounds_a_cluster_at_0_and_an_engine_at_1() -> None:
    """Under `ulimit -u 1` no worker process fits: a cluster (its workers all new processes)
    starts none; an engine still runs its first worker, the process itself."""
    _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    found = bounds_under(lambda: resource.setrlimit(resource.RLIMIT_NPROC, (1, hard)))
    assert found["cluster"]["workers"] == 0 and "ulimit -u 1," in found["cluster"]["reason"]
    assert found["engine"] == 1
    assert found["default"].startswith("this machine cannot run another worker (ulimit -u 1,")
    assert found["threads"] == limits.WORKERS_PER_CORE * found["cores"]  # threads: no limit


def test_the_memory_bound_names_the_memory() -> None:
    huge = 2**60  # more than any machine has free: not one worker fits
    assert limits.machine_bound(1, memory_per_worker=huge, least=0).workers == 0
    bound = limits.machine_bound(1, memory_per_worker=huge)
    assert bound.workers == 1 and bound.reason.endswith(f"{huge // 2**20} MiB per worker process")
    with pytest.raises(ParbenchError, match="at most 1 .* MiB per worker process"):
        limits.check_workers("engine 'x'", 2, processes=2**40)


@pytest.mark.parametrize(("cores", "counts"), [
    (1, (1,)), (2, (1, 2)), (4, (1, 2, 4)), (6, (1, 2, 4, 6)), (16, (1, 2, 4, 8, 16))])
def test_the_benchmarks_worker_counts_double_up_to_the_cores(cores: int,
                                                              counts: tuple[int, ...]) -> None:
    assert limits.worker_counts(cores) == counts
    assert Settings.from_env({}, cores=cores).workers == counts
