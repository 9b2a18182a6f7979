"""Vectorised building blocks on pandas frames of matches and goals, shared by the dataframe
engines.

Most functions work on one frame (a whole table or one partition) and return a partial result
that combines by plain addition, so pandas applies them once and Dask or a batch job applies them
per partition and sums. The two workloads that need rows together by key (`unbeaten_streaks`:
each team's matches in order; `top_scorers`: goals with their match) have a step that moves rows
(`streak_sides`, `scoring_goals`/`fixtures`: what each row contributes, keyed) and a step that
works on all the rows of some keys (`longest_runs`, `goals_per_scorer`).

Match frames come from `read_matches`/`read_all`: Arrow reads the columns, and the two team
columns become pandas categoricals over one shared dictionary (Arrow's `dictionary_encode`, one
hash pass and no Python string per row). Per-team work is then `bincount` over the codes. Dates
are numpy `datetime64[D]`, the match id is `match_id` in every format.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from workloads import spec
from workloads.data.dataset import Input
from workloads.data.readers import missing_file
from workloads.data.validate import GOAL_TYPES, MATCH_TYPES, locate_malformed
from workloads.layout import CSV_BOOLEANS, GOALS, MATCH_ID, MATCHES
from workloads.spec import JOIN_KEY, MATCH_COLUMNS, RECORD_FIELDS, STREAK_ORDER

TEAM_COLUMNS = ("home_team", "away_team")
#: The columns of `home_advantage`.
SCORE_COLUMNS = ("home_score", "away_score", "neutral")
#: The match columns `unbeaten_streaks` reads, and the goal columns `top_scorers` reads.
STREAK_COLUMNS = (MATCH_ID, "date", *TEAM_COLUMNS, "home_score", "away_score")
GOAL_READ = ("date", *TEAM_COLUMNS, "scorer", "own_goal")
#: The match columns `fixtures` keeps: the join key and the tournament.
FIXTURE_READ = (*JOIN_KEY, "tournament")
#: Arrow types of the columns of each kind of table when read from CSV (by the name a reader
#: asks for: the match id is the CSV's unnamed column); Parquet files carry their own.
CSV_READ_TYPES = {MATCHES: MATCH_TYPES, GOALS: GOAL_TYPES}


#: A part of a CSV file, by byte offsets [start, stop): the lines that start in it. None: the
#: whole file.
Span = tuple[int, int] | None


def pieces(paths: Sequence[str], fmt: str, most: int | None) -> list[tuple[str, Span]]:
    """The files as pieces of at most about `most` bytes each (a CSV file cut at line starts;
    other formats, or `most` None, one piece per file), in order: the partitions of an engine
    that bounds what a task holds."""
    found: list[tuple[str, Span]] = []
    for path in paths:
        size = os.path.getsize(path) if most and fmt == "csv" else 0
        n = max(1, math.ceil(size / most)) if most else 1
        if n == 1:
            found.append((path, None))
        else:
            found.extend((path, (size * k // n, size * (k + 1) // n)) for k in range(n))
    return found


def _line_start(file: Any, offset: int) -> int:
    """The offset of the first line of `file` that starts at or after `offset`."""
    if offset == 0:
        return 0
    file.seek(offset - 1)
    file.readline()
    return file.tell()


def _csv_span(path: str, span: tuple[int, int]) -> tuple[list[str], bytes]:
    """The header's column names and the bytes of the lines that start within `span` (the
    header line excluded): a piece that holds no line start is empty."""
    with open(path, "rb") as file:
        header = file.readline()
        names = next(csv.reader([header.decode("utf-8")]))
        begin = _line_start(file, max(span[0], len(header)))
        end = max(begin, _line_start(file, span[1]))
        file.seek(begin)
        return names, file.read(end - begin)


def read_table(path: str, fmt: str, columns: Sequence[str] = MATCH_COLUMNS,
               kind: str = MATCHES, span: Span = None) -> pa.Table:
    """`columns` of one match (or goal) file, or of the lines of its `span`, as an Arrow table;
    errors name the file (and CSV line). A goal's scorer `NA` stays a string: Arrow reads no
    string as null."""
    columns = list(columns)
    try:
        if fmt == "parquet":
            return pq.read_table(path, columns=columns)
        on_disk = ["" if c == MATCH_ID and kind == MATCHES else c for c in columns]
        true, false = CSV_BOOLEANS[kind]
        convert = pacsv.ConvertOptions(
            include_columns=on_disk, true_values=[true], false_values=[false],
            column_types={d: CSV_READ_TYPES[kind][c] for d, c in zip(on_disk, columns,
                                                                    strict=True)})
        if span is None:
            table = pacsv.read_csv(path, convert_options=convert)
        else:
            names, lines = _csv_span(path, span)
            if not lines:
                return empty_table(columns, kind)
            table = pacsv.read_csv(pa.BufferReader(lines), convert_options=convert,
                                   read_options=pacsv.ReadOptions(column_names=names))
        return table.rename_columns(columns)
    except FileNotFoundError:
        raise missing_file(path) from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise locate_malformed(Input(kind, (path,), fmt), exc) from None


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table of matches as a frame; team columns as categoricals sharing categories."""
    data = {c: table.column(c).to_numpy() for c in table.column_names if c not in TEAM_COLUMNS}
    if TEAM_COLUMNS[0] in table.column_names:
        home, away = (table.column(c) for c in TEAM_COLUMNS)
        both = pa.chunked_array([*home.chunks, *away.chunks], type=home.type)
        encoded = both.combine_chunks().dictionary_encode()
        codes = encoded.indices.to_numpy()
        dtype = pd.CategoricalDtype(pd.Index(encoded.dictionary.to_pylist(), dtype=object))
        n = table.num_rows
        data[TEAM_COLUMNS[0]] = pd.Categorical.from_codes(codes[:n], dtype=dtype)
        data[TEAM_COLUMNS[1]] = pd.Categorical.from_codes(codes[n:], dtype=dtype)
    return pd.DataFrame(data)[table.column_names]


