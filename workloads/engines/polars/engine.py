"""The `polars` engine: where its queries run, so that N workers are N threads of Polars' pool.

Polars sizes its thread pool once per process, from POLARS_MAX_THREADS when it is first imported,
and never changes it (`polars.thread_pool_size()` reports the size). So `start` runs the queries
of `plans`

* in this process (`LocalPolars`) when Polars' pool here has the worker count or can still be
  given it: Polars is not imported yet, and `start` imports it with POLARS_MAX_THREADS set. The
  command line and asv start every engine in a fresh process, so they always time Polars here,
  as a user of Polars runs it;
* otherwise (a process whose pool is already sized differently: a test session, a notebook) in a
  process of the engine's own (`PolarsProcess`): a fresh interpreter started with
  POLARS_MAX_THREADS set, which runs the workloads on request and ends, with its pool, at `stop`.

Either way `start` has Polars build its pools and checks their sizes (`plans.prepare`): a pool
of another size is an error, never a run on more threads than workers.

Under a memory budget (the memory setting) Polars reads its CSV in small pieces and gives freed
memory back at once (`BUDGET_VARIABLES`, set before it is imported: always in a process of the
engine's own where Polars was imported here already), and the workloads whose plans hold a whole
input run in their out-of-core form (`outofcore`), with a share of the memory still available
under the budget and a private folder for their parts.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import multiprocessing
import os
import resource
import subprocess
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from workloads import spec
from workloads.data.dataset import Input
from workloads.engines.base import (
    Availability,
    Engine,
    children_ignore_interrupts,
    init_worker_process,
)
from workloads.runtime import environment, limits, memory, processes, scratch
from workloads.runtime.errors import AllocationFailed, JobFailed, ParbenchError, last_error_line
from workloads.runtime.project import CODE_ROOT
from workloads.runtime.settings import Settings

#: The variable Polars sizes its pools from: its thread pool (at import) and its streaming
#: engine's executor (at the first streaming query).
THREADS_VARIABLE = "POLARS_MAX_THREADS"
#: Seconds the engine's own process gets to end after SIGTERM, before SIGKILL.
STOP_TIMEOUT = 5.0
#: The engine's own process, in one-line messages.
PROCESS = "the Polars engine's process"
#: Polars' Rust library, as a module (Polars 2).
NATIVE_MODULE = "polars._plr"
#: What Rust's handler of an allocation that failed writes before it aborts the process
#: ("memory allocation of 336 bytes failed").
ALLOCATION_FAILED = "memory allocation of"
#: Under a memory budget: the CSV reader's unit of reading (32 MiB by default, read ahead for
#: every thread and for several files at once: more than a small budget holds), and jemalloc,
#: Polars' allocator, returning freed pages to the system at once (by default it keeps them for
#: up to 1.5 s, the process's all the while; a part of an out-of-core form frees the last part's).
BUDGET_VARIABLES = {"POLARS_CSV_CHUNK_SIZE": str(2**20),
                    "_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}


@dataclass(frozen=True)
class Budget:
    """What a workload's out-of-core form may use: `memory` bytes for its data, and `folder`,
    private to the engine, for the parts it writes."""

    memory: int
    folder: Path


def answer(workload: str, inputs: dict[str, Input], budget: Budget | None) -> Any:
    """Where the queries run: the workload's out-of-core form under a budget, where it has one,
    else its plan."""
    from workloads.engines.polars import outofcore, plans

    form = outofcore.FORMS.get(workload) if budget is not None else None
    return form(**inputs, budget=budget) if form else getattr(plans, workload)(**inputs)


def pool_here() -> int | None:
    """The size of Polars' thread pool in this process; None before Polars is imported."""
    polars = sys.modules.get("polars")
    return None if polars is None else polars.thread_pool_size()


class LocalPolars:
    """The queries run in this process, whose Polars pool has `threads` threads, with
    `variables` set while Polars is imported and while each runs. Polars' pool lives as long as
    the process: closing ends nothing."""

    def __init__(self, threads: int, variables: Mapping[str, str] | None = None) -> None:
        self._variables = dict(variables or {})
        # read where Polars builds a pool: see `plans.prepare`
        with environment.variables({**self._variables, THREADS_VARIABLE: str(threads)}):
            from workloads.engines.polars import plans

            plans.prepare(threads)
        self.pid = os.getpid()

    def run(self, workload: str, inputs: dict[str, Input], budget: Budget | None = None) -> Any:
        with environment.variables(self._variables):
            return answer(workload, inputs, budget)

    def close(self) -> None:
        pass


def portable(exc: Exception) -> Exception:
    """`exc` as the caller can unpickle it without importing Polars: a ParbenchError as it is,
    an allocation that failed (`memory.allocation_error`) as one line naming the limit, anything
    else (a bug) as a RuntimeError holding its traceback."""
    if isinstance(exc, ParbenchError):
        return exc
    if memory.allocation_error(exc):
        return AllocationFailed(memory.allocation_failed(f"an allocation of {PROCESS}"))
    return RuntimeError("in the Polars process: " + "".join(traceback.format_exception(exc)))


