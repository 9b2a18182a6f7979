"""A small MapReduce runtime on a process pool: map → combine → partition/spill → reduce.

`run_job` runs one job the way Hadoop does, on one machine:

1. **Map.** One map task per input split (a file, of any of the job's inputs), largest first.
   The `Split` is the task's record reader: it reads lines, match or goal rows, the records a
   previous job wrote, or the whole split (a string, an Arrow table), and counts the records it
   read; a mapper of a job with several inputs tells them apart by `split.kind`. The mapper yields
   (key, value) pairs; the task groups them by key and applies the combiner to each group (a
   combiner must be associative and commutative, and may run zero or more times). A mapper may
   instead return a dict it has combined itself.
2. **Shuffle.** Each map task hash-partitions its combined pairs into R partitions with a stable
   hash (CRC-32 of the UTF-8 key, the same in every process, unlike the salted `hash()`) and writes
   one spill file per non-empty partition: a pickled (or marshalled) dict. Spill files live in a
   per-job folder that is removed when the job ends, failed or not.
3. **Reduce.** One reduce task per non-empty partition reads that partition's spill file of every
   map task, groups values by key (a dict: hash grouping, where Hadoop merge-sorts) and calls the
   reducer once per key. The driver merges the partitions' disjoint outputs; or, for a job whose
   output is the next job's input, each reduce task writes its output to a file (Hadoop's
   `part-r-NNNNN` on HDFS) and the driver gets the files: an `Input` of kind `OUTPUT`.

Every task returns its counters; `run_job` returns their sum with the output.
"""

from __future__ import annotations

import marshal
import os
import pickle
import shutil
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from multiprocessing.process import BaseProcess
from typing import Any

import pyarrow as pa

from workloads.data import frames
from workloads.data.dataset import Input
from workloads.data.readers import goal_rows, match_rows, missing_file, text_lines
from workloads.layout import GOALS, MATCHES, TEXT
from workloads.runtime import processes
from workloads.runtime.errors import JobFailed

Key = str
Pairs = Iterable[tuple[Key, Any]]
Counters = dict[str, int]

#: The counters of a job, in report order (Hadoop's names, in snake case).
COUNTERS = ("jobs", "map_tasks", "reduce_tasks", "map_input_records", "map_output_records",
            "combine_output_records", "spill_files", "shuffle_bytes", "reduce_input_groups",
            "reduce_input_records", "reduce_output_records", "map_cpu_ms", "reduce_cpu_ms")
SERIALIZERS = ("pickle", "marshal")
#: The kind of input that is the output of a previous job (its reduce tasks' files).
OUTPUT = "output"

def new_counters() -> Counters:
    return dict.fromkeys(COUNTERS, 0)


def add_counters(total: Counters, part: Mapping[str, int]) -> Counters:
    """Add `part` into `total` (in place) and return `total`."""
    for name, value in part.items():
        total[name] = total.get(name, 0) + value
    return total


def partition(key: Key, partitions: int) -> int:
    """The reduce partition of `key`: CRC-32 of its UTF-8 bytes, stable across processes."""
    return zlib.crc32(key.encode("utf-8")) % partitions


