"""`python -m workloads`: run one engine × workload combination, list engines and settings,
manage clusters (`python -m workloads cluster --help`)."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from typing import Any

from workloads import engines, spec
from workloads.data.dataset import Dataset
from workloads.data.validate import validate
from workloads.layout import FORMATS
from workloads.runtime import console, enclosure, memory
from workloads.runtime.errors import EXIT_FAILED, AnswerMismatch, OutOfMemory, ParbenchError
from workloads.runtime.memory import format_size, parse_size
from workloads.runtime.settings import Settings
from workloads.wire import Meter, Wire, network_of, unmeasured

PROG = "python -m workloads"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"workers must be a positive integer, got {text!r}")
    return value


def memory_size(text: str) -> int:
    try:
        return parse_size(text, "--memory")
    except ParbenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    p = console.ArgumentParser(prog=PROG, description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=console.ArgumentParser)

    run = sub.add_parser("run", help="run one workload on one engine and check the answer")
    run.add_argument("workload", help=f"one of: {', '.join(spec.NAMES)}")
    run.add_argument("--engine", default="serial", help=f"one of: {', '.join(engines.BUILTIN)}")
    run.add_argument("--workers", type=positive_int, default=1)
    run.add_argument("--data", required=True, help="dataset folder, e.g. data/scale-1")
    run.add_argument("--format", default="csv", choices=FORMATS, help="format of the tables")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--memory", type=memory_size, metavar="SIZE",
                     help="memory budget of the run's whole process tree, e.g. 512MiB or 2GiB: "
                          "past it the run ends as out of memory (exit 3); default: the memory "
                          "setting, else none")
    run.add_argument("--enclosed", action="store_true", help=argparse.SUPPRESS)
    run.add_argument("--no-verify", action="store_true",
                     help="skip the sha256 check of the input files (their rows are validated "
                          "instead)")

    lst = sub.add_parser("engines", help="list engines, availability and framework versions")
    lst.add_argument("--json", action="store_true")

    st = sub.add_parser("settings", help="the effective settings and where each came from")
    st.add_argument("--json", action="store_true")

    sub.add_parser("cluster", help="start, stop or inspect a local cluster (see its --help)",
                   add_help=False)
    return p


def run(args: argparse.Namespace, settings: Settings, argv: list[str]) -> int:
    workload = spec.get(args.workload)
    engines.engine_class(args.engine, settings)
    dataset = Dataset.open(args.data)
    inputs = dataset.inputs(workload.name, args.format)
    budget = args.memory or settings.memory
    if budget and not args.enclosed:
        return run_enclosed(args, settings, argv, budget)
    settings = replace(settings, memory=budget)
    if budget:
        memory.frugal_allocators()
    if args.no_verify:  # the bytes are not the manifest's: the rows must be well-formed
        validate(inputs.values())
    else:
        dataset.verify(inputs.values())
    engine = engines.create(args.engine, args.workers, settings)
    wire: Wire | None = None
    try:
        engine.start()
        network = network_of(engine)
        meter = Meter(network) if network is not None else None
        if meter is not None:  # read outside the timed call: each reading runs `ip` per host
            meter.start()
        t0 = time.perf_counter()
        answer = engine.run_inputs(workload.name, inputs)
        seconds = time.perf_counter() - t0
        wire = meter.read() if meter is not None else None
        why_not = unmeasured(engine)
        if why_not:
            console.report(PROG, why_not)
    finally:
        engine.stop()
    try:
        workload.check(dataset.answer(workload.name), answer)
        check = "ok"
    except AnswerMismatch as exc:
        check = str(exc)
    if args.json:
        out: dict[str, Any] = {"workload": workload.name, "engine": args.engine,
                               "workers": args.workers,
                               "answer": spec.answer_to_json(workload.name, answer),
                               "check": check, "seconds": seconds,
                               **(wire.fields() if wire else {})}
        print(json.dumps(out, ensure_ascii=False))
    else:
        try:
            summary = workload.summary(answer)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError):
            summary = "an answer not of this workload's form (see the check)"
        print(f"{workload.name} on {args.engine} ({args.workers} worker(s)), {dataset.name}: "
              f"{summary}")
        print(f"check: {check}")
        print(f"time: {seconds:.3f} s")
        if wire:
            print(wire.line())
    return 0 if check == "ok" else EXIT_FAILED


def run_enclosed(args: argparse.Namespace, settings: Settings, argv: list[str],
                 budget: int) -> int:
    """The run again, as a child process under the memory budget: its exit status, or the
    out-of-memory line."""
    command = [sys.executable, "-m", "workloads", *argv, "--memory", str(budget), "--enclosed"]
    ended = enclosure.supervise(command, budget, settings.memory_enforcement)
    if ended.out_of_memory:
        raise OutOfMemory(
            f"out of memory: {args.workload} on {args.engine} ({args.workers} worker(s)) went "
            f"over its budget of {format_size(budget)} (peak {format_size(ended.peak)}, "
            f"{ended.kind}); give it more (--memory) or choose an engine that spills to disk")
    return ended.code


def list_engines(args: argparse.Namespace, settings: Settings) -> int:
    rows = []
    for name in engines.names(settings):
        avail = engines.availability(name, settings)
        rows.append({"engine": name, "available": avail.ok, "reason": avail.reason,
                     "versions": avail.versions})
    if args.json:
        print(json.dumps({"engines": rows, "python": platform.python_version()}))
        return 0
    for r in rows:
        versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
        state = "available" if r["available"] else f"unavailable: {r['reason']}"
        print(f"{r['engine']:<18} {state}{'  (' + versions + ')' if versions else ''}")
    return 0


def show_settings(args: argparse.Namespace, settings: Settings) -> int:
    rows = settings.describe()
    if args.json:
        print(json.dumps({r["setting"]: r for r in rows}))
        return 0
    print(f"{'setting':<20} {'value':<32} {'from':<30} meaning")
    for r in rows:
        value = r["value"]
        if value is None or value in ([], {}):
            value = "-"
        elif isinstance(value, list):
            value = " ".join(map(str, value))
        elif isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in value.items())
        source = "default" if r["source"] == "default" else f"${r['source']}"
        print(f"{r['setting']:<20} {value:<32} {source:<30} {r['help']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cluster"]:
        from workloads import cluster

        return cluster.main(argv[1:])

    def command() -> int:
        args = parser().parse_args(argv)
        settings = Settings.from_env()
        if args.command == "run":
            return run(args, settings, argv)
        return {"engines": list_engines, "settings": show_settings}[args.command](args, settings)

    return console.run(PROG, command)