def load_library() -> None:
    """Load Polars' Rust library (some 170 MB to map), or fail in one line naming the
    address-space limit that keeps it out: `import polars` hides that failure (it imports the
    library where an ImportError is let pass), and the first query fails with a NameError."""
    try:
        importlib.import_module(NATIVE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != NATIVE_MODULE:  # another name in another Polars: nothing to check
            raise
    except ImportError:
        if memory.address_space_limit() is None:
            raise
        raise AllocationFailed(memory.allocation_failed(
            f"mapping Polars' library into {PROCESS}")) from None


def serve(conn: Connection, threads: int) -> None:
    """The Polars process: check the pool, then run workloads by name (`answer`) until the
    engine closes the connection (or dies: the next receive or send fails)."""
    init_worker_process(threads=threads)
    # No core file: a process that aborts on an allocation Polars could not make would leave
    # one the size of its address space in the working folder.
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    try:
        load_library()
        from workloads.engines.polars import plans

        plans.prepare(threads)
        conn.send((True, None))
    except Exception as exc:
        conn.send((False, portable(exc)))
        return
    with contextlib.suppress(EOFError, BrokenPipeError):
        while True:
            workload, inputs, budget = conn.recv()
            try:
                reply = (True, answer(workload, inputs, budget))
            except Exception as exc:
                reply = (False, portable(exc))
            conn.send(reply)


class PolarsProcess:
    """The queries run in a process of the engine's own: a fresh interpreter whose Polars pool
    has `threads` threads, with `variables` in its environment.

    It is started as `python -m workloads.engines.polars FD THREADS` with POLARS_MAX_THREADS in
    its environment (not by multiprocessing, whose spawned children re-run the caller's main
    script), and speaks over a `multiprocessing` connection on the inherited descriptor FD. Its
    stderr goes to a private file, which says why it ended if it ends mid-request."""

    def __init__(self, threads: int, variables: Mapping[str, str] | None = None) -> None:
        self._conn, child = multiprocessing.Pipe()
        env = {**os.environ, **(variables or {}), THREADS_VARIABLE: str(threads),
               "PYTHONPATH": os.pathsep.join(filter(None, (str(CODE_ROOT),
                                                           os.environ.get("PYTHONPATH"))))}
        self._log, log = scratch.file("polars", ".log")
        try:
            with children_ignore_interrupts():
                self.process = subprocess.Popen(
                    [sys.executable, "-m", __package__, str(child.fileno()), str(threads)],
                    env=env, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stderr=log)
        except BaseException:
            scratch.remove(self._log)
            raise
        finally:
            os.close(log)
        child.close()
        self.pid = self.process.pid
        try:
            self._reply()  # the pool's check
        except BaseException:
            self.close()
            raise

    def run(self, workload: str, inputs: dict[str, Input], budget: Budget | None = None) -> Any:
        self._conn.send((workload, inputs, budget))
        return self._reply()

    def _reply(self) -> Any:
        try:
            ok, value = self._conn.recv()
        except EOFError:
            raise self._ended() from None
        if not ok:
            raise value
        return value

    def _ended(self) -> ParbenchError:
        """Why the process ended mid-request, in one line: an allocation that failed (Polars
        cannot fail one: Rust's handler prints a line and aborts the process), or how it ended
        and the last line it wrote."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_TIMEOUT)
        said = self._log.read_text(errors="replace") if self._log.exists() else ""
        if ALLOCATION_FAILED in said:
            return AllocationFailed(memory.allocation_failed(f"an allocation of {PROCESS}"))
        status = self.process.returncode
        how = "closed its connection" if status is None else processes.how_ended(status)
        last = f"; its last line: {last_error_line(said)}" if said.strip() else ""
        return JobFailed(f"Polars lost the job: its process (PID {self.pid}) {how}{last}")

    def close(self) -> None:
        """End the process now, even in the middle of a query (after Ctrl-C)."""
        self._conn.close()
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        scratch.remove(self._log)


class PolarsEngine(Engine):
    """Polars: lazy scans, one query plan per workload; workers are the threads of its pool."""

    name = "polars"
    #: Arrow (which `plans` uses only to name the line of a malformed file) gets `workers`
    #: threads here too; the engine's own process caps its Arrow itself.
    in_process = True
    _runner: LocalPolars | PolarsProcess | None = None
    #: Under a memory budget, the private folder of the out-of-core forms' parts.
    _folder: Path | None = None

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
        return self._runner.pid if self._runner else None

    def start(self) -> None:
        if self._runner is None:
            variables = BUDGET_VARIABLES if self.settings.memory else {}
            here = pool_here()
            # Polars imported here already has its allocator set up: under a budget, a process
            # of the engine's own gets the allocator's settings.
            # Under an address-space limit (ulimit -v), an allocation that Polars cannot make
            # aborts the process that makes it (Rust's handler: Polars has no fallible
            # allocation, so there is no exception to catch), and that would be this one, in
            # the middle of the run. Its own process ends instead, and this one says so in one
            # line. Not a refusal: what a run needs under the limit (address space reserved
            # per thread and per arena, besides the data) is not known beforehand, and a
            # generous limit lets it run.
            local = (here is None or (here == self.workers and not variables)) \
                and memory.address_space_limit() is None
            self._runner = (LocalPolars if local else PolarsProcess)(self.workers, variables)
            if self.settings.memory:
                self._folder = scratch.folder("polars")
        super().start()

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        scratch.remove(self._folder)
        self._folder = None
        super().stop()

    def budget(self) -> Budget | None:
        """Under a memory budget, what an out-of-core form may use now: a share of the memory
        still available under the budget (the engine's whole process tree counted)."""
        if self.settings.memory is None or self._folder is None:
            return None
        return Budget(limits.engine_memory(budget=self.settings.memory), self._folder)

    def _run(self, workload: str, **inputs: Input) -> Any:
        if self._runner is None:
            raise ParbenchError(f"engine {self.name!r} is not started")
        return self._runner.run(workload, inputs, self.budget())

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

    def unbeaten_streaks(self, matches: Input) -> spec.Streaks:
        return self._run("unbeaten_streaks", matches=matches)

    def top_scorers(self, goals: Input, matches: Input) -> spec.TopScorers:
        return self._run("top_scorers", goals=goals, matches=matches)
