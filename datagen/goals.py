"""Synthetic goals: one row per goal, consistent with the synthetic matches, like the real file.

**Which matches.** A synthetic match has goal rows exactly when the real row it copies has goal
rows in the real file (12,965 of its 44,060 rows, in 13 tournaments), so the share of matches
with goal records follows the real one per tournament, and per era. Its goals agree with its
score: `home_score` rows credited to the home side (`team`), `away_score` to the away side, own
goals included.

**Each goal**, with the rates measured on the real file (`model.GoalFacts`): an own goal (1.75%
of goals), else a penalty (6.66% of the rest), else one whose scorer is unknown (0.13% of the
rest; the scorer is then the string `NA` and the minute `NA`). A known scorer's minute is `NA`
for 0.51% of goals, else drawn from the real minutes (1 to 122).

**Scorers.** Each team has a pool of `POOL_SCALE * g**beta` players ordered by career, g the
goals its players score in the dataset (the team's goals in the real matches with goal records,
times the scale) and beta the slope of log(distinct scorers) on log(goals) over the real file's
teams (0.75): the pools grow with the scale as scorers grow from a small team to a big one in
the real file. A goal on a date is scored by one of the players whose `CAREER_YEARS`-year careers
cover it (the pool spread evenly over the years of the team's matches with goal records), with
probability proportional to an ability drawn once per player, Pareto with tail index 1 and
capped at `ABILITY_MAX`: most players score once, a few dozens of times, as in the real file,
and no one scores most of a team's goals. An own goal's scorer is a player of the other side.
A player's name is the first word of one real scorer's name and the rest of the name of a real
scorer of the same team, chosen by a hash of the player: names look like the team's and are the
same in every part. The three constants were set against the real file at scale 1 (seed 2022):
13,485 distinct scorer names (real: 13,377), 47.4% of them with one goal (real 47.5%), the most
goals of one player 48 (real 91), of one player of Brazil, Germany, Argentina, Mexico and Japan
35 to 48 (real 30 to 54), the World Cup's top scorer 14 (real 16). Distinct names grow 6.9
times from scale 1 to 10 (10**0.75 = 5.6: in a bigger pool more players get to score).

**Files.** The task that makes match part k draws its part's goals and keeps them in a scratch
file, sorted by (credited team, match, minute). Once every match part is done, goal part g
gathers from every scratch file the goals of a range of (team, match part) cells (`cut`): goal
files are ordered by team, then date and match, and cut at other places than the match files,
so a join of the two must move rows between workers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from datagen import answers, arrowbuf, model, seeding
from datagen.store import write_file
from workloads.layout import (
    GOAL_COLUMNS,
    GOAL_FALSE,
    GOAL_TRUE,
    GOALS,
    MISSING_MINUTE,
    part_name,
)
from workloads.spec import UNKNOWN_SCORER

if TYPE_CHECKING:
    from datagen.synthetic import Plan

#: Pool size per team: POOL_SCALE * goals**beta players (calibrated: scale 1 has about as many
#: distinct scorers as the real file).
POOL_SCALE = 3.0
#: A player's career, in years: the players active at a date are the share CAREER_YEARS / (the
#: team's years with goal records) of its pool, at least SQUAD_MIN.
CAREER_YEARS = 8.0
SQUAD_MIN = 3
#: Abilities are Pareto-distributed (tail index 1: P(ability > a) = 1/a for a >= 1), capped
#: here so that no player scores most of his team's goals.
ABILITY_MAX = 50.0
#: Parquet bytes of a goal part: about this much plus so much per goal (measured; for disk-space
#: estimates and the progress bar only).
PARQUET_PART_BYTES = 40_000
PARQUET_ROW_BYTES = 11.0
#: The folder, inside a dataset being written, of the goals drawn but not yet cut into files.
SCRATCH = ".goals-scratch"

CSV_HEADER = (",".join(GOAL_COLUMNS) + "\n").encode("ascii")
#: Only these Parquet columns get min/max statistics (see `synthetic.PARQUET_STATISTICS`).
PARQUET_STATISTICS = ("date", "minute", "own_goal", "penalty")
#: A drawn goal as the scratch files keep it: its day; side, 2 * (the real match row copied) +
#: (1 if credited to the away side); the scoring player (one past the last for NA); minute (0:
#: NA); flags, 2 for an own goal + 1 for a penalty.
FRAGMENT = np.dtype([("day", "<i4"), ("side", "<i4"), ("player", "<i4"), ("minute", "u1"),
                     ("flags", "u1")])


@cache
def goals_per_match() -> float:
    """Goals per match of the real table in the matches with goal records (the expectation)."""
    real, facts = model.real_matches(), model.real_goal_facts()
    return float(((real.home_score + real.away_score) * facts.recorded).sum() / len(real))


@cache
def csv_row_bytes() -> float:
    """Mean bytes of a real goal CSV row (for size estimates)."""
    data = (model.TUTORIAL_DIR / model.GOALS_FILE).read_bytes()
    return (len(data) - len(CSV_HEADER)) / (data.count(b"\n") - 1)


# --------------------------------------------------------------------------- scorers


@dataclass(frozen=True)
class Pools:
    """Every team's players: team t's are start[t]..start[t+1]-1, in career order."""

    start: np.ndarray  # int64, one more than teams
    squad: np.ndarray  # int64 per team: players active at once
    cum: np.ndarray  # float64: cumulative abilities, one more than players
    name: np.ndarray  # int64 per player: given * len(family) + family

    def draw(self, team: np.ndarray, tau: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A player of each team at each point tau in [0, 1] of its history, by ability (u:
        uniform draws). Fastest with the goals ordered by team and date: the searches then go
        through the pool nearly in order."""
        size = self.start[team + 1] - self.start[team]
        squad = self.squad[team]
        first = self.start[team] + np.minimum((tau * (size - squad + 1)).astype(np.int64),
                                              size - squad)
        lo, hi = self.cum[first], self.cum[first + squad]
        player = np.searchsorted(self.cum, lo + u * (hi - lo), side="right") - 1
        return np.clip(player, first, first + squad - 1)


