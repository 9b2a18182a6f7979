"""DuckDB: every workload one SQL statement (or a few) over the files, on one in-memory connection.

`workers` is DuckDB's `threads` setting: the engine's client thread plus `workers - 1` DuckDB
threads run every query (asynchronous I/O threads off), so N workers are N threads. The
connection is opened in `start` with its whole configuration — threads, a memory limit from
`limits.engine_memory`, a private temporary folder for spills, extensions neither installed nor
loaded on demand — locked, and closed in `stop`.

Queries run on the engine's client thread while the calling thread waits: a Ctrl-C or SIGTERM
then reaches the caller at once, which interrupts the query (`interrupt()`) and re-raises. Run on
the caller's thread, DuckDB notices only SIGINT, at its own pace, and turns it into a
RuntimeError. Choices below are measured: see docs/engines.md.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import duckdb

from workloads import limits, scratch, spec
from workloads.dataset import Input
from workloads.engines.base import Availability, Engine
from workloads.errors import EngineUnavailable
from workloads.layout import CSV_COLUMNS, TEXT
from workloads.readers import missing_file, unreadable
from workloads.settings import Settings
from workloads.validate import find_malformed

#: The name of the match CSV's unnamed first column, the match id.
MATCH_ID = "match_id"
#: DuckDB types of the match CSV's columns; the others are VARCHAR.
_SQL_TYPES = {MATCH_ID: "BIGINT", "date": "DATE", "home_score": "INTEGER",
              "away_score": "INTEGER", "neutral": "BOOLEAN"}
CSV_TYPES = {name or MATCH_ID: _SQL_TYPES.get(name or MATCH_ID, "VARCHAR") for name in CSV_COLUMNS}


def _struct(values: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in values.items()) + "}"


#: read_csv without sniffing: the tutorial's header, RFC 4180 quotes, the types above.
CSV_OPTIONS = (f"header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
               f"columns = {_struct(CSV_TYPES)}")


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
#: generated text, is split by `string_split` on ' ', any other by the regular expression, which
#: costs 2.7x more (docs/engines.md); "" comes from leading, trailing or repeated separators.
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

#: team_ratings, kept in the connection: every team with its code (its position in sorted order),
#: its number of matches n and its rating; then every match coded for the passes.
RATING_TEAMS = """
CREATE OR REPLACE TEMP TABLE rating_teams AS
SELECT team, (row_number() OVER (ORDER BY team) - 1)::INTEGER AS code, count(*) AS n,
       0.0::DOUBLE AS rating
FROM (SELECT unnest([home_team, away_team]) AS team FROM {matches})
GROUP BY team
"""
RATING_MATCHES = f"""
CREATE OR REPLACE TEMP TABLE rating_matches AS
SELECT h.code AS home, a.code AS away,
       CASE WHEN home_score > away_score THEN 1.0
            WHEN home_score = away_score THEN 0.5 ELSE 0.0 END AS y,
       CASE WHEN neutral THEN 0.0 ELSE {spec.RATING_HOME_BONUS} END AS bonus
FROM {{matches}}
JOIN rating_teams h ON home_team = h.team
JOIN rating_teams a ON away_team = a.team
"""
#: One pass: e per match from the ratings the pass starts with, Σ e per team (+e at home, −e
#: away), then every rating moves at once.
RATING_PASS = f"""
UPDATE rating_teams SET rating = rating + {spec.RATING_STEP} * g.g / n
FROM (
    WITH e AS (
        SELECT home, away, y - 1 / (1 + exp(-(h.rating - a.rating + bonus))) AS e
        FROM rating_matches
        JOIN rating_teams h ON home = h.code
        JOIN rating_teams a ON away = a.code)
    SELECT code, sum(g) AS g
    FROM (SELECT home AS code, sum(e) AS g FROM e GROUP BY home
          UNION ALL
          SELECT away, -sum(e) FROM e GROUP BY away)
    GROUP BY code
) AS g
WHERE rating_teams.code = g.code
"""


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


def _source(inp: Input) -> str:
    """The table function that reads `inp`, its paths the statement's parameter `$<kind>`."""
    if inp.kind == TEXT:
        return f"read_text(${inp.kind})"
    if inp.fmt == "parquet":
        return f"read_parquet(${inp.kind})"
    return f"read_csv(${inp.kind}, {CSV_OPTIONS})"


@contextlib.contextmanager
def _reading(inputs: Iterable[Input]) -> Iterator[None]:
    """Turn DuckDB's errors while reading `inputs` into a DataError naming the file (and line)."""
    try:
        yield
    except duckdb.Error as exc:
        inputs = list(inputs)
        for inp in inputs:
            found = find_malformed(inp)
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
        return {
            "threads": self.workers,
            "async_threads": 0,  # else 8 more threads, whatever the worker count
            "memory_limit": f"{limits.engine_memory() // 2**20}MiB",
            "temp_directory": str(temp),  # spills; the default is .tmp in the working directory
            "autoinstall_known_extensions": False,  # no download, no file under ~/.duckdb
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_persistent_secrets": False,
            "lock_configuration": True,
        }

    def start(self) -> None:
        if self.con is not None:
            return
        self._temp = scratch.folder("duckdb")
        self.con = duckdb.connect(":memory:", config=self.config(self._temp))
        self._client = ThreadPoolExecutor(1, thread_name_prefix="parbench-duckdb")
        (threads,), = self._fetch("SELECT current_setting('threads')")
        if threads != self.workers:
            self.stop()
            raise EngineUnavailable(f"DuckDB runs {threads} threads, {self.workers} asked for")
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

    def _fetch(self, sql: str, params: dict[str, Any] | None = None,
               fetch: str = "fetchall") -> Any:
        """Run `sql` on the client thread and return its result (`fetch`: how); a signal in the
        waiting caller interrupts the query, which ends before the signal's exception goes on."""
        assert self.con is not None and self._client is not None, "start() the engine first"
        con = self.con
        future = self._client.submit(lambda: getattr(con.execute(sql, params), fetch)())
        try:
            return future.result()
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as the CLI raises it
            con.interrupt()
            wait([future])
            raise

    def _query(self, template: str, fetch: str = "fetchall", **inputs: Input) -> Any:
        """`template` with each `{kind}` replaced by the reader of that input (its paths a
        parameter), run and fetched; errors while reading name the file."""
        sql = template
        for kind, inp in inputs.items():
            sql = sql.replace(f"{{{kind}}}", _source(inp))
        params = {kind: literal(inp.paths) for kind, inp in inputs.items()}
        for inp in inputs.values():
            _check_exists(inp.paths)
        with _reading(inputs.values()):
            return self._fetch(sql, params, fetch)

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
        """Teams and coded matches in temporary tables (each statement reads the files), then
        one UPDATE per pass: the passes run in parallel, numpy's would not (docs/engines.md)."""
        try:
            self._query(RATING_TEAMS, matches=matches)
            self._query(RATING_MATCHES, matches=matches)
            for _ in range(spec.RATING_PASSES):
                self._fetch(RATING_PASS)
            return dict(self._fetch("SELECT team, rating FROM rating_teams"))
        finally:
            self._fetch("DROP TABLE IF EXISTS rating_matches; DROP TABLE IF EXISTS rating_teams")
