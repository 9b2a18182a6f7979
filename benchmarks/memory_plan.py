"""What `make bench MEMORY=SIZE` measures: `python -m benchmarks.memory_plan scales SIZE DATA`
prints the scales at which a workload's input is about 0.5, 2 and 4 times the budget,
`python -m benchmarks.memory_plan bench` the asv benchmark pattern of the workloads measured on
the engines that use several workers, and `bench-one-worker` the same on those that run on one
(pandas, serial), which `make bench` runs apart at one worker.

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
#: Input over memory: in memory twice over, then 2 and 4 times larger. (1× too cost a quarter of
#: the run, which then took more than 45 minutes at 1 GiB on 2 cores.)
RATIOS = (0.5, 2, 4)
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


def one_worker_suites() -> list[str]:
    """The benchmark classes of the engines that run on one worker only (pandas, serial): at
    the plan's worker counts they would have no result, so they run apart, at one worker."""
    from reports.sidecar import suite_name
    from workloads import engines

    return [suite_name(n) for n in engines.names()
            if engines.engine_class(n).max_workers == 1]


def bench_pattern(one_worker: bool = False) -> str:
    """asv's --bench pattern of the timings of WORKLOADS on the engines that use several
    workers, or (`one_worker`) on those that run on one. asv matches it against each parameter
    combination's name, `bench_engines.Duckdb.time_top_scorers(2, '150')`: no `$` after the
    workload, its parameters follow."""
    suites = "|".join(one_worker_suites())
    which = rf"(?:{suites})\." if one_worker else rf"(?!(?:{suites})\.)\w+\."
    return rf"^bench_engines\.{which}time_({'|'.join(WORKLOADS)})\("


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv

    def go() -> int:
        if args[:1] == ["bench"] and len(args) == 1:
            print(bench_pattern())
        elif args[:1] == ["bench-one-worker"] and len(args) == 1:
            print(bench_pattern(one_worker=True))
        elif args[:1] == ["scales"] and len(args) == 3:
            print(" ".join(scales(parse_size(args[1], "MEMORY"), args[2])))
        else:
            raise ParbenchError(f"usage: {PROG} scales SIZE DATA | {PROG} bench | "
                                f"{PROG} bench-one-worker")
        return 0

    return console.run(PROG, go)


if __name__ == "__main__":
    sys.exit(main())
