"""How many workers this machine runs (the bound above which every engine and the generator
refuse), and how much memory an engine with its own memory manager may fill.

A worker is a core's worth of work. More workers than `WORKERS_PER_CORE` per core measure
contention, not a framework; and workers that are processes each need memory and a slot under the
process limit, so a mistyped `--workers 10000` must end in one line, not in a fork storm or the
out-of-memory killer. The `max_workers` setting lowers (or raises) the bound explicitly.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

import psutil

from workloads.runtime import memory
from workloads.runtime.errors import ParbenchError

#: Workers per core above which a run measures contention only.
WORKERS_PER_CORE = 4
#: Resident memory of one worker process (a Python with pandas and Arrow loaded), for the bound.
PROCESS_BYTES = 200 * 2**20
#: Tasks that one worker process adds to what the process limit counts (Linux counts every
#: thread): itself and at least one thread of its own.
TASKS_PER_PROCESS = 2
#: Share of the memory available when an engine starts that its own memory manager may fill.
ENGINE_MEMORY_SHARE = 0.75


def cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Bound:
    """The largest worker count, and why (for the message)."""

    workers: int
    reason: str


def tasks_of_user() -> int:
    """Processes and threads of this user: what the process limit (`ulimit -u`) counts."""
    uid, total = os.getuid(), 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        uids, threads = proc.info["uids"], proc.info["num_threads"]
        if uids is not None and uids.real == uid:
            total += threads or 1
    return total


def machine_bound(processes: int = 1, memory_per_worker: int = PROCESS_BYTES,
                  least: int = 1) -> Bound:
    """The bound on this machine for workers that are `processes` processes each (0: threads),
    never below `least`: 1 where the first worker is this process, 0 where every worker is a
    new process (a cluster's) that may not fit at all."""
    here = cores()
    bounds = [Bound(WORKERS_PER_CORE * here, f"{WORKERS_PER_CORE} per core, {here} cores")]
    if processes:
        available = memory.available()
        bounds.append(Bound(max(least, available // (processes * memory_per_worker)),
                            f"{available / 2**30:.1f} GiB free memory, "
                            f"{memory_per_worker // 2**20} MiB per worker process"))
        soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
        if soft != resource.RLIM_INFINITY:
            used = tasks_of_user()
            bounds.append(Bound(max(least, (soft - used) // (TASKS_PER_PROCESS * processes)),
                                f"ulimit -u {soft}, {used} processes and threads of this user "
                                "running"))
    return min(bounds, key=lambda b: b.workers)


def default_workers(processes: int = 0) -> int:
    """The worker count of a run, a generation or a cluster that names none: one per core,
    within the bound for workers of `processes` processes each; ParbenchError when not even one
    fits."""
    bound = machine_bound(processes, least=0)
    if bound.workers < 1:
        raise ParbenchError(f"this machine cannot run another worker ({bound.reason})")
    return min(cores(), bound.workers)


def worker_counts(top: int | None = None) -> tuple[int, ...]:
    """The benchmarks' worker counts: 1, 2, 4, … below `top` (default: the cores), and `top`."""
    top = top or cores()
    counts, p = [], 1
    while p < top:
        counts.append(p)
        p *= 2
    return (*counts, top)


def check_workers(what: str, workers: int, override: int | None = None,
                  processes: int = 1) -> None:
    """Refuse, in one line with the bound, `workers` above this machine's bound (or `override`,
    the `max_workers` setting, when given)."""
    bound = (Bound(override, "the max_workers setting") if override is not None
             else machine_bound(processes))
    if workers > bound.workers:
        raise ParbenchError(f"{what}: {workers} workers is more than this machine runs: at most "
                            f"{bound.workers} ({bound.reason}); ask for fewer, or set "
                            f"max_workers (see `python -m workloads settings`)")


def engine_memory(share: float = ENGINE_MEMORY_SHARE, budget: int | None = None) -> int:
    """Bytes an engine's own memory manager may fill (DuckDB's `memory_limit`): a share of the
    memory available now, not of the machine's total as such managers assume by default.

    On a shared machine other processes already hold part of the total; a limit within what is
    available makes the engine spill to its temporary folder instead of pushing the machine into
    swap or the out-of-memory killer. The rest is left for what the manager does not count (the
    Python objects of the results, the interpreter) and for the other processes growing.
    `budget`: the memory budget of the run (the memory setting), where one is set.
    """
    return int(memory.available(budget) * share)


#: Under a memory budget, a task's input is at most a 32nd of a worker's share of it: a task's
#: resident memory grows by several times the bytes it reads (the bytes, Arrow's parse buffers
#: and table, the frames made from it, and what the allocators keep after it), and a worker
#: holds the interpreter and results besides. Within the bounds below: pieces much smaller cost
#: more in per-task overhead than they save, and datagen's files are ~64 MiB.
BLOCK_SHARE = 32
BLOCK_MIN = 4 * 2**20
BLOCK_MAX = 64 * 2**20
#: Input pieces per partition of a shuffle's output under a budget: a partition then holds
#: about a piece's rows, which fits a worker. Measured at 4: a join's partition (the rows of
#: four pieces as pandas objects, then merged) went over a 1 GiB budget on every engine.
PIECES_PER_PARTITION = 1


def block_bytes(budget: int | None, workers: int) -> int | None:
    """Bytes of input per task under a memory budget (`frames.pieces`), None without one."""
    if budget is None:
        return None
    return max(BLOCK_MIN, min(BLOCK_MAX, budget // (BLOCK_SHARE * workers)))


def shuffle_partitions(pieces: int, workers: int) -> int:
    """Partitions of a shuffle's output, under a memory budget, of `pieces` input pieces."""
    return max(workers, -(-pieces // PIECES_PER_PARTITION))
