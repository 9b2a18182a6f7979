"""Dask: `dask.bag` for the text, `dask.dataframe` for the matches, on three schedulers.

One base class holds the workload code; the three engines differ only in where tasks run:

* `dask-threads`: the threaded scheduler on a `ThreadPoolExecutor(workers)` owned by the engine;
* `dask-processes`: the multiprocessing scheduler on a `ProcessPoolExecutor(workers)` owned by
  the engine (its processes started and warmed in `start`, shut down in `stop`);
* `dask-distributed`: a `LocalCluster` of `workers` single-threaded worker processes and its
  `Client`, or, with the `dask_address` setting, `workers` workers of that scheduler.

Every choice below (readers, partitioning, reductions) was timed against its alternatives; the
measurements and the reasons are in docs/engines.md.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow.fs

from workloads import probes, spec
from workloads.data import frames
from workloads.data.dataset import Input
from workloads.data.readers import count_words, merge_counts
from workloads.data.validate import locate_malformed
from workloads.engines.base import (
    Availability,
    Engine,
    cap_arrow_threads,
    children_ignore_interrupts,
    init_worker_process,
)
from workloads.layout import GOALS
from workloads.runtime import limits, memory, scratch
from workloads.runtime.errors import DataError, EngineUnavailable, JobFailed, first_line
from workloads.runtime.net import LOOPBACK
from workloads.runtime.settings import Settings
from workloads.spec import JOIN_KEY, MATCH_COLUMNS

try:
    import dask
    import dask.bag as db
    import dask.dataframe as dd
    from dask import delayed

    DASK_MISSING = ""
except ImportError as exc:  # pragma: no cover - depends on the installation
    DASK_MISSING = f"dask is not installed ({exc}): `pip install -e '.[dask]'`"

if TYPE_CHECKING:
    from dask.delayed import Delayed
    from distributed import Client, LocalCluster

#: The setting that names an existing scheduler to use instead of a LocalCluster.
ADDRESS_SETTING = "dask_address"
#: Seconds to wait for `workers` of that scheduler's workers, once it answered within the
#: connect_timeout setting.
WORKERS_TIMEOUT = 20.0
#: Fan-in of the tree reductions.
SPLIT_EVERY = 8
#: Under a memory budget, the share of it that the disk shuffle may buffer in memory.
PARTD_BUFFER_SHARE = 8


# --------------------------------------------------------------------------- task functions
# Module-level, so worker processes unpickle them by reference.


def add(*parts: Any) -> Any:
    """Sum numpy arrays (or anything with +)."""
    return functools.reduce(lambda a, b: a + b, parts)


def score_total(scores: pd.Series) -> pd.DataFrame:
    """The partial of a mean: one row, the total and the count."""
    return pd.DataFrame({"total": [int(scores.sum())], "n": [len(scores)]})


SCORE_TOTAL_META = {"total": "int64", "n": "int64"}


def as_series(df: pd.DataFrame, partial: Callable[[pd.DataFrame], int]) -> pd.Series:
    """A scalar partial as a one-element Series, so dask.dataframe can sum it."""
    return pd.Series([partial(df)], dtype="int64")


def read_scoring_goals(path: str, fmt: str, span: frames.Span = None) -> pd.DataFrame:
    """One goal file's (or piece's) goals that count for a scorer, with their match's key."""
    return frames.scoring_goals(frames.read_table(path, fmt, frames.GOAL_READ, GOALS, span))


def read_fixtures(path: str, fmt: str, span: frames.Span = None) -> pd.DataFrame:
    """One match file's (or piece's) match keys and tournaments."""
    return frames.fixtures(frames.read_table(path, fmt, frames.FIXTURE_READ, span=span))


def read_piece(piece: tuple[str, frames.Span], read: Callable[..., pd.DataFrame],
               **kwargs: Any) -> pd.DataFrame:
    """A partition: `read` (a `frames` reader) of one file or piece of a file."""
    path, span = piece
    return read(path, span=span, **kwargs)


