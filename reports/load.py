"""Read asv's stored results with asv's own loading API into `reports.model` cells."""

from __future__ import annotations

import ast
import itertools
import json
import math
from pathlib import Path

from asv import util
from asv.benchmarks import Benchmarks
from asv.machine import Machine
from asv.results import Results, iter_results_paths

from reports.model import (
    FAILED,
    FAILED_OR_TIMED_OUT,
    NOT_RUN,
    OK,
    PEAK_MEMORY,
    SKIPPED,
    STARTUP,
    Cell,
    MachineReport,
)
from workloads.engines import engine_of_suite

#: Sidecar written by `make bench` beside the results folder (asv would read a .json inside it
#: as a results file): `<results>/../parbench/<machine>-versions.json`.
VERSIONS_DIR = "parbench"
#: asv's own default when neither the benchmark nor asv.conf.json sets a timeout.
DEFAULT_TIMEOUT = 60.0


def machines(results_dir: Path) -> list[str]:
    """Machines with a machine.json and at least one results file under the results folder."""
    if not results_dir.is_dir():
        return []
    return sorted(p.parent.name for p in results_dir.glob("*/machine.json")
                  if any(True for _ in iter_results_paths(str(p.parent))))


def current_benchmarks(results_dir: Path) -> dict[str, dict] | None:
    """benchmarks.json (the current benchmarks, their versions and params), if present."""
    path = Path(Benchmarks.get_benchmark_file_path(str(results_dir)))
    if not path.is_file():
        return None
    return util.load_json(str(path), api_version=Benchmarks.api_version)


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _split(name: str, benchmark: dict | None) -> tuple[str, str, str, str]:
    """asv name → (suite, engine, metric, unit): bench_engines.DaskThreads.time_wordcount."""
    parts = name.split(".")
    module, cls, method = parts[0], ".".join(parts[1:-1]), parts[-1]
    suite = module.removeprefix("bench_")
    unit = (benchmark or {}).get("unit") or ("seconds" if method.startswith("time_") else "")
    metric = method.split("_", 1)[1] if "_" in method else method
    if suite == "engines" and method == "track_startup":
        metric = STARTUP
    elif suite == "engines" and method == "track_peak_memory":
        metric = PEAK_MEMORY
    engine = engine_of_suite(cls) if suite == "engines" else (cls or module)
    return suite, engine, metric, unit


def _status(value: object, duration: float | None, timeout: float) -> str:
    if value is None:
        # A timed-out combination alone takes `timeout` seconds of the benchmark's duration.
        return FAILED if duration is not None and duration < timeout else FAILED_OR_TIMED_OUT
    if isinstance(value, float) and math.isnan(value):
        return SKIPPED
    return OK


def _iter_results(machine_dir: Path):
    for root, filename, machine in iter_results_paths(str(machine_dir)):
        try:
            yield Results.load(str(Path(root) / filename), machine_name=machine)
        except util.UserError:
            continue


Newest = dict[tuple[str, tuple], tuple]  # (benchmark, params) → (stamp, value, stats, duration)


def _newest(machine_dir: Path, benchmarks: dict | None, report: MachineReport
            ) -> tuple[Newest, dict[str, list]]:
    """Per (benchmark, parameter combination): the newest stored result of the current version."""
    newest: Newest = {}
    params_of: dict[str, list] = {}
    for res in _iter_results(machine_dir):
        keys = res.get_result_keys(benchmarks) if benchmarks else res.get_all_result_keys()
        for key in keys:
            params = benchmarks[key]["params"] if benchmarks else res.get_result_params(key)
            params_of.setdefault(key, params)
            stored = set(itertools.product(*res.get_result_params(key)))
            values = res.get_result_value(key, params)
            stats = res.get_result_stats(key, params)
            stamp = (res.started_at.get(key) or 0, res.date or 0)
            for combo, value, stat in zip(itertools.product(*params), values, stats, strict=True):
                old = newest.get((key, combo))
                if combo in stored and (old is None or stamp >= old[0]):
                    newest[(key, combo)] = (stamp, value, stat, res.duration.get(key))
        if keys:
            report.commits.append(res.commit_hash)
            report.pythons.append(str(res.params.get("python", "")))
    for key, bench in (benchmarks or {}).items():
        params_of.setdefault(key, bench["params"])
    return newest, params_of


def load_machine(results_dir: Path, machine: str, default_timeout: float = DEFAULT_TIMEOUT
                 ) -> MachineReport:
    """One cell per (benchmark, parameters) that has a result or is in the current suite."""
    machine_dir = results_dir / machine
    benchmarks = current_benchmarks(results_dir)
    versions = _versions(machine_dir)
    report = MachineReport(machine, _machine_info(machine_dir), [], versions)
    newest, params_of = _newest(machine_dir, benchmarks, report)
    report.commits = sorted({c for c in report.commits if c})
    report.pythons = sorted({p for p in report.pythons if p})
    known = {_squash(e.get("engine", "")): e.get("engine") for e in _engines(versions)}
    for key, params in sorted(params_of.items()):
        bench = (benchmarks or {}).get(key) or {}
        suite, engine, metric, unit = _split(key, bench)
        if suite == "engines":
            engine = known.get(_squash(engine)) or engine
        # Without benchmarks.json, assume the suite's contract: params (workers, scale).
        names = bench.get("param_names") or (["workers", "scale"] if len(params) == 2 else [])
        timeout = float(bench.get("timeout") or default_timeout)
        for combo in itertools.product(*params):
            args = dict(zip(names, (_literal(v) for v in combo), strict=False))
            workers, scale = args.get("workers"), args.get("scale")
            common = dict(suite=suite, engine=engine, metric=metric, unit=unit,
                          workers=workers if isinstance(workers, int) else None,
                          scale=None if scale is None else str(scale))
            if (key, combo) not in newest:
                report.cells.append(Cell(status=NOT_RUN, **common))
                continue
            _, value, stat, duration = newest[(key, combo)]
            status = _status(value, duration, timeout)
            stat = stat or {}
            report.cells.append(Cell(
                status=status, value=float(value) if status == OK else None,
                q25=stat.get("q_25"), q75=stat.get("q_75"),
                samples=stat.get("repeat", 1 if status == OK else None), **common))
    return report


def _machine_info(machine_dir: Path) -> dict[str, object]:
    try:
        return util.load_json(str(machine_dir / "machine.json"), api_version=Machine.api_version)
    except (OSError, util.UserError):
        return {}


def _squash(name: object) -> str:
    return str(name).replace("-", "").replace("_", "").lower()


def _engines(versions: dict[str, object] | None) -> list[dict]:
    """The sidecar's engine entries (dicts only)."""
    engines = (versions or {}).get("engines")
    return [e for e in engines if isinstance(e, dict)] if isinstance(engines, list) else []


def versions_path(machine_dir: Path) -> Path:
    """Where `make bench` writes the engines' versions for the machine of `machine_dir`."""
    return machine_dir.parent.parent / VERSIONS_DIR / f"{machine_dir.name}-versions.json"


def _versions(machine_dir: Path) -> dict[str, object] | None:
    try:
        data = json.loads(versions_path(machine_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def default_timeout(config: Path) -> float:
    """`default_benchmark_timeout` of an asv.conf.json, else asv's default (60 s)."""
    try:
        conf = util.load_json(str(config), js_comments=True)
    except (OSError, util.UserError, ValueError):
        return DEFAULT_TIMEOUT
    return float(conf.get("default_benchmark_timeout", DEFAULT_TIMEOUT))
