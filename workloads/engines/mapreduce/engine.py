"""`MapReduceEngine`: every workload as MapReduce jobs on a pool of worker processes."""

from __future__ import annotations

import multiprocessing
import os
import platform
import signal
import time
from multiprocessing.pool import Pool
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from workloads import spec
from workloads.data.dataset import Input, Inputs
from workloads.engines.base import (
    Availability,
    Engine,
    children_ignore_interrupts,
    init_worker_process,
)
from workloads.engines.mapreduce import jobs
from workloads.engines.mapreduce.runtime import (
    SERIALIZERS,
    Counters,
    Job,
    add_counters,
    all_done,
    new_counters,
    pool_workers,
    run_job,
    splits_of,
)
from workloads.runtime import limits, scratch
from workloads.runtime.errors import ParbenchError
from workloads.runtime.settings import Settings

#: Defaults chosen by measurement at scale 10 (docs/engines.md).
DEFAULT_MAPPERS = "vectorised"
DEFAULT_SERIALIZER = "marshal"
PARTITIONS_PER_WORKER = 1
#: How long `start` waits for every worker to have imported the jobs.
WORKERS_READY_SECONDS = 60.0


def _init_worker() -> None:
    """A pool worker: signals as every engine's worker processes have them; the jobs (pandas,
    Arrow) imported before any timed task."""
    init_worker_process()
    import workloads.engines.mapreduce.jobs  # noqa: F401


def _worker_pid(_: int) -> int:
    time.sleep(0.05)  # long enough that an idle worker takes the next one
    return os.getpid()


