"""The `polars` engine: its lifecycle, and the process in which its queries run.

Polars sizes its thread pool once per process, from `POLARS_MAX_THREADS` when it is first
imported, and never changes it (`polars.thread_pool_size()` reports it). So the engine runs
Polars in a process of its own: `start` spawns a fresh interpreter with POLARS_MAX_THREADS set to
the worker count, which imports Polars, refuses to go on unless `thread_pool_size()` is that
count, and then runs the workloads of `plans` on request, one at a time; `stop` ends it, and
Polars' threads with it. The calling process never imports Polars, so every engine it starts,
whatever its worker count, gets exactly its own number of threads.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import multiprocessing
import os
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from workloads import spec
from workloads.dataset import Input
from workloads.engines.base import (
    Availability,
    Engine,
    children_ignore_interrupts,
    init_worker_process,
)
from workloads.errors import ParbenchError
from workloads.settings import Settings

#: The variable Polars reads at import for the size of its thread pool.
THREADS_VARIABLE = "POLARS_MAX_THREADS"
#: Seconds a stopped process gets to end after SIGTERM, before SIGKILL.
STOP_TIMEOUT = 5.0


@contextlib.contextmanager
def polars_threads(threads: int) -> Iterator[None]:
    """POLARS_MAX_THREADS=`threads` in this process's environment, for a child started inside."""
    previous = os.environ.get(THREADS_VARIABLE)
    os.environ[THREADS_VARIABLE] = str(threads)
    try:
        yield
    finally:
        if previous is None:
            del os.environ[THREADS_VARIABLE]
        else:
            os.environ[THREADS_VARIABLE] = previous


def portable(exc: Exception) -> Exception:
    """`exc` as the caller can unpickle it without importing Polars: a ParbenchError as it is,
    anything else (a bug) as a RuntimeError holding its traceback."""
    if isinstance(exc, ParbenchError):
        return exc
    return RuntimeError("in the Polars process: " + "".join(traceback.format_exception(exc)))


def serve(conn: Connection, threads: int) -> None:
    """The Polars process: check the pool, then run `plans` functions by name until the engine
    closes the connection (or dies: the next receive or send fails)."""
    init_worker_process(threads)
    try:
        from workloads.engines.polars import plans

        plans.check_pool(threads)
        conn.send((True, None))
    except Exception as exc:
        conn.send((False, portable(exc)))
        return
    with contextlib.suppress(EOFError, BrokenPipeError):
        while True:
            workload, inputs = conn.recv()
            try:
                reply = (True, getattr(plans, workload)(**inputs))
            except Exception as exc:
                reply = (False, portable(exc))
            conn.send(reply)


class PolarsProcess:
    """A spawned process whose Polars pool has `threads` threads, running the workloads."""

    def __init__(self, threads: int) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no Polars yet
        self._conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, threads), daemon=True,
                                       name="parbench-polars")
        with children_ignore_interrupts(), polars_threads(threads):
            self.process.start()
        child.close()
        try:
            self._reply()  # the pool's check
        except BaseException:
            self.close()
            raise

    def run(self, workload: str, inputs: dict[str, Input]) -> Any:
        self._conn.send((workload, inputs))
        return self._reply()

    def _reply(self) -> Any:
        try:
            ok, value = self._conn.recv()
        except EOFError:
            self.process.join(STOP_TIMEOUT)
            raise ParbenchError(f"the Polars process (pid {self.process.pid}) ended unexpectedly, "
                                f"exit status {self.process.exitcode}") from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """End the process now, even in the middle of a query (after Ctrl-C)."""
        self._conn.close()
        self.process.terminate()
        self.process.join(STOP_TIMEOUT)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class PolarsEngine(Engine):
    """Polars: lazy scans, one query plan per workload; workers are the threads of its pool."""

    name = "polars"
    _process: PolarsProcess | None = None

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        try:  # versions without importing Polars, which would size a pool in this process
            versions = {name: importlib.metadata.version(name) for name in ("polars", "numpy")}
        except importlib.metadata.PackageNotFoundError:
            return Availability(False, "polars is not installed: `pip install -e '.[polars]'`")
        return Availability(True, versions=versions)

    @property
    def pid(self) -> int | None:
        """The id of the process that runs the queries (None when stopped)."""
        return self._process.process.pid if self._process else None

    def start(self) -> None:
        if self._process is None:
            self._process = PolarsProcess(self.workers)
        super().start()

    def stop(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None
        super().stop()

    def _run(self, workload: str, **inputs: Input) -> Any:
        if self._process is None:
            raise ParbenchError(f"engine {self.name!r} is not started")
        return self._process.run(workload, inputs)

    def wordcount(self, text: Input) -> spec.WordCounts:
        return self._run("wordcount", text=text)

    def mean_home_score(self, matches: Input) -> float:
        return self._run("mean_home_score", matches=matches)

    def home_advantage(self, matches: Input) -> int:
        return self._run("home_advantage", matches=matches)

    def team_records(self, matches: Input) -> spec.TeamRecords:
        return self._run("team_records", matches=matches)

    def team_ratings(self, matches: Input) -> spec.Ratings:
        return self._run("team_ratings", matches=matches)
