"""`python -m workloads`: run one engine × workload combination, list engines, manage clusters."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

from workloads import engines, spec
from workloads.dataset import Dataset
from workloads.spec import AnswerMismatch, ParbenchError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"workers must be a positive integer, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m workloads", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = sub.add_parser("run", help="run one workload on one engine and check the answer")
    run.add_argument("workload", help=f"one of: {', '.join(spec.WORKLOADS_BY_NAME)}")
    run.add_argument("--engine", default="serial", help=f"one of: {', '.join(engines.names())}")
    run.add_argument("--workers", type=positive_int, default=1)
    run.add_argument("--data", required=True, help="dataset folder, e.g. data/scale-1")
    run.add_argument("--format", default="csv", choices=["csv", "parquet"],
                     help="format of the matches files")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--no-verify", action="store_true",
                     help="skip the sha256 check of the input files")

    lst = sub.add_parser("engines", help="list engines, availability and framework versions")
    lst.add_argument("--json", action="store_true")

    sub.add_parser("cluster", help="start, stop or inspect a local cluster (see its --help)",
                   add_help=False)
    return p


def run(args: argparse.Namespace) -> int:
    workload = spec.get(args.workload)
    engines.engine_class(args.engine)
    dataset = Dataset.open(args.data)
    inp = dataset.input(workload.data, args.format)
    if not args.no_verify:
        dataset.verify([os.path.relpath(p, dataset.path) for p in inp.paths])
    engine = engines.create(args.engine, args.workers)
    try:
        engine.start()
        t0 = time.perf_counter()
        answer = engine.run_input(workload.name, inp)
        seconds = time.perf_counter() - t0
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
                               "check": check, "seconds": seconds}
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"{workload.name} on {args.engine} ({args.workers} worker(s)), {dataset.name}: "
              f"{workload.summary(answer)}")
        print(f"check: {check}")
        print(f"time: {seconds:.3f} s")
    return 0 if check == "ok" else 1


def list_engines(args: argparse.Namespace) -> int:
    rows = []
    for name in engines.names():
        avail = engines.availability(name)
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cluster"]:
        from workloads import cluster

        return cluster.main(argv[1:])
    args = parser().parse_args(argv)
    try:
        return {"run": run, "engines": list_engines}[args.command](args)
    except ParbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
