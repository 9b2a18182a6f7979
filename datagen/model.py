"""The real data that synthetic data imitates, as shipped in `datagen/tutorial/`.

* The text model: the novel's vocabulary with its word counts (`vocabulary.tsv`) and the number
  of words on its non-empty lines (`line_lengths.tsv`), both derived once from *A Tale of Two
  Cities* (`python -m datagen.model NOVEL` rewrites them).
* The match table: `match_results.csv`, parsed into numpy arrays, plus what the synthetic
  generator needs to write its rows fast (each real row's CSV bytes, a typed Arrow table).
* The goal table: `goalscorers.csv`, parsed, and the facts synthetic goals copy from it
  (`GoalFacts`: which matches have goal rows, the rates of own goals, penalties and unknown
  scorers and minutes, the minute distribution, the parts of the scorers' names).

Everything is loaded lazily and cached per process, so pool workers load it once.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

TUTORIAL_DIR = Path(__file__).resolve().parent / "tutorial"
MATCHES_FILE = "match_results.csv"
GOALS_FILE = "goalscorers.csv"
TEXT_SAMPLES = tuple(f"text_sample_{i}.txt" for i in range(7))
NOVEL_FILE = "a_tale_of_two_cities_pg98.txt"
VOCABULARY_FILE = "vocabulary.tsv"
LINE_LENGTHS_FILE = "line_lengths.tsv"
README_FILE = "README.md"

WORD_RE = re.compile(r"[a-z]+")
NOVEL_START = "*** START OF"
NOVEL_END = "*** END OF"


# --------------------------------------------------------------------------- text model


def novel_body(text: str) -> list[str]:
    """The novel's lines strictly between the `*** START OF` and `*** END OF` lines."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(NOVEL_START))
    end = next(i for i, line in enumerate(lines) if line.startswith(NOVEL_END))
    return lines[start + 1:end]


def derive_text_model(text: str) -> tuple[Counter[str], Counter[int]]:
    """(word -> count, words-per-line -> lines) of the novel; lines without words are left out."""
    words: Counter[str] = Counter()
    lengths: Counter[int] = Counter()
    for line in novel_body(text):
        tokens = WORD_RE.findall(line.lower())
        if tokens:
            words.update(tokens)
            lengths[len(tokens)] += 1
    return words, lengths


def write_text_model(novel: Path, folder: Path = TUTORIAL_DIR) -> None:
    """Derive the text model from the novel and write its two TSV files into `folder`."""
    words, lengths = derive_text_model(novel.read_text(encoding="utf-8"))
    vocab = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
    (folder / VOCABULARY_FILE).write_text(
        "".join(f"{w}\t{c}\n" for w, c in vocab), encoding="utf-8", newline="\n")
    (folder / LINE_LENGTHS_FILE).write_text(
        "".join(f"{n}\t{c}\n" for n, c in sorted(lengths.items())), encoding="utf-8",
        newline="\n")


