"""The report's data: one cell per (benchmark, workers, scale), and what is derived from them.

No I/O here: `reports.load` fills the cells from asv's files, figures and the page read them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from reports import metrics
from workloads.spec import NAMES as SPEC_ORDER

OK = "ok"
FAILED = "failed"
FAILED_OR_TIMED_OUT = "failed or timed out"
SKIPPED = "skipped"
NOT_RUN = "not run"

#: Metrics of `bench_engines` that are not workloads.
STARTUP = "startup"
PEAK_MEMORY = "peak_memory"
BASELINES = ("serial", "pandas")


@dataclass(frozen=True)
class Cell:
    """One asv result: a benchmark at one parameter combination (newest current result)."""

    suite: str  # benchmark module without "bench_": "engines", "datagen"
    engine: str  # display name: "dask-threads" (class name for other suites)
    metric: str  # workload ("wordcount"), STARTUP, PEAK_MEMORY, or the method's name
    unit: str
    workers: int | None
    scale: str | None  # the scale as datagen writes it: "0.1", "1", "10"
    status: str
    value: float | None = None  # median (time) or tracked value
    q25: float | None = None
    q75: float | None = None
    samples: int | None = None

    @property
    def scale_value(self) -> float:
        try:
            return float(self.scale) if self.scale is not None else math.nan
        except ValueError:
            return math.nan


@dataclass
class MachineReport:
    """Everything the report shows for one machine."""

    name: str
    info: dict[str, object]
    cells: list[Cell]
    versions: dict[str, object] | None = None  # parbench-versions.json, if present
    commits: list[str] = field(default_factory=list)
    pythons: list[str] = field(default_factory=list)


def engine_order(engines: set[str] | list[str]) -> list[str]:
    """Baselines first (serial, pandas), then alphabetical."""
    rank = {name: i for i, name in enumerate(BASELINES)}
    return sorted(set(engines), key=lambda e: (rank.get(e, len(rank)), e))


def fmt_scale(scale: float) -> str:
    return f"{scale:g}"


def workloads(cells: list[Cell]) -> list[str]:
    """Workloads measured by `bench_engines`: the spec's order, then any others by name."""
    seen = {c.metric for c in cells if c.suite == "engines" and c.metric not in (STARTUP,
                                                                                 PEAK_MEMORY)}
    rank = {w: i for i, w in enumerate(SPEC_ORDER)}
    return sorted(seen, key=lambda w: (rank.get(w, len(rank)), w))


def select(cells: list[Cell], suite: str, metric: str) -> list[Cell]:
    return [c for c in cells if c.suite == suite and c.metric == metric]


Table = dict[str, dict[float, dict[int, float]]]  # engine → scale → workers → median


def times(cells: list[Cell], metric: str, suite: str = "engines") -> Table:
    """Medians of the successful cells: engine → scale → workers → value."""
    out: Table = defaultdict(lambda: defaultdict(dict))
    for c in select(cells, suite, metric):
        if c.status == OK and c.value is not None and c.workers is not None:
            out[c.engine][c.scale_value][c.workers] = c.value
    return {e: dict(by_scale) for e, by_scale in out.items()}


def quartiles(cells: list[Cell], metric: str) -> dict[tuple[str, float, int], tuple[float, float]]:
    """(engine, scale, workers) → (q25, q75) where asv stored them."""
    return {(c.engine, c.scale_value, c.workers): (c.q25, c.q75)
            for c in select(cells, "engines", metric)
            if c.status == OK and c.q25 is not None and c.q75 is not None
            and c.workers is not None}


def failures(cells: list[Cell], metric: str) -> set[tuple[str, float, int]]:
    """(engine, scale, workers) of the failed or timed-out cells."""
    return {(c.engine, c.scale_value, c.workers) for c in select(cells, "engines", metric)
            if c.status in (FAILED, FAILED_OR_TIMED_OUT) and c.workers is not None}


def serial_time(table: Table, scale: float) -> float | None:
    """T_serial(1) at this scale, the baseline of every "speedup over serial"."""
    return table.get("serial", {}).get(scale, {}).get(1)


@dataclass(frozen=True)
class Best:
    """The fastest (engine, workers) of one workload at one scale."""

    workload: str
    scale: float
    engine: str
    workers: int
    time: float
    over_serial: float | None  # T_serial(1) / T_best
    worth_it: int | None  # largest p of that engine with efficiency ≥ 0.5


def fastest(cells: list[Cell]) -> list[Best]:
    """Per workload and scale: the fastest engine, its speedup over serial, workers worth it."""
    rows = []
    for w in workloads(cells):
        table = times(cells, w)
        scales = sorted({s for by_scale in table.values() for s in by_scale})
        for s in scales:
            cands = []
            for e, by_scale in table.items():
                best = metrics.best_time(by_scale.get(s, {}))
                if best is not None:
                    cands.append((best[1], e, best[0]))
            if not cands:
                continue
            t, e, p = min(cands)
            base = serial_time(table, s)
            rows.append(Best(w, s, e, p, t, base / t if base else None,
                             metrics.workers_worth_it(metrics.speedup(table[e][s]))))
    return rows


@dataclass(frozen=True)
class Growth:
    """How one engine's time grows with data size, and where it overtakes the baselines."""

    engine: str
    workers: int | None  # worker count the exponent is fitted at
    exponent: float
    beats: dict[str, float | None]  # baseline → crossover scale (None: never)


def growth(table: Table) -> list[Growth]:
    """Growth exponent (at the worker count fastest at the largest scale) and crossovers.

    Crossovers compare each engine at its fastest worker count at every scale with the baseline
    (serial, pandas: one worker).
    """
    best_at = {e: {s: min(by_p.values()) for s, by_p in by_scale.items() if by_p}
               for e, by_scale in table.items()}
    rows = []
    for e in engine_order(table):
        by_scale = table[e]
        if not by_scale:
            continue
        best = metrics.best_time(by_scale[max(by_scale)])
        p = best[0] if best else None
        series = {s: by_p[p] for s, by_p in by_scale.items() if p in by_p}
        beats = {b: metrics.crossover(best_at[e], best_at[b])
                 for b in BASELINES if b in best_at and b != e}
        rows.append(Growth(e, p, metrics.growth_exponent(series), beats))
    return rows


def status_counts(cells: list[Cell]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for c in cells:
        counts[c.status] += 1
    return dict(counts)
