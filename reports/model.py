"""The report's data: one cell per stored asv result, which of them the page shows, and every
number the page derives from them (verdicts, decision chart, growth, start-up).

No I/O here: `reports.load` fills the cells from asv's files and the benchmarks' sidecar;
`reports.figures` and `reports.page` draw and write what this module computes. Formulas are in
`reports.metrics`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from reports import metrics
from workloads.spec import NAMES as SPEC_ORDER

OK = "ok"
FAILED = "failed"
#: Started and never finished, well before its time limit: it crashed or was stopped.
KILLED = "killed"
#: Started and never finished by its time limit: asv ended it there.
TIMED_OUT = "timed out"
#: No result and no sidecar record to say why; long enough to have timed out.
FAILED_OR_TIMED_OUT = "failed or timed out"
SKIPPED = "skipped"
#: Went over the memory budget of its run (the memory setting) and was ended.
OUT_OF_MEMORY = "out of memory"
BAD = (FAILED, KILLED, TIMED_OUT, FAILED_OR_TIMED_OUT, OUT_OF_MEMORY)

#: Metrics of `bench_engines` that are not workloads.
STARTUP = "startup"
PEAK_MEMORY = "peak_memory"
#: The baseline of every "speedup over serial" (T₁ of docs/design.md).
SERIAL = "serial"
#: Baselines of the crossover table (docs/design.md).
BASELINES = ("serial", "pandas")

Ident = tuple[str, str]  # (commit, environment)


@dataclass(frozen=True)
class DataSize:
    """What one workload read at one scale: bytes of its input files, their rows, the format."""

    bytes: int | None
    rows: tuple[tuple[str, int], ...] = ()
    format: str | None = None

    @property
    def mb(self) -> float | None:
        return self.bytes / 1e6 if self.bytes else None

    def label(self) -> str:
        """`3.54 MB csv · 44,060 matches` (MB = 10⁶ bytes)."""
        parts = [" ".join(filter(None, (fmt_mb(self.mb), self.format)))] if self.mb else []
        parts += [f"{n:,} {what}" for what, n in self.rows]
        return " · ".join(parts) or "size unknown"


def fmt_mb(mb: float | None) -> str:
    if mb is None:
        return "?"
    if mb >= 1000:
        return f"{mb / 1000:.3g} GB"
    return f"{mb:.3g} MB"


@dataclass(frozen=True)
class Cell:
    """One stored asv result: a benchmark at one parameter combination, with its identity."""

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
    reason: str = ""  # why it failed, was skipped or killed (from the benchmarks' sidecar)
    benchmark: str = ""  # asv's name: bench_engines.Spark.time_wordcount
    params: tuple[str, ...] = ()  # asv's parameter values (repr strings): ("2", "'0.1'")
    machine: str = ""
    commit: str = ""
    env: str = ""
    date: int | None = None  # the commit's date (ms), as asv stores it
    started_at: float | None = None  # when asv started this benchmark (Unix seconds)
    size: DataSize | None = None
    versions: tuple[tuple[str, str], ...] = ()
    python: str = ""
    memory: int | None = None  # the memory budget it ran under (bytes), if any
    spans_hosts: bool | None = None  # whether its engine can run across hosts (None: unknown)
    hosts: int | None = None  # the emulated hosts its cluster spanned (None: one machine)
    link: str | None = None  # their links' rate (`100mbit`, `unshaped`)
    wire_bytes: float | None = None  # bytes that crossed the links per timed call
    shown: bool = True  # the newest of its combination (after --commit/--env)
    hidden: str = ""  # why not shown: superseded by a newer result, or not selected

    @property
    def ident(self) -> Ident:
        return (self.commit, self.env)

    @property
    def scale_value(self) -> float:
        try:
            return float(self.scale) if self.scale is not None else math.nan
        except ValueError:
            return math.nan

    @property
    def quartiles(self) -> tuple[float, float] | None:
        return (self.q25, self.q75) if self.q25 is not None and self.q75 is not None else None

    @property
    def noise(self) -> str | None:
        return metrics.noise(self.samples, self.value, self.q25, self.q75) if self.status == OK \
            else None


@dataclass
class Identity:
    """One (commit, environment) with results on this machine."""

    commit: str
    env: str
    date: int | None
    python: str
    tag: str = ""  # "A" (the most results shown), "B", …
    stored: int = 0
    shown: int = 0
    last_run: float | None = None

    @property
    def ident(self) -> Ident:
        return (self.commit, self.env)


def versions_file_engines(versions: object) -> list[dict]:
    """The engine records of `make bench`'s versions file (`python -m workloads engines --json`:
    `{"engines": [{"engine", "available", "reason", "versions"}, ...], "python"}`), those with a
    name; none for a file of another form."""
    engines = versions.get("engines") if isinstance(versions, dict) else None
    if not isinstance(engines, list):
        return []
    return [e for e in engines if isinstance(e, dict) and e.get("engine")]


@dataclass
class MachineReport:
    """Everything the report shows for one machine."""

    name: str
    info: dict[str, object]
    cells: list[Cell]  # shown: the newest stored result of each combination
    versions: dict[str, object] | None = None  # `make bench`'s versions file, if present
    stored: list[Cell] = field(default_factory=list)  # every stored result
    identities: list[Identity] = field(default_factory=list)
    not_measured: list[str] = field(default_factory=list)  # engines with no stored result
    selection: str = ""  # the --commit/--env filter, in words
    unreadable: list[str] = field(default_factory=list)  # results files left out, and why
    #: The shown results of its family (itself, on one machine and over emulated networks):
    #: what the section "Over a network" compares (`reports.network`).
    network: list[Cell] = field(default_factory=list)

    @property
    def file_engines(self) -> list[dict]:
        """The engines of the versions file, as `versions_file_engines` reads them."""
        return versions_file_engines(self.versions)

    @property
    def commits(self) -> list[str]:
        return sorted({c.commit for c in self.cells if c.commit})

    @property
    def pythons(self) -> list[str]:
        return sorted({c.python for c in self.cells if c.python})

    @property
    def tags(self) -> dict[Ident, str]:
        return {i.ident: i.tag for i in self.identities}

    @property
    def primary(self) -> Ident | None:
        return self.identities[0].ident if self.identities else None


def identities(stored: list[Cell], shown: list[Cell]) -> list[Identity]:
    """The (commit, env) pairs of the stored results; tag A has the most shown results."""
    out: dict[Ident, Identity] = {}
    for c in stored:
        i = out.setdefault(c.ident, Identity(c.commit, c.env, c.date, c.python))
        i.stored += 1
        i.python = i.python or c.python
        if c.started_at is not None:
            i.last_run = max(i.last_run or 0.0, c.started_at)
    for c in shown:
        out[c.ident].shown += 1
    ordered = sorted(out.values(), key=lambda i: (-i.shown, -(i.date or 0), -(i.last_run or 0)))
    for k, i in enumerate(ordered):
        i.tag = _tag(k)
    return ordered


def _tag(k: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[k] if k < len(letters) else f"Z{k - len(letters) + 1}"


def newest(cells: Iterable[Cell]) -> list[Cell]:
    """Per combination (benchmark, parameters): the result of the newest commit (by commit
    date), the most recently run one among equals."""
    best: dict[tuple, Cell] = {}
    for c in cells:
        key = (c.benchmark, c.params)
        old = best.get(key)
        if old is None or (c.date or 0, c.started_at or 0) > (old.date or 0, old.started_at or 0):
            best[key] = c
    return list(best.values())


def engine_order(engines: Iterable[str]) -> list[str]:
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


def scales(cells: list[Cell]) -> list[float]:
    return sorted({c.scale_value for c in cells if not math.isnan(c.scale_value)})


Grid = dict[str, dict[float, dict[int, Cell]]]  # engine → scale → workers → successful cell
Table = dict[str, dict[float, dict[int, float]]]  # engine → scale → workers → median


def grid(cells: list[Cell], metric: str, suite: str = "engines") -> Grid:
    """The successful cells of one metric: engine → scale → workers → cell."""
    out: Grid = defaultdict(lambda: defaultdict(dict))
    for c in select(cells, suite, metric):
        if c.status == OK and c.value is not None and c.workers is not None:
            out[c.engine][c.scale_value][c.workers] = c
    return {e: dict(by_scale) for e, by_scale in out.items()}


def times(cells: list[Cell], metric: str, suite: str = "engines") -> Table:
    """Medians of the successful cells: engine → scale → workers → value."""
    return {e: {s: {p: c.value for p, c in by_p.items()} for s, by_p in by_s.items()}
            for e, by_s in grid(cells, metric, suite).items()}


def serial_cell(g: Grid, scale: float) -> Cell | None:
    """serial on one worker at this scale: T₁, the baseline of every "speedup over serial"."""
    return g.get(SERIAL, {}).get(scale, {}).get(1)


def sizes(cells: list[Cell], workload: str) -> dict[float, DataSize | None]:
    """Per scale: the data size the shown cells of `workload` recorded (the most common one;
    None where none was recorded)."""
    by_scale: dict[float, Counter] = defaultdict(Counter)
    for c in select(cells, "engines", workload):
        seen = by_scale[c.scale_value]  # a scale without any recorded size still counts
        if c.size is not None:
            seen[c.size] += 1
    return {s: (cnt.most_common(1)[0][0] if cnt else None) for s, cnt in sorted(by_scale.items())}


def size_label(scale: float, size: DataSize | None) -> str:
    """`3.54 MB csv · 44,060 matches`, or `scale 1` when the size was not recorded."""
    return size.label() if size is not None and size.bytes else f"scale {fmt_scale(scale)}"


# --------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class Pick:
    """One engine at one worker count, and the numbers derived from it."""

    engine: str
    workers: int
    cell: Cell
    over_serial: float | None = None  # T_serial(1) / T
    efficiency: float | None = None  # S(p)/p of this engine at these workers
    idents: frozenset[Ident] = frozenset()  # of every time these numbers use
    note: str = ""

    @property
    def time(self) -> float:
        return self.cell.value or math.nan


@dataclass(frozen=True)
class Verdict:
    """Per workload and data size: fastest engine, best parallel engine, runner-up."""

    workload: str
    scale: float
    size: DataSize | None
    fastest: Pick | None
    parallel: Pick | None
    runner_up: Pick | None
    close: bool  # the fastest and the runner-up's interquartile ranges overlap
    parallel_note: str = ""
    #: The fastest engine that can run across hosts (Dask distributed, Spark, Ray, batch).
    hosts: Pick | None = None


def _pick(engine: str, cell: Cell, base: Cell | None, **kw) -> Pick:
    over = metrics.speedup_over(base.value if base else None, {cell.workers: cell.value})
    ids = {cell.ident} | ({base.ident} if base and over else set()) | set(kw.pop("ids", ()))
    return Pick(engine, cell.workers or 1, cell, over.get(cell.workers), idents=frozenset(ids),
                **kw)


def best_cell(by_p: dict[int, Cell]) -> Cell | None:
    best = metrics.best_time({p: c.value for p, c in by_p.items()})
    return by_p[best[0]] if best else None


def parallel_pick(engine: str, by_p: dict[int, Cell], base: Cell | None) -> Pick | None:
    """An engine measured at several worker counts, at the largest count whose efficiency is
    still ≥ 0.5 (its T(1) the reference); at its fastest count when T(1) is not measured."""
    if len(by_p) < 2:
        return None
    sp = metrics.speedup({p: c.value for p, c in by_p.items()})
    p = metrics.workers_worth_it(sp)
    fastest = best_cell(by_p)
    if p is None or fastest is None:
        return _pick(engine, fastest, base, note="efficiency unknown: no 1-worker time") \
            if fastest else None
    cell = by_p[p]
    note = ""
    if p == 1:
        q = min(x for x in sp if x > 1)
        note = f"more workers not worth it: efficiency {sp[q] / q:.2f} at {q} workers"
    elif fastest.workers != p:
        note = (f"fastest at {fastest.workers} workers ({fmt_time(fastest.value)}, "
                f"efficiency {sp[fastest.workers] / fastest.workers:.2f})")
    return _pick(engine, cell, base, efficiency=sp[p] / p, note=note, ids={by_p[1].ident})


def fmt_time(t: float | None) -> str:
    """Seconds in human units (µs, ms, s, min)."""
    if t is None or not math.isfinite(t):
        return "–"
    for unit, suffix in ((60, "min"), (1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(t) >= unit or suffix == "µs":
            return f"{t / unit:.3g} {suffix}"
    return f"{t:g} s"


def verdicts(cells: list[Cell]) -> list[Verdict]:
    """For every workload and scale with a successful result: the fastest engine (at its best
    worker count), the fastest parallel engine at its workers worth it, and the runner-up."""
    rows = []
    for w in workloads(cells):
        g = grid(cells, w)
        size_of = sizes(cells, w)
        for s in sorted({s for by_s in g.values() for s in by_s}):
            base = serial_cell(g, s)
            bests = sorted(((c.value, e, c) for e, by_s in g.items()
                            if (c := best_cell(by_s.get(s, {}))) is not None),
                           key=lambda t: (t[0], t[1]))
            if not bests:
                continue
            fastest = _pick(bests[0][1], bests[0][2], base)
            runner = _pick(bests[1][1], bests[1][2], base) if len(bests) > 1 else None
            pars = [pk for e, by_s in g.items()
                    if (pk := parallel_pick(e, by_s.get(s, {}), base)) is not None]
            par = min(pars, key=lambda pk: (pk.time, pk.engine)) if pars else None
            note = "" if pars else "no engine measured at more than one worker count"
            close = runner is not None and metrics.overlap(fastest.cell.quartiles,
                                                          runner.cell.quartiles)
            spanning = next(((e, c) for _, e, c in bests if c.spans_hosts), None)
            hosts = _pick(*spanning, base) if spanning else None
            rows.append(Verdict(w, s, size_of.get(s), fastest, par, runner, close, note, hosts))
    return rows


# --------------------------------------------------------------------------- data size


@dataclass(frozen=True)
class Decision:
    """One workload's time against data size: each engine at its best worker count per size."""

    workload: str
    in_mb: bool  # x is MB (every size recorded), else the scale
    series: dict[str, dict[float, float]]  # engine → x → best time
    cells: dict[str, dict[float, Cell]]  # engine → x → the cell of that time
    crossings: list[metrics.Crossing]
    scale_of: dict[float, float]  # x → scale

    def winner_text(self) -> str:
        """`pandas up to 3.54 MB; spark from ≈ 12 MB (crossing between 3.54 and 35.4 MB)`."""
        win = metrics.winners(self.series)
        if not win:
            return ""
        xs = sorted(win)
        parts, start = [], xs[0]
        for c in self.crossings:
            parts.append((c.before, start, c.lo))
            start = c.hi
        parts.append((win[xs[-1]], start, xs[-1]))
        out = []
        for i, (e, lo, hi) in enumerate(parts):
            span = self.fmt_x(lo) if lo == hi else f"{self.fmt_x(lo)} – {self.fmt_x(hi)}"
            text = f"{e} at {span}"
            if i > 0:
                c = self.crossings[i - 1]
                where = f"≈ {self.fmt_x(c.at)}" if c.at is not None else "an unmeasured size"
                text += (f" (overtakes {c.before} at {where}, between {self.fmt_x(c.lo)} and "
                         f"{self.fmt_x(c.hi)})")
            out.append(text)
        return "; ".join(out)

    def fmt_x(self, x: float | None) -> str:
        if x is None:
            return "?"
        return fmt_mb(x) if self.in_mb else f"scale {x:.3g}"


