"""Ctrl-C and SIGTERM in the middle of a run, as a terminal sends them: to the whole process group.

Each run gets a private temporary folder. The signal goes out once the engine's workload method
has begun (the engine is registered a second time, as `marked-<name>`, with methods that touch a
file first: tests/midrun_engine.py) and a moment later; then the command must end within seconds
with one line and status 130 (143), and leave no process and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from conftest import asv_args

from reports.sidecar import suite_name
from workloads import engines
from workloads.runtime import scratch
from workloads.runtime.errors import EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_TERMINATED

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a command may take to stop after the signal.
STOP_WITHIN = 15
#: Seconds after the workload method began before the signal: the run is then inside the
#: framework (reading, shuffling, iterating), not at its first line.
IN_FLIGHT = 0.3


def session(sid: int) -> list[psutil.Process]:
    """The live processes of session `sid`."""
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def marked(name: str, tmp: Path) -> tuple[dict[str, str], Path]:
    """The environment that registers engine `name` again as `marked-<name>` (its workload
    methods touch the returned file first) with `tmp` as the temporary folder."""
    mark = tmp.parent / f"{tmp.name}.mark"
    plugin = f"marked-{name}={Path(__file__).with_name('midrun_engine.py')}:" \
             f"{suite_name(name)}"
    return {**os.environ, "TMPDIR": str(tmp), "MIDRUN_MARK": str(mark),
            "PARBENCH_ENGINES": plugin}, mark


#: Picks, of the processes a run has started, the one to signal (else its process group).
Victim = Callable[[list[psutil.Process]], psutil.Process]


#: Seconds the processes a run started may take to end after it did.
LEFT_WITHIN = 15.0


def interrupt_when_marked(command: list[str], env: dict[str, str], mark: Path, sig: int,
                          cwd: Path = ROOT, victim: Victim | None = None
                          ) -> subprocess.CompletedProcess:
    """Run `command` in its own session; once `mark` exists (a workload is in flight), signal
    its process group, or the process `victim` picks. The finished process, once it has stopped
    in time and left no process (of its session, or started by it in another) and no temporary
    file in /tmp."""
    proc = subprocess.Popen(command, cwd=cwd, text=True, env=env,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    while proc.poll() is None and not mark.exists():
        time.sleep(0.01)
    time.sleep(IN_FLIGHT)
    assert proc.poll() is None, f"the run ended before the signal: {proc.communicate()}"
    started = psutil.Process(proc.pid).children(recursive=True)  # in other sessions too
    if victim is None:
        os.killpg(proc.pid, sig)
    else:
        victim(started).send_signal(sig)
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=STOP_WITHIN + 30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - t0 < STOP_WITHIN, f"took {time.monotonic() - t0:.1f} s"
    # Ray's workers end once they see their raylet gone: seconds, more on a loaded machine.
    deadline = time.monotonic() + LEFT_WITHIN
    while (left := alive(session(proc.pid) + started)) and time.monotonic() < deadline:
        time.sleep(0.1)
    named = [p.cmdline() for p in left]
    for p in left:  # a failure here must not leave them running into the next tests
        with contextlib.suppress(psutil.Error):
            p.kill()
    assert not left, named
    # Ray's session folder is in /tmp when the temporary folder's path is too long for its
    # sockets.
    assert scratch.made_by(proc.pid, Path("/tmp")) == [], "temporary files left in /tmp"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `procs` that still run (a zombie does not)."""
    running = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                running.append(p)
        except psutil.Error:
            continue
    return running


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset large enough that reading it takes a moment on every engine."""
    out = tmp_path_factory.mktemp("big")
    subprocess.run([sys.executable, "-m", "datagen", "--scale", "20", "--out", str(out)],
                   check=True, capture_output=True)
    return out / "scale-20"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("name", engines.names())
def test_engine_interrupted_mid_run(name, sig, big, tmp_path):
    workers = 1 if engines.implementation(name).max_workers == 1 else 2
    env, mark = marked(name, tmp_path)
    done = interrupt_when_marked(
        [sys.executable, "-m", "workloads", "run", "team_ratings", "--engine", f"marked-{name}",
         "--workers", str(workers), "--data", str(big)], env, mark, sig)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == (EXIT_INTERRUPTED if sig == signal.SIGINT else EXIT_TERMINATED)
    assert lines == ["python -m workloads: interrupted"], done.stderr
    assert list(tmp_path.iterdir()) == [], "temporary files left behind"


@pytest.mark.parametrize("name", ["mapreduce", "dask-processes", "spark", "polars", "ray"])
def test_engine_hung_up_mid_run(name, big, tmp_path):
    """A closed terminal or SSH session (SIGHUP) stops a run as SIGTERM does: one line, 129,
    every process it started ended (Ray's servers, agents and workers too: they are of its
    session, or its descendants), every temporary file removed."""
    env, mark = marked(name, tmp_path)
    done = interrupt_when_marked(
        [sys.executable, "-m", "workloads", "run", "team_ratings", "--engine", f"marked-{name}",
         "--workers", "2", "--data", str(big)], env, mark, signal.SIGHUP)
    assert done.returncode == EXIT_HANGUP, done.stderr
    assert done.stderr.strip().splitlines() == ["python -m workloads: interrupted"]
    assert list(tmp_path.iterdir()) == [], "temporary files left behind"


def first(word: str, killed: list[int]) -> Victim:
    """A victim: the first process whose command line holds `word`, its PID noted in
    `killed`."""
    def pick(procs: list[psutil.Process]) -> psutil.Process:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                if word in " ".join(proc.cmdline()):
                    killed.append(proc.pid)
                    return proc
        raise AssertionError(f"no process of the run runs {word!r}")

    return pick


@pytest.mark.parametrize(("name", "word", "lost"), [
    pytest.param("spark", "org.apache.spark.deploy.SparkSubmit",
                 "Spark lost the job: its JVM (PID {})", id="spark"),
    pytest.param("mapreduce", "multiprocessing.spawn",
                 "MapReduce lost the job: its pool's worker process {}", id="mapreduce")])
def test_a_process_killed_mid_run_is_one_line(name, word, lost, big, tmp_path):
    """A process of the engine's killed mid-run (SIGKILL, as the kernel's out-of-memory killer
    sends it: the Spark JVM, a worker of the MapReduce pool) ends the run within seconds in one
    line naming it and the signal, not a Py4J traceback or a pool waiting forever for the task
    it held; nothing is left behind."""
    env, mark = marked(name, tmp_path)
    killed: list[int] = []
    done = interrupt_when_marked(
        [sys.executable, "-m", "workloads", "run", "team_ratings", "--engine", f"marked-{name}",
         "--workers", "2", "--data", str(big)], env, mark, signal.SIGKILL,
        victim=first(word, killed))
    assert done.returncode not in (0, -signal.SIGKILL), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"{lost.format(killed[0])} was killed by SIGKILL" in done.stderr
    assert list(tmp_path.iterdir()) == [], "temporary files left behind"


@pytest.mark.parametrize("name", ["mapreduce", "dask-distributed", "spark", "ray"])
def test_asv_interrupted_mid_benchmark(name, big, tmp_path):
    """asv gives a benchmark process 0.1 s after Ctrl-C, then kills it: the engine's processes
    and temporary files must still go."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env, mark = marked(name, tmp)
    env.update(PARBENCH_DATA=str(big.parent), PARBENCH_SCALES="20", PARBENCH_WORKERS="2",
               HOME=str(tmp_path))
    subprocess.run(asv_args(tmp_path, "machine", "--yes", "--machine", "interrupted"), env=env,
                   check=True, cwd=tmp_path, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True,
                          capture_output=True, check=True).stdout.strip()
    interrupt_when_marked(
        asv_args(tmp_path, "run", "--python=same", "--quick", "--machine", "interrupted",
                 "--set-commit-hash", head, "-b",
                 f"Marked{suite_name(name)}.time_team_ratings"),
        env, mark, signal.SIGINT, cwd=tmp_path)
    assert list(tmp.iterdir()) == [], "temporary files left behind"