@cache
def pools(seed: int, scale: float) -> Pools:
    """The players of a dataset (cached per process: every part draws from the same)."""
    facts = model.real_goal_facts()
    goals = np.maximum(facts.team_goals * scale, 1.0)
    size = np.maximum(np.rint(POOL_SCALE * goals ** facts.heaps_beta), 1).astype(np.int64)
    share = np.minimum(CAREER_YEARS / facts.team_years, 1.0)
    squad = np.minimum(np.maximum(np.rint(share * size), SQUAD_MIN), size).astype(np.int64)
    start = np.r_[0, np.cumsum(size)]
    players = int(start[-1])
    u = seeding.rng(seed, seeding.PLAYERS_KIND).random(players)
    ability = np.minimum(1.0 / (1.0 - u), ABILITY_MAX)
    # names: a hash of the player picks a first word (any team's) and a rest of a name (the
    # team's own, or any team's for a team without named scorers)
    n_family = len(facts.family)
    own = [f if len(f) else np.arange(n_family) for f in facts.team_family]
    family = np.concatenate(own)
    offset = np.r_[0, np.cumsum([len(f) for f in own])]
    team = np.repeat(np.arange(len(size)), size)
    h = seeding.mix(seeding.salt(seed, seeding.NAMES_KIND) ^ np.arange(players, dtype=np.uint64))
    given = (h % np.uint64(len(facts.given))).astype(np.int64)
    pick = ((h >> np.uint64(32)) % np.diff(offset)[team].astype(np.uint64)).astype(np.int64)
    return Pools(start, squad, np.r_[0.0, np.cumsum(ability)],
                 given * n_family + family[offset[team] + pick])


