"""`python -m workloads.engines.mapreduce mapper|reducer`: the Hadoop Streaming programs."""

from __future__ import annotations

import argparse
import sys

from workloads.engines.mapreduce import streaming


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workloads.engines.mapreduce",
                                     description="Word count as Hadoop Streaming programs.")
    sub = parser.add_subparsers(dest="program", required=True)
    m = sub.add_parser("mapper", help="text on stdin -> 'word<TAB>count' lines on stdout")
    m.add_argument("--no-combine", dest="combine", action="store_false",
                   help="write 'word<TAB>1' per word instead of combined counts")
    sub.add_parser("reducer", help="sorted 'word<TAB>count' lines -> 'word<TAB>total' lines")
    args = parser.parse_args(argv)
    sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    try:
        if args.program == "mapper":
            streaming.mapper(sys.stdin, sys.stdout, args.combine)
        else:
            streaming.reducer(sys.stdin, sys.stdout)
    except streaming.StreamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
