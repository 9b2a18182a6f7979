"""Ray: core tasks over files and partitions; `team_ratings` keeps its partitions in the object
store across the passes.

`workers` are CPUs: a local Ray (`ray.init(num_cpus=workers)`, every server on 127.0.0.1, no
dashboard, a private session folder removed at stop), or `workers` CPUs of an existing cluster
(the `ray_address` setting) reserved by a placement group when the cluster has more. Every task
asks for one CPU, so `workers` tasks run at once, each in its own worker process.

Every choice below was timed against its alternatives; the measurements and the reasons are in
docs/engines.md.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import ray
from ray.util.placement_group import PlacementGroup, placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

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
)
from workloads.layout import GOALS, MATCHES
from workloads.runtime import environment, limits, memory, net, processes, scratch, signals
from workloads.runtime.errors import EngineUnavailable, JobFailed, ParbenchError, first_line
from workloads.runtime.net import LOOPBACK
from workloads.runtime.settings import Settings

#: The setting that names an existing cluster to use instead of a local Ray.
ADDRESS_SETTING = "ray_address"
#: Seconds to wait for that cluster's CPUs (a starting cluster), once its GCS answered within
#: the connect_timeout setting.
CPUS_TIMEOUT = 20.0
#: The object store's share of the available memory (Ray's own default), and Ray's minimum.
OBJECT_STORE_SHARE = 0.3
OBJECT_STORE_MIN = 80 * 2**20
SHARED_MEMORY = Path("/dev/shm")
#: A unix socket path holds at most 107 bytes; Ray's are <temp>/session_<date>_<pid>/sockets/….
SOCKET_MAX = 107
SOCKET_SUFFIX = len("/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store")
#: Seconds Ray's processes get to end after `ray.shutdown()` before they are killed.
STOP_GRACE = 5.0
#: Under a memory budget: what a local Ray's own processes hold besides the object store (GCS,
#: raylet, and the Python agents: dashboard agent, runtime-env agent, log monitor, API server;
#: ~300 MiB measured), and each worker process with pandas and Arrow loaded (~100 MiB).
RAY_PROCESSES = 320 * 2**20
WORKER_PROCESS = 100 * 2**20
#: Under a budget, Ray's I/O workers (which spill and restore objects) of each kind, and what
#: they hold.
IO_WORKERS = 1
IO_WORKER_PROCESS = 64 * 2**20

#: Ray's own switches, in the environment of the driver and so of every process Ray starts:
#: no usage report (no network call).
QUIET = {"RAY_USAGE_STATS_ENABLED": "0"}
#: Ray on this machine only, as on macOS and Windows: the node's address is 127.0.0.1 (Ray
#: otherwise resolves 127.0.0.1 to the machine's outward address and listens there). Ray reads
#: it when imported: `loopback_node` also sets it in this process while Ray starts.
LOOPBACK_NODE = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


# --------------------------------------------------------------------------- task functions
# Module-level, so workers import them by reference.


def worker_pid() -> int:
    """The worker's process id, once it has imported what the tasks need; one worker is one
    core (Ray sets OMP_NUM_THREADS=1 in a 1-CPU worker, which Arrow's pool also follows; this
    holds it on any cluster)."""
    import workloads.data.frames  # noqa: F401

    cap_arrow_threads(1)
    return os.getpid()


def score_total(path: str, fmt: str, span: frames.Span = None) -> np.ndarray:
    """[Σ home_score, n] of one file (or piece of one)."""
    scores = frames.read_table(path, fmt, ["home_score"], span=span).column("home_score")
    return np.array([scores.to_numpy().sum(), len(scores)], dtype=np.int64)


def home_advantage(path: str, fmt: str, span: frames.Span = None) -> int:
    return frames.home_advantage(frames.read_matches(path, fmt, frames.SCORE_COLUMNS, span))


def team_records(path: str, fmt: str, span: frames.Span = None) -> pd.DataFrame:
    return frames.team_records(frames.read_matches(path, fmt, span=span))


def read_indexed(pieces: list[tuple[str, frames.Span]],
                 fmt: str) -> tuple[pd.DataFrame, pd.Index]:
    """The matches of a worker's files (or pieces) as one partition, and its teams (two return
    values: only the teams travel)."""
    df = frames.to_frame(pa.concat_tables([frames.read_table(path, fmt, span=span)
                                           for path, span in pieces]))
    return df, frames.team_index(df)


Buckets = pd.DataFrame | list[pd.DataFrame]


def bucketed(rows: pd.DataFrame, key: tuple[str, ...], n: int) -> Buckets:
    """`rows` in `n` buckets by a hash of `key` (the map side of a shuffle): `n` return values
    of a task (one is the frame itself)."""
    if n == 1:
        return rows
    bucket = frames.buckets(rows, key, n)
    return [rows[bucket == b] for b in range(n)]


def streak_sides(path: str, fmt: str, n: int, span: frames.Span = None) -> Buckets:
    """One file's (or piece's) matches, both sides of each, in `n` buckets by team."""
    sides = frames.streak_sides(frames.read_matches(path, fmt, frames.STREAK_COLUMNS, span))
    return bucketed(sides, ("team",), n)


def longest_runs(*parts: pd.DataFrame) -> pd.Series:
    """One bucket's sides (every match of its teams, from every file): their longest runs."""
    return frames.longest_runs(pd.concat(parts, ignore_index=True))