def _read_tsv(path: Path) -> list[tuple[str, int]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, count = line.split("\t")
        rows.append((key, int(count)))
    return rows


@dataclass(frozen=True)
class TextModel:
    """The novel's vocabulary (most frequent first) and line-length histogram."""

    words: tuple[str, ...]
    counts: np.ndarray  # int64, per word
    line_lengths: np.ndarray  # int64, words on a line
    line_counts: np.ndarray  # int64, lines of that length

    @property
    def total_words(self) -> int:
        return int(self.counts.sum())

    @cached_property
    def line_probabilities(self) -> np.ndarray:
        return self.line_counts / self.line_counts.sum()

    @cached_property
    def mean_line_length(self) -> float:
        return float((self.line_lengths * self.line_counts).sum() / self.line_counts.sum())

    @cached_property
    def bytes_per_word(self) -> float:
        """Mean bytes a word takes in a text file, its separator included."""
        lengths = np.array([len(w) + 1 for w in self.words], dtype=np.float64)
        return float((lengths * self.counts).sum() / self.counts.sum())

    @cached_property
    def word_table(self):
        """Arrow binary array of 2V strings: word i then a space at i, then LF at V + i."""
        from datagen import arrowbuf

        encoded = [w.encode("ascii") for w in self.words]
        return arrowbuf.binaries([w + b" " for w in encoded] + [w + b"\n" for w in encoded])


@cache
def text_model(folder: Path = TUTORIAL_DIR) -> TextModel:
    vocab = _read_tsv(folder / VOCABULARY_FILE)
    lengths = _read_tsv(folder / LINE_LENGTHS_FILE)
    return TextModel(
        words=tuple(w for w, _ in vocab),
        counts=np.array([c for _, c in vocab], dtype=np.int64),
        line_lengths=np.array([int(n) for n, _ in lengths], dtype=np.int64),
        line_counts=np.array([c for _, c in lengths], dtype=np.int64),
    )


# --------------------------------------------------------------------------- match table


@dataclass(frozen=True)
class MatchTable:
    """A results table in the tutorial's columns, as numpy arrays (teams as ids into `teams`)."""

    ids: np.ndarray  # int64 match ids, the CSV's unnamed first column
    dates: np.ndarray  # datetime64[D]
    date_text: tuple[str, ...]  # the ISO dates as written
    teams: tuple[str, ...]  # sorted distinct home and away teams
    home: np.ndarray  # int32 team ids
    away: np.ndarray
    home_score: np.ndarray  # int64
    away_score: np.ndarray
    tournament: tuple[str, ...]
    city: tuple[str, ...]
    country: tuple[str, ...]
    neutral: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.home)

    @cached_property
    def days(self) -> np.ndarray:
        """The dates as int64 days since 1970-01-01."""
        return self.dates.astype(np.int64)

    @cached_property
    def tournaments(self) -> tuple[str, ...]:
        """The distinct tournaments, sorted."""
        return tuple(sorted(set(self.tournament)))

    @cached_property
    def tournament_ids(self) -> np.ndarray:
        """Each row's tournament as an int64 id into `tournaments`."""
        ids = {t: i for i, t in enumerate(self.tournaments)}
        return np.array([ids[t] for t in self.tournament], dtype=np.int64)

    @cached_property
    def rest_bytes(self) -> list[bytes]:
        """Each row's CSV bytes after its date, from `,home_team` to the LF, as the csv
        module writes them (minimal quoting)."""
        from workloads.layout import MATCH_FALSE, MATCH_TRUE

        home = [self.teams[i] for i in self.home]
        away = [self.teams[i] for i in self.away]
        rows = zip(home, away, map(str, self.home_score.tolist()),
                   map(str, self.away_score.tolist()), self.tournament, self.city, self.country,
                   [MATCH_TRUE if n else MATCH_FALSE for n in self.neutral.tolist()], strict=True)
        fields = {*self.teams, *self.tournament, *self.city, *self.country}
        if not any(c in f for f in fields for c in ',"\r\n'):
            # no field needs quoting: the csv module would write the fields as they are
            return [("," + ",".join(row) + "\n").encode("utf-8") for row in rows]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        out = []
        for row in rows:
            buf.seek(0)
            buf.truncate()
            writer.writerow(row)
            out.append(("," + buf.getvalue()).encode("utf-8"))
        return out

    @cached_property
    def rest_pieces(self):
        """`rest_bytes` of every row as an Arrow binary array."""
        from datagen import arrowbuf

        return arrowbuf.binaries(self.rest_bytes)

    def arrow(self):
        """The rows as a typed Arrow table with `workloads.layout.PARQUET_COLUMNS`, string columns
        dictionary-encoded (fast to `take` and to write as Parquet: write them with
        `store_schema=False` so that they read back as plain strings)."""
        import pyarrow as pa

        from datagen import arrowbuf
        from workloads.layout import PARQUET_COLUMNS

        columns = [
            arrowbuf.ints(self.ids),
            arrowbuf.dates(self.dates),
            arrowbuf.dictionary(self.home, self.teams),
            arrowbuf.dictionary(self.away, self.teams),
            arrowbuf.ints(self.home_score.astype(np.int32)),
            arrowbuf.ints(self.away_score.astype(np.int32)),
            arrowbuf.encode(self.tournament),
            arrowbuf.encode(self.city),
            arrowbuf.encode(self.country),
            arrowbuf.bools(self.neutral),
        ]
        return pa.table(columns, names=list(PARQUET_COLUMNS))


class TableError(ValueError):
    """A results table that does not have the tutorial's form."""


