"""One batch job: `python -m workloads.batch_job JOB.json INDEX` reads shard INDEX (a group of
input files) and pickles its partial answer into the job folder.

Kept light on purpose (pandas is imported only by the match tasks): every job is a fresh process,
and its start-up is part of what the batch model costs.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workloads.readers import count_words


def _matches(paths: list[str], fmt: str, columns: tuple[str, ...] | None = None) -> Any:
    from workloads import frames

    return frames.read_all(paths, fmt, columns or frames.MATCH_COLUMNS)


def wordcount(paths: list[str], fmt: str, args: dict) -> Counter[str]:
    total: Counter[str] = Counter()
    for path in paths:
        total.update(count_words(path))
    return total


def mean_home_score(paths: list[str], fmt: str, args: dict) -> tuple[int, int]:
    scores = _matches(paths, fmt, ("home_score",))["home_score"]
    return int(scores.sum()), len(scores)


def home_advantage(paths: list[str], fmt: str, args: dict) -> int:
    from workloads import frames

    return frames.home_advantage(_matches(paths, fmt, frames.SCORE_COLUMNS))


def team_records(paths: list[str], fmt: str, args: dict) -> Any:
    from workloads import frames

    return frames.team_records(_matches(paths, fmt))


def rating_pass(paths: list[str], fmt: str, args: dict) -> Any:
    import numpy as np
    import pandas as pd

    from workloads import frames

    coded = frames.coded(_matches(paths, fmt), pd.Index(args["teams"]))
    return frames.gradient(coded, np.asarray(args["ratings"]))


TASKS: dict[str, Callable[[list[str], str, dict], Any]] = {
    f.__name__: f for f in (wordcount, mean_home_score, home_advantage, team_records, rating_pass)
}


def run(job_file: str, index: int) -> None:
    job = json.loads(Path(job_file).read_text())
    result = TASKS[job["task"]](job["shards"][index], job["fmt"], job["args"])
    out = Path(job["dir"]) / f"out-{index}.pkl"
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(out)  # an output exists only whole


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m workloads.batch_job JOB.json INDEX")
    run(sys.argv[1], int(sys.argv[2]))
    sys.stdout.flush()
    # The output is complete; skip interpreter teardown, where native thread pools (Arrow's) have
    # been seen to abort the process ("terminate called without an active exception").
    os._exit(0)