def scoring_goals(path: str, fmt: str, n: int, span: frames.Span = None) -> Buckets:
    """One goal file's (or piece's) counting goals in `n` buckets by match key."""
    table = frames.read_table(path, fmt, frames.GOAL_READ, GOALS, span)
    return bucketed(frames.scoring_goals(table), spec.JOIN_KEY, n)


def fixtures(path: str, fmt: str, n: int, span: frames.Span = None) -> Buckets:
    """One match file's (or piece's) keys and tournaments in `n` buckets by match key."""
    table = frames.read_table(path, fmt, spec.FIXTURE_COLUMNS, MATCHES, span)
    return bucketed(frames.fixtures(table), spec.JOIN_KEY, n)


def joined_goals(n_goal_parts: int, *parts: pd.DataFrame) -> pd.Series:
    """One bucket: its goals (the first `n_goal_parts` parts) joined to its matches, counted
    per (tournament, scorer)."""
    goals = pd.concat(parts[:n_goal_parts], ignore_index=True)
    return frames.goals_per_scorer(goals, pd.concat(parts[n_goal_parts:], ignore_index=True))


def joined_split(n: int, n_goal_parts: int, *parts: pd.DataFrame) -> Buckets:
    """`joined_goals`, its counts in `n` buckets by (tournament, scorer)."""
    counts = joined_goals(n_goal_parts, *parts).rename("goals").reset_index()
    return bucketed(counts, ("tournament", "scorer"), n)


def pair_tops(*parts: pd.DataFrame) -> pd.Series:
    """One bucket of (tournament, scorer) counts from every join bucket: summed, each
    tournament's top candidate."""
    counts = pd.concat(parts, ignore_index=True).groupby(["tournament", "scorer"])["goals"].sum()
    return frames.top_candidates(counts)


TASKS = {f.__name__: ray.remote(f) for f in (
    worker_pid, count_words, score_total, home_advantage, team_records,
    frames.coded, frames.played, frames.gradient, longest_runs, joined_goals, pair_tops)}
#: The map sides of the shuffles: one object per bucket (`num_returns` given per call).
SPLITTERS = {f.__name__: ray.remote(f) for f in (streak_sides, scoring_goals, fixtures,
                                                 joined_split)}
READ_INDEXED = ray.remote(num_returns=2)(read_indexed)


# --------------------------------------------------------------------------- helpers


def shares(paths: Sequence[str], n: int) -> list[list[str]]:
    """`paths` dealt to `n` workers (fewer shares when there are fewer files)."""
    return [list(paths[i::n]) for i in range(min(n, len(paths)))]


def store_room(budget: int | None, workers: int) -> int:
    """The memory the object store's size is a share of: what is available, and under a
    budget what is left of it once Ray's own processes and its workers are counted."""
    if budget is None:
        return memory.available()
    return max(0, memory.available(budget) - RAY_PROCESSES - workers * WORKER_PROCESS
               - 2 * IO_WORKERS * IO_WORKER_PROCESS)


def object_store_bytes(available: int | None = None) -> tuple[int, bool]:
    """The object store's size, and whether it fits in /dev/shm (else it is a file in the
    session folder: a container's /dev/shm is often 64 MiB)."""
    available = memory.available() if available is None else available
    wanted = max(OBJECT_STORE_MIN, int(available * OBJECT_STORE_SHARE))
    try:
        shm = int(shutil.disk_usage(SHARED_MEMORY).free * 0.95)
    except OSError:
        shm = 0
    if shm >= wanted:
        return wanted, True
    return (shm, True) if shm >= OBJECT_STORE_MIN else (wanted, False)


