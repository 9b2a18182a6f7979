"""Read asv's stored results, with asv's own loading API, into `reports.model` cells.

Every stored result becomes a cell that keeps its identity: machine, commit (and its date),
environment, Python, and when asv ran it. The parameter grid is the one stored with each result,
never `benchmarks.json` (which every `asv run` rewrites from its current settings). The page shows,
per combination, the newest result (`model.newest`) of the commits and environments selected;
the benchmarks' sidecar (`reports.sidecar`) says why a result failed or was skipped, what data it
read and which framework versions it ran.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from asv import util
from asv.benchmarks import Benchmarks
from asv.machine import Machine
from asv.results import Results, iter_results_paths

from reports import model, network
from reports.model import PEAK_MEMORY, STARTUP, Cell, DataSize, MachineReport
from reports.sidecar import MODULE_PREFIX, Sidecar, engine_of_suite, folder
from workloads.runtime.errors import ParbenchError, first_line

#: asv's own default when neither the benchmark nor asv.conf.json sets a timeout.
DEFAULT_TIMEOUT = 60.0
SUPERSEDED = "superseded by a newer result"
NOT_SELECTED = "not selected (--commit, --env)"
#: The parameters of the suite's contract, used when benchmarks.json does not name them.
PARAM_NAMES = ["workers", "scale"]


class NoResults(ParbenchError):
    """No asv results to report on."""


def machines(results_dir: Path) -> list[str]:
    """Machines with a machine.json and at least one results file under the results folder."""
    if not results_dir.is_dir():
        return []
    return sorted(p.parent.name for p in results_dir.glob("*/machine.json")
                  if any(True for _ in iter_results_paths(str(p.parent))))


def current_benchmarks(results_dir: Path) -> dict[str, dict]:
    """benchmarks.json: the last `asv run`'s benchmarks (param names, units, timeouts), if any."""
    path = Path(Benchmarks.get_benchmark_file_path(str(results_dir)))
    if not path.is_file():
        return {}
    try:
        return util.load_json(str(path), api_version=Benchmarks.api_version)
    except util.UserError:
        return {}


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _split(name: str, unit: str | None, known: list[str]) -> tuple[str, str, str, str]:
    """asv name → (suite, engine, metric, unit): bench_engines.DaskThreads.time_wordcount; an
    engine's name is found among the `known` ones (else read from its class name)."""
    parts = name.split(".")
    module, cls, method = parts[0], ".".join(parts[1:-1]), parts[-1]
    suite = module.removeprefix(MODULE_PREFIX)
    metric = method.split("_", 1)[1] if "_" in method else method
    if suite == "engines" and method == "track_startup":
        metric, unit = STARTUP, unit or "seconds"
    elif suite == "engines" and method == "track_peak_memory":
        metric, unit = PEAK_MEMORY, unit or "bytes"
    unit = unit or ("seconds" if method.startswith("time_") else "")
    engine = engine_of_suite(cls, known) if suite == "engines" else (cls or module)
    return suite, engine, metric, unit


def _iter_results(machine_dir: Path, unreadable: list[str]) -> Iterator[tuple[Path, Results]]:
    """Every results file of a machine that asv can load; the others named in `unreadable`."""
    for root, filename, machine in iter_results_paths(str(machine_dir)):
        path = Path(root) / filename
        try:
            yield path, Results.load(str(path), machine_name=machine)
        except Exception as exc:  # any content at all: a truncated, empty or foreign file
            unreadable.append(f"{path}: {first_line(exc)}")


def _size(facts: dict, metric: str) -> DataSize | None:
    d = (facts.get("data") or {}).get(metric)
    if not isinstance(d, dict) or not isinstance(d.get("bytes"), int):
        return None
    rows = tuple((str(k), int(v)) for k, v in (d.get("rows") or {}).items())
    return DataSize(d["bytes"], rows, d.get("format") or facts.get("format"))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _python(res: Results, facts: dict) -> str:
    """The Python version: recorded by the benchmark process, else asv's (a path for
    `--python=same`, in which case the version is unknown)."""
    if facts.get("python"):
        return str(facts["python"])
    stored = str(res.params.get("python") or res.python or "")
    return "" if os.sep in stored else stored