class MapReduceEngine(Engine):
    """Map per input split, combine, hash-partition into spill files, reduce, on `workers`
    processes. `self.counters` holds the Hadoop-style counters of the last `run`, summed over its
    jobs. `mappers`, `partitions` (R, default `workers`) and `serializer` select the variants
    compared in docs/engines.md."""

    name = "mapreduce"
    max_workers = None
    processes_per_worker = 1

    def __init__(self, workers: int = 1, settings: Settings | None = None, *,
                 mappers: str = DEFAULT_MAPPERS, partitions: int | None = None,
                 serializer: str = DEFAULT_SERIALIZER) -> None:
        super().__init__(workers, settings)
        if mappers not in jobs.MAPPER_STYLES:
            raise ParbenchError(f"mappers must be one of {jobs.MAPPER_STYLES}, got {mappers!r}")
        if serializer not in SERIALIZERS:
            raise ParbenchError(f"serializer must be one of {SERIALIZERS}, got {serializer!r}")
        if partitions is not None and (isinstance(partitions, bool) or partitions < 1):
            raise ParbenchError(f"partitions must be a positive integer, got {partitions!r}")
        self.mappers = mappers
        self.serializer = serializer
        self.partitions = partitions or PARTITIONS_PER_WORKER * workers
        self.counters: Counters = new_counters()
        self.workdir: str | None = None
        self._pool: Pool | None = None
        self._workers: tuple[BaseProcess, ...] = ()

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        return Availability(True, versions={"python": platform.python_version()})

    def start(self) -> None:
        if self.started:
            return
        # spawn: each worker is a fresh interpreter. Forking this process is unsafe once another
        # framework runs threads in it (Polars' pool, a Dask client's event loop): a lock held by
        # one of them at the fork stays held in the child forever. A fork server would avoid
        # that too, but its socket lives in a temporary folder that a killed run leaves behind.
        context = multiprocessing.get_context("spawn")
        # The pool's helper process (multiprocessing's resource tracker, started with it) ignores
        # a closed terminal's SIGHUP as the workers do: this process stops them all.
        with children_ignore_interrupts((signal.SIGHUP,)):
            self._pool = context.Pool(self.workers, _init_worker)
        # Its workers for the engine's life: the pool replaces none unless one is killed.
        self._workers = pool_workers(self._pool)
        self.workdir = str(scratch.folder("mapreduce"))
        seen: set[int] = set()
        deadline = time.monotonic() + WORKERS_READY_SECONDS
        while len(seen) < self.workers and time.monotonic() < deadline:
            seen |= set(all_done(self._pool, self._workers, _worker_pid,
                                 [(i,) for i in range(self.workers)]))
        super().start()

    def stop(self) -> None:
        if self._pool is not None:
            # terminate, not close: after an interrupt the workers may be mid-task, and the pool
            # would wait for them (and for tasks it never hands out) forever
            self._pool.terminate()
            self._pool.join()
            self._pool = None
            self._workers = ()
        if self.workdir is not None:
            scratch.remove(Path(self.workdir))
            self.workdir = None
        super().stop()

    def run_inputs(self, workload: str, inputs: Inputs) -> Any:
        self.counters = new_counters()
        return super().run_inputs(workload, inputs)

    def _job(self, program_name: str, *inputs: Input, cache: Any = None,
             output_dir: str | None = None) -> Any:
        """Run one program as one job over `inputs`; add its counters to `self.counters`.

        Under a memory budget the vectorised mappers, which hold their split at once, get
        tables in pieces (`limits.block_bytes`; the plain ones stream records), and there are
        more reduce partitions (`limits.shuffle_partitions` of the map tasks), so that a
        reducer's groups are about a split's share rather than a `1/partitions` share of
        everything."""
        program = jobs.PROGRAMS[program_name]
        most = (limits.block_bytes(self.settings.memory, self.workers)
                if self.mappers == "vectorised" else None)
        partitions = self.partitions
        if self.settings.memory is not None:
            partitions = max(partitions, limits.shuffle_partitions(len(splits_of(inputs, most)),
                                                                   self.workers))
        job = Job(program.mapper(self.mappers), program.combiner, program.reducer,
                  partitions, self.serializer, cache)
        assert self._pool is not None, "engine not started"
        result = run_job(self._pool, job, inputs, self.workdir, output_dir, most, self._workers)
        add_counters(self.counters, result.counters)
        return result.output

    # ----------------------------------------------------------------------- the workloads

    def wordcount(self, text: Input) -> spec.WordCounts:
        return self._job("wordcount", text)

    def mean_home_score(self, matches: Input) -> float:
        output = self._job("mean_home_score", matches)
        if jobs.MEAN_KEY not in output:
            raise ParbenchError(f"mean_home_score: no matches in {', '.join(matches.paths)}")
        return output[jobs.MEAN_KEY]

    def home_advantage(self, matches: Input) -> int:
        return self._job("home_advantage", matches).get(jobs.ADVANTAGE_KEY, 0)

    def team_records(self, matches: Input) -> spec.TeamRecords:
        return {team: spec.TeamRecord(*rec)
                for team, rec in self._job("team_records", matches).items()}

    def team_ratings(self, matches: Input) -> spec.Ratings:
        """One job per pass, each re-reading the input; the mappers get the previous ratings."""
        ratings: spec.Ratings = {}
        for _ in range(spec.RATING_PASSES):
            output = self._job("team_ratings", matches, cache=ratings)
            gradient = {team: g for team, (g, _) in output.items()}
            played = {team: n for team, (_, n) in output.items()}
            ratings = spec.apply_pass(ratings, gradient, played)
        return ratings

    def unbeaten_streaks(self, matches: Input) -> spec.Streaks:
        return self._job("unbeaten_streaks", matches)

    def top_scorers(self, goals: Input, matches: Input) -> spec.TopScorers:
        """Two chained jobs, the join's output files the second job's input (as on HDFS)."""
        assert self.workdir is not None, "engine not started"
        joined_dir = scratch.folder("join", within=Path(self.workdir))
        try:
            joined = self._job(jobs.TOP_SCORERS_JOIN, goals, matches, output_dir=str(joined_dir))
            return self._job(jobs.TOP_SCORERS_TOP, joined)
        finally:
            scratch.remove(joined_dir)
