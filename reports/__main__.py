"""`python -m reports`: build the HTML report from asv's stored results."""

from __future__ import annotations

import sys
from pathlib import Path

from reports import load
from reports.build import PROG, build
from workloads.runtime import console


def main(argv: list[str] | None = None) -> int:
    ap = console.ArgumentParser(prog=PROG, description=__doc__)
    ap.add_argument("--results", type=Path, default=Path(".asv/results"),
                    help="asv results folder (default: .asv/results)")
    ap.add_argument("--machine", help="report on this machine only (default: every machine)")
    ap.add_argument("--commit", help="only results of this commit (a hash prefix; default: per "
                    "combination the newest commit measured)")
    ap.add_argument("--env", help="only results of this asv environment (its name or part of "
                    "it; default: per combination the newest result)")
    ap.add_argument("--out", type=Path, default=Path("reports/html"),
                    help="output folder (default: reports/html)")
    ap.add_argument("--config", type=Path, default=Path("asv.conf.json"),
                    help="asv.conf.json, for its default_benchmark_timeout")

    def command() -> int:
        args = ap.parse_args(argv)
        index = build(args.results, args.out, args.machine, load.default_timeout(args.config),
                      args.commit, args.env)
        print(f"report: {index}")
        return 0

    return console.run(PROG, command)


if __name__ == "__main__":
    sys.exit(main())