def known_engines(results_dir: Path, machine: str) -> list[str]:
    """The engines `make bench` listed on `machine` (its versions file), whether or not they
    ran: the report learns the engines from the results, never from the engine registry."""
    return [str(e["engine"]) for e in model.versions_file_engines(_versions(results_dir, machine))]


def stored_cells(results_dir: Path, machine: str, default_timeout: float = DEFAULT_TIMEOUT,
                 unreadable: list[str] | None = None) -> list[Cell]:
    """Every stored result of `machine`, each with its identity, status and reason; a results
    file that cannot be read (or holds values of the wrong kinds) is named in `unreadable`
    and its results left out."""
    unreadable = [] if unreadable is None else unreadable
    benchmarks = current_benchmarks(results_dir)
    side = Sidecar.read(results_dir)
    known = known_engines(results_dir, machine)
    cells = []
    for path, res in _iter_results(results_dir / machine, unreadable):
        try:
            cells += _cells(res, machine, benchmarks, side, known, default_timeout)
        except Exception as exc:  # wrong types, nulls or bytes inside a file asv loaded
            unreadable.append(f"{path}: {first_line(exc)}")
    return cells


def _cells(res: Results, machine: str, benchmarks: dict[str, dict], side: Sidecar,
           known: list[str], default_timeout: float) -> list[Cell]:
    """The cells of one results file."""
    cells = []
    python_param = str(res.params.get("python") or "")
    for key in res.get_all_result_keys():
        params = res.get_result_params(key)
        bench = benchmarks.get(key) or {}
        names = bench.get("param_names") or []
        if len(names) != len(params):
            names = PARAM_NAMES if len(params) == len(PARAM_NAMES) else []
        suite, engine, metric, unit = _split(key, bench.get("unit"), known)
        timeout = bench.get("timeout")
        started = res.started_at.get(key)
        started_s = started / 1000 if started is not None else None
        duration = res.duration.get(key)
        values = res.get_result_value(key, params)
        stats = res.get_result_stats(key, params)
        for combo, value, stat in zip(itertools.product(*params), values, stats,
                                      strict=True):
            out = side.explain(key, tuple(combo), value, env=res.env_name,
                               python=python_param, started_at=started_s,
                               duration=duration, timeout=timeout,
                               default_timeout=default_timeout)
            args = dict(zip(names, (_literal(v) for v in combo), strict=False))
            workers, scale = args.get("workers"), args.get("scale")
            stat = stat or {}
            ok = out.status == model.OK
            versions = out.facts.get("versions")
            cells.append(Cell(
                suite=suite, engine=engine, metric=metric, unit=unit,
                workers=workers if isinstance(workers, int) else None,
                scale=None if scale is None else str(scale), status=out.status,
                value=float(value) if ok else None,
                q25=stat.get("q_25") if ok else None, q75=stat.get("q_75") if ok else None,
                samples=stat.get("repeat", 1) if ok else None, reason=out.reason,
                benchmark=key, params=tuple(combo), machine=machine,
                commit=res.commit_hash or "", env=res.env_name or "", date=res.date,
                started_at=started_s,
                size=_size(out.facts, metric),
                versions=tuple(sorted((str(k), str(v)) for k, v in versions.items()))
                if isinstance(versions, dict) else (),
                python=_python(res, out.facts),
                memory=_int(out.facts.get("memory")),
                spans_hosts=out.facts.get("spans_hosts")
                if isinstance(out.facts.get("spans_hosts"), bool) else None,
                **_network(out.facts, machine)))
    return cells