def scorer_name(code: int) -> str:
    """The name of a scorer code (`Pools.name`)."""
    facts = model.real_goal_facts()
    given, family = divmod(code, len(facts.family))
    return f"{facts.given[given]} {facts.family[family]}"


# --------------------------------------------------------------------------- drawing


@dataclass
class Drawn:
    """What a match part's task keeps of the goals it drew (never the goals themselves)."""

    goals: int
    team_goals: np.ndarray  # int64 per credited team: its rows in the scratch file, in order
    scorer_goals: answers.ScorerGoals  # counted goals per (tournament, scorer code)
    players: np.ndarray  # the pool's players who scored (own goals too), as np.packbits bits
    unknown: bool  # some scorer is NA


def scratch_path(folder: str | Path, k: int) -> Path:
    return Path(folder) / SCRATCH / f"part-{k:05d}.npy"


def draw(plan: Plan, k: int, day: np.ndarray, j: np.ndarray, folder: str | Path) -> Drawn:
    """Draw the goals of match part k (its rows' days and real rows `j`, in match order) into
    its scratch file; return what the answers and the cut need."""
    real, facts = model.real_matches(), model.real_goal_facts()
    home_goals = np.where(facts.recorded[j], real.home_score[j], 0)
    per_match = home_goals + np.where(facts.recorded[j], real.away_score[j], 0)
    total = int(per_match.sum())
    row = np.repeat(np.arange(len(j)), per_match)
    nth = np.arange(total) - np.repeat(np.cumsum(per_match) - per_match, per_match)
    away_side = nth >= home_goals[row]  # the first home_score goals go to the home side
    team = np.where(away_side, real.away[j[row]], real.home[j[row]])
    u = seeding.rng(plan.seed, seeding.GOALS_KIND, k).random((6, total), dtype=np.float32)
    own = u[0] < facts.own_goal_rate
    penalty = ~own & (u[1] < facts.penalty_rate)
    unknown = ~own & ~penalty & (u[2] < facts.unknown_scorer_rate)
    minute = np.minimum(np.searchsorted(facts.minute_cdf, u[3], side="right"),
                        len(facts.minute_cdf) - 1) + 1
    minute[unknown | (u[4] < facts.unknown_minute_rate)] = 0
    # from here on in file order: by team, match, minute (NA last); rows come in match order
    order = np.argsort(row.astype(np.int64) << 8 | np.where(minute == 0, 255, minute),
                       kind="stable")
    order = order[np.argsort(team[order].astype(np.int16), kind="stable")]
    row, away_side, team, minute = row[order], away_side[order], team[order], minute[order]
    own, penalty, unknown, u5 = own[order], penalty[order], unknown[order], u[5][order]
    jr = j[row]
    home, away = real.home[jr], real.away[jr]
    player_away = away_side ^ own  # an own goal is scored by the other side
    pool = pools(plan.seed, plan.scale)
    player = pool.draw(np.where(player_away, away, home),
                       np.where(player_away, facts.tau_away[jr], facts.tau_home[jr]), u5)
    code = pool.name[player]

    out = np.empty(total, FRAGMENT)
    out["day"], out["side"] = day[row], jr * 2 + away_side
    out["player"] = np.where(unknown, len(pool.name), player)
    out["minute"], out["flags"] = minute, own * 2 + penalty
    path = scratch_path(folder, k)
    path.parent.mkdir(exist_ok=True)
    np.save(path, out)

    counted = ~own & ~unknown
    scored = np.zeros(len(pool.name), bool)
    scored[player[~unknown]] = True
    return Drawn(total, np.bincount(team, minlength=len(real.teams)).astype(np.int64),
                 answers.ScorerGoals.count(real.tournament_ids[jr][counted], code[counted]),
                 np.packbits(scored), bool(unknown.any()))