def parse_matches(data: bytes, source: str = MATCHES_FILE) -> MatchTable:
    """Parse a results table in the tutorial's CSV form (header, then one row per match)."""
    from workloads.layout import CSV_COLUMNS, MATCH_FALSE, MATCH_TRUE

    text = data.decode("utf-8")
    if '"' in text or "\r" in text:
        reader = csv.reader(io.StringIO(text, newline=""))
    else:  # no quoting and no CR: what the csv module would read is plain splitting
        reader = iter([line.split(",") for line in text.split("\n")[:-1]])
    header = next(reader, None)
    if header is None or tuple(header) != CSV_COLUMNS:
        raise TableError(f"{source}: header is {header!r}, expected {list(CSV_COLUMNS)}")
    rows = list(reader)
    if not rows or any(len(r) != len(CSV_COLUMNS) for r in rows):
        raise TableError(f"{source}: no rows, or rows without {len(CSV_COLUMNS)} fields")
    index, date, home, away, hs, as_, tournament, city, country, neutral = zip(*rows, strict=True)
    if not set(neutral) <= {MATCH_TRUE, MATCH_FALSE}:
        raise TableError(f"{source}: neutral must be {MATCH_TRUE} or {MATCH_FALSE}")
    teams = tuple(sorted(set(home) | set(away)))
    ids = {t: i for i, t in enumerate(teams)}
    return MatchTable(
        ids=np.array(index, dtype=np.int64),
        dates=np.array(date, dtype="datetime64[D]"),
        date_text=tuple(date),
        teams=teams,
        home=np.array([ids[t] for t in home], dtype=np.int32),
        away=np.array([ids[t] for t in away], dtype=np.int32),
        home_score=np.array(hs, dtype=np.int64),
        away_score=np.array(as_, dtype=np.int64),
        tournament=tournament,
        city=city,
        country=country,
        neutral=np.array([n == MATCH_TRUE for n in neutral], dtype=bool),
    )


@cache
def csv_row_bytes(folder: Path = TUTORIAL_DIR) -> float:
    """Mean bytes of a real CSV row without its index field (for size estimates)."""
    data = (folder / MATCHES_FILE).read_bytes()
    rows = data.count(b"\n") - 1
    index = sum(len(str(i)) for i in range(rows))
    return (len(data) - data.index(b"\n") - 1 - index) / rows


@cache
def real_matches(folder: Path = TUTORIAL_DIR) -> MatchTable:
    """The tutorial's `match_results.csv`, parsed."""
    return parse_matches((folder / MATCHES_FILE).read_bytes())


# --------------------------------------------------------------------------- goal table


@dataclass(frozen=True)
class GoalTable:
    """A goal table in the real file's columns, as arrays (teams as ids into `teams`)."""

    date_text: tuple[str, ...]  # the ISO dates as written
    teams: tuple[str, ...]  # sorted distinct names of home_team, away_team and team
    home: np.ndarray  # int32 team ids
    away: np.ndarray
    team: np.ndarray  # the side credited
    scorer: tuple[str, ...]  # "NA": unknown
    minute: np.ndarray  # int64, -1 where NA
    own_goal: np.ndarray  # bool
    penalty: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.home)

    @cached_property
    def days(self) -> np.ndarray:
        """The dates as int64 days since 1970-01-01."""
        return np.array(self.date_text, dtype="datetime64[D]").astype(np.int64)

    def team_ids_in(self, teams: Sequence[str]) -> np.ndarray:
        """For each of `self.teams`, its index in `teams`, or -1."""
        index = {t: i for i, t in enumerate(teams)}
        return np.array([index.get(t, -1) for t in self.teams], dtype=np.int64)