@dataclass
class Split:
    """One input split (a whole file, or for `table` a piece of a CSV file: `frames.pieces`)
    and its record reader, which counts what it reads."""

    kind: str
    path: str
    fmt: str
    span: frames.Span = None
    records_read: int = 0

    @property
    def size(self) -> int:
        """Bytes of input (for the order of the map tasks)."""
        if self.span is not None:
            return self.span[1] - self.span[0]
        try:
            return os.path.getsize(self.path)
        except FileNotFoundError:
            raise missing_file(self.path) from None

    def records(self, rows: Callable[[list[str], str], Iterator[Any]] | None = None
                ) -> Iterator[Any]:
        """The split's records: lines of text, `spec.Match` or `spec.Goal` rows of a table (or
        what `rows(paths, fmt)` reads, e.g. `readers.fixture_rows`), (key, value) pairs of a
        previous job's output. Errors name the file and line."""
        assert self.span is None, "records are read from whole files"
        if self.kind == OUTPUT:
            records: Iterable[Any] = read_spill(self.path, self.fmt).items()
        elif self.kind == TEXT:
            records = text_lines(self.path)
        else:
            records = (rows or {MATCHES: match_rows, GOALS: goal_rows}[self.kind])(
                [self.path], self.fmt)
        n = 0
        for n, row in enumerate(records, 1):  # noqa: B007 - n is read after the loop
            yield row
        self.records_read += n

    def text(self) -> str:
        """The whole text split as one string (records: its lines)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise missing_file(self.path) from None
        self.records_read += text.count("\n") + (bool(text) and not text.endswith("\n"))
        return text

    def table(self, columns: Sequence[str]) -> pa.Table:
        """`columns` of the whole match or goal split as an Arrow table (records: its rows)."""
        table = frames.read_table(self.path, self.fmt, columns, self.kind, self.span)
        self.records_read += table.num_rows
        return table


Mapper = Callable[[Split, Any], Pairs]
Combiner = Callable[[list[Any]], Any]
Reducer = Callable[[Key, list[Any], Any], Any]


@dataclass(frozen=True)
class Job:
    """A MapReduce program and how its map output is shuffled.

    `mapper(split, cache)` yields (key, value) pairs; `combiner(values)` merges the values of one
    key into one value of the same kind; `reducer(key, values, cache)` gives the key's output, or
    None for none.
    `cache` is read-only side data every task receives (Hadoop's distributed cache).
    """

    mapper: Mapper
    combiner: Combiner
    reducer: Reducer
    partitions: int = 1
    serializer: str = "pickle"
    cache: Any = None

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {self.partitions}")
        if self.serializer not in SERIALIZERS:
            raise ValueError(f"serializer must be one of {SERIALIZERS}, got {self.serializer!r}")


@dataclass
class TaskResult:
    """What a task sends back to the driver: its output and its counters."""

    output: Any
    counters: Counters = field(default_factory=dict)


# --------------------------------------------------------------------------- spill files


def write_spill(path: str, data: dict[Key, Any], serializer: str) -> int:
    """Write one partition of one map task's output; return the bytes written."""
    blob = (marshal.dumps(data) if serializer == "marshal"
            else pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)


def read_spill(path: str, serializer: str) -> dict[Key, Any]:
    with open(path, "rb") as f:
        blob = f.read()
    return marshal.loads(blob) if serializer == "marshal" else pickle.loads(blob)


# --------------------------------------------------------------------------- tasks


def group(pairs: Iterable[tuple[Hashable, Any]]) -> tuple[dict[Any, list[Any]], int]:
    """Values grouped by key, and the number of pairs read."""
    groups: defaultdict[Any, list[Any]] = defaultdict(list)
    n = 0
    for n, (key, value) in enumerate(pairs, 1):  # noqa: B007 - n is read after the loop
        groups[key].append(value)
    return groups, n


def cpu_ms(started: float) -> int:
    """CPU milliseconds this process has spent since `started` (Hadoop's CPU_MILLISECONDS)."""
    return round((time.process_time() - started) * 1000)


def combine(emitted: Pairs | Mapping[Key, Any],
            combiner: Combiner) -> tuple[Mapping[Key, Any], int]:
    """The map output combined (one value per key), and the number of pairs the mapper emitted.

    A mapper that returns a mapping has combined its output itself (in-mapper combining).
    """
    if isinstance(emitted, Mapping):
        return emitted, len(emitted)
    groups, n = group(emitted)
    return {key: values[0] if len(values) == 1 else combiner(values)
            for key, values in groups.items()}, n


def map_task(job: Job, split: Split, index: int, folder: str) -> TaskResult:
    """Map one split, combine, partition, spill; output: partition -> spill file path."""
    started = time.process_time()
    combined, emitted = combine(job.mapper(split, job.cache), job.combiner)
    parts: defaultdict[int, dict[Key, Any]] = defaultdict(dict)
    for key, value in combined.items():
        parts[partition(key, job.partitions) if job.partitions > 1 else 0][key] = value
    spills, shuffled = {}, 0
    for r, data in parts.items():
        spills[r] = os.path.join(folder, f"map-{index:05d}-part-{r:05d}.spill")
        shuffled += write_spill(spills[r], data, job.serializer)
    return TaskResult(spills, {"map_tasks": 1, "map_input_records": split.records_read,
                               "map_output_records": emitted,
                               "combine_output_records": len(combined),
                               "spill_files": len(spills), "shuffle_bytes": shuffled,
                               "map_cpu_ms": cpu_ms(started)})


def reduce_task(job: Job, spills: list[str], output_file: str | None) -> TaskResult:
    """Merge one partition's spill files, group by key and reduce each group; the output, or
    the file it is written to (for a next job)."""
    started = time.process_time()
    groups, n_in = group(pair for path in spills
                         for pair in read_spill(path, job.serializer).items())
    output = {}
    for key, values in groups.items():
        out = job.reducer(key, values, job.cache)
        if out is not None:  # a reducer may emit nothing for a key
            output[key] = out
    if output_file is not None:
        write_spill(output_file, output, job.serializer)
    return TaskResult(output_file or output, {"reduce_tasks": 1,
                                              "reduce_input_groups": len(groups),
                               "reduce_input_records": n_in,
                               "reduce_output_records": len(output),
                               "reduce_cpu_ms": cpu_ms(started)})


# --------------------------------------------------------------------------- the driver


def splits_of(inputs: Sequence[Input], most: int | None = None) -> list[Split]:
    """One split per input file, or per piece of at most about `most` bytes of a CSV table
    (`frames.pieces`), largest first (as Hadoop schedules them); a missing file fails the job
    before any task runs, as Hadoop's job client does."""
    for inp in inputs:
        for path in inp.paths:
            if not os.path.exists(path):
                raise missing_file(path)
    splits = [Split(inp.kind, path, inp.fmt, span) for inp in inputs
              for path, span in frames.pieces(inp.paths, inp.fmt,
                                              most if inp.kind in (MATCHES, GOALS) else None)]
    return sorted(splits, key=lambda split: -split.size)


#: Seconds between the driver's checks, while it waits for a step, that the pool's workers run.
WATCH_SECONDS = 0.1


def pool_workers(pool: Pool) -> tuple[BaseProcess, ...]:
    """The worker processes of `pool` now: multiprocessing's own list, where its handler thread
    swaps a worker that has ended for a new one. The objects keep their exit codes."""
    return tuple(pool._pool)  # type: ignore[attr-defined]


def all_done(pool: Pool, workers: Sequence[BaseProcess], task: Callable[..., Any],
             args: Iterable[tuple[Any, ...]]) -> list[Any]:
    """`pool.starmap(task, args, chunksize=1)`, ended by any of `workers` (the pool's as it was
    made: none ends while it runs, unless killed) that has ended: the pool starts another in
    its place, but a task the dead one held is lost, and starmap would wait for it forever.
    Killed between steps, it fails the next: a worker killed (by the kernel's out-of-memory
    killer, say) is news, whether or not it held a task. One line names it and how it ended."""
    pending = pool.starmap_async(task, args, chunksize=1)
    while True:
        pending.wait(WATCH_SECONDS)  # returns as soon as the step is done
        for worker in workers:
            if worker.exitcode is not None:
                raise JobFailed(f"MapReduce lost the job: its pool's worker process "
                                f"{worker.pid} {processes.how_ended(worker.exitcode)}")
        if pending.ready():
            return pending.get()


def run_job(pool: Pool, job: Job, inputs: Sequence[Input], workdir: str | None = None,
            output_dir: str | None = None, most: int | None = None,
            workers: Sequence[BaseProcess] | None = None) -> TaskResult:
    """Run `job` over the files of `inputs` (tables in pieces of at most about `most` bytes, if
    given) on `pool`: its merged output (or, given `output_dir`, the `Input` of the reduce
    tasks' output files there) and summed counters. The job fails if one of `workers` (default:
    the pool's now) ends meanwhile (`all_done`)."""
    workers = pool_workers(pool) if workers is None else workers
    folder = tempfile.mkdtemp(prefix="job-", dir=workdir)
    try:
        splits = splits_of(inputs, most)
        maps = all_done(pool, workers, map_task,
                        [(job, split, i, folder) for i, split in enumerate(splits)])
        by_partition: defaultdict[int, list[str]] = defaultdict(list)
        for result in maps:
            for r, path in result.output.items():
                by_partition[r].append(path)
        outputs = {r: output_dir and os.path.join(output_dir, f"part-r-{r:05d}")
                   for r in sorted(by_partition)}
        reduces = all_done(pool, workers, reduce_task,
                           [(job, by_partition[r], outputs[r]) for r in outputs])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    counters = new_counters()
    counters["jobs"] = 1
    for result in [*maps, *reduces]:
        add_counters(counters, result.counters)
    if output_dir is not None:
        return TaskResult(Input(OUTPUT, tuple(r.output for r in reduces), job.serializer),
                          counters)
    output: dict[Key, Any] = {}
    for result in reduces:
        output.update(result.output)
    return TaskResult(output, counters)