@functools.cache
def auth_token() -> dict[str, str]:
    """The token of this process's local Rays, in the environment only (Ray turns token
    authentication on for a new local cluster and would otherwise write ~/.ray/auth_token). One
    per process: Ray's client reads it once."""
    return {"RAY_AUTH_TOKEN": secrets.token_hex(32)}


def sockets_fit(folder: Path) -> bool:
    """Whether Ray's unix socket paths fit under `folder`, the session's parent."""
    return len(str(folder.absolute())) + SOCKET_SUFFIX <= SOCKET_MAX


def session_folder() -> Path:
    """A private folder for Ray's session (sockets, logs, spilled objects); in /tmp when the
    temporary folder's path would make Ray's socket paths too long."""
    folder = scratch.folder("ray")
    if not sockets_fit(folder):
        scratch.remove(folder)
        folder = scratch.folder("ray", within=Path("/tmp"))
    return folder


@contextlib.contextmanager
def loopback_node() -> Iterator[None]:
    """Ray on 127.0.0.1 while the block runs: LOOPBACK_NODE for the processes it starts, and
    the switch it was read into for this one (the driver's node address is fixed by then)."""
    constants = ray._private.ray_constants
    enabled = constants.ENABLE_RAY_CLUSTER
    constants.ENABLE_RAY_CLUSTER = False
    try:
        with environment.variables(LOOPBACK_NODE):
            yield
    finally:
        constants.ENABLE_RAY_CLUSTER = enabled


@contextlib.contextmanager
def handler_exceptions_kept() -> Iterator[None]:
    """Raise what the caller's SIGINT or SIGTERM handler raised: inside `ray.get` Ray turns it
    into a plain KeyboardInterrupt (the CLI's handler raises a subclass for SIGTERM)."""
    raised: list[BaseException] = []

    def relay(handler: Callable[[int, Any], Any]) -> Callable[[int, Any], Any]:
        def relayed(signum: int, frame: Any) -> Any:
            try:
                return handler(signum, frame)
            except BaseException as exc:
                raised.append(exc)
                raise

        return relayed

    with signals.kept() as previous:  # {} outside the main thread: nothing to relay
        for sig, handler in previous.items():
            if callable(handler):
                signal.signal(sig, relay(handler))
        try:
            yield
        except KeyboardInterrupt:
            if raised:
                raise raised[-1] from None
            raise


def children() -> set[int]:
    """This process's direct children."""
    return {proc.pid for proc in psutil.Process().children()}


def descendants(pids: set[int]) -> dict[int, float]:
    """The processes `pids` and all their descendants: pid -> start time."""
    found = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            for p in (proc, *proc.children(recursive=True)):
                with contextlib.suppress(psutil.Error):
                    found[p.pid] = p.create_time()
    return found


def using(folder: Path) -> dict[int, float]:
    """Processes whose command line names `folder` (Ray's session folder): Ray's own, even
    those whose parent has gone."""
    found, mark = {}, str(folder)
    for proc in psutil.process_iter(["cmdline", "create_time"]):
        cmdline = proc.info["cmdline"] or []
        if any(mark in arg for arg in cmdline) and proc.pid != os.getpid():
            found[proc.pid] = proc.info["create_time"]
    return found


# --------------------------------------------------------------------------- the engine


