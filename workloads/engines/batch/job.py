"""One batch job: `python -m workloads.engines.batch.job JOB.json INDEX` reads shard INDEX and
pickles its partial answer into the job folder.

A shard is a list of chunks, each a list of pieces `[path, span]` (a span: a byte range of a CSV
file, or null for the whole file) read together: without a memory budget one chunk of whole
files, under one a chunk per piece, read one after another and their partial answers combined,
so that a job holds one piece at a time (streamed reading).

Workloads that need rows together by key run two arrays, a shuffle through files as a batch user
writes one: the first array's jobs write each chunk's rows into one file per bucket of the key's
hash (in an exchange folder beside the jobs), the second array's jobs take the buckets, a chunk
(that bucket's files) each.

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

#: A chunk: pieces `[path, span]` read together.
Chunk = list[list[Any]]


def _table(chunk: Chunk, fmt: str, columns: tuple[str, ...], kind: str = "matches") -> Any:
    """The chunk's `columns` as one Arrow table."""
    import pyarrow as pa

    from workloads.data import frames

    return pa.concat_tables([frames.read_table(path, fmt, columns, kind, tuple(span) if span
                                               else None) for path, span in chunk])


def _matches(chunk: Chunk, fmt: str, columns: tuple[str, ...] | None = None) -> Any:
    from workloads.data import frames

    return frames.to_frame(_table(chunk, fmt, columns or frames.MATCH_COLUMNS))


def wordcount(chunks: list[Chunk], fmt: str, args: dict) -> Counter[str]:
    total: Counter[str] = Counter()
    for chunk in chunks:
        for path, _ in chunk:
            total.update(count_words(path))
    return total


# Each chunk is read, reduced to its small partial and dropped before the next is read.


def mean_home_score(chunks: list[Chunk], fmt: str, args: dict) -> tuple[int, int]:
    total = n = 0
    for chunk in chunks:
        scores = _matches(chunk, fmt, ("home_score",))["home_score"]
        total, n = total + int(scores.sum()), n + len(scores)
    return total, n


def home_advantage(chunks: list[Chunk], fmt: str, args: dict) -> int:
    from workloads.data import frames

    return sum(frames.home_advantage(_matches(c, fmt, frames.SCORE_COLUMNS)) for c in chunks)


def team_records(chunks: list[Chunk], fmt: str, args: dict) -> Any:
    import pandas as pd

    from workloads.data import frames

    parts = [frames.team_records(_matches(c, fmt)) for c in chunks]
    return parts[0] if len(parts) == 1 else pd.concat(parts).groupby(level=0).sum()


def _bucketed(rows: Any, key: tuple[str, ...], source: str, args: dict, kind: str) -> int:
    """Write `rows` into the exchange folder, one file per bucket of `key`'s hash; the rows."""
    from workloads.data import frames

    bucket = frames.buckets(rows, key, args["buckets"])
    for b in range(args["buckets"]):
        out = Path(args["exchange"]) / f"{kind}-bucket-{b:05d}-from-{source}.pkl"
        rows[bucket == b].to_pickle(out, protocol=pickle.HIGHEST_PROTOCOL)
    return len(rows)


def _source(chunk: Chunk) -> str:
    """A name for a chunk's bucket files: chunks are disjoint, their first pieces tell them
    apart."""
    path, span = chunk[0]
    return Path(path).stem + (f"-{span[0]}" if span else "")


def _bucket_files(chunk: Chunk, kind: str) -> Any:
    import pandas as pd

    return pd.concat([pd.read_pickle(p) for p, _ in chunk if Path(p).name.startswith(kind)],
                     ignore_index=True)


def _each_bucketed(chunks: list[Chunk], rows: Callable[[Chunk], Any], key: tuple[str, ...],
                   args: dict, kind: str) -> int:
    """Every chunk's `rows` into the buckets, one chunk at a time; the rows."""
    return sum(_bucketed(rows(chunk), key, _source(chunk), args, kind) for chunk in chunks)


def streak_sides(chunks: list[Chunk], fmt: str, args: dict) -> int:
    """First array of unbeaten_streaks: each match's two sides, into buckets by team."""
    from workloads.data import frames

    return _each_bucketed(
        chunks, lambda c: frames.streak_sides(_matches(c, fmt, frames.STREAK_COLUMNS)),
        ("team",), args, "sides")


def longest_runs(chunks: list[Chunk], fmt: str, args: dict) -> Any:
    """Second array: buckets of sides (every match of their teams), one at a time: their
    longest runs."""
    import pandas as pd

    from workloads.data import frames

    return pd.concat([frames.longest_runs(_bucket_files(chunk, "sides")) for chunk in chunks])


def scoring_goals(chunks: list[Chunk], fmt: str, args: dict) -> int:
    """First array of top_scorers (goals): the goals that count, into buckets by match key."""
    from workloads import spec
    from workloads.data import frames
    from workloads.layout import GOALS

    return _each_bucketed(
        chunks, lambda c: frames.scoring_goals(_table(c, fmt, frames.GOAL_READ, GOALS)),
        spec.JOIN_KEY, args, "goals")


def fixtures(chunks: list[Chunk], fmt: str, args: dict) -> int:
    """First array of top_scorers (matches): each match's key and tournament, into buckets."""
    from workloads import spec
    from workloads.data import frames

    return _each_bucketed(
        chunks, lambda c: frames.fixtures(_table(c, fmt, spec.FIXTURE_COLUMNS)),
        spec.JOIN_KEY, args, "matches")


def joined_goals(chunks: list[Chunk], fmt: str, args: dict) -> Any:
    """Second array: buckets of goals joined to their matches, one at a time, counted per
    tournament and scorer; with an exchange folder in `args`, the counts go into buckets by
    (tournament, scorer) there."""
    import pandas as pd

    from workloads.data import frames

    def counts(chunk: Chunk) -> Any:
        return frames.goals_per_scorer(_bucket_files(chunk, "goals"),
                                       _bucket_files(chunk, "matches"))

    if "exchange" not in args:
        return pd.concat([counts(chunk) for chunk in chunks])
    return _each_bucketed(chunks, lambda c: counts(c).rename("goals").reset_index(),
                          ("tournament", "scorer"), args, "pairs")


def pair_tops(chunks: list[Chunk], fmt: str, args: dict) -> Any:
    """Third array (under a memory budget): buckets of (tournament, scorer) counts, one at a
    time, summed: each tournament's top candidate."""
    import pandas as pd

    from workloads.data import frames

    return pd.concat([frames.top_candidates(_bucket_files(chunk, "pairs").groupby(
        ["tournament", "scorer"])["goals"].sum()) for chunk in chunks])


def rating_pass(chunks: list[Chunk], fmt: str, args: dict) -> Any:
    import numpy as np
    import pandas as pd

    from workloads.data import frames

    teams, ratings = pd.Index(args["teams"]), np.asarray(args["ratings"])
    return sum(frames.gradient(frames.coded(_matches(c, fmt), teams), ratings) for c in chunks)


TASKS: dict[str, Callable[[list[Chunk], str, dict], Any]] = {
    f.__name__: f for f in (wordcount, mean_home_score, home_advantage, team_records, rating_pass,
                            streak_sides, longest_runs, scoring_goals, fixtures, joined_goals,
                            pair_tops)
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
