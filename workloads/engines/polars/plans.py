"""The workloads as Polars queries: lazy scans of the files, one plan per workload, `collect()`.

Imported only where the engine's queries run, once Polars' thread pool there has the worker
count (`engine.py`); nothing here chooses threads. The plans run on Polars' streaming engine, and
the idioms are the fastest of those measured in docs/engines.md, or tie with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import polars as pl

from workloads import spec
from workloads.data import frames
from workloads.data.dataset import Input
from workloads.data.validate import find_malformed
from workloads.layout import (
    BOOL,
    COLUMN_TYPES,
    DATE,
    GOALS,
    INT64,
    MATCH_ID,
    MATCHES,
    MISSING_MINUTE,
    PARQUET_INT32,
    STRING,
    csv_types,
)
from workloads.runtime.errors import EngineUnavailable
from workloads.spec import JOIN_KEY, MATCH_COLUMNS, RECORD_FIELDS, STREAK_ORDER

#: Polars' type of each type name of `layout.COLUMN_TYPES`.
POLARS_TYPES = {INT64: pl.Int64, DATE: pl.Date, STRING: pl.String, BOOL: pl.Boolean}
#: The CSV columns of each kind of table with their types, by header name; Polars checks the
#: header against the names.
CSV_SCHEMAS = {kind: pl.Schema({name: POLARS_TYPES[t] for name, t in csv_types(kind).items()})
               for kind in (MATCHES, GOALS)}
#: The Parquet columns stored narrower than read (`layout.PARQUET_INT32`), with the type a plan
#: reads them as: sums of 32-bit scores must not overflow.
WIDENED = {kind: {name: POLARS_TYPES[COLUMN_TYPES[kind][name]] for name in PARQUET_INT32
                  if name in COLUMN_TYPES[kind]}
           for kind in (MATCHES, GOALS)}
#: The goal field that may be missing, and how; a scorer `NA` stays a string.
CSV_OPTIONS = {MATCHES: {}, GOALS: {"null_values": {"minute": MISSING_MINUTE}}}
#: The matches' unnamed first CSV column is the match id, as Parquet names it.
CSV_NAMES = {MATCHES: {"": MATCH_ID}, GOALS: {}}
#: What `str.split()` splits at besides " ": Unicode's White_Space (`\s` of Polars' regular
#: expressions) and U+001C-U+001F, which `str.isspace` counts too.
OTHER_WHITESPACE = r"[\s\x1c-\x1f]"
#: Faster than the in-memory engine wherever a plan is more than a scan, as fast on the scans.
ENGINE = "streaming"
#: What a read of a malformed or missing file raises (a malformed Parquet file can make Polars
#: panic).
READ_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError)

T = TypeVar("T")


def prepare(threads: int) -> None:
    """Have Polars build its pools now, while POLARS_MAX_THREADS is `threads`: the thread pool
    (at import) and the streaming engine's executor (at the first streaming query, run here;
    later it reads the variable no more). Refuse unless the thread pool has `threads` threads."""
    pl.LazyFrame({"x": [0]}).select(pl.col("x").sum()).collect(engine=ENGINE)
    size = pl.thread_pool_size()
    if size != threads:
        raise EngineUnavailable(
            f"Polars' thread pool has {size} threads, not the {threads} asked for: Polars sizes "
            f"it once per process, from POLARS_MAX_THREADS at its first import")


def guarded(run: Callable[[], T], *inputs: Input) -> T:
    """`run()`, which reads `inputs`. When it fails on a missing or malformed file of `inputs`,
    the error names the file (and line); any other failure is raised as it is."""
    try:
        return run()
    except READ_ERRORS as exc:
        found = next(filter(None, map(find_malformed, inputs)), None)
        if found is None:
            raise
        raise found from exc


def collect(plan: pl.LazyFrame, *inputs: Input) -> pl.DataFrame:
    """Run `plan`, which reads `inputs` (errors as `guarded` gives them)."""
    return guarded(lambda: plan.collect(engine=ENGINE), *inputs)


def scan(table: Input) -> pl.LazyFrame:
    """Every file of a table (matches or goals) as one lazy frame: the paths as given (no glob
    or Hive expansion), CSV with its explicit schema, every column of its type in
    `layout.COLUMN_TYPES` in both formats."""
    paths = list(table.paths)
    if table.fmt == "parquet":
        return pl.scan_parquet(paths, glob=False, hive_partitioning=False).cast(
            WIDENED[table.kind])
    return pl.scan_csv(paths, schema=CSV_SCHEMAS[table.kind], glob=False,
                       **CSV_OPTIONS[table.kind]).rename(CSV_NAMES[table.kind])


# --------------------------------------------------------------------------- the workloads


def wordcount(text: Input) -> spec.WordCounts:
    """Lines split at spaces in the plan (a literal split: a regular expression would test
    every character against a class), counted per distinct word; the few distinct words that
    hold other whitespace (or none at all: "") are then split by `str.split()` itself, each part
    counted as often as the word."""
    plan = (pl.scan_lines(list(text.paths), name="word", glob=False)
            .select(pl.col("word").str.split(" ").explode())
            .group_by("word").len())
    counts = collect(plan, text)
    odd = pl.col("word").str.contains(OTHER_WHITESPACE) | (pl.col("word") == "")
    plain = counts.filter(~odd)
    words = dict(zip(plain["word"].to_list(), plain["len"].to_list(), strict=True))
    for word, n in counts.filter(odd).iter_rows():
        for token in word.split():
            words[token] = words.get(token, 0) + n
    return words


def mean_home_score(matches: Input) -> float:
    return collect(scan(matches).select(pl.col("home_score").mean()), matches).item()


def home_advantage(matches: Input) -> int:
    hs, as_ = pl.col("home_score"), pl.col("away_score")
    plan = scan(matches).filter(~pl.col("neutral")).select((hs > as_).sum() - (hs < as_).sum())
    return int(collect(plan, matches).item())


def sides(matches: pl.LazyFrame) -> pl.LazyFrame:
    """Each match twice, once from each team's side: team, goals for (gf), goals against (ga)."""
    home = matches.select(team="home_team", gf="home_score", ga="away_score")
    away = matches.select(team="away_team", gf="away_score", ga="home_score")
    return pl.concat([home, away])