class RayEngine(Engine):
    """The workloads as Ray tasks, one per file or partition, on `workers` CPUs."""

    name = "ray"
    processes_per_worker = 1
    spans_hosts = True
    cluster_kind = "ray"
    #: The engine whose Ray runs now: a process holds one Ray connection, so one RayEngine.
    _active: ClassVar[RayEngine | None] = None

    def __init__(self, workers: int = 1, settings: Settings | None = None) -> None:
        super().__init__(workers, settings)
        self._session: Path | None = None
        self._env: contextlib.ExitStack | None = None
        self._group: PlacementGroup | None = None
        #: Keywords of every task: a placement group's strategy on a larger cluster.
        self.task_options: dict[str, Any] = {}
        #: The worker processes that ran the warm-up tasks (one per worker).
        self.worker_pids: set[int] = set()
        self._started: set[int] = set()  # the processes `ray.init` started

    @property
    def on_this_machine(self) -> bool:
        return not self.settings.ray_address

    def cluster_hosts(self) -> list[str]:
        address = self.settings.ray_address
        return [probes.parse_ray_address(address).host] if address else []

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        return Availability(True, versions={"ray": ray.__version__, "pandas": pd.__version__})

    # --- start and stop --------------------------------------------------------------------

    def start(self) -> None:
        if self._env is not None:
            return
        if RayEngine._active is not None:  # one Ray per process
            RayEngine._active.stop()
        RayEngine._active = self
        # An engine never stopped still stops at exit, before Ray's own exit hook and before
        # scratch's (which would remove the session folder under Ray's running processes).
        atexit.register(self.stop)
        self._env = contextlib.ExitStack()
        try:
            address = self.settings.ray_address
            if address:
                self._connect(address)
            else:
                self._local()
            self._warm()
        except BaseException:
            self.stop()
            raise
        super().start()

    def _init(self, **options: Any) -> None:
        before = children()
        try:
            # A local Ray's node replaces SIGTERM's handler with one that kills its processes
            # and calls sys.exit(1); the caller's (the CLI's: unwind, stop the engine) stays.
            with signals.kept(), children_ignore_interrupts(self._hangup_ignored()):
                ray.init(include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR, configure_logging=True, **options)
        finally:
            # Ray's servers started by `init`; their descendants are its workers. Other
            # children of this process (another engine's) are not Ray's to stop.
            self._started = children() - before

    @staticmethod
    def _hangup_ignored() -> tuple[int, ...]:
        """The signals Ray's processes are to ignore besides Ctrl-C (which they block): a
        closed terminal's SIGHUP where this process handles it (the command line: unwind,
        stop them). Killed by it mid-task, they would make the driver's core worker write its
        errors past the command's one line. Where SIGHUP ends this process as by default,
        they end by it too: Ray's agents do not end with the raylet."""
        return (signal.SIGHUP,) if callable(signal.getsignal(signal.SIGHUP)) else ()

    def _local(self) -> None:
        """A Ray of `workers` CPUs on 127.0.0.1, its session in a private folder."""
        self._session = session_folder()
        size, in_shm = object_store_bytes(store_room(self.settings.memory, self.workers))
        # Objects that do not fit in the store are spilled to the private session folder.
        spilling = {"type": "filesystem",
                    "params": {"directory_path": str(self._session / "spill")}}
        system = {"object_spilling_config": json.dumps(spilling)}
        if self.settings.memory is not None:
            # Spilling and restoring run in I/O worker processes of their own, up to four of
            # each (~50-90 MiB apiece, measured): one of each under a budget.
            system["max_io_workers"] = IO_WORKERS
        self._env.enter_context(environment.variables({**QUIET, **auth_token()}))
        with loopback_node():
            self._init(num_cpus=self.workers, num_gpus=0, object_store_memory=size,
                       _temp_dir=str(self._session),
                       _plasma_directory=None if in_shm else str(self._session),
                       _system_config=system)

    def _connect(self, address: str) -> None:
        """`workers` CPUs of the cluster at `address`: fewer is an error; with more, a
        placement group of `workers` one-CPU bundles holds the work to that many."""
        variable = Settings.variable(ADDRESS_SETTING)
        probes.check_ray(address, self.settings.connect_timeout, source=variable)
        endpoint = probes.parse_ray_address(address, variable)
        gcs = probes.host_addresses(endpoint.host)
        loopback = gcs == [LOOPBACK]
        self._env.enter_context(environment.variables(QUIET))
        try:
            if loopback:
                with loopback_node():
                    self._init(address=address)
            else:
                # This host's address towards the head, as the node it runs on was given: Ray
                # would otherwise take one from a file in the session folder, written by
                # whichever node of the machine started first.
                self._init(address=address, _node_ip_address=net.facing(gcs[0]))
        except Exception as exc:  # the GCS answered: a version mismatch, a token, no raylet
            raise EngineUnavailable(f"cannot join the Ray cluster at {address} (${variable}): "
                                    f"{first_line(exc)}") from None
        cpus = self._cluster_cpus()
        if cpus < self.workers:
            raise EngineUnavailable(f"the Ray cluster at {address} (${variable}) has {cpus:g} "
                                    f"CPU(s), fewer than the {self.workers} worker(s) asked")
        if cpus > self.workers:
            self._group = placement_group([{"CPU": 1}] * self.workers, strategy="PACK")
            if not self._group.wait(CPUS_TIMEOUT):
                raise EngineUnavailable(f"the Ray cluster at {address} (${variable}) did not "
                                        f"free {self.workers} CPU(s) within {CPUS_TIMEOUT:g} s")
            self.task_options = {"scheduling_strategy": PlacementGroupSchedulingStrategy(
                self._group, placement_group_capture_child_tasks=True)}

    def _cluster_cpus(self) -> float:
        """The cluster's CPUs, once it has `workers` of them or after CPUS_TIMEOUT."""
        deadline = time.monotonic() + CPUS_TIMEOUT
        while (cpus := ray.cluster_resources().get("CPU", 0.0)) < self.workers:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        return cpus

    def _warm(self) -> None:
        """Start and warm `workers` worker processes before any timed call: rounds of
        `workers` tasks until that many distinct processes have run one."""
        for _ in range(20):
            self.worker_pids |= set(self.get([self.task("worker_pid")
                                              for _ in range(self.workers)]))
            if len(self.worker_pids) >= self.workers:
                return

    def stop(self) -> None:
        if self._env is not None:
            ours = {}
            if self._session is not None:
                ours = {**descendants(self._started), **using(self._session)}
            if self._group is not None:
                with contextlib.suppress(Exception):
                    remove_placement_group(self._group)
                self._group = None
            with signals.kept():  # as in `_init`
                ray.shutdown()
            processes.end(ours, STOP_GRACE)
            self._env.close()
            self._env = None
        scratch.remove(self._session)
        self._session = None
        self.task_options = {}
        self.worker_pids = set()
        self._started = set()
        if RayEngine._active is self:
            RayEngine._active = None
        atexit.unregister(self.stop)
        super().stop()

    # --- tasks -----------------------------------------------------------------------------

    def task(self, name: str, *args: Any) -> ray.ObjectRef:
        """Submit task `name` (one CPU) with `args` (object refs are passed as values)."""
        return TASKS[name].options(**self.task_options).remote(*args)

    def get(self, refs: Any, inp: Input | None = None) -> Any:
        """`ray.get`, a task's error as one line: a DataError as it was raised, a reader's
        failure naming the file (and line), anything else as a failed job."""
        try:
            with handler_exceptions_kept():
                return ray.get(refs)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, ParbenchError):
                raise cause from None
            if inp is not None and isinstance(cause, (OSError, ValueError)):
                raise locate_malformed(inp, cause) from None
            raise JobFailed(f"a Ray task failed: {first_line(cause or exc)}") from None
        except ray.exceptions.RayError as exc:  # a worker or node lost beyond the retries
            raise JobFailed(f"Ray lost the job: {first_line(exc)}") from None

    def pieces(self, inp: Input) -> list[tuple[str, frames.Span]]:
        """The files of `inp`, each one piece; under a memory budget CSV files in pieces of
        `limits.block_bytes`, so that what a task holds is bounded by the budget."""
        return frames.pieces(inp.paths, inp.fmt,
                             limits.block_bytes(self.settings.memory, self.workers))

    def per_file(self, name: str, inp: Input) -> list[Any]:
        """Task `name`(path, fmt, span) on every file (or piece), gathered."""
        return self.get([self.task(name, path, inp.fmt, span)
                         for path, span in self.pieces(inp)], inp)

    # --- workloads -------------------------------------------------------------------------

    def wordcount(self, text: Input) -> spec.WordCounts:
        # One Counter per file, merged here once: a tree of merge tasks would pass whole
        # Counters through the object store at every level, and Ray Data moves every line
        # through its executor as rows and shuffles for its groupby (docs/engines.md).
        counts = self.get([self.task("count_words", path) for path in text.paths], text)
        return dict(merge_counts(counts))

    def mean_home_score(self, matches: Input) -> float:
        total, n = np.sum(self.per_file("score_total", matches), axis=0)
        return float(total / n)

    def home_advantage(self, matches: Input) -> int:
        return int(sum(self.per_file("home_advantage", matches)))

    def team_records(self, matches: Input) -> spec.TeamRecords:
        parts = self.per_file("team_records", matches)
        return frames.records_answer(pd.concat(parts).groupby(level=0).sum())

    def team_ratings(self, matches: Input) -> spec.Ratings:
        # One partition per worker (its share of the files), read once by a task that returns
        # it (kept in the object store) and its teams (the only part fetched): a pass is then
        # `workers` tasks, where a partition per file makes it one task per file, whose
        # scheduling and fetches cost more than their work. The coded partitions are task
        # outputs too, so Ray rebuilds a lost one from its lineage. The raw partitions go once
        # coded.
        # Under a memory budget one partition per piece: the object store spills those that do
        # not fit, where a worker's share of the files would have to fit in its memory.
        parts = ([[piece] for piece in self.pieces(matches)] if self.settings.memory else
                 [[(path, None) for path in share]
                  for share in shares(matches.paths, self.workers)])
        read = [READ_INDEXED.options(**self.task_options).remote(part, matches.fmt)
                for part in parts]
        teams = frames.union_index(*self.get([index for _, index in read], matches))
        coded = [self.task("coded", df, teams) for df, _ in read]
        del read
        ratings = self.iterate(coded, len(teams), matches)
        return frames.ratings_answer(teams, ratings)

    def iterate(self, coded: list[ray.ObjectRef], n_teams: int, inp: Input) -> np.ndarray:
        """The passes: one gradient task per coded partition, the gradients summed here."""
        n_played = self.total([self.task("played", c, n_teams) for c in coded], inp)
        ratings = np.zeros(n_teams)
        for _ in range(spec.RATING_PASSES):
            grad = self.total([self.task("gradient", c, ratings) for c in coded], inp)
            ratings = frames.step(ratings, grad, n_played)
        return ratings

    def unbeaten_streaks(self, matches: Input) -> spec.Streaks:
        # A shuffle through the object store: each file's sides split by team into `workers`
        # buckets (one object each), then one task per bucket over its parts from every file.
        # Under a memory budget, more buckets (`buckets`).
        parts = self.split("streak_sides", matches)
        runs = self.get([self.task("longest_runs", *bucket) for bucket in zip(*parts, strict=True)],
                        matches)
        return pd.concat(runs).to_dict()

    def top_scorers(self, goals: Input, matches: Input) -> spec.TopScorers:
        # A hash join: goals and matches split by match key into `workers` buckets, one join
        # task per bucket; a scorer's goals in one tournament may sit in several buckets.
        # Under a memory budget the counts, which can outgrow it (millions of scorers), are
        # split again by (tournament, scorer), and a task per bucket sums them and gives its
        # candidates per tournament, of which the driver picks the top.
        n = self.buckets(goals, matches)
        scoring, keyed = self.split("scoring_goals", goals, n), self.split("fixtures", matches, n)
        buckets = zip(zip(*scoring, strict=True), zip(*keyed, strict=True), strict=True)
        if self.settings.memory is None:
            counts = self.get([self.task("joined_goals", len(scoring), *g, *m)
                               for g, m in buckets], goals)
            return frames.top_scorers(pd.concat(counts).groupby(level=[0, 1]).sum())
        splitter = SPLITTERS["joined_split"].options(num_returns=n, **self.task_options)
        pairs = [splitter.remote(n, len(scoring), *g, *m) for g, m in buckets]
        pairs = [r if isinstance(r, list) else [r] for r in pairs]
        tops = self.get([self.task("pair_tops", *bucket) for bucket in zip(*pairs, strict=True)],
                        goals)
        return frames.top_scorers(pd.concat(tops))

    def buckets(self, *inputs: Input) -> int:
        """The buckets of a shuffle of `inputs`: one per worker; under a memory budget enough
        that a bucket holds about a piece's rows (`limits.shuffle_partitions`) and the
        task that takes it fits in its worker (the object store spills the others)."""
        if self.settings.memory is None:
            return self.workers
        return limits.shuffle_partitions(max(len(self.pieces(inp)) for inp in inputs),
                                         self.workers)

    def split(self, name: str, inp: Input, n: int | None = None) -> list[list[ray.ObjectRef]]:
        """Splitter `name`(path, fmt, n, span) on every file (or piece): per file, its `n`
        buckets (default `buckets`)."""
        n = n or self.buckets(inp)
        splitter = SPLITTERS[name].options(num_returns=n, **self.task_options)
        refs = [splitter.remote(path, inp.fmt, n, span) for path, span in self.pieces(inp)]
        return [r if isinstance(r, list) else [r] for r in refs]

    def total(self, refs: list[ray.ObjectRef], inp: Input) -> np.ndarray:
        """The sum of small arrays computed by tasks."""
        return np.sum(self.get(refs, inp), axis=0)