def _network(facts: dict, machine: str) -> dict[str, object]:
    """The emulated hosts and link a result ran over, and its bytes over the wire per call: as
    its process recorded them, else (it ended before it could) as its machine's name says."""
    named = network.parse(machine)
    hosts = _int(facts.get("hosts")) or (named[1] if named else None)
    link = facts.get("link") if isinstance(facts.get("link"), str) else None
    wire = facts.get("wire_bytes")
    return {"hosts": hosts, "link": link or (named[2] if named else None),
            "wire_bytes": float(wire) if isinstance(wire, (int, float)) and hosts else None}


class NotSelected(ParbenchError):
    """No result of a machine is of the chosen commit or environment."""

    def __init__(self, what: str, wanted: str, known: set[str]) -> None:
        self.what, self.wanted, self.known = what, wanted, known
        super().__init__(f"no results of {what} {wanted!r} (known: {', '.join(sorted(known))})")

    @staticmethod
    def merged(refusals: list[NotSelected]) -> str:
        """One line for every machine's refusal: the values known on any of them."""
        first = refusals[0]
        known = set().union(*(r.known for r in refusals if r.what == first.what))
        return str(NotSelected(first.what, first.wanted, known))


def _choose(stored: list[Cell], commit: str | None, env: str | None) -> tuple[list[Cell], str]:
    """The cells of the chosen commit and environment (a prefix, a name or part of one)."""
    words = []
    chosen = stored
    if commit:
        chosen = [c for c in chosen if c.commit.startswith(commit)]
        if not chosen:
            raise NotSelected("commit", commit, {c.commit[:8] for c in stored})
        words.append(f"commit {commit}")
    if env:
        exact = [c for c in chosen if c.env == env]
        chosen = exact or [c for c in chosen if env in c.env]
        if not chosen:
            raise NotSelected("environment", env, {c.env for c in stored})
        words.append(f"environment {env}")
    return chosen, " and ".join(words)


def load_machine(results_dir: Path, machine: str, default_timeout: float = DEFAULT_TIMEOUT,
                 commit: str | None = None, env: str | None = None) -> MachineReport:
    """Every stored result of `machine`; shown: per combination the newest of the chosen ones."""
    unreadable: list[str] = []
    stored = stored_cells(results_dir, machine, default_timeout, unreadable)
    chosen, words = _choose(stored, commit, env)
    shown_keys = {id(c) for c in model.newest(chosen)}
    chosen_keys = {id(c) for c in chosen}
    stored = [c if id(c) in shown_keys else replace(
        c, shown=False, hidden=SUPERSEDED if id(c) in chosen_keys else NOT_SELECTED)
        for c in stored]
    shown = [c for c in stored if c.shown]
    ran = {c.engine for c in stored if c.suite == "engines"}
    known = known_engines(results_dir, machine)
    suite = {_split(k, None, known)[1] for k in current_benchmarks(results_dir)
             if k.startswith(f"{MODULE_PREFIX}engines.")}
    return MachineReport(
        machine, _machine_info(results_dir / machine), shown, _versions(results_dir, machine),
        stored=stored, identities=model.identities(stored, shown),
        not_measured=model.engine_order((set(known) | suite) - ran), selection=words,
        unreadable=unreadable)


def _machine_info(machine_dir: Path) -> dict[str, object]:
    try:
        return util.load_json(str(machine_dir / "machine.json"), api_version=Machine.api_version)
    except (OSError, util.UserError):
        return {}


def versions_path(results_dir: Path, machine: str) -> Path:
    """Where `make bench` writes the engines' versions (`python -m workloads engines --json`):
    `<results>/../parbench/<machine>-versions.json` (a .json inside the results folder would be
    read by asv as a results file)."""
    return folder(results_dir) / f"{machine}-versions.json"


def _versions(results_dir: Path, machine: str) -> dict[str, object] | None:
    try:
        data = json.loads(versions_path(results_dir, machine).read_text(encoding="utf-8"))
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
