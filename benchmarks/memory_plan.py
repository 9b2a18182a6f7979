"""What `make bench MEMORY=SIZE` measures: `python -m benchmarks.memory_plan scales SIZE DATA`
prints the scales at which a workload's input is about 0.5, 1, 2 and 4 times the budget, and
`python -m benchmarks.memory_plan bench` the asv benchmark pattern of the workloads measured.

The input is the bytes of the CSV files the group-by and the sort by key read (the match files;
the join reads the goals too, a little more); bytes grow linearly with the scale, so the scale of
each ratio comes from the scale-1 dataset under DATA (`python -m datagen --scale 1` makes it).
The report computes each result's ratio from the sizes its process recorded, not from these.
"""

from __future__ import annotations

import sys

from benchmarks.common import input_sizes
from workloads.data.dataset import Dataset
from workloads.runtime import console
from workloads.runtime.errors import DatasetError, ParbenchError
from workloads.runtime.memory import parse_size

PROG = "python -m benchmarks.memory_plan"
#: Input over memory: in memory twice over, about as large, then 2 and 4 times larger.
RATIOS = (0.5, 1, 2, 4)
#: The workloads measured against a memory budget: a group-by, the sort by key and the join.
WORKLOADS = ("team_records", "unbeaten_streaks", "top_scorers")
#: The workload whose input sets the scale.
REFERENCE = "team_records"


def scales(budget: int, data: str) -> list[str]:
    """One scale per ratio, rounded to two significant digits."""
    try:
        reference = Dataset.at_scale("1", data)
    except DatasetError as exc:
        raise ParbenchError(f"{exc}; the plan needs scale 1") from None
    per_scale = input_sizes(reference, "csv")[REFERENCE]["bytes"]
    return [f"{float(f'{ratio * budget / per_scale:.2g}'):g}" for ratio in RATIOS]


def bench_pattern() -> str:
    """asv's --bench pattern of the timings of WORKLOADS. asv matches it against each parameter
    combination's name, `bench_engines.Duckdb.time_top_scorers(2, '150')`: no `$` after the
    workload, its parameters follow."""
    return rf"\.time_({'|'.join(WORKLOADS)})\("


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv

    def go() -> int:
        if args[:1] == ["bench"] and len(args) == 1:
            print(bench_pattern())
        elif args[:1] == ["scales"] and len(args) == 3:
            print(" ".join(scales(parse_size(args[1], "MEMORY"), args[2])))
        else:
            raise ParbenchError(f"usage: {PROG} scales SIZE DATA | {PROG} bench")
        return 0

    return console.run(PROG, go)


if __name__ == "__main__":
    sys.exit(main())