def distinct_scorers(plan: Plan, drawn: Sequence[Drawn]) -> int:
    """How many distinct scorer names the goal files hold (`NA` included)."""
    players = np.zeros(len(pools(plan.seed, plan.scale).name), bool)
    for d in drawn:
        players |= np.unpackbits(d.players, count=len(players)).astype(bool)
    names = np.sort(pools(plan.seed, plan.scale).name[players])
    return int(np.count_nonzero(np.diff(names))) + (len(names) > 0) + any(d.unknown for d in drawn)


def cut(team_goals: Sequence[np.ndarray], parts: int) -> list[list[tuple[int, int, int]]]:
    """Cut the goals of the scratch files (`team_goals[k]`: part k's goals per team) into about
    `parts` goal parts of similar size, in (team, match part) order: for each goal part, the
    (scratch file, first row, end row) slices it gathers."""
    counts = np.stack(team_goals)
    m, teams = counts.shape
    before = np.r_[0, np.cumsum(counts.T.ravel())]  # cell t*m + k: team t in match part k
    total = int(before[-1])
    parts = max(1, min(parts, total))
    target = -(-np.arange(parts) * total // parts)
    bounds = np.unique(np.r_[np.searchsorted(before, target, side="left"), teams * m])
    offsets = np.c_[np.zeros(m, np.int64), np.cumsum(counts, axis=1)]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        slices = []
        for k in range(m):
            t_lo, t_hi = -(-(lo - k) // m), -(-(hi - k) // m)
            a, b = int(offsets[k, t_lo]), int(offsets[k, t_hi])
            if b > a:
                slices.append((k, a, b))
        out.append(slices)
    return out


# --------------------------------------------------------------------------- files


def _csv_field(text: str) -> str:
    """A field as the csv module writes it (quoted only where it must be)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


@dataclass(frozen=True)
class Pieces:
    """The bytes goal rows are joined from, as Arrow binary arrays."""

    match: Any  # ",home,away,team" by side (2 * real match row + away credited)
    tail: Any  # ",minute,own_goal,penalty\n" by 4 * minute + flags (minute 0: NA)


@cache
def pieces() -> Pieces:
    real = model.real_matches()
    team = arrowbuf.binaries([f",{_csv_field(t)}".encode() for t in real.teams])
    side = np.arange(2 * len(real))
    home, away = real.home[side >> 1], real.away[side >> 1]
    flag = (GOAL_FALSE, GOAL_TRUE)
    minute = [MISSING_MINUTE] + [str(m) for m in range(1, 256)]
    return Pieces(
        match=arrowbuf.join(_take(team, home), _take(team, away),
                            _take(team, np.where(side & 1, away, home))),
        tail=arrowbuf.binaries([f",{minute[i >> 2]},{flag[i >> 1 & 1]},{flag[i & 1]}\n".encode()
                                for i in range(4 * 256)]))


@cache
def player_names(seed: int, scale: float) -> tuple[Any, Any]:
    """(",name" for CSV, "name" for Parquet) of every player of the pools, then of NA."""
    import pyarrow as pa

    facts, name = model.real_goal_facts(), pools(seed, scale).name
    given, family = np.divmod(name, len(facts.family))
    rest = _take(arrowbuf.binaries([f.encode() for f in facts.family]), family)

    def names(prefix: str) -> Any:
        first = arrowbuf.binaries([f"{prefix}{g} ".encode() for g in facts.given])
        na = arrowbuf.binaries([f"{prefix}{UNKNOWN_SCORER}".encode()])
        return pa.concat_arrays([arrowbuf.join(_take(first, given), rest), na])

    return names(","), names("")


def _take(table: Any, index: np.ndarray) -> Any:
    return table.take(arrowbuf.ints(np.asarray(index, np.int32)))


@cache
def _dates(first: int, last: int) -> Any:
    return arrowbuf.iso_dates(np.arange(first, last + 1))


def dates(days: np.ndarray) -> Any:
    """The ISO dates of `days` as a binary array (the table of all dates from the real table's
    first on, kept per process)."""
    first = int(model.real_matches().days[0])
    last = first + 4096 * -(-(int(days.max(initial=first)) - first + 1) // 4096)
    return _take(_dates(first, last), days - first)


def csv_rows(goals: np.ndarray, names: Any) -> Any:
    """The CSV rows of scratch records, no header, as a pyarrow Buffer (`names`: the players'
    CSV names)."""
    p = pieces()
    return arrowbuf.values(arrowbuf.join(
        dates(goals["day"]), _take(p.match, goals["side"]), _take(names, goals["player"]),
        _take(p.tail, goals["minute"].astype(np.int32) * 4 + goals["flags"])))


def goal_table(days: np.ndarray, home: np.ndarray, away: np.ndarray, team: np.ndarray,
               teams: Sequence[str], scorer: Any, minute: np.ndarray, own_goal: np.ndarray,
               penalty: np.ndarray) -> Any:
    """Goals as a typed Arrow table in `GOAL_COLUMNS`: teams as ids into `teams`, `scorer` an
    Arrow string array, minutes below 1 missing."""
    import pyarrow as pa

    columns = [arrowbuf.dates(np.asarray(days, np.int64).astype("datetime64[D]")),
               *(arrowbuf.dictionary(t, teams) for t in (home, away, team)),
               scorer,
               arrowbuf.ints(np.asarray(minute, np.int32), valid=np.asarray(minute) > 0),
               arrowbuf.bools(own_goal), arrowbuf.bools(penalty)]
    return pa.table(columns, names=list(GOAL_COLUMNS))


def parquet_bytes(goals: np.ndarray, names: Any) -> Any:
    """The Parquet file of scratch records, as a pyarrow Buffer (`names`: the players' names)."""
    import pyarrow as pa

    real = model.real_matches()
    j, away_side = goals["side"] >> 1, (goals["side"] & 1) == 1
    home, away = real.home[j], real.away[j]
    table = goal_table(goals["day"], home, away, np.where(away_side, away, home), real.teams,
                       _take(names, goals["player"]).view(pa.string()), goals["minute"],
                       (goals["flags"] >> 1) == 1, (goals["flags"] & 1) == 1)
    return arrowbuf.parquet(table, PARQUET_STATISTICS)


@dataclass
class GoalResult:
    part: int
    files: dict[str, dict[str, Any]]


def goal_part(plan: Plan, g: int, slices: list[tuple[int, int, int]],
              folder: str) -> GoalResult:
    """Gather goal part g from the scratch files and write it (CSV and/or Parquet)."""
    real = model.real_matches()
    chunks = [np.load(scratch_path(folder, k), mmap_mode="r")[a:b] for k, a, b in slices]
    goals = np.concatenate(chunks) if chunks else np.empty(0, FRAGMENT)
    j, away_side = goals["side"] >> 1, (goals["side"] & 1) == 1
    team = np.where(away_side, real.away[j], real.home[j]).astype(np.int16)
    goals = goals[np.argsort(team, kind="stable")]  # (team, match part, match, minute)
    csv_names, names = player_names(plan.seed, plan.scale)
    files: dict[str, dict[str, Any]] = {}
    if "csv" in plan.formats:
        name = f"{GOALS}/{part_name(g, 'csv')}"
        files[name] = write_file(Path(folder) / name, CSV_HEADER, csv_rows(goals, csv_names))
    if "parquet" in plan.formats:
        name = f"{GOALS}/{part_name(g, 'parquet')}"
        files[name] = write_file(Path(folder) / name, parquet_bytes(goals, names))
    return GoalResult(g, files)


def preload(formats: tuple[str, ...]) -> None:
    """Load what drawing and writing goals need (before forking workers)."""
    model.real_goal_facts()
    goals_per_match()
    pieces()
