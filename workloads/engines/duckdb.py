"""DuckDB: every workload one SQL statement (or a few) over the files, on one in-memory connection.

`workers` is DuckDB's `threads` setting: the engine's client thread plus `workers - 1` DuckDB
threads run every query (asynchronous I/O threads off), so N workers are N threads, fewer
only where the memory limit gives a thread less than DuckDB needs (`threads_within`). The
connection is opened in `start` with its whole configuration — threads, a memory limit from
`limits.engine_memory`, a private temporary folder for spills, extensions neither installed nor
loaded on demand — locked, and closed in `stop`.

Queries run on the engine's client thread while the calling thread waits: a Ctrl-C or SIGTERM
then reaches the caller at once, which interrupts the query (`interrupt()`) and re-raises. Run on
the caller's thread, DuckDB notices only SIGINT, at its own pace, and turns it into a
RuntimeError. Choices below are measured: see docs/engines.md.

Under a memory budget (the memory setting) DuckDB's limit comes from the budget, and the two
workloads whose one-statement forms hold whole inputs at once (`unbeaten_streaks`,
`top_scorers`) run out-of-core forms that spill instead.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from workloads import spec
from workloads.data import frames, validate
from workloads.data.dataset import Input
from workloads.data.readers import missing_file, unreadable
from workloads.engines.base import Availability, Engine
from workloads.layout import BOOL, COLUMN_TYPES, DATE, GOALS, INT64, MATCHES, STRING, TEXT
from workloads.runtime import limits, scratch
from workloads.runtime.errors import EngineUnavailable, ParbenchError, first_line
from workloads.runtime.settings import Settings

T = TypeVar("T")

#: DuckDB's type of each type name of `layout.COLUMN_TYPES`.
SQL_TYPES = {INT64: "BIGINT", DATE: "DATE", STRING: "VARCHAR", BOOL: "BOOLEAN"}
#: Each CSV column's DuckDB type, by kind of table, in file order (the match CSV's unnamed first
#: column is the match id); a goal's minute (`NA` when missing, never read) stays text.
CSV_TYPES = {kind: {name: "VARCHAR" if (kind, name) == (GOALS, "minute") else SQL_TYPES[type_]
                    for name, type_ in COLUMN_TYPES[kind].items()}
             for kind in (MATCHES, GOALS)}


def _sql_string(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


#: read_csv's buffer under a memory budget. Its default (16 times the longest line allowed,
#: 32 MiB) is taken per file read at once and per thread: a few of them fill a small budget
#: before any operator has run.
BUDGET_CSV_BUFFER = 4 * 2**20


def _csv_options(kind: str, buffer: int | None = None) -> str:
    """read_csv's options for a kind of table: no sniffing, a header line, RFC 4180 quotes (as
    the `csv` module reads them), the columns typed; `buffer` bytes read at a time, if given."""
    columns = ", ".join(f"{_sql_string(c)}: {_sql_string(t)}" for c, t in CSV_TYPES[kind].items())
    return (f"header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            f"columns = {{{columns}}}" + (f", buffer_size = {buffer}" if buffer else ""))


def _character_class(code_points: Iterable[int]) -> str:
    """An RE2 character class of `code_points`, consecutive ones as ranges."""
    runs: list[list[int]] = []
    for c in sorted(code_points):
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "[" + "".join(f"\\x{{{a:x}}}" + (f"-\\x{{{b:x}}}" if b > a else "")
                         for a, b in runs) + "]"


#: What `str.split()` splits on: the code points for which `str.isspace()` holds (all of them
#: in the Basic Multilingual Plane).
_WHITESPACE = [c for c in range(0x10000) if chr(c).isspace()]
WORD_SEPARATORS = _character_class(_WHITESPACE) + "+"
#: Whitespace other than the space: a line without any is split on single spaces.
OTHER_WHITESPACE = _character_class(c for c in _WHITESPACE if c != ord(" "))

#: Words of every line (lines split at LF): a line holding only spaces as whitespace, as in the
#: generated text, is split by `string_split` on ' ', any other by the regular expression, whose
#: cost grows with the text it scans (docs/engines.md); "" comes from leading, trailing or
#: repeated separators.
WORDCOUNT = f"""
SELECT word, count(*)
FROM (
    SELECT unnest(CASE WHEN regexp_matches(line, '{OTHER_WHITESPACE}')
                       THEN string_split_regex(line, '{WORD_SEPARATORS}')
                       ELSE string_split(line, ' ') END) AS word
    FROM (SELECT unnest(string_split(content, chr(10))) AS line FROM {{text}})
)
WHERE word <> ''
GROUP BY word
"""

#: Each match from both sides; the CTE is materialized, so the files are read once.
TEAM_RECORDS = """
WITH m AS MATERIALIZED (SELECT home_team, away_team, home_score, away_score FROM {matches}),
sides AS (
    SELECT home_team AS team, home_score AS gf, away_score AS ga FROM m
    UNION ALL
    SELECT away_team, away_score, home_score FROM m
)
SELECT team, count(*), count(*) FILTER (gf > ga), count(*) FILTER (gf = ga),
       count(*) FILTER (gf < ga), sum(gf), sum(ga)
