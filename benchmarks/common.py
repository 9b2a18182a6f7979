"""What every benchmark module shares: the settings, the parameter grid, per-process caches."""

from __future__ import annotations

import ast
import atexit
import os
import signal
import time
from functools import cache
from pathlib import Path
from typing import NoReturn

import psutil

from benchmarks import outcomes
from reports.sidecar import OOM_EVENT
from workloads import engines, spec
from workloads.data.dataset import Dataset
from workloads.engines.base import Engine
from workloads.layout import MANIFEST, SCALE_PREFIX, TEXT
from workloads.runtime import console, enclosure, memory, signals
from workloads.runtime.errors import DatasetError
from workloads.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = Settings.from_env(root=ROOT)
WORKERS = list(SETTINGS.workers)


def present_scales(data: Path) -> list[str]:
    """Scales of the complete synthetic datasets under `data`, smallest first."""
    found = [p.name.removeprefix(SCALE_PREFIX) for p in data.glob(f"{SCALE_PREFIX}*")
             if (p / MANIFEST).is_file()]
    return sorted(found, key=float) or ["1"]


SCALES = list(SETTINGS.scales or present_scales(SETTINGS.data))


@cache
def dataset(scale: str) -> Dataset:
    """The dataset of `scale`, or a skip naming the datagen command that makes it."""
    try:
        return Dataset.at_scale(scale, SETTINGS.data)
    except DatasetError as exc:
        raise NotImplementedError(str(exc)) from None


@cache
def verified(scale: str) -> Dataset:
    """The dataset of `scale` once every file the workloads read (in the benchmarked format)
    matches its sha256: checked once per process, before anything is timed; a mismatch fails
    the benchmark with the datagen command that repairs the data."""
    data = dataset(scale)
    data.verify({inp for w in spec.NAMES
                 for inp in data.inputs(w, SETTINGS.format).values()})
    return data


#: The manifest's counts that say how many rows an input kind holds (default: the kind's own).
ROW_COUNTS = {TEXT: ("lines", "words")}


def input_sizes(data: Dataset, fmt: str) -> dict[str, dict]:
    """Per workload: the bytes of the files it reads with tables in `fmt`, the rows they hold
    (from the manifest) and their formats (txt, csv, parquet), for the report's data sizes."""
    files, counts = data.manifest["files"], data.manifest.get("counts", {})
    sizes = {}
    for name in spec.NAMES:
        try:
            inputs = data.inputs(name, fmt)
        except DatasetError:
            continue
        rel = [os.path.relpath(p, data.path.absolute()) for inp in inputs.values()
               for p in inp.paths]
        rows = {key: counts[key] for kind in inputs for key in ROW_COUNTS.get(kind, (kind,))
                if key in counts}
        sizes[name] = {"bytes": sum(files[r]["bytes"] for r in rel), "files": len(rel),
                       "rows": rows, "format": "+".join(sorted({i.fmt for i in inputs.values()}))}
    return sizes


_ENGINES: dict[tuple[str, int], Engine] = {}
_ENCLOSED: list[enclosure.Enclosure] = []
STARTUP: dict[tuple[str, int], float] = {}
#: Framework versions of each engine started in this process (for the report's legends).
VERSIONS: dict[str, dict[str, str]] = {}


def _interrupted(signum: int, frame: object) -> NoReturn:
    """Ctrl-C, or asv's SIGTERM at a timeout: asv kills this process 0.1 s later, too soon to
    stop an engine, so its processes are killed and its temporary files removed now."""
    for started in _ENGINES.values():
        started.halting()
    console.abandon(wait=0.05)
    raise KeyboardInterrupt


def enclose(benchmark: str, params: tuple) -> None:
    """Under the memory setting, put this process and all it starts under that budget (once per
    process): over it, the process tree is ended and `outcomes` gets the budget and the peak."""
    if SETTINGS.memory is None or _ENCLOSED:
        return
    on_oom = outcomes.prepared(OOM_EVENT, benchmark, params, method=outcomes.asv_method())
    _ENCLOSED.append(enclosure.enclose_self(SETTINGS.memory, SETTINGS.memory_enforcement,
                                            on_oom))
    memory.frugal_allocators()


#: Events that end a combination's process (a `start` with none of them never finished).
ENDED = {"done", "fail", "skip", OOM_EVENT}


def _run_started() -> float:
    """When the asv run that started this process began (its parent's start), else never."""
    try:
        return psutil.Process(os.getppid()).create_time()
    except psutil.Error:
        return float("inf")


def outgrown(benchmark: str, workers: int, scale: str) -> None:
    """Under a memory budget, skip a combination whose engine, at the same workers, already ran
    out of memory, failed or ran out of time at a smaller input in this asv run: a larger input
    would do the same, at the cost of its time limit."""
    if SETTINGS.memory is None:
        return
    method, since = outcomes.asv_method(), _run_started()
    events: dict[str, set[str]] = {}
    for r in outcomes.records():
        params = r.get("params") or []
        if (r.get("benchmark") == benchmark and r.get("method") in (method, None)
                and len(params) == 2 and params[0] == repr(workers)
                and isinstance(r.get("t"), (int, float)) and r["t"] >= since):
            events.setdefault(params[1], set()).add(str(r.get("event")))
    for text, seen in sorted(events.items()):
        try:
            smaller = ast.literal_eval(text)
            if float(smaller) >= float(scale):
                continue
        except (ValueError, SyntaxError, TypeError):
            continue
        if OOM_EVENT in seen:
            raise NotImplementedError(f"out of memory already at scale {smaller}")
        if "fail" in seen:
            raise NotImplementedError(f"failed already at scale {smaller}")
        if "start" in seen and not seen & ENDED:
            raise NotImplementedError(f"ran out of time already at scale {smaller}")


def engine(name: str, workers: int) -> Engine:
    """The started engine of this process (started once; its start-up time kept in STARTUP)."""
    key = (name, workers)
    if key not in _ENGINES:
        for sig in signals.INTERRUPTS:
            signal.signal(sig, _interrupted)
        cls = engines.engine_class(name, SETTINGS)
        if cls.max_workers is not None and workers > cls.max_workers:
            raise NotImplementedError(f"{name} runs on at most {cls.max_workers} worker(s)")
        avail = cls.availability(SETTINGS)
        if not avail.ok:
            raise NotImplementedError(f"{name} unavailable: {avail.reason}")
        VERSIONS[name] = dict(avail.versions)
        e = cls(workers, SETTINGS)
        t0 = time.perf_counter()
        e.start()
        STARTUP[key] = time.perf_counter() - t0
        _ENGINES[key] = e
    return _ENGINES[key]


@atexit.register
def _stop_engines() -> None:
    for e in _ENGINES.values():
        e.stop()
