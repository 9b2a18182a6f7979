"""The five workloads as MapReduce programs: mappers, combiners and reducers.

Each workload has two mappers over the same combiner and reducer:

* `plain`: the textbook mapper, one call per record read by the split's record reader (lines via
  `str.split`, match rows via the `csv` module or `readers.parquet_rows`), emitting one pair per
  word, match or team-in-a-match; the framework's combiner does the per-split aggregation.
* `vectorised`: the split read at once (the text as one string; the columns a workload needs as an
  Arrow table, teams dictionary-encoded to int codes) and aggregated by C loops (`Counter`, numpy
  `bincount`, the `workloads.frames` partials), returning the split's combined output as a dict
  (in-mapper combining). Map, shuffle and reduce are unchanged.

Keys are strings; values are ints, floats or tuples of them (so spills marshal as well as pickle).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workloads import frames, spec
from workloads.engines.mapreduce.runtime import Combiner, Mapper, Pairs, Reducer, Split
from workloads.engines.mapreduce.streaming import total, word_pairs
from workloads.spec import MATCH_COLUMNS, TeamRecord

#: The single key of the scalar workloads (all their pairs meet in one reduce group).
MEAN_KEY = "home_score"
ADVANTAGE_KEY = "home_advantage"
MAPPER_STYLES = ("plain", "vectorised")


# --------------------------------------------------------------------------- combiners, reducers


def add_vectors(values: list[tuple]) -> tuple:
    """Component-wise sum of equal-length tuples (a combiner)."""
    return tuple(map(sum, zip(*values, strict=True)))


def vector_total(key: str, values: list[tuple], cache: Any = None) -> tuple:
    return add_vectors(values)


def mean(key: str, values: list[tuple[int, int]], cache: Any = None) -> float:
    """Mean from (sum, count) partials: exact integer sums, one division."""
    s, n = add_vectors(values)
    return s / n


# --------------------------------------------------------------------------- plain mappers


def map_words(split: Split, cache: Any) -> Pairs:
    return word_pairs(split.records())


def map_home_scores(split: Split, cache: Any) -> Pairs:
    for m in split.records():
        yield MEAN_KEY, (m.home_score, 1)


def map_advantage(split: Split, cache: Any) -> Pairs:
    for m in split.records():
        if not m.neutral:
            yield ADVANTAGE_KEY, (m.home_score > m.away_score) - (m.home_score < m.away_score)


def map_records(split: Split, cache: Any) -> Pairs:
    for m in split.records():
        yield m.home_team, tuple(TeamRecord.of_match(m.home_score, m.away_score))
        yield m.away_team, tuple(TeamRecord.of_match(m.away_score, m.home_score))


def map_gradients(split: Split, ratings: dict[str, float]) -> Pairs:
    """(team, (±e, 1)) per side of every match, e from the previous pass's `ratings`."""
    for m in split.records():
        e = spec.rating_error(ratings.get(m.home_team, 0.0), ratings.get(m.away_team, 0.0),
                              m.neutral, m.home_score, m.away_score)
        yield m.home_team, (e, 1)
        yield m.away_team, (-e, 1)


# --------------------------------------------------------------------------- vectorised mappers


def map_words_vectorised(split: Split, cache: Any) -> Mapping[str, int]:
    return Counter(split.text().split())


def read_frame(split: Split, columns: Sequence[str]) -> pd.DataFrame:
    """`columns` of a matches split as a frame, teams as categoricals (`frames.to_frame`)."""
    return frames.to_frame(split.table(list(columns)))


def map_home_scores_vectorised(split: Split, cache: Any) -> Mapping[str, tuple[int, int]]:
    scores = read_frame(split, ["home_score"])["home_score"]
    return {MEAN_KEY: (int(scores.sum()), len(scores))}


def map_advantage_vectorised(split: Split, cache: Any) -> Mapping[str, int]:
    return {ADVANTAGE_KEY: frames.home_advantage(read_frame(split, frames.SCORE_COLUMNS))}


def map_records_vectorised(split: Split, cache: Any) -> Mapping[str, tuple]:
    records = frames.team_records(read_frame(split, MATCH_COLUMNS))
    return dict(zip(records.index, map(tuple, records.to_numpy().tolist()), strict=True))


def map_gradients_vectorised(split: Split, ratings: dict[str, float]) -> Mapping[str, tuple]:
    df = read_frame(split, MATCH_COLUMNS)
    teams, _, _ = frames.team_codes(df)  # a split's dictionary holds exactly the teams it has
    c = frames.coded(df, teams)
    gradient = frames.gradient(c, np.array([ratings.get(t, 0.0) for t in teams])).tolist()
    played = frames.played(c, len(teams)).tolist()
    return dict(zip(teams, zip(gradient, played, strict=True), strict=True))


# --------------------------------------------------------------------------- the programs


@dataclass(frozen=True)
class Program:
    """One workload's mappers (by style), combiner and reducer."""

    plain: Mapper
    vectorised: Mapper
    combiner: Combiner
    reducer: Reducer

    def mapper(self, style: str) -> Mapper:
        return self.vectorised if style == "vectorised" else self.plain


PROGRAMS: dict[str, Program] = {
    "wordcount": Program(map_words, map_words_vectorised, sum, total),
    "mean_home_score": Program(map_home_scores, map_home_scores_vectorised, add_vectors, mean),
    "home_advantage": Program(map_advantage, map_advantage_vectorised, sum, total),
    "team_records": Program(map_records, map_records_vectorised, add_vectors, vector_total),
    "team_ratings": Program(map_gradients, map_gradients_vectorised, add_vectors, vector_total),
}