FROM sides
GROUP BY team
"""

#: team_ratings: every team with its code (its position in sorted order) and its number of
#: matches n, kept in the connection for the coding query.
RATING_TEAMS = """
CREATE OR REPLACE TEMP TABLE rating_teams AS
SELECT team, (row_number() OVER (ORDER BY team) - 1)::INTEGER AS code, count(*) AS n
FROM (SELECT unnest([home_team, away_team]) AS team FROM {matches})
GROUP BY team
"""
#: Every match as `frames.gradient` takes it: team codes, outcome y, home-ground bonus.
CODED_MATCHES = f"""
SELECT h.code AS home, a.code AS away,
       CASE WHEN home_score > away_score THEN 1.0
            WHEN home_score = away_score THEN 0.5 ELSE 0.0 END AS y,
       CASE WHEN neutral THEN 0.0 ELSE {spec.RATING_HOME_BONUS} END AS bonus
FROM {{matches}}
JOIN rating_teams h ON home_team = h.team
JOIN rating_teams a ON away_team = a.team
"""

_ORDER = ", ".join(spec.STREAK_ORDER)
#: Each team's matches in order as a string of 1 (unbeaten: won or drew) and 0 (lost); its
#: longest unbeaten run is the longest piece between zeros. One ordered aggregate: about half
#: the work of gaps and islands with two row_number windows (docs/engines.md).
UNBEATEN_STREAKS = f"""
WITH m AS MATERIALIZED (
    SELECT {_ORDER}, home_team, away_team, home_score, away_score FROM {{matches}}),
sides AS (
    SELECT home_team AS team, {_ORDER}, home_score >= away_score AS unbeaten FROM m
    UNION ALL
    SELECT away_team, {_ORDER}, away_score >= home_score FROM m
)
SELECT team, list_max(list_transform(
           string_split(string_agg(CASE WHEN unbeaten THEN '1' ELSE '0' END, '' ORDER BY {_ORDER}),
                        '0'),
           lambda run: length(run)))