def read_matches(path: str, fmt: str, columns: Sequence[str] = MATCH_COLUMNS,
                 span: Span = None) -> pd.DataFrame:
    """`columns` of one match file (or of its `span`) as a frame."""
    return to_frame(read_table(path, fmt, columns, span=span))


def read_tables(inp: Input, columns: Sequence[str]) -> pa.Table:
    """`columns` of every file of `inp` (matches or goals) as one Arrow table."""
    return read_tables_of(inp.paths, inp.fmt, columns, inp.kind)


def read_tables_of(paths: Sequence[str], fmt: str, columns: Sequence[str],
                   kind: str = MATCHES) -> pa.Table:
    """`columns` of the files (matches or goals) as one Arrow table."""
    return pa.concat_tables([read_table(p, fmt, columns, kind) for p in paths])


def read_all(paths: Sequence[str], fmt: str,
             columns: Sequence[str] = MATCH_COLUMNS) -> pd.DataFrame:
    """`columns` of every file as one frame (tables joined in Arrow: one team dictionary)."""
    return to_frame(pa.concat_tables([read_table(p, fmt, columns) for p in paths]))


def empty_table(columns: Sequence[str], kind: str = MATCHES) -> pa.Table:
    """A table with no rows and `read_table`'s types for CSV (a Dask meta's source)."""
    return pa.table({c: pa.array([], CSV_READ_TYPES[kind][c]) for c in columns})


def empty(columns: Sequence[str] = MATCH_COLUMNS) -> pd.DataFrame:
    """A frame with no rows and `read_matches`' dtypes (Dask's meta)."""
    return to_frame(empty_table(columns))


def home_advantage(df: pd.DataFrame) -> int:
    diff = df["home_score"].to_numpy() - df["away_score"].to_numpy()
    return int(np.sign(diff[~df["neutral"].to_numpy()]).sum())