def parse_goals(data: bytes, source: str = GOALS_FILE) -> GoalTable:
    """Parse a goal table in the real file's CSV form (header, then one row per goal)."""
    from workloads.layout import GOAL_COLUMNS, GOAL_FALSE, GOAL_TRUE, MISSING_MINUTE

    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != GOAL_COLUMNS:
        raise TableError(f"{source}: header is {header!r}, expected {list(GOAL_COLUMNS)}")
    rows = list(reader)
    if any(len(r) != len(GOAL_COLUMNS) for r in rows):
        raise TableError(f"{source}: rows without {len(GOAL_COLUMNS)} fields")
    if not rows:
        columns: list[tuple[str, ...]] = [()] * len(GOAL_COLUMNS)
    else:
        columns = list(zip(*rows, strict=True))
    date, home, away, team, scorer, minute, own_goal, penalty = columns
    if not set(own_goal) | set(penalty) <= {GOAL_TRUE, GOAL_FALSE}:
        raise TableError(f"{source}: own_goal and penalty must be {GOAL_TRUE} or {GOAL_FALSE}")
    try:
        minutes = np.array([-1 if m == MISSING_MINUTE else int(m) for m in minute], dtype=np.int64)
    except ValueError:
        raise TableError(f"{source}: minute must be an integer or {MISSING_MINUTE}") from None
    teams = tuple(sorted(set(home) | set(away) | set(team)))
    ids = {t: i for i, t in enumerate(teams)}
    return GoalTable(
        date_text=tuple(date),
        teams=teams,
        home=np.array([ids[t] for t in home], dtype=np.int32),
        away=np.array([ids[t] for t in away], dtype=np.int32),
        team=np.array([ids[t] for t in team], dtype=np.int32),
        scorer=tuple(scorer),
        minute=minutes,
        own_goal=np.array([f == GOAL_TRUE for f in own_goal], dtype=bool),
        penalty=np.array([f == GOAL_TRUE for f in penalty], dtype=bool),
    )


@cache
def real_goals(folder: Path = TUTORIAL_DIR) -> GoalTable:
    """The shipped `goalscorers.csv`, parsed."""
    return parse_goals((folder / GOALS_FILE).read_bytes())


def join_keys(days: np.ndarray, home: np.ndarray, away: np.ndarray, n_teams: int) -> np.ndarray:
    """One int64 per (date, home_team, away_team), team ids below `n_teams`: equal iff equal."""
    n = np.int64(n_teams)
    return (np.asarray(days, np.int64) * n + np.asarray(home, np.int64)) * n + np.asarray(away,
                                                                                        np.int64)


def goal_match_keys(goals: GoalTable, matches: MatchTable) -> tuple[np.ndarray, np.ndarray]:
    """(goal keys, match keys) in one key space; a goal whose team the match table does not
    name gets a key no match has."""
    n = len(matches.teams)
    in_matches = goals.team_ids_in(matches.teams)
    home, away = in_matches[goals.home], in_matches[goals.away]
    keys = join_keys(goals.days, np.maximum(home, 0), np.maximum(away, 0), n)
    unknown = (home < 0) | (away < 0)
    keys[unknown] = join_keys(matches.days.min() - 1, 0, 0, n)  # before the first match
    return keys, join_keys(matches.days, matches.home, matches.away, n)


#: Characters that would make the csv module quote a field: synthetic names are built from
#: parts of real names that need no quoting.
CSV_SPECIAL = ',"\r\n'


@dataclass(frozen=True)
class GoalFacts:
    """What synthetic goals copy from the real goal file, all measured on it at load time.

    Rates are conditional the way the real file is: no goal is both an own goal and a penalty,
    and every goal with an unknown scorer has an unknown minute too.
    """

    recorded: np.ndarray  # bool per real match row: the real file has goals of that match
    own_goal_rate: float  # own goals / all goals
    penalty_rate: float  # penalties / goals that are not own goals
    unknown_scorer_rate: float  # scorer NA / goals neither own goals nor penalties
    unknown_minute_rate: float  # minute NA / goals with a known scorer
    minute_cdf: np.ndarray  # float64, P(minute <= m) for m = 1, 2, ... over known minutes
    team_goals: np.ndarray  # int64 per match team: goals it scored in recorded matches
    heaps_beta: float  # slope of log(distinct scorers) on log(goals) over the teams
    tau_home: np.ndarray  # float64 per real match row: where its date lies in the span of its
    tau_away: np.ndarray  # team's matches with goal records, 0 to 1, for the home and away side
    team_years: np.ndarray  # float64 per match team: that span in years (at least a day)
    given: tuple[str, ...]  # the first words of the real scorer names (sorted, CSV-safe)
    family: tuple[str, ...]  # the rest of those names (sorted, CSV-safe)
    team_family: tuple[np.ndarray, ...]  # per match team: ids into `family` of its players