SIDES_META = frames.streak_sides(frames.empty(frames.STREAK_COLUMNS))
RUNS_META = frames.longest_runs(SIDES_META)
SCORING_META = frames.scoring_goals(frames.empty_table(frames.GOAL_READ, GOALS))
FIXTURES_META = frames.fixtures(frames.empty_table(frames.FIXTURE_READ))


def fused(collection: Any) -> Any:
    """A dask.dataframe collection optimized with task fusion, anything else as it is.

    In dask 2026.8 `compute` optimizes without fusing (only `persist` and `to_delayed` fuse):
    every step of a partition's pipeline is then its own task, and on the processes scheduler
    its own round trip of the partition through this process."""
    if isinstance(collection, (dd.DataFrame, dd.Series, dd.Scalar)):
        return collection.optimize()
    return collection


#: Seconds a warm-up task keeps its process busy (see DaskProcessesEngine.start).
WARM_WAIT = 0.2


def getpid(wait: float | None = None) -> int:
    """This process's id, after `wait` seconds (a task that makes the pool start its
    processes)."""
    if wait:
        time.sleep(wait)
    return os.getpid()


def warm_worker(one_core: bool) -> int:
    """Import what the tasks need before the first timed task; a single-threaded worker also
    gets a single-threaded Arrow (as distributed sets OMP_NUM_THREADS=1): one worker, one core."""
    import dask.dataframe  # noqa: F401

    import workloads.data.frames  # noqa: F401

    if one_core:
        cap_arrow_threads(1)
    return os.getpid()


def init_pool_worker() -> None:
    """Initializer of the processes scheduler's pool (see `init_worker_process`). Its processes
    outlast SIGTERM too: the pool can only be shut down cleanly, once its running tasks end, and a
    process killed while sending a result leaves the pool waiting for the rest forever."""
    init_worker_process(ignore_sigterm=True)
    warm_worker(one_core=True)