def team_codes(df: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """The teams of `df` (its categories) and the home and away columns as codes into them.
    Team columns of strings (another reader's frame) are encoded here, as `to_frame` does."""
    if not all(isinstance(df[c].dtype, pd.CategoricalDtype) for c in TEAM_COLUMNS):
        df = to_frame(pa.table({c: pa.array(df[c], pa.string()) for c in TEAM_COLUMNS}))
    home, away = (df[c].cat for c in TEAM_COLUMNS)
    return home.categories, home.codes.to_numpy(), away.codes.to_numpy()


def team_records(df: pd.DataFrame) -> pd.DataFrame:
    """Per team: played, won, drawn, lost, goals_for, goals_against (a partial, sums combine)."""
    teams, home, away = team_codes(df)
    team = np.concatenate([home, away])
    gf = np.concatenate([df["home_score"].to_numpy(), df["away_score"].to_numpy()])
    ga = np.concatenate([df["away_score"].to_numpy(), df["home_score"].to_numpy()])

    def count(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        chosen = team if mask is None else team[mask]
        return np.bincount(chosen, weights, minlength=len(teams)).astype(np.int64)

    records = pd.DataFrame(
        np.column_stack([count(), count(gf > ga), count(gf == ga), count(gf < ga),
                         count(weights=gf), count(weights=ga)]),
        index=pd.Index(teams.to_numpy(dtype=object), name="team"), columns=list(RECORD_FIELDS))
    return records[records["played"] > 0]


def records_answer(records: pd.DataFrame) -> spec.TeamRecords:
    rows = records[list(RECORD_FIELDS)].to_numpy()
    return {team: spec.TeamRecord(*map(int, row))
            for team, row in zip(records.index, rows, strict=True)}


def team_index(df: pd.DataFrame) -> pd.Index:
    """Every team seen as home or away, sorted."""
    categories, home, away = team_codes(df)
    seen = np.bincount(np.concatenate([home, away]), minlength=len(categories)) > 0
    return pd.Index(np.sort(categories.to_numpy(dtype=object)[seen]))


def union_index(*indexes: pd.Index) -> pd.Index:
    """The sorted union of team indexes (of partitions)."""
    return pd.Index(np.unique(np.concatenate([ix.to_numpy() for ix in indexes])))


def coded(df: pd.DataFrame, teams: pd.Index) -> pd.DataFrame:
    """The columns one rating pass needs: team codes into `teams`, outcome y, home-ground bonus."""
    categories, home, away = team_codes(df)
    position = teams.get_indexer(categories).astype("int32")
    hs, as_ = df["home_score"].to_numpy(), df["away_score"].to_numpy()
    return pd.DataFrame({
        "home": position[home],
        "away": position[away],
        "y": np.where(hs > as_, 1.0, np.where(hs == as_, 0.5, 0.0)),
        "bonus": np.where(df["neutral"].to_numpy(), 0.0, spec.RATING_HOME_BONUS),
    })


#: The columns of `coded`, as a pandas or a Polars frame: the rating functions below only read
#: `c[column]` as an array.
Coded = Any


def played(c: Coded, n_teams: int) -> np.ndarray:
    return (np.bincount(c["home"], minlength=n_teams)
            + np.bincount(c["away"], minlength=n_teams))


def gradient(c: Coded, ratings: np.ndarray) -> np.ndarray:
    """Σ e per team over the matches of `c`, given the previous pass's ratings."""
    home, away = c["home"].to_numpy(), c["away"].to_numpy()
    d = ratings[home] - ratings[away] + c["bonus"].to_numpy()
    e = c["y"].to_numpy() - 1.0 / (1.0 + np.exp(-d))
    n = len(ratings)
    return np.bincount(home, e, minlength=n) - np.bincount(away, e, minlength=n)


def step(ratings: np.ndarray, grad: np.ndarray, n_played: np.ndarray) -> np.ndarray:
    """Ratings after one pass: r += 4·g/n."""
    return ratings + spec.RATING_STEP * grad / n_played


def ratings_answer(teams: pd.Index, ratings: np.ndarray) -> spec.Ratings:
    return dict(zip(teams.tolist(), ratings.tolist(), strict=True))


# --------------------------------------------------------------------------- moving rows by key


def buckets(df: pd.DataFrame, key: Sequence[str], n: int) -> np.ndarray:
    """The bucket (0..n-1) of each row by a hash of its `key` columns, the same in every process
    (pandas' hash has a fixed seed), so that rows of one key meet in one bucket."""
    return (pd.util.hash_pandas_object(df[list(key)], index=False).to_numpy() % n).astype(np.int64)


# --------------------------------------------------------------------------- unbeaten_streaks


def streak_sides(df: pd.DataFrame) -> pd.DataFrame:
    """Each match twice, once per side: team (str), date, match_id, and whether that side was
    unbeaten (won or drew): the rows `longest_runs` orders by team, then `STREAK_ORDER`."""
    hs, as_ = df["home_score"].to_numpy(), df["away_score"].to_numpy()
    return pd.DataFrame({
        "team": np.concatenate([df[c].to_numpy(dtype=object) for c in TEAM_COLUMNS]),
        **{c: np.tile(df[c].to_numpy(), 2) for c in STREAK_ORDER},
        "unbeaten": np.concatenate([hs >= as_, as_ >= hs]),
    })


def ordered_runs(team: np.ndarray, unbeaten: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The runs of rows sorted by team, then `STREAK_ORDER`: each run's team and its count of
    unbeaten rows. A run starts at each team's first row and after each loss."""
    starts = np.r_[True, team[1:] != team[:-1]]
    starts[1:] |= ~unbeaten[:-1]
    run_starts = np.flatnonzero(starts)
    return team[run_starts], np.add.reduceat(unbeaten.astype(np.int64), run_starts)


def longest_runs(sides: pd.DataFrame) -> pd.Series:
    """team -> the longest run of consecutive unbeaten matches, over rows that hold all of each
    team's matches (any order: they are sorted here by team, then date and match id)."""
    codes, teams = pd.factorize(sides["team"], sort=False)
    if not len(codes):
        return pd.Series([], index=pd.Index([], name="team"), dtype="int64")
    order = np.lexsort([sides[c].to_numpy() for c in reversed(STREAK_ORDER)] + [codes])
    run_team, runs = ordered_runs(codes[order], sides["unbeaten"].to_numpy()[order])
    first_of_team = np.flatnonzero(np.r_[True, run_team[1:] != run_team[:-1]])
    best = np.maximum.reduceat(runs, first_of_team)
    return pd.Series(best, index=pd.Index(np.asarray(teams)[run_team[first_of_team]],
                                          name="team"))


class StreamedRuns:
    """`longest_runs` over rows that arrive in batches already sorted by team, then
    `STREAK_ORDER` (an external sort's output, streamed): only the run still open at the end of
    a batch is carried into the next, so memory does not grow with the rows."""

    def __init__(self) -> None:
        self.best: spec.Streaks = {}
        #: The team and count of the run open at the end of the last batch (None after a loss).
        self._open: tuple[str, int] | None = None

    def add(self, team: np.ndarray, names: Sequence[str], unbeaten: np.ndarray) -> None:
        """One batch: `team` codes into `names`, and whether each row was unbeaten."""
        if not len(team):
            return
        run_team, runs = ordered_runs(team, unbeaten)
        if self._open is not None and self._open[0] == names[team[0]]:
            runs[0] += self._open[1]
        first_of_team = np.flatnonzero(np.r_[True, run_team[1:] != run_team[:-1]])
        for code, best in zip(run_team[first_of_team].tolist(),
                              np.maximum.reduceat(runs, first_of_team).tolist(), strict=True):
            name = names[code]
            self.best[name] = max(self.best.get(name, 0), best)
        self._open = (names[team[-1]], int(runs[-1])) if unbeaten[-1] else None


# --------------------------------------------------------------------------- top_scorers


def scoring_goals(table: pa.Table) -> pd.DataFrame:
    """The goals that count for a scorer (`spec.counts_for_scorer`: no own goals, no unknown
    scorer), with the match they belong to: date, home_team, away_team, scorer."""
    df = table.select(list(GOAL_READ)).to_pandas(date_as_object=False)
    keep = ~df["own_goal"].to_numpy() & (df["scorer"] != spec.UNKNOWN_SCORER).to_numpy()
    return df.loc[keep, [*JOIN_KEY, "scorer"]]


def fixtures(table: pa.Table) -> pd.DataFrame:
    """Each match's key and tournament: date, home_team, away_team, tournament."""
    return table.select([*JOIN_KEY, "tournament"]).to_pandas(date_as_object=False)


def goals_per_scorer(goals: pd.DataFrame, matches: pd.DataFrame) -> pd.Series:
    """(tournament, scorer) -> goals: the inner join of goals to matches on `JOIN_KEY` (every
    matching pair counts), counted."""
    joined = goals.merge(matches, on=list(JOIN_KEY), how="inner", copy=False)
    return joined.groupby(["tournament", "scorer"], sort=False).size()


def top_rows(counts: pd.Series) -> pd.DataFrame:
    """Per tournament its top row of (tournament, scorer) -> goals counts: the most goals, ties
    to the smaller name. Counts partitioned by (tournament, scorer), each pair's goals complete
    in one partition, give their candidates per partition: the top of those is the top."""
    df = counts.rename("goals").reset_index()
    df = df.sort_values(["tournament", "goals", "scorer"], ascending=[True, False, True],
                        kind="stable")
    return df.drop_duplicates("tournament")


def top_scorers(counts: pd.Series) -> spec.TopScorers:
    """tournament -> (scorer, goals): per tournament the most goals, ties to the smaller name."""
    top = top_rows(counts)
    return {t: (s, int(g)) for t, s, g in zip(top["tournament"], top["scorer"], top["goals"],
                                              strict=True)}


def top_candidates(counts: pd.Series) -> pd.Series:
    """`top_rows` as counts again: (tournament, scorer) -> goals, a row per tournament."""
    return top_rows(counts).set_index(["tournament", "scorer"])["goals"]