def _career_position(real: MatchTable, recorded: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tau of the home side, tau of the away side, years per team): where each row's date lies
    in the span of dates of its team's matches with goal records, 0 at the first, 1 at the last,
    and how many years that span is."""
    n_teams = len(real.teams)
    first = np.full(n_teams, np.iinfo(np.int64).max)
    last = np.full(n_teams, np.iinfo(np.int64).min)
    for side in (real.home, real.away):
        np.minimum.at(first, side[recorded], real.days[recorded])
        np.maximum.at(last, side[recorded], real.days[recorded])
    span = np.maximum(last - first, 1).astype(np.float64)
    span[last < first] = 1.0  # a team without records: tau is never used

    def tau(team: np.ndarray) -> np.ndarray:
        return np.clip((real.days - first[team]) / span[team], 0.0, 1.0)

    return tau(real.home), tau(real.away), span / 365.25


def goal_facts(matches: MatchTable, goals: GoalTable) -> GoalFacts:
    """Measure what synthetic goals copy from a real match table and goal table."""
    from workloads.spec import UNKNOWN_SCORER

    goal_keys, match_keys = goal_match_keys(goals, matches)
    recorded = np.isin(match_keys, goal_keys)
    og, pen = goals.own_goal, goals.penalty
    unknown = np.array([s == UNKNOWN_SCORER for s in goals.scorer], dtype=bool)
    minutes = goals.minute[goals.minute > 0]
    cdf = np.cumsum(np.bincount(minutes)[1:]) / len(minutes)
    team_goals = np.bincount(np.concatenate([matches.home, matches.away]),
                             np.concatenate([matches.home_score * recorded,
                                             matches.away_score * recorded]),
                             minlength=len(matches.teams)).astype(np.int64)
    # the players: a goal's scorer plays for the side credited, or the other side (own goal)
    other = np.where(goals.team == goals.home, goals.away, goals.home)
    player_team = goals.team_ids_in(matches.teams)[np.where(og, other, goals.team)]
    known = ~unknown & (player_team >= 0)
    by_team: dict[int, set[str]] = {}
    goals_of: np.ndarray = np.bincount(player_team[known], minlength=len(matches.teams))
    for t, name in zip(player_team[known].tolist(), np.array(goals.scorer)[known], strict=True):
        by_team.setdefault(t, set()).add(str(name))
    teams = sorted(by_team)
    distinct = np.array([len(by_team[t]) for t in teams], dtype=np.float64)
    beta = float(np.polyfit(np.log(goals_of[teams]), np.log(distinct), 1)[0])
    safe = {n for names in by_team.values() for n in names
            if not any(c in n for c in CSV_SPECIAL) and n == n.strip()}
    given = tuple(sorted({n.split(" ", 1)[0] for n in safe}))
    family = tuple(sorted({n.split(" ", 1)[1] for n in safe if " " in n}))
    family_id = {f: i for i, f in enumerate(family)}
    team_family = tuple(
        np.array(sorted({family_id[n.split(" ", 1)[1]] for n in by_team.get(t, ())
                         if n in safe and " " in n}), dtype=np.int64)
        for t in range(len(matches.teams)))
    tau_home, tau_away, team_years = _career_position(matches, recorded)
    return GoalFacts(
        recorded=recorded,
        own_goal_rate=float(og.mean()),
        penalty_rate=float(pen[~og].mean()),
        unknown_scorer_rate=float(unknown[~og & ~pen].mean()),
        unknown_minute_rate=float((goals.minute[~unknown] < 0).mean()),
        minute_cdf=cdf,
        team_goals=team_goals,
        heaps_beta=beta,
        tau_home=tau_home,
        tau_away=tau_away,
        team_years=team_years,
        given=given,
        family=family,
        team_family=team_family,
    )


@cache
def real_goal_facts() -> GoalFacts:
    """The facts of the shipped tables (cached per process)."""
    return goal_facts(real_matches(), real_goals())


def main(argv: list[str] | None = None) -> int:
    """`python -m datagen.model NOVEL [FOLDER]`: rewrite the text model from the novel."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        print("usage: python -m datagen.model NOVEL.txt [FOLDER]", file=sys.stderr)
        return 2
    folder = Path(args[1]) if len(args) == 2 else TUTORIAL_DIR
    write_text_model(Path(args[0]), folder)
    model = text_model.__wrapped__(folder)
    print(f"{folder}: {len(model.words)} words, {model.total_words} tokens, "
          f"{int(model.line_counts.sum())} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
