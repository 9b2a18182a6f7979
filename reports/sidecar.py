"""The contract between `benchmarks/` and the report: what asv's benchmarks are called, and the
sidecar records the benchmarks write, each tied here to the asv result it explains.

An engine's benchmark class is named after the engine (`suite_name`: dask-threads →
`bench_engines.DaskThreads`); the report reads the engine back from the class (`engine_of_suite`)
without importing any engine.

`benchmarks/outcomes.py` writes them (its docstring has the format): JSON lines under
`<results>/../parbench/outcomes/`. asv tells a benchmark process neither its machine nor (with
`--python=same --set-commit-hash`) its commit or environment, so a record belongs to a stored
result when it names the same benchmark (or its class) and parameters, comes from the same
environment (`ASV_ENV_NAME`, or for an existing environment the Python executable, which asv
stores as the results' `python`), and was written while asv ran that benchmark: between the
result's `started_at` and `started_at + duration` (asv runs one benchmark at a time per
environment, each combination in its own process).
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.model import (
    FAILED,
    FAILED_OR_TIMED_OUT,
    KILLED,
    OK,
    OUT_OF_MEMORY,
    SKIPPED,
    TIMED_OUT,
)

#: Beside asv's results folder, as `benchmarks/outcomes.py` writes it.
SIDECAR_DIR = "parbench"
OUTCOMES_DIR = "outcomes"
FORMAT = 1
#: The record a memory budget's watcher writes when it ends a benchmark process.
OOM_EVENT = "oom"
#: The record of the bytes over the wire per timed call, on a cluster over emulated hosts.
WIRE_EVENT = "wire"
#: asv's benchmark kinds, by method prefix.
BENCHMARK_PREFIXES = ("time_", "timeraw_", "track_", "mem_", "peakmem_")
#: asv's benchmark modules in `benchmarks/` are the files `bench_<suite>.py`.
MODULE_PREFIX = "bench_"
#: asv stores start times in whole milliseconds and durations to 5 significant digits.
START_SLACK = 0.001
DURATION_SLACK = 1e-4
#: A process that ran this close to its timeout (or longer) before the next one started is
#: reported as timed out: asv's clock starts before the process writes its `start` record.
TIMED_OUT_SHARE = 0.9
TIMED_OUT_SLACK = 5.0
NO_RECORD = ("no reason recorded: asv keeps no error output and no parbench sidecar record "
             "matches (run with the current benchmarks, or `asv run --show-stderr`)")


def suite_name(engine: str) -> str:
    """The benchmark class of an engine: dask-threads → DaskThreads (`asv run -b DaskThreads`)."""
    return "".join(part.capitalize() for part in engine.split("-"))


def engine_of_suite(suite: str, known: Iterable[str] = ()) -> str:
    """The engine of a benchmark class: the engine of `known` whose `suite_name` it is, else the
    class name in kebab case (DaskThreads → dask-threads, DuckDB → duckdb)."""
    for name in known:
        if suite_name(name) == suite:
            return name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "-", suite).lower()


def folder(results_dir: Path) -> Path:
    """The parbench sidecar folder of an asv results folder."""
    return results_dir.parent / SIDECAR_DIR


@dataclass(frozen=True)
class Record:
    """One sidecar line."""

    t: float
    event: str  # start, ready, skip, fail, oom
    benchmark: str  # asv's name of the class: bench_engines.Spark
    method: str | None  # time_wordcount; None for the class's setup (shared by its methods)
    params: tuple[str, ...]
    env: str | None
    executable: str | None
    fields: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def reason(self) -> str:
        return str(self.fields.get("reason") or "")


@dataclass(frozen=True)
class Outcome:
    """A stored value's status, why, and the facts its process recorded."""

    status: str
    reason: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


def status_of(value: object) -> str:
    """asv's encoding: a number is a result, NaN a skip, None a failure."""
    if value is None:
        return FAILED
    if isinstance(value, float) and math.isnan(value):
        return SKIPPED
    return OK


