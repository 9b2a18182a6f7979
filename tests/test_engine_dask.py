"""Dask-specific behaviour: real schedulers, real worker processes (the generic checks of every
parallel engine are in test_engines.py)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import dask.bag as db
import pytest
from dask.utils import key_split
from distributed import get_task_stream
from keyed_inputs import DUPLICATE_KEY_ANSWER, KEYED, duplicate_key_inputs, goal_file_errors
from servers import closed_port, http_server, silent_port

from workloads import engines, spec
from workloads.runtime.errors import DataError, EngineUnavailable
from workloads.runtime.settings import Settings

ADDRESS_ENV = Settings.variable("dask_address")
DASK = ["dask-threads", "dask-processes", "dask-distributed"]


def slow_pid(_: object) -> int:
    time.sleep(0.05)
    return os.getpid()


@contextlib.contextmanager
def wrong_service(fault: str) -> Iterator[str]:
    """The address of a real server on 127.0.0.1 that is no Dask scheduler."""
    if fault == "closed port":
        yield f"tcp://127.0.0.1:{closed_port()}"
        return
    with (silent_port() if fault == "silent port" else http_server()) as port:
        yield f"tcp://127.0.0.1:{port}"


@pytest.mark.parametrize("fault", ["closed port", "silent port", "http server"])
def test_wrong_scheduler_address_fails_fast_naming_it(fault, monkeypatch):
    """The start ends with the address check's deadline (shortened here: a silent port and an
    HTTP server wait all of it), not with a client's own retries."""
    monkeypatch.setenv("PARBENCH_CONNECT_TIMEOUT", "1")
    with wrong_service(fault) as address:
        monkeypatch.setenv(ADDRESS_ENV, address)
        e = engines.create("dask-distributed", 1)
        t0 = time.monotonic()
        with pytest.raises(EngineUnavailable) as info:
            e.start()
        assert time.monotonic() - t0 < 3.0
    message = str(info.value)
    assert address in message and ADDRESS_ENV in message and "\n" not in message
    assert e.client is None and e.cluster is None


@pytest.mark.parametrize("address", ["nonsense://nowhere", "tcp://127.0.0.1:notaport",
                                     "tcp://127.0.0.1", "spark://127.0.0.1:7077"])
def test_bad_address_is_one_line(address, monkeypatch):
    monkeypatch.setenv(ADDRESS_ENV, address)
    with pytest.raises(EngineUnavailable, match="is not a Dask scheduler address") as info:
        engines.create("dask-distributed", 1).start()
    assert address in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow  # a process pool
@pytest.mark.parametrize("workers", [1, 2])
def test_processes_engine_runs_tasks_in_workers_processes(workers, engine):
    e = engine("dask-processes", workers)
    pool = e.pids()
    assert len(pool) == workers and os.getpid() not in pool
    (seen,) = e.compute(db.from_sequence(range(8 * workers), npartitions=8 * workers)
                        .map(slow_pid))
    assert set(seen) == pool


@pytest.mark.slow  # a Dask cluster
@pytest.mark.parametrize("workers", [1, 2])
def test_distributed_engine_has_single_threaded_workers(workers, engine):
    info = engine("dask-distributed", workers).client.scheduler_info()["workers"]
    assert [w["nthreads"] for w in info.values()] == [1] * workers


@pytest.mark.slow  # a Dask cluster
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_team_ratings_reads_each_file_once(fmt, engine, dataset):
    """Persisted: every reading task ends before the first pass starts, none reads twice."""
    ds = dataset("0.1")
    files = len(ds.input("matches", fmt).paths)
    e = engine("dask-distributed", 2)
    with get_task_stream(e.client) as stream:
        answer = e.run("team_ratings", ds, fmt)
    spec.get("team_ratings").check(ds.answer("team_ratings"), answer)
    spans = [(key_split(t["key"]), min(s["start"] for s in t["startstops"]),
              max(s["stop"] for s in t["startstops"])) for t in stream.data]
    reads = [stop for name, _, stop in spans if "read" in name]
    passes = [start for name, start, _ in spans if name == "gradient"]
    assert 0 < len(reads) <= files, "every file is read at most once"
    assert len(passes) % spec.RATING_PASSES == 0 and len(passes) <= spec.RATING_PASSES * files
    assert max(reads) < min(passes), "a file was read during the passes"
    deadline = time.monotonic() + 5
    while (held := sum(map(len, e.client.has_what().values()))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not held, "the persisted partitions are released after the run"


@pytest.mark.parametrize("scale", ["tutorial", "0.1"])
@pytest.mark.parametrize("name", DASK)
def test_keyed_workloads_on_parquet(name, scale, engine, dataset):
    """CSV is checked by test_engines.py for every engine."""
    ds = dataset(scale)
    for workload in KEYED:
        spec.get(workload).check(ds.answer(workload), engine(name, 2).run(workload, ds, "parquet"))


@pytest.mark.parametrize("name", DASK)
def test_every_matching_pair_counts(name, engine, tmp_path):
    answer = engine(name, 2).run_inputs("top_scorers", duplicate_key_inputs(tmp_path))
    spec.get("top_scorers").check(DUPLICATE_KEY_ANSWER, answer)


@pytest.mark.parametrize("name", DASK)
def test_goal_file_errors_name_the_file(name, engine, dataset, tmp_path):
    for inputs, message in goal_file_errors(dataset, tmp_path):
        with pytest.raises(DataError, match=message):
            engine(name, 2).run_inputs("top_scorers", inputs)
