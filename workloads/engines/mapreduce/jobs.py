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
import pyarrow as pa

from workloads import frames, spec
from workloads.engines.mapreduce.runtime import Combiner, Mapper, Pairs, Reducer, Split
from workloads.engines.mapreduce.streaming import total, word_pairs
from workloads.readers import MATCH_COLUMNS

#: The single key of the scalar workloads (all their pairs meet in one reduce group).
MEAN_KEY = "home_score"
ADVANTAGE_KEY = "home_advantage"
MAPPER_STYLES = ("plain", "vectorised")
TEAM_COLUMNS = ("home_team", "away_team")


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


def record_of(goals_for: int, goals_against: int) -> tuple[int, ...]:
    """One team's record from one match: played, won, drawn, lost, goals for, goals against."""
    return (1, int(goals_for > goals_against), int(goals_for == goals_against),
            int(goals_for < goals_against), goals_for, goals_against)


def map_records(split: Split, cache: Any) -> Pairs:
    for m in split.records():
        yield m.home_team, record_of(m.home_score, m.away_score)
        yield m.away_team, record_of(m.away_score, m.home_score)


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


def read_coded(split: Split, columns: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """`columns` of a matches split as a frame, teams as int codes, and the split's teams.

    Arrow's dictionary encoding turns both team columns into codes in one hash pass, without
    making a Python string per row (what makes pandas' CSV reader and `get_indexer` slow).
    """
    table = split.table(list(columns))
    data = {c: table.column(c).to_numpy() for c in columns if c not in TEAM_COLUMNS}
    teams: list[str] = []
    if TEAM_COLUMNS[0] in columns:
        home, away = (table.column(c) for c in TEAM_COLUMNS)
        both = pa.chunked_array([*home.chunks, *away.chunks], type=home.type)
        encoded = both.combine_chunks().dictionary_encode()
        codes = encoded.indices.to_numpy()
        data |= {TEAM_COLUMNS[0]: codes[:table.num_rows], TEAM_COLUMNS[1]: codes[table.num_rows:]}
        teams = encoded.dictionary.to_pylist()
    return pd.DataFrame(data), teams


def map_home_scores_vectorised(split: Split, cache: Any) -> Mapping[str, tuple[int, int]]:
    df, _ = read_coded(split, ["home_score"])
    return {MEAN_KEY: (int(df["home_score"].sum()), len(df))}


def map_advantage_vectorised(split: Split, cache: Any) -> Mapping[str, int]:
    df, _ = read_coded(split, ["home_score", "away_score", "neutral"])
    return {ADVANTAGE_KEY: frames.home_advantage(df)}


def records_by_code(df: pd.DataFrame, n_teams: int) -> np.ndarray:
    """Per team code, the six record fields over home and away matches (one bincount each)."""
    team = np.concatenate([df["home_team"], df["away_team"]])
    gf = np.concatenate([df["home_score"], df["away_score"]]).astype(np.int64)
    ga = np.concatenate([df["away_score"], df["home_score"]]).astype(np.int64)

    def count(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        chosen = team if mask is None else team[mask]
        return np.bincount(chosen, weights, minlength=n_teams).astype(np.int64)

    return np.column_stack([count(), count(gf > ga), count(gf == ga), count(gf < ga),
                            count(weights=gf), count(weights=ga)])


def map_records_vectorised(split: Split, cache: Any) -> Mapping[str, tuple]:
    df, teams = read_coded(split, MATCH_COLUMNS)
    return dict(zip(teams, map(tuple, records_by_code(df, len(teams)).tolist()), strict=True))


def map_gradients_vectorised(split: Split, ratings: dict[str, float]) -> Mapping[str, tuple]:
    df, teams = read_coded(split, MATCH_COLUMNS)
    c = frames.coded(df, pd.RangeIndex(len(teams)))  # the team columns already hold codes
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