class Sidecar:
    """Every record found, indexed by (class, params) and by environment, in time order."""

    def __init__(self, records: list[Record]) -> None:
        self._by: dict[tuple[str, tuple], list[Record]] = defaultdict(list)
        self._timeline: dict[object, list[float]] = defaultdict(list)
        for r in sorted(records, key=lambda r: r.t):
            self._by[(r.benchmark, r.params)].append(r)
            if r.event == "start":
                self._timeline[r.env or ("exe", r.executable)].append(r.t)
        self._times = {k: [r.t for r in v] for k, v in self._by.items()}
        self.count = len(records)

    @classmethod
    def read(cls, results_dir: Path) -> Sidecar:
        """The records under the sidecar folder of `results_dir` (none: an empty sidecar)."""
        records = []
        for path in sorted((folder(results_dir) / OUTCOMES_DIR).glob("*.jsonl")):
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    d = json.loads(line)
                    records.append(Record(float(d["t"]), str(d["event"]), str(d["benchmark"]),
                                          d.get("method"), tuple(d["params"]), d.get("env"),
                                          d.get("executable"), d))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a killed writer
        return cls(records)

    @staticmethod
    def _same_env(r: Record, env: str, python: str) -> bool:
        if r.env:
            return r.env == env
        return os.path.isabs(python) and r.executable == python

    def records(self, benchmark: str, params: tuple[str, ...], env: str, python: str,
                start: float, end: float) -> list[Record]:
        """The records of one stored result (`benchmark`: asv's full name), from its process's last
        `start` on."""
        cls, method = benchmark.rsplit(".", 1)
        times = self._times.get((cls, params), [])
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_right(times, end)
        found = [r for r in self._by.get((cls, params), [])[lo:hi]
                 if r.method in (None, method) and self._same_env(r, env, python)]
        starts = [i for i, r in enumerate(found) if r.event == "start"]
        return found[starts[-1]:] if starts else found

    def _next(self, t: float, env: str, python: str) -> float | None:
        """When the next benchmark process of the same environment started after `t`."""
        after = []
        for key in (env, ("exe", python)):
            line = self._timeline.get(key, [])
            i = bisect.bisect_right(line, t)
            if i < len(line):
                after.append(line[i])
        return min(after) if after else None

    def explain(self, benchmark: str, params: tuple[str, ...], value: object, *, env: str,
                python: str, started_at: float | None, duration: float | None,
                timeout: float | None, default_timeout: float | None = None) -> Outcome:
        """The status of one stored value and its reason.

        A number is `ok`, NaN `skipped` (with the skip's message), None `failed` (with the
        exception's last line), or `killed` when its process started and never wrote an end: asv
        stopped it at its timeout, or it crashed (told apart by when the next process started).
        Without records, a failure that ran past its timeout is `failed or timed out`. The
        timeout: `timeout` (benchmarks.json), else the class's (its `start` record), else
        `default_timeout` (asv.conf.json).
        """
        status = status_of(value)
        recs: list[Record] = []
        end = math.inf
        if started_at is not None:
            start = started_at - START_SLACK
            end = start + (duration * (1 + DURATION_SLACK) + 0.01 if duration else math.inf)
            recs = self.records(benchmark, params, env, python, start, end)
        ready = [r for r in recs if r.event == "ready"]
        facts = {k: v for k, v in ready[-1].fields.items() if k not in _COMMON} if ready else {}
        budgets = [r.fields["memory"] for r in recs
                   if r.event == "start" and r.fields.get("memory")]
        if budgets and not facts.get("memory"):  # it ended before `ready`: its budget all the same
            facts["memory"] = budgets[-1]
        wires = [r for r in recs if r.event == WIRE_EVENT]
        if wires:  # the last holds the mean over every timed call so far
            facts.update({k: v for k, v in wires[-1].fields.items() if k not in _COMMON})
        if status == OK:
            return Outcome(OK, "", facts)
        skips = [r for r in recs if r.event == "skip"]
        if status == FAILED and skips and not [r for r in recs if r.event in ("fail", OOM_EVENT)]:
            status = SKIPPED  # a benchmark that raised NotImplementedError: asv stores a failure
        if status == SKIPPED:
            skips = [r for r in recs if r.event == "skip"]
            return Outcome(SKIPPED, skips[-1].reason if skips else "no reason recorded", facts)
        ooms = [r for r in recs if r.event == OOM_EVENT]
        if ooms:  # its budget, also where it ended before `ready`
            return Outcome(OUT_OF_MEMORY, ooms[-1].reason,
                           {"memory": ooms[-1].fields.get("budget"), **facts})
        fails = sorted((r for r in recs if r.event == "fail"),
                       key=lambda r: (r.method is not None, r.t))
        if fails:
            return Outcome(FAILED, fails[-1].reason or "failed (no message)", facts)
        starts = [r for r in recs if r.event == "start"]
        limit = timeout or (starts[-1].fields.get("timeout") if starts else None) \
            or default_timeout
        if starts:
            nxt = self._next(starts[-1].t, env, python)
            stop = min(x for x in (nxt, end) if x is not None)
            elapsed = stop - starts[-1].t
            return Outcome(TIMED_OUT if ran_to_limit(elapsed, limit) else KILLED,
                           killed_reason(elapsed, limit), facts)
        ran_long = duration is not None and limit is not None and duration >= limit
        return Outcome(FAILED_OR_TIMED_OUT if ran_long else FAILED, NO_RECORD, facts)


_COMMON = {"v", "t", "event", "benchmark", "method", "params", "env", "commit", "executable",
           "host", "pid"}


def ran_to_limit(elapsed: float, timeout: float | None) -> bool:
    """Whether a process that never finished ran until its time limit (asv's clock starts
    before the process writes its first record: a little short of the limit counts)."""
    return (timeout is not None and math.isfinite(timeout)
            and (not math.isfinite(elapsed)
                 or elapsed >= min(TIMED_OUT_SHARE * timeout, timeout - TIMED_OUT_SLACK)))


def killed_reason(elapsed: float, timeout: float | None) -> str:
    """Why a process that started never finished, from how long it ran before the next one."""
    if timeout is None or not math.isfinite(timeout):
        return "killed: no result after it started: timed out or crashed"
    if ran_to_limit(elapsed, timeout):
        return f"timed out after {timeout:g} s, its time limit"
    return (f"killed after {elapsed:.3g} s, before its {timeout:g} s timeout: crashed "
            "(out of memory?) or stopped")