def team_records(matches: Input) -> spec.TeamRecords:
    gf, ga = pl.col("gf"), pl.col("ga")
    plan = sides(scan(matches)).group_by("team").agg(
        played=pl.len(), won=(gf > ga).sum(), drawn=(gf == ga).sum(), lost=(gf < ga).sum(),
        goals_for=gf.sum(), goals_against=ga.sum())
    records = collect(plan, matches).select("team", *RECORD_FIELDS)
    return {team: spec.TeamRecord(*counts) for team, *counts in records.iter_rows()}


def rating_terms() -> dict[str, pl.Expr]:
    """What a rating pass reads of a match besides its teams: the outcome y for the home team
    and the home-ground bonus."""
    hs, as_ = pl.col("home_score"), pl.col("away_score")
    return {"y": pl.when(hs > as_).then(1.0).when(hs == as_).then(0.5).otherwise(0.0),
            "bonus": pl.when(pl.col("neutral")).then(0.0).otherwise(spec.RATING_HOME_BONUS)}


def coded(matches: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """The sorted teams, and per match what a rating pass reads: home and away as positions in
    the teams (an Enum's codes) and the `rating_terms`."""
    teams = pl.concat([matches["home_team"], matches["away_team"]]).unique().sort()
    team = pl.Enum(teams)
    return teams, matches.select(
        home=pl.col("home_team").cast(team).to_physical(),
        away=pl.col("away_team").cast(team).to_physical(), **rating_terms())


def team_ratings(matches: Input) -> spec.Ratings:
    """The matches read and coded once, in memory; each pass is the shared numpy pass over the
    coded columns (`frames.gradient`: two bincounts over arrays already in memory, where a
    Polars group-by per pass would build a hash table of the teams every time)."""
    teams, c = coded(collect(scan(matches).select(MATCH_COLUMNS), matches))
    n_played = frames.played(c, len(teams))
    ratings = np.zeros(len(teams))
    for _ in range(spec.RATING_PASSES):
        ratings = frames.step(ratings, frames.gradient(c, ratings), n_played)
    return dict(zip(teams.to_list(), ratings.tolist(), strict=True))


def streak_sides(matches: pl.LazyFrame) -> pl.LazyFrame:
    """Each side of each match: date, match id, team and whether it did not lose."""
    hs, as_ = pl.col("home_score"), pl.col("away_score")
    return pl.concat([matches.select(*STREAK_ORDER, team="home_team", unbeaten=hs >= as_),
                      matches.select(*STREAK_ORDER, team="away_team", unbeaten=as_ >= hs)])


def longest_runs(sides: pl.DataFrame) -> spec.Streaks:
    """Per team of `sides` (`streak_sides`' columns, every side of its teams), its longest
    unbeaten run. Ordered by team, date and match id with one stable sort per key, least
    significant first, the team by its categorical code (sorts of one integer column each, which
    beat Polars' sort on three keys: docs/engines.md); then, in one pass, the length so far of
    each unbeaten run (a run starts at a team's first match or after a loss), and per team the
    longest (0 if it lost every match).

    Lean on memory, the most a part of the out-of-core form may hold: the sides in one chunk
    first (the first sort would otherwise gather from every chunk a collect left into a third
    copy), 32-bit row numbers, and the group-by on the team's code, not its name."""
    sides = sides.with_columns(pl.col("team").cast(pl.Categorical)).rechunk()
    team = pl.col("team")
    for key in (*map(pl.col, reversed(STREAK_ORDER)), team.to_physical()):
        sides = sides.sort(key, maintain_order=True)
    row, unbeaten = pl.int_range(pl.len(), dtype=pl.UInt32), pl.col("unbeaten")
    starts = unbeaten & ((team != team.shift()) | ~unbeaten.shift()).fill_null(True)
    run = (pl.when(unbeaten).then(row - pl.when(starts).then(row).forward_fill() + 1)
           .otherwise(pl.lit(0, pl.UInt32)))
    streaks = (sides.select(team, run.alias("run")).group_by("team").agg(pl.col("run").max())
               .with_columns(team.cast(pl.String)))
    return dict(zip(streaks["team"].to_list(), streaks["run"].to_list(), strict=True))


def unbeaten_streaks(matches: Input) -> spec.Streaks:
    """Every side of every match collected, then `longest_runs` over them all."""
    return longest_runs(collect(streak_sides(scan(matches)), matches))


def scoring(goals: pl.LazyFrame) -> pl.LazyFrame:
    """The goals that count, by join key and scorer."""
    counts = ~pl.col("own_goal") & (pl.col("scorer") != spec.UNKNOWN_SCORER)
    return goals.filter(counts).select(*JOIN_KEY, "scorer")


def fixtures(matches: pl.LazyFrame) -> pl.LazyFrame:
    """Each match's tournament, by join key."""
    return matches.select(*JOIN_KEY, "tournament")


def counted(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Goals per (tournament, scorer) of rows of those two columns, as `len`."""
    return pairs.group_by("tournament", "scorer").len()


def best_scorers(counts: pl.LazyFrame) -> pl.LazyFrame:
    """Per tournament of `counts` (`counted`'s columns), the scorers with the most goals, and of
    those the smallest name (Polars compares strings by their UTF-8 bytes: code-point order)."""
    return (counts.filter(pl.col("len") == pl.col("len").max().over("tournament"))
            .group_by("tournament").agg(pl.col("scorer").min(), pl.col("len").first()))


def tops(best: pl.DataFrame) -> spec.TopScorers:
    return {t: (scorer, n) for t, scorer, n in best.iter_rows()}


def top_scorers(goals: Input, matches: Input) -> spec.TopScorers:
    """The goals that count, inner-joined to the matches' tournaments on `JOIN_KEY`, counted per
    (tournament, scorer); per tournament the best scorer (`best_scorers`)."""
    joined = scoring(scan(goals)).join(fixtures(scan(matches)), on=list(JOIN_KEY))
    return tops(collect(best_scorers(counted(joined)), goals, matches))
