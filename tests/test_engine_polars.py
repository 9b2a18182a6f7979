"""Polars engine specifics: N workers are N threads of Polars' pool wherever the engine runs,
errors name files and lines, stop ends the engine's process.

The generic answers (workers 1 and 2, tutorial and scale 0.1, CSV and Parquet) are checked by
test_engines.py through the `engine` fixture: in this one pytest process the first worker count
runs Polars here, the other in the engine's own process, so both ways are exercised.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from workloads import engines, spec
from workloads.data.dataset import Input
from workloads.engines.polars import engine as polars_engine
from workloads.runtime.errors import DataError, EngineUnavailable

ROOT = Path(__file__).resolve().parents[1]
#: The threads of Polars' pool are named polars-0, polars-1, ...
POOL_THREAD = re.compile(r"polars-\d+")


def pool_threads(pid: int) -> int:
    """How many threads of Polars' pool process `pid` has."""
    return sum(bool(POOL_THREAD.fullmatch(t.name().strip()))
               for t in map(_thread, psutil.Process(pid).threads()) if t)


def _thread(info: psutil._common.pthread) -> psutil.Process | None:
    try:
        return psutil.Process(info.id)
    except psutil.Error:
        return None


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


# --------------------------------------------------------------------------- workers are threads


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_has_the_worker_count(engine, dataset, workers):
    e = engine("polars", workers)
    e.run("wordcount", dataset("0.01"))
    assert pool_threads(e.pid) == workers


#: Starts a polars engine with N workers in a fresh process (so it runs there) and prints how
#: many threads its streaming executor (threads `async-executor-<i>`) and pool have.
EXECUTOR_PROBE = """
import os, sys
from workloads import engines
engine = engines.create("polars", int(sys.argv[1]))
engine.start()
names = [open(f"/proc/self/task/{t}/comm").read() for t in os.listdir("/proc/self/task")]
print(sum(n.startswith("async-executor") for n in names), engine.pid == os.getpid())
engine.stop()
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_streaming_executor_has_the_worker_count(workers):
    """Polars sizes its streaming executor at the first streaming query, not at import: `start`
    runs one while POLARS_MAX_THREADS is set, so the executor has N threads too."""
    out = subprocess.run([sys.executable, "-c", EXECUTOR_PROBE, str(workers)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(workers), "True"], out


def test_a_second_worker_count_runs_in_a_process_of_its_own(dataset):
    """One process holds one Polars pool: whichever engine cannot use it gets its own process,
    which stop() ends."""
    ds = dataset("0.01")
    one, two = engines.create("polars", 1), engines.create("polars", 2)
    with one, two:
        assert os.getpid() in (one.pid, two.pid) and one.pid != two.pid
        child = one.pid if two.pid == os.getpid() else two.pid
        for e in (one, two):
            assert pool_threads(e.pid) == e.workers
            spec.get("team_records").check(ds.answer("team_records"), e.run("team_records", ds))
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_one_worker_uses_one_core(dataset):
    """The engine's process on 1 worker, sampled while it counts words for 3 s: its CPU time per
    wall second stays within one core, plus the share of Polars' file-reading threads
    (docs/engines.md: 5-22% of its CPU time) and the clock's 10 ms ticks. Two working threads
    would use up to two cores."""
    process = polars_engine.PolarsProcess(1)
    inputs = dataset("1").inputs("wordcount")
    rates = []
    try:
        for _ in range(3):
            t0, c0 = time.monotonic(), cpu_seconds(process.pid)
            while time.monotonic() - t0 < 1.0:
                process.run("wordcount", inputs)
            rates.append((cpu_seconds(process.pid) - c0) / (time.monotonic() - t0))
    finally:
        process.close()
    assert max(rates) <= 1.25, rates


def test_a_pool_of_another_size_is_refused(monkeypatch):
    """A Polars that came up with another pool size (here POLARS_MAX_THREADS=3 left in force)
    is refused in one line, not run on more threads than asked."""
    monkeypatch.setattr(polars_engine, "THREADS_VARIABLE", "PARBENCH_TEST_UNUSED")
    monkeypatch.setenv("POLARS_MAX_THREADS", "3")
    with pytest.raises(EngineUnavailable, match="thread pool has 3 threads, not the 2") as error:
        polars_engine.PolarsProcess(2)
    assert "\n" not in str(error.value)


def test_stop_mid_query_ends_the_process(dataset):
    process = polars_engine.PolarsProcess(2)
    process._conn.send(("team_ratings", dataset("1").inputs("team_ratings")))
    t0 = time.monotonic()
    process.close()
    assert time.monotonic() - t0 < polars_engine.STOP_TIMEOUT
    assert process.process.poll() is not None


# --------------------------------------------------------------------------- errors name files


def damaged_copy(dataset, tmp_path: Path, line: int, edit) -> Input:
    """scale 0.01's match CSVs in `tmp_path`, line `line` of the first edited by `edit`."""
    src = dataset("0.01").input("matches")
    paths = []
    for i, name in enumerate(src.paths):
        lines = Path(name).read_text(encoding="utf-8").splitlines(keepends=True)
        if i == 0:
            lines[line - 1] = edit(lines[line - 1])
        (tmp_path / Path(name).name).write_text("".join(lines), encoding="utf-8")
        paths.append(str(tmp_path / Path(name).name))
    return Input("matches", tuple(paths), "csv")


@pytest.mark.parametrize(("workload", "edit"), [
    ("team_records", lambda line: ",".join([*line.split(",")[:4], "two", *line.split(",")[5:]])),
    ("home_advantage", lambda line: line.rstrip("\n").rsplit(",", 1)[0] + ",Maybe\n"),
])
def test_unparsable_field_names_file_and_line(engine, dataset, tmp_path, workload, edit):
    matches = damaged_copy(dataset, tmp_path, 4, edit)
    with pytest.raises(DataError, match=f"{re.escape(matches.paths[0])}:4: malformed row"):
        engine("polars", 2).run_inputs(workload, {"matches": matches})


def test_corrupt_parquet_names_file(engine, dataset, tmp_path):
    src = dataset("0.01").input("matches", "parquet")
    bad = tmp_path / "part-00099.parquet"
    bad.write_bytes(b"PAR1 this is not parquet PAR1")
    matches = Input("matches", (*src.paths, str(bad)), "parquet")
    with pytest.raises(DataError, match="part-00099.parquet"):
        engine("polars", 1).run_inputs("team_ratings", {"matches": matches})