FROM sides
GROUP BY team
"""

#: Goals that count for a scorer, hash-joined to their matches (every matching pair), counted per
#: tournament and scorer; per tournament the first scorer by most goals, then name (UTF-8's byte
#: order is code-point order). `arg_max(scorer, goals)` would break ties arbitrarily.
TOP_SCORERS = f"""
SELECT tournament, first(scorer ORDER BY goals DESC, scorer), max(goals)
FROM (
    SELECT m.tournament, g.scorer, count(*) AS goals
    FROM {{goals}} AS g JOIN {{matches}} AS m USING ({", ".join(spec.JOIN_KEY)})
    WHERE NOT g.own_goal AND g.scorer <> {_sql_string(spec.UNKNOWN_SCORER)}
    GROUP BY m.tournament, g.scorer
)
GROUP BY tournament
"""


#: Under a memory budget (docs/engines.md, "Under a memory budget"), the forms below replace the
#: two that hold whole inputs at once. Each first types the team names (and for top_scorers the
#: tournaments) as ENUMs made from the matches in one pass: rows then carry a one- or two-byte
#: code instead of a string, so a sort, a hash table or a stored intermediate holds several
#: times more rows per megabyte, and spills less.
TEAM_TYPE, TOURNAMENT_TYPE = "parbench_team", "parbench_tournament"
#: The names the ENUMs are made of, from one pass over the matches.
NAMES = """
SELECT list(DISTINCT home_team), list(DISTINCT away_team), list(DISTINCT tournament)
FROM {matches}
"""

#: unbeaten_streaks under a budget: each match from both sides (`unnest`, one read), sorted by
#: team, then `STREAK_ORDER`. DuckDB cannot spill the ordered `string_agg` of UNBEATEN_STREAKS,
#: which holds every row at once; its ORDER BY spills, and its result is streamed out in batches
#: (`frames.StreamedRuns` finds the runs).
SORTED_SIDES = f"""
WITH sides AS (
    SELECT unnest([home_team::{TEAM_TYPE}, away_team::{TEAM_TYPE}]) AS team, {_ORDER},
           unnest([home_score >= away_score, away_score >= home_score]) AS unbeaten
    FROM {{matches}}
)
SELECT team, unbeaten FROM sides ORDER BY team, {_ORDER}
"""


def _team_codes(cast: str) -> str:
    """Both team columns as codes of the team ENUM, by `cast` (CAST or TRY_CAST)."""
    return ", ".join(f"{cast}({c} AS {TEAM_TYPE}) AS {c}" for c in ("home_team", "away_team"))


#: top_scorers under a budget, in two statements: DuckDB's join and group-by in one pipeline
#: each reserve memory unaware of the other and fail where either alone spills (DuckDB's
#: docs, "Limitations" of larger-than-memory workloads). First the join on team codes into a
#: temporary table of (tournament code, scorer), which DuckDB evicts to its temporary folder; a
#: goal's team that no match has cannot join (TRY_CAST makes it NULL).
SCORING_TABLE = "parbench_scoring"
SCORING_GOALS = f"""
CREATE OR REPLACE TEMP TABLE {SCORING_TABLE} AS
SELECT m.tournament, g.scorer
FROM (SELECT date, {_team_codes("TRY_CAST")}, scorer FROM {{goals}}
      WHERE NOT own_goal AND scorer <> {_sql_string(spec.UNKNOWN_SCORER)}) AS g
JOIN (SELECT date, {_team_codes("CAST")}, tournament::{TOURNAMENT_TYPE} AS tournament
      FROM {{matches}}) AS m
USING ({", ".join(spec.JOIN_KEY)})
"""
#: Then the goals per (tournament, scorer), and per tournament the best by `min` of a
#: (−goals, scorer) struct, which compares field by field: an ordinary aggregate holding one
#: value per group, where `first(... ORDER BY ...)` holds all the tournament's scorers.
TOP_SCORERS_STAGED = f"""
SELECT tournament::VARCHAR, min({{'goals': -goals, 'scorer': scorer}})
FROM (SELECT tournament, scorer, count(*) AS goals FROM {SCORING_TABLE} GROUP BY ALL)
GROUP BY tournament
"""
#: Rows per batch of a streamed result: a few megabytes of codes and flags.
STREAM_ROWS = 2**17


#: DuckDB's rule of thumb for the least memory a thread needs (its docs, "Environment"): below
#: it, a join or an aggregate that spills can still fail to pin the blocks each thread
#: partitions into (measured: docs/measurements/2026-12-06-duckdb-memory-budget.md).
THREAD_MEMORY = 125 * 10**6


def threads_within(workers: int, memory: int) -> int:
    """DuckDB's threads for `workers` under a memory limit of `memory` bytes: one a worker, but
    no more than the limit gives `THREAD_MEMORY` each, and at least one."""
    return max(1, min(workers, memory // THREAD_MEMORY))


def literal(paths: Iterable[str]) -> list[str]:
    """The paths as DuckDB's readers take them literally: they expand globs (`*`, `?`, `[...]`),
    so a folder named `ds[1]` would read `ds1`; each glob character becomes a one-character
    class (`[[]`)."""
    return [re.sub(r"([*?\[{])", r"[\1]", path) for path in paths]


def _check_exists(paths: Iterable[str]) -> None:
    """Name the first missing file: `read_text` skips a missing one without a word."""
    for path in paths:
        if not os.path.isfile(path):
            raise missing_file(path)


def _source(inp: Input, buffer: int | None = None) -> str:
    """The table function that reads `inp`, its paths the statement's parameter `$<kind>`."""
    if inp.kind == TEXT:
        return f"read_text(${inp.kind})"
    if inp.fmt == "parquet":
        return f"read_parquet(${inp.kind})"
    return f"read_csv(${inp.kind}, {_csv_options(inp.kind, buffer)})"