def tree_reduce(parts: Sequence[Delayed], combine: Callable[..., Any],
                split_every: int = SPLIT_EVERY) -> Delayed:
    """One delayed value combining `parts` in a tree of fan-in `split_every`."""
    level = list(parts)
    while len(level) > 1:
        level = [delayed(combine, pure=True)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    return level[0]


@contextmanager
def partd_buffer(most: int | None) -> Iterator[None]:
    """While the block runs, the disk shuffle's buffer holds at most `most` bytes (None: as
    partd has it). partd buffers up to 1 GB of the rows in transit in memory before it writes
    them, unless its store is pickled (as the processes scheduler does): on the threaded
    scheduler that buffer alone is larger than a small budget."""
    if most is None:
        yield
        return
    import partd
    from dask.dataframe.backends import partd_encode_dispatch, partd_pandas_blocks

    def blocks(store: Any) -> Any:
        if isinstance(store, partd.Buffer):
            store.available_memory = most
        return partd.PandasBlocks(store)

    partd_encode_dispatch.register(pd.DataFrame, lambda _: blocks)
    try:
        yield
    finally:
        partd_encode_dispatch.register(pd.DataFrame, partd_pandas_blocks)


@contextmanager
def data_errors(inp: Input) -> Iterator[None]:
    """Turn a reader's failure, at graph building or compute time, into a DataError naming the
    file (and for CSV the line)."""
    try:
        yield
    except DataError:
        raise
    except (FileNotFoundError, ValueError) as exc:  # pandas' and pyarrow's parse errors too
        raise locate_malformed(inp, exc) from exc


# --------------------------------------------------------------------------- the workloads


class DaskEngine(Engine):
    """The workloads in dask.bag and dask.dataframe; subclasses choose the scheduler."""

    name: ClassVar[str] = "dask"
    needs_distributed: ClassVar[bool] = False
    #: The shuffle under a memory budget: one that keeps the rows in transit on disk.
    budget_shuffle: ClassVar[str] = "disk"

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        if DASK_MISSING:
            return Availability(False, DASK_MISSING, {"pandas": pd.__version__})
        versions = {"dask": dask.__version__, "pandas": pd.__version__}
        try:
            import distributed
        except ImportError as exc:
            if cls.needs_distributed:
                return Availability(False, f"distributed is not installed ({exc}): "
                                           "`pip install -e '.[dask]'`", versions)
        else:
            versions["distributed"] = distributed.__version__
        return Availability(True, versions=versions)

    # --- scheduler hooks -------------------------------------------------------------------

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        """Compute dask collections on this engine's scheduler, dataframes with task fusion."""
        return self._compute(*map(fused, collections))

    def persist(self, *collections: Any) -> list[Any]:
        """Keep collections in memory: on the workers, or for local schedulers in this process."""
        return self._persist(*map(fused, collections))

    def _compute(self, *collections: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    def _persist(self, *collections: Any) -> list[Any]:
        raise NotImplementedError

    def share(self, value: Any) -> Any:
        """A small value many tasks read: one graph key. Not `scatter`ed on distributed: scattered
        data has no task to recompute it from, so a worker lost mid-job would lose it."""
        return delayed(value, pure=True)

    # --- readers ---------------------------------------------------------------------------

    def read_matches(self, inp: Input, columns: Sequence[str] = MATCH_COLUMNS) -> dd.DataFrame:
        """`columns` of the match table. CSV: one partition per file, read by Arrow with the teams
        as categoricals (`frames.read_matches`: per-team work is then a bincount, where
        `dd.read_csv` gives string columns). Parquet: `dd.read_parquet`, whose fusion of small
        files is faster; `frames` encodes its team strings per partition (docs/engines.md)."""
        if inp.fmt == "parquet" and self.settings.memory is None:
            # Arrow's local file system reads each path as it is; the default (fsspec) expands
            # glob characters, so a folder named `ds[1]` would read `ds1`.
            return dd.read_parquet(list(inp.paths), columns=list(columns),
                                   filesystem=pyarrow.fs.LocalFileSystem())
        return self.read_each(frames.read_matches, inp, frames.empty(columns),
                              columns=tuple(columns))

    def read_each(self, read: Callable[..., pd.DataFrame], inp: Input, meta: pd.DataFrame,
                  **kwargs: Any) -> dd.DataFrame:
        """One partition per file of `inp`, read by `read(path, fmt=..., span=..., **kwargs)`
        (a `frames` reader, whose errors name the file and CSV line); under a memory budget one
        per piece of a CSV file (`limits.block_bytes`), so that what a task holds is bounded
        by the budget, not by the size of the files."""
        pieces = frames.pieces(inp.paths, inp.fmt,
                               limits.block_bytes(self.settings.memory, self.workers))
        return dd.from_map(read_piece, pieces, read=read, fmt=inp.fmt, meta=meta,
                           enforce_metadata=False, label=read.__name__.replace("_", "-"),
                           **kwargs)

    # --- workloads -------------------------------------------------------------------------

    def wordcount(self, text: Input) -> spec.WordCounts:
        # One partition per file counted by Counter's C loop, Counters merged in a tree:
        # bag.str.split().flatten().frequencies() moves every word through Python generators
        # and, on distributed, its per-word partial dicts between processes.
        with data_errors(text):
            counts = db.from_sequence(text.paths, npartitions=len(text.paths)).map(count_words)
            (total,) = self.compute(counts.reduction(merge_counts, merge_counts,
                                                     split_every=SPLIT_EVERY))
        return dict(total)

    # Each matches workload maps a partial (workloads.data.frames) over the partitions and sums the
    # partials: one fused read-and-reduce task per file whose small result is all that moves.
    # Series.mean() would branch each partition into a sum and a count task; on the processes
    # scheduler every branch is a round trip of the column through this process.

    def mean_home_score(self, matches: Input) -> float:
        with data_errors(matches):
            scores = self.read_matches(matches, ["home_score"])["home_score"]
            partial = scores.map_partitions(score_total, meta=SCORE_TOTAL_META)
            (total,) = self.compute(partial.sum(split_every=SPLIT_EVERY))
        return float(total["total"] / total["n"])

    def home_advantage(self, matches: Input) -> int:
        # A numpy partial, not dataframe operations (filter, subtract, sign, sum), which build
        # a pandas object at every step.
        with data_errors(matches):
            partial = self.read_matches(matches, frames.SCORE_COLUMNS).map_partitions(
                as_series, frames.home_advantage, meta=(None, "int64"))
            (total,) = self.compute(partial.sum(split_every=SPLIT_EVERY))
        return int(total)

    def team_records(self, matches: Input) -> spec.TeamRecords:
        # Per partition a ~300-row frame of partial records (both sides at once), then a tree
        # sum by team: no shuffle of match rows.
        with data_errors(matches):
            df = self.read_matches(matches)
            partial = df.map_partitions(frames.team_records, meta=frames.team_records(df._meta))
            # split_out=1: a tree reduction (dask would otherwise pick a shuffle, on disk
            # with the processes scheduler).
            (records,) = self.compute(partial.groupby("team").sum(split_every=SPLIT_EVERY,
                                                                  split_out=1))
        return frames.records_answer(records)

    def team_ratings(self, matches: Input) -> spec.Ratings:
        # Read once: persist the partitions, take the team index from them, persist their coded
        # form and drop them: every further read (one for the index, one for the codes, or one
        # per pass) would parse the files again. Partitions are persisted as delayed values, not
        # as a frame: persisting a frame whose reader the optimizer fuses (read_parquet) loses
        # keys (dask/dask#12488).
        with data_errors(matches):
            raw = self.persist(*self.read_matches(matches).to_delayed())
            (teams,) = self.compute(tree_reduce([delayed(frames.team_index)(p) for p in raw],
                                                frames.union_index))
            coded = self.persist(*[delayed(frames.coded)(p, teams) for p in raw])
            del raw
            ratings = self.iterate(coded, len(teams))
        return frames.ratings_answer(teams, ratings)

    def iterate(self, coded: list[Delayed], n_teams: int) -> np.ndarray:
        """The K passes over the coded partitions, each a tree sum of per-partition gradients."""
        (n_played,) = self.compute(tree_reduce([delayed(frames.played)(c, n_teams)
                                                for c in coded], add))
        ratings = np.zeros(n_teams)
        for _ in range(spec.RATING_PASSES):
            previous = self.share(ratings)
            (grad,) = self.compute(tree_reduce([delayed(frames.gradient)(c, previous)
                                                for c in coded], add))
            ratings = frames.step(ratings, grad, n_played)
        return ratings

    def shuffled(self, partitions: int) -> dict[str, Any]:
        """The keywords of a shuffle by key (`shuffle`, `merge`) of `partitions` input
        partitions: the task-based shuffle into one partition per worker. Fewer output
        partitions mean fewer pieces to move, and a shuffle that a reduction consumes needs no
        more; "p2p" and "disk" were slower (docs/engines.md), and the default for a client that
        is not the default one would be "disk". Under a memory budget the task-based shuffle
        would hold every row in memory at once: the rows go through disk (`budget_shuffle`)
        into about a partition per input piece (`limits.shuffle_partitions`)."""
        if self.settings.memory is not None:
            return {"shuffle_method": self.budget_shuffle,
                    "npartitions": limits.shuffle_partitions(partitions, self.workers)}
        return {"shuffle_method": "tasks", "npartitions": self.workers}

    def unbeaten_streaks(self, matches: Input) -> spec.Streaks:
        # Each match as two sides, shuffled by team, so that a team's sides meet in one
        # partition, where `longest_runs` sorts them: no per-team Python call. Parquet too is
        # read by `frames.read_matches`: `dd.read_parquet` gives dates as Python objects, which
        # Dask turns into strings to sort and shuffle; `frames` keeps them datetime64.
        sides = self.read_each(frames.read_matches, matches, frames.empty(frames.STREAK_COLUMNS),
                               columns=frames.STREAK_COLUMNS)
        sides = sides.map_partitions(frames.streak_sides, meta=SIDES_META)
        runs = sides.shuffle("team", **self.shuffled(sides.npartitions)).map_partitions(
            frames.longest_runs, meta=RUNS_META)
        (best,) = self.compute(runs)
        return best.to_dict()

    def top_scorers(self, goals: Input, matches: Input) -> spec.TopScorers:
        # A hash join, both tables shuffled by the match key (neither is small enough to
        # broadcast), then the (tournament, scorer) counts in a tree; the top scorer of each
        # tournament is picked from them here. Under a memory budget the counts, which can
        # outgrow it (millions of scorers), stay in partitions by (tournament, scorer): each
        # gives its candidates per tournament, and the top of those is picked here.
        scoring = self.read_each(read_scoring_goals, goals, SCORING_META)
        keyed = self.read_each(read_fixtures, matches, FIXTURES_META)
        shuffled = self.shuffled(max(scoring.npartitions, keyed.npartitions))
        joined = dd.merge(scoring, keyed, on=list(JOIN_KEY), **shuffled)
        by_pair = joined.groupby(["tournament", "scorer"])
        if self.settings.memory is None:
            (counts,) = self.compute(by_pair.size(split_every=SPLIT_EVERY, split_out=1))
        else:
            counts = by_pair.size(split_every=SPLIT_EVERY, split_out=shuffled["npartitions"])
            (counts,) = self.compute(counts.map_partitions(frames.top_candidates,
                                                           meta=counts._meta))
        return frames.top_scorers(counts)


# --------------------------------------------------------------------------- the schedulers


class _LocalDaskEngine(DaskEngine):
    """Dask's local schedulers, on a pool the engine owns."""

    scheduler: ClassVar[str]
    pool: Executor | None = None
    #: The disk shuffle's files (partd): a private folder, removed at stop.
    _scratch: Path | None = None

    def options(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler, "pool": self.pool}

    def start(self) -> None:
        if self._scratch is None:
            self._scratch = scratch.folder("dask")
        super().start()

    def _compute(self, *collections: Any) -> tuple[Any, ...]:
        budget = self.settings.memory
        with dask.config.set({"temporary-directory": str(self._scratch)}), partd_buffer(
                None if budget is None else budget // PARTD_BUFFER_SHARE):
            return dask.compute(*collections, **self.options())

    def _persist(self, *collections: Any) -> list[Any]:
        with dask.config.set({"temporary-directory": str(self._scratch)}):
            return list(dask.persist(*collections, **self.options()))

    def stop(self) -> None:
        if self.pool is not None:
            # After an interrupt this lets the running tasks end (one partition each: seconds)
            # and cancels the rest; ending the processes instead can leave half a result in the
            # pool's pipe and its reader thread waiting forever.
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        scratch.remove(self._scratch)
        self._scratch = None
        super().stop()


class DaskThreadsEngine(_LocalDaskEngine):
    """The threaded scheduler: `workers` threads of this process. They run in parallel only
    where the GIL is released: pandas' CSV tokenizer, Arrow, numpy kernels."""

    name = "dask-threads"
    scheduler = "threads"
    in_process = True

    def start(self) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dask-threads")
        super().start()


class DaskProcessesEngine(_LocalDaskEngine):
    """The multiprocessing scheduler on `workers` processes (dask's start method, spawn by
    default), started and warmed in `start` so no timed call pays for their imports."""

    name = "dask-processes"
    scheduler = "processes"
    processes_per_worker = 1

    def options(self) -> dict[str, Any]:
        # chunksize=1 sends tasks one at a time: the default batches up to 6 ready tasks per
        # submission, which can unbalance few large tasks (16 on 2 workers: 10 + 6).
        return {**super().options(), "chunksize": 1}

    def start(self) -> None:
        if self.pool is None:
            method = dask.config.get("multiprocessing.context", "spawn")
            # Every process started now, before any run: the pool starts one only when none is
            # idle, and a process still importing when a Ctrl-C comes prints its traceback.
            # Tasks that wait a moment keep each busy, so `workers` of them start them all.
            self.pool = ProcessPoolExecutor(self.workers,
                                            mp_context=multiprocessing.get_context(method),
                                            initializer=init_pool_worker)
            list(self.pool.map(getpid, [WARM_WAIT] * self.workers))
        super().start()

    def pids(self) -> set[int]:
        """The ids of the pool's worker processes."""
        return set(getattr(self.pool, "_processes", None) or ())


#: Under a memory budget: what the client's process (the scheduler, the nannies, the client)
#: may still grow by while the workers run: graphs, task states, the results it gathers.
CLIENT_GROWTH = 64 * 2**20
#: Fractions of a worker's memory limit (distributed's own defaults, said here because the run
#: depends on them): past `target` its managed data (task results) goes to disk, past `spill`
#: (of the process's memory) too, past `pause` it takes no new task until spilling frees
#: memory, at `terminate` its nanny restarts it, before the budget's enforcement ends the run.
WORKER_MEMORY = {"target": 0.6, "spill": 0.7, "pause": 0.8, "terminate": 0.95}


#: A worker's resident pages that it shares with the other processes (the interpreter's and the
#: libraries' files, ~100 MiB measured): distributed counts them in every worker's memory (its
#: resident set), a cgroup once.
WORKER_SHARED = 96 * 2**20


def worker_memory(room: int, workers: int) -> tuple[int, dict[str, Any]]:
    """Each worker's memory limit when `room` bytes are left under the budget (this process
    holds the rest), and the settings that make the workers live within it: spilling to their
    local directory."""
    limit = max(0, room - CLIENT_GROWTH) // workers + WORKER_SHARED
    return limit, {f"distributed.worker.memory.{k}": v for k, v in WORKER_MEMORY.items()}


class DaskDistributedEngine(DaskEngine):
    """dask.distributed: a LocalCluster of `workers` processes, or an existing scheduler."""

    name = "dask-distributed"
    spans_hosts = True
    cluster_kind = "dask"
    needs_distributed = True
    #: The task-based shuffle: its pieces are task results, which a worker spills to its local
    #: directory past its memory target. Measured against "p2p" (made for data larger than
    #: memory, its shards buffered and written to disk): with the ~500 MiB workers of a 1 GiB
    #: budget, p2p's workers went past their limit and were restarted until the run timed out.
    budget_shuffle = "tasks"
    processes_per_worker = 2  # a nanny and its worker
    client: Client | None = None
    cluster: LocalCluster | None = None
    _scratch: Path | None = None
    #: compute/persist/scatter keywords that keep the work on the chosen workers.
    restrict: dict[str, Any]
    #: Each local worker's memory limit under a budget (bytes), else None.
    worker_limit: int | None = None

    @property
    def on_this_machine(self) -> bool:
        return not self.settings.dask_address

    def cluster_hosts(self) -> list[str]:
        address = self.settings.dask_address
        return [probes.parse_dask_address(address).host] if address else []

    def start(self) -> None:
        if self.client is None:
            self.restrict = {}
            address = self.settings.dask_address
            if address:
                self._connect(address)
            else:
                # The workers' scratch space in a private folder, removed at stop.
                self._scratch = scratch.folder("dask")
                with children_ignore_interrupts(), dask.config.set(
                        {"temporary-directory": self._scratch}):
                    self._local_cluster()
        super().start()

    def halting(self) -> None:
        # A nanny replaces a worker that dies; closing gracefully, it does not.
        from distributed import Nanny

        if self.cluster is not None:
            for nanny in list(self.cluster.workers.values()):
                if isinstance(nanny, Nanny):
                    nanny.close_gracefully("parbench: interrupted")

    def _local_cluster(self) -> None:
        from distributed import Client, LocalCluster

        # No dashboard, and the scheduler's HTTP routes on a free loopback port rather than
        # 8787, which another cluster may hold. The workers log nothing below CRITICAL: a
        # task's error reaches the client as its exception (the one line parbench prints), and
        # at ERROR a worker whose peer is closed by Ctrl-C prints a traceback mid-transfer.
        # Under a memory budget each worker gets its share of what is left of it, and spills
        # its results to its local directory (the private scratch folder) as it fills.
        budget, limit, config = self.settings.memory, "auto", {}
        if budget is not None:
            limit, config = worker_memory(memory.available(budget), self.workers)
            self.worker_limit = limit
        with dask.config.set(config):
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                        processes=True, dashboard_address=None, host=LOOPBACK,
                                        silence_logs=logging.CRITICAL, memory_limit=limit,
                                        scheduler_kwargs={"dashboard_address": f"{LOOPBACK}:0"})
        self.client = Client(self.cluster, set_as_default=False)
        self.client.run(warm_worker, True)

    def _connect(self, address: str) -> None:
        from distributed import Client

        probe(address, self.settings.connect_timeout)
        try:
            self.client = Client(address, timeout=self.settings.connect_timeout,
                                 set_as_default=False)
            self.client.wait_for_workers(self.workers, timeout=WORKERS_TIMEOUT)
        except Exception as exc:  # the probe passed: a timeout, or the scheduler went away
            self.stop()
            variable = Settings.variable(ADDRESS_SETTING)
            raise EngineUnavailable(f"the Dask scheduler at {address} (${variable}) did not "
                                    f"give {self.workers} worker(s): {first_line(exc)}") from None
        available = sorted(self.client.scheduler_info()["workers"])
        chosen = available[:self.workers]
        if len(chosen) < len(available):
            # Fewer workers than the cluster has: pin the work to `workers` of them. With all of
            # them no pin, so a worker that dies and comes back under a new address is used.
            # A worker with several threads still runs several tasks at once.
            self.restrict = {"workers": chosen, "allow_other_workers": False}
        self.client.run(warm_worker, False, workers=chosen)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        if self._scratch is not None:
            scratch.remove(self._scratch)
            self._scratch = None
        super().stop()

    def _client(self) -> Client:
        if self.client is None:
            raise EngineUnavailable(f"engine {self.name!r} is not started")
        return self.client

    def _compute(self, *collections: Any) -> tuple[Any, ...]:
        from distributed.scheduler import KilledWorker

        try:
            return tuple(self._client().compute(list(collections), sync=True, **self.restrict))
        except KilledWorker as exc:
            raise JobFailed(self.lost(exc)) from None

    def lost(self, exc: Exception) -> str:
        """One line for a task whose workers all died (distributed's KilledWorker)."""
        why = ""
        if self.worker_limit is not None:
            why = (f" (a nanny restarts its worker past {WORKER_MEMORY['terminate']:.0%} of the "
                   f"worker's memory limit, {memory.format_size(self.worker_limit)} here)")
        task = getattr(exc, "task", None)
        return f"Dask lost the job: every worker that ran task {task!r} died{why}"

    def _persist(self, *collections: Any) -> list[Any]:
        return self._client().persist(list(collections), **self.restrict)


def probe(address: str, timeout: float) -> None:
    """Raise EngineUnavailable, in one line naming `address`, unless a Dask scheduler answers
    there within `timeout` (a wrong service, a silent port and a refused connect all fail)."""
    probes.check_dask_scheduler(address, timeout, source=Settings.variable(ADDRESS_SETTING))