def decision(cells: list[Cell], workload: str) -> Decision:
    g = grid(cells, workload)
    size_of = sizes(cells, workload)
    in_mb = bool(size_of) and all(sz is not None and sz.mb for sz in size_of.values())

    def x_of(s: float) -> float:
        sz = size_of.get(s)
        return sz.mb if in_mb and sz is not None and sz.mb else s

    best: dict[str, dict[float, Cell]] = {}
    for e, by_s in g.items():
        for s, by_p in by_s.items():
            if (c := best_cell(by_p)) is not None:
                best.setdefault(e, {})[x_of(s)] = c
    series = {e: {x: c.value for x, c in by_x.items()} for e, by_x in best.items()}
    return Decision(workload, in_mb, series, best, metrics.crossings(series),
                    {x_of(s): s for s in size_of})


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


# --------------------------------------------------------------------------- start-up


@dataclass(frozen=True)
class Spread:
    """One engine at one worker count over several processes (one per scale): e.g. start-up."""

    engine: str
    workers: int
    summary: metrics.Summary
    values: tuple[float, ...]
    idents: frozenset[Ident]


def spreads(cells: list[Cell], metric: str) -> list[Spread]:
    """Per (engine, workers): every successful value of `metric` (one per scale), summarized."""
    vals: dict[tuple[str, int], list[Cell]] = defaultdict(list)
    for c in select(cells, "engines", metric):
        if c.status == OK and c.value is not None and c.workers is not None:
            vals[(c.engine, c.workers)].append(c)
    order = {e: i for i, e in enumerate(engine_order(e for e, _ in vals))}
    return [Spread(e, p, metrics.summarize(c.value for c in cs),
                   tuple(c.value for c in cs), frozenset(c.ident for c in cs))
            for (e, p), cs in sorted(vals.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]


def status_counts(cells: list[Cell]) -> dict[str, int]:
    return dict(Counter(c.status for c in cells))