@contextlib.contextmanager
def _reading(inputs: Iterable[Input]) -> Iterator[None]:
    """Turn DuckDB's errors while reading `inputs` into a DataError naming the file (and line);
    running out of memory is one line too."""
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise ParbenchError(f"DuckDB ran out of memory, its limit a share of the memory free "
                            f"when it started (limits.engine_memory): {first_line(exc)}") from exc
    except duckdb.Error as exc:
        inputs = list(inputs)
        for inp in inputs:
            found = validate.find_malformed(inp)
            if found is not None:
                raise found from exc
        raise unreadable([p for inp in inputs for p in inp.paths], exc) from exc


class DuckDBEngine(Engine):
    name = "duckdb"
    in_process = True

    def __init__(self, workers: int = 1, settings: Settings | None = None) -> None:
        super().__init__(workers, settings)
        self.con: duckdb.DuckDBPyConnection | None = None
        self._client: ThreadPoolExecutor | None = None
        self._temp: Path | None = None

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        return Availability(True, versions={"duckdb": duckdb.__version__})

    # ----------------------------------------------------------------- lifecycle

    def config(self, temp: Path) -> dict[str, Any]:
        """The connection's configuration, set as it opens and then locked."""
        memory = limits.engine_memory(budget=self.settings.memory)
        return {
            "threads": threads_within(self.workers, memory),
            "async_threads": 0,  # else 8 more threads, whatever the worker count
            "memory_limit": f"{memory // 2**20}MiB",
            "temp_directory": str(temp),  # spills; the default is .tmp in the working directory
            "autoinstall_known_extensions": False,  # no download, no file under ~/.duckdb
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_persistent_secrets": False,
            "lock_configuration": True,
            # Under a memory budget, results need not keep the order of the input: DuckDB then
            # streams them instead of holding them back to restore it.
            "preserve_insertion_order": self.settings.memory is None,
        }

    def start(self) -> None:
        if self.con is not None:
            return
        self._temp = scratch.folder("duckdb")
        config = self.config(self._temp)
        try:
            self.con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            self.stop()
            raise EngineUnavailable(f"DuckDB did not start: {first_line(exc)}") from exc
        self._client = ThreadPoolExecutor(1, thread_name_prefix="parbench-duckdb")
        (threads,), = self._fetch("SELECT current_setting('threads')")
        if threads != config["threads"]:
            self.stop()
            raise EngineUnavailable(f"DuckDB runs {threads} threads, {config['threads']} asked for")
        super().start()

    def stop(self) -> None:
        if self._client is not None:
            self._client.shutdown()
            self._client = None
        if self.con is not None:
            self.con.close()
            self.con = None
        scratch.remove(self._temp)
        self._temp = None
        super().stop()

    # ----------------------------------------------------------------- queries

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`work(connection)` on the client thread, its result returned; a signal in the waiting
        caller interrupts the query, which ends before the signal's exception goes on."""
        assert self.con is not None and self._client is not None, "start() the engine first"
        con = self.con
        future = self._client.submit(work, con)
        try:
            return future.result()
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as the CLI raises it
            con.interrupt()
            wait([future])
            raise

    def _fetch(self, sql: str, params: dict[str, Any] | None = None,
               fetch: str = "fetchall") -> Any:
        """Run `sql` and return its result (`fetch`: how)."""
        return self._run(lambda con: getattr(con.execute(sql, params), fetch)())

    def _statement(self, template: str, inputs: dict[str, Input]) -> tuple[str, dict[str, Any]]:
        """`template` with each `{kind}` replaced by the reader of that input, and its
        parameters (the paths)."""
        sql = template
        for kind, inp in inputs.items():
            _check_exists(inp.paths)
            sql = sql.replace(f"{{{kind}}}", _source(
                inp, BUDGET_CSV_BUFFER if self.settings.memory else None))
        return sql, {kind: literal(inp.paths) for kind, inp in inputs.items()}

    def _query(self, template: str, fetch: str = "fetchall", **inputs: Input) -> Any:
        """`template` over `inputs` (see `_statement`), run and fetched; errors while reading
        name the file."""
        sql, params = self._statement(template, inputs)
        with _reading(inputs.values()):
            return self._fetch(sql, params, fetch)

    def _stream(self, template: str, consume: Callable[[Any], T], **inputs: Input) -> T:
        """`template` over `inputs`, its result handed to `consume` as a pyarrow
        RecordBatchReader of `STREAM_ROWS` rows a batch: DuckDB produces each batch as it is
        read, so the result is never held whole."""
        sql, params = self._statement(template, inputs)
        with _reading(inputs.values()):
            return self._run(
                lambda con: consume(con.sql(sql, params=params).to_arrow_reader(STREAM_ROWS)))

    @contextlib.contextmanager
    def _enums(self, matches: Input) -> Iterator[None]:
        """The team and tournament ENUMs made from `matches` (`NAMES`), dropped after the
        block, with the table of `SCORING_GOALS` if it was made."""
        try:
            (home, away, tournaments), = self._query(NAMES, matches=matches)
            for name, values in ((TEAM_TYPE, {*home, *away}), (TOURNAMENT_TYPE, {*tournaments})):
                self._fetch(f"CREATE OR REPLACE TEMP TYPE {name} AS ENUM (SELECT unnest($names))",
                            {"names": sorted(values - {None})})
            yield
        finally:
            self._fetch(f"DROP TABLE IF EXISTS {SCORING_TABLE}")
            for name in (TEAM_TYPE, TOURNAMENT_TYPE):
                self._fetch(f"DROP TYPE IF EXISTS {name}")

    # ----------------------------------------------------------------- workloads

    def wordcount(self, text: Input) -> spec.WordCounts:
        return dict(self._query(WORDCOUNT, text=text))

    def mean_home_score(self, matches: Input) -> float:
        (mean,), = self._query("SELECT avg(home_score) FROM {matches}", matches=matches)
        return mean

    def home_advantage(self, matches: Input) -> int:
        (total,), = self._query("SELECT sum(sign(home_score - away_score)) FROM {matches} "
                                "WHERE NOT neutral", matches=matches)
        return int(total or 0)

    def team_records(self, matches: Input) -> spec.TeamRecords:
        rows = self._query(TEAM_RECORDS, matches=matches)
        return {team: spec.TeamRecord(*map(int, rest)) for team, *rest in rows}

    def team_ratings(self, matches: Input) -> spec.Ratings:
        """Teams and coded matches by two queries, the coded columns fetched once as numpy
        arrays; the passes in numpy (`frames`): an UPDATE per pass in the connection pays a
        statement's fixed cost every pass, which numpy's two bincounts do not; only on large
        data and many threads would the UPDATE's use of every thread make up for it
        (docs/engines.md)."""
        try:
            self._query(RATING_TEAMS, matches=matches)
            coded = pd.DataFrame(self._query(CODED_MATCHES, "fetchnumpy", matches=matches),
                                 copy=False)
            teams = self._fetch("SELECT team, n FROM rating_teams ORDER BY code",
                                fetch="fetchnumpy")
        finally:
            self._fetch("DROP TABLE IF EXISTS rating_teams")
        ratings = np.zeros(len(teams["n"]))
        for _ in range(spec.RATING_PASSES):
            ratings = frames.step(ratings, frames.gradient(coded, ratings), teams["n"])
        return frames.ratings_answer(pd.Index(teams["team"]), ratings)

    def unbeaten_streaks(self, matches: Input) -> spec.Streaks:
        """One ordered `string_agg` per team; under a memory budget, the sides sorted by DuckDB
        (spilling) and streamed to `frames.StreamedRuns`."""
        if self.settings.memory is None:
            return dict(self._query(UNBEATEN_STREAKS, matches=matches))
        with self._enums(matches):
            return self._stream(SORTED_SIDES, _streamed_runs, matches=matches)

    def top_scorers(self, goals: Input, matches: Input) -> spec.TopScorers:
        """One hash join and two group-bys; under a memory budget, the join on team codes
        stored first, then the group-bys."""
        if self.settings.memory is None:
            rows = self._query(TOP_SCORERS, goals=goals, matches=matches)
            return {tournament: (scorer, n) for tournament, scorer, n in rows}
        with self._enums(matches):
            self._query(SCORING_GOALS, goals=goals, matches=matches)
            rows = self._query(TOP_SCORERS_STAGED)
        return {tournament: (best["scorer"], -best["goals"]) for tournament, best in rows}


def _streamed_runs(reader: Any) -> spec.Streaks:
    """The longest unbeaten runs of SORTED_SIDES' batches: team as ENUM codes (an Arrow
    dictionary array), unbeaten as booleans."""
    runs = frames.StreamedRuns()
    for batch in reader:
        team, unbeaten = batch.column(0), batch.column(1)
        runs.add(team.indices.to_numpy(), team.dictionary.to_pylist(),
                 unbeaten.to_numpy(zero_copy_only=False))
    return runs.best
