"""The workloads as MapReduce programs: mappers, combiners and reducers.

Each workload has two mappers over the same combiner and reducer:

* `plain`: the textbook mapper, one call per record read by the split's record reader (lines via
  `str.split`, match rows via the `csv` module or `readers.parquet_rows`), emitting one pair per
  word, match or team-in-a-match; the framework's combiner does the per-split aggregation.
* `vectorised`: the split read at once (the text as one string; the columns a workload needs as an
  Arrow table, teams dictionary-encoded to int codes) and aggregated by C loops (`Counter`, numpy
  `bincount`, the `workloads.data.frames` partials), returning the split's combined output as a dict
  (in-mapper combining). Map, shuffle and reduce are unchanged.

`unbeaten_streaks` moves each team's matches to one reducer, which orders them (a secondary sort:
Hadoop sorts values by a composite key in the shuffle; here the reducer sorts its group) and scans
for the longest run. `top_scorers` is a reduce-side join, as Hadoop writes one: the mappers of
both tables key each row by its match, the reducer pairs every goal with every match of its key,
and a second job sums the goals per tournament and scorer and keeps the top one.

Keys are strings; values are ints, floats, strings and tuples or dicts of them (so spills marshal
as well as pickle).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workloads import spec
from workloads.data import frames
from workloads.data.readers import fixture_rows
from workloads.engines.mapreduce.runtime import Combiner, Mapper, Pairs, Reducer, Split
from workloads.engines.mapreduce.streaming import total, word_pairs
from workloads.layout import GOALS
from workloads.spec import FIXTURE_COLUMNS, JOIN_KEY, MATCH_COLUMNS, TeamRecord

#: The single key of the scalar workloads (all their pairs meet in one reduce group).
MEAN_KEY = "home_score"
ADVANTAGE_KEY = "home_advantage"
MAPPER_STYLES = ("plain", "vectorised")
#: The two jobs of `top_scorers`.
TOP_SCORERS_JOIN = "top_scorers: join"
TOP_SCORERS_TOP = "top_scorers: top"


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


# --------------------------------------------------------------------------- unbeaten_streaks
# A value is a tuple of (date, match_id, unbeaten) triples: one match of the key's team, or all
# its matches in a split once combined.


def concat(values: list[tuple]) -> tuple:
    """The tuples of `values` end to end (a combiner)."""
    return tuple(itertools.chain.from_iterable(values))


def longest_run(team: str, values: list[tuple], cache: Any = None) -> int:
    """The team's matches in (date, match_id) order, scanned for the longest unbeaten run."""
    best = run = 0
    for _, _, unbeaten in sorted(concat(values)):
        run = run + 1 if unbeaten else 0
        best = max(best, run)
    return best


def map_streak_sides(split: Split, cache: Any) -> Pairs:
    for m in split.records(fixture_rows):
        yield m.home_team, ((m.date, m.match_id, spec.unbeaten(m.home_score, m.away_score)),)
        yield m.away_team, ((m.date, m.match_id, spec.unbeaten(m.away_score, m.home_score)),)


def map_streak_sides_vectorised(split: Split, cache: Any) -> Mapping[str, tuple]:
    sides = frames.streak_sides(frames.to_frame(split.table(frames.STREAK_COLUMNS)))
    days = sides["date"].to_numpy().astype("datetime64[D]").astype(np.int64).tolist()
    triples = zip(days, sides["match_id"].tolist(), sides["unbeaten"].tolist(), strict=True)
    teams: dict[str, list[tuple]] = {}
    for team, triple in zip(sides["team"].tolist(), triples, strict=True):
        teams.setdefault(team, []).append(triple)
    return {team: tuple(rows) for team, rows in teams.items()}


# --------------------------------------------------------------------------- top_scorers
# Job 1 (the join): a value is (tournaments, scorers) of one match key: a match contributes its
# tournament, a goal that counts for its scorer its scorer. The reducer pairs them all.
# Job 2: a value is {scorer: goals} of one tournament.


def join_key(date: Any, home_team: str, away_team: str) -> str:
    return f"{date}\x1f{home_team}\x1f{away_team}"


def concat_pairs(values: list[tuple[tuple, tuple]]) -> tuple[tuple, tuple]:
    """(tournaments, scorers) of several values, end to end (a combiner)."""
    return concat([v[0] for v in values]), concat([v[1] for v in values])


def joined_goals(key: str, values: list[tuple], cache: Any = None
                 ) -> dict[tuple[str, str], int] | None:
    """(tournament, scorer) -> goals of one match key: every goal with every match (SQL); nothing
    for a key without goals or without a match."""
    tournaments, scorers = concat_pairs(values)
    if not (tournaments and scorers):
        return None
    return dict(Counter(itertools.product(tournaments, scorers)))


def map_join(split: Split, cache: Any) -> Pairs:
    if split.kind == GOALS:
        for g in split.records():
            if spec.counts_for_scorer(g):
                yield join_key(g.date, g.home_team, g.away_team), ((), (g.scorer,))
    else:
        for m in split.records(fixture_rows):
            yield join_key(m.date, m.home_team, m.away_team), ((m.tournament,), ())


def map_join_vectorised(split: Split, cache: Any) -> Mapping[str, tuple[tuple, tuple]]:
    if split.kind == GOALS:
        rows, value = frames.scoring_goals(split.table(frames.GOAL_READ)), "scorer"
    else:
        rows, value = frames.fixtures(split.table(FIXTURE_COLUMNS)), "tournament"
    keys = [join_key(*k) for k in zip(*(rows[c].astype(str).tolist() for c in JOIN_KEY),
                                      strict=True)]
    grouped: dict[str, list[str]] = {}
    for key, v in zip(keys, rows[value].tolist(), strict=True):
        grouped.setdefault(key, []).append(v)
    if split.kind == GOALS:
        return {k: ((), tuple(v)) for k, v in grouped.items()}
    return {k: (tuple(v), ()) for k, v in grouped.items()}


def add_counts(values: list[dict[str, int]]) -> dict[str, int]:
    """Sum {name: count} dicts (a combiner)."""
    total: Counter[str] = Counter()
    for v in values:
        total.update(v)
    return dict(total)


def top_of(tournament: str, values: list[dict[str, int]], cache: Any = None) -> tuple[str, int]:
    return spec.top_scorer(add_counts(values))


def map_tournament_scorers(split: Split, cache: Any) -> Mapping[str, dict[str, int]]:
    """A join output split: each (tournament, scorer) count, by tournament (in-mapper)."""
    by_tournament: dict[str, Counter[str]] = {}
    for _, counts in split.records():
        for (tournament, scorer), n in counts.items():
            by_tournament.setdefault(tournament, Counter())[scorer] += n
    return {t: dict(c) for t, c in by_tournament.items()}


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
    "unbeaten_streaks": Program(map_streak_sides, map_streak_sides_vectorised, concat,
                                longest_run),
    TOP_SCORERS_JOIN: Program(map_join, map_join_vectorised, concat_pairs, joined_goals),
    TOP_SCORERS_TOP: Program(map_tournament_scorers, map_tournament_scorers, add_counts, top_of),
}
