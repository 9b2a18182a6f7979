"""One batch job: `python -m workloads.engines.batch.job JOB.json INDEX` reads shard INDEX (a
group of input files) and pickles its partial answer into the job folder.

Workloads that need rows together by key run two arrays, a shuffle through files as a batch user
writes one: the first array's jobs write their rows into one file per bucket of the key's hash
(in an exchange folder beside the jobs), the second array has one job per bucket, whose shard is
that bucket's files.

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

from workloads.data.readers import count_words


def _matches(paths: list[str], fmt: str, columns: tuple[str, ...] | None = None) -> Any:
    from workloads.data import frames

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
    from workloads.data import frames

    return frames.home_advantage(_matches(paths, fmt, frames.SCORE_COLUMNS))


def team_records(paths: list[str], fmt: str, args: dict) -> Any:
    from workloads.data import frames

    return frames.team_records(_matches(paths, fmt))


def _bucketed(rows: Any, key: tuple[str, ...], paths: list[str], args: dict, kind: str) -> int:
    """Write `rows` into the exchange folder, one file per bucket of `key`'s hash; the rows."""
    from workloads.data import frames

    bucket = frames.buckets(rows, key, args["buckets"])
    source = Path(paths[0]).stem  # shards are disjoint: their first files name them apart
    for b in range(args["buckets"]):
        out = Path(args["exchange"]) / f"{kind}-bucket-{b:05d}-from-{source}.pkl"
        rows[bucket == b].to_pickle(out, protocol=pickle.HIGHEST_PROTOCOL)
    return len(rows)


def _bucket_files(paths: list[str], kind: str) -> Any:
    import pandas as pd

    return pd.concat([pd.read_pickle(p) for p in paths if Path(p).name.startswith(kind)],
                     ignore_index=True)


def streak_sides(paths: list[str], fmt: str, args: dict) -> int:
    """First array of unbeaten_streaks: each match's two sides, into buckets by team."""
    from workloads.data import frames

    sides = frames.streak_sides(_matches(paths, fmt, frames.STREAK_COLUMNS))
    return _bucketed(sides, ("team",), paths, args, "sides")


def longest_runs(paths: list[str], fmt: str, args: dict) -> Any:
    """Second array: one bucket's sides, every match of its teams: their longest runs."""
    from workloads.data import frames

    return frames.longest_runs(_bucket_files(paths, "sides"))


def scoring_goals(paths: list[str], fmt: str, args: dict) -> int:
    """First array of top_scorers (goals): the goals that count, into buckets by match key."""
    from workloads import spec
    from workloads.data import frames
    from workloads.layout import GOALS

    goals = frames.scoring_goals(frames.read_tables_of(paths, fmt, frames.GOAL_READ, GOALS))
    return _bucketed(goals, spec.JOIN_KEY, paths, args, "goals")


def fixtures(paths: list[str], fmt: str, args: dict) -> int:
    """First array of top_scorers (matches): each match's key and tournament, into buckets."""
    from workloads import spec
    from workloads.data import frames
    from workloads.layout import MATCHES

    matches = frames.fixtures(frames.read_tables_of(paths, fmt, spec.FIXTURE_COLUMNS, MATCHES))
    return _bucketed(matches, spec.JOIN_KEY, paths, args, "matches")


def joined_goals(paths: list[str], fmt: str, args: dict) -> Any:
    """Second array: one bucket's goals joined to its matches, counted per tournament, scorer."""
    from workloads.data import frames

    return frames.goals_per_scorer(_bucket_files(paths, "goals"), _bucket_files(paths, "matches"))


def rating_pass(paths: list[str], fmt: str, args: dict) -> Any:
    import numpy as np
    import pandas as pd

    from workloads.data import frames

    coded = frames.coded(_matches(paths, fmt), pd.Index(args["teams"]))
    return frames.gradient(coded, np.asarray(args["ratings"]))


TASKS: dict[str, Callable[[list[str], str, dict], Any]] = {
    f.__name__: f for f in (wordcount, mean_home_score, home_advantage, team_records, rating_pass,
                            streak_sides, longest_runs, scoring_goals, fixtures, joined_goals)
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
        sys.exit("usage: python -m workloads.engines.batch.job JOB.json INDEX")
    run(sys.argv[1], int(sys.argv[2]))
    sys.stdout.flush()
    # The output is complete; skip interpreter teardown, where native thread pools (Arrow's) have
    # been seen to abort the process ("terminate called without an active exception").
    os._exit(0)
