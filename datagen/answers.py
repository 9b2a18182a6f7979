"""The expected answer of every workload, computed from the arrays a dataset was made of.

The generator calls these on the arrays it generated (synthetic data) or parsed (the tutorial),
never on files read back. `ANSWERS` has one function per workload of `workloads.spec`, which
defines each answer and its constants. Match rows may carry integer `weights` (a row that stands
for `w` identical matches), which lets the synthetic generator pass one count per real row instead
of every generated row; without weights every row counts once.

The two workloads that depend on the order of the matches or on joining the goals take compact
summaries instead of rows: `Streaks` (per team, the unbeaten runs at the start and the end of a
stretch of matches, and the longest inside it), which combine in match order, and `ScorerGoals`
(goals per tournament and scorer after the join), which add up. The generator's tasks make one of
each per part; the tutorial makes them from its whole tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from workloads import spec


@dataclass(frozen=True)
class Streaks:
    """Per team (int64 arrays indexed by team id), a stretch of matches in (date, id) order:
    matches played, the unbeaten run it starts with, the one it ends with, the longest."""

    played: np.ndarray
    first: np.ndarray
    last: np.ndarray
    best: np.ndarray

    @classmethod
    def of(cls, n_teams: int, home: np.ndarray, away: np.ndarray, home_score: np.ndarray,
           away_score: np.ndarray) -> Streaks:
        """The summary of matches given in (date, id) order (fewer than 2**15 teams)."""
        n = len(home)
        team = np.empty(2 * n, dtype=np.int64)  # home, away, home, away, ...: match order
        team[0::2], team[1::2] = home, away
        ok = np.empty(2 * n, dtype=bool)
        diff = np.asarray(home_score, np.int64) - np.asarray(away_score, np.int64)
        ok[0::2], ok[1::2] = spec.unbeaten(diff, 0), spec.unbeaten(0, diff)
        order = np.argsort(team.astype(np.int16), kind="stable")  # radix: by team, in order
        team, ok = team[order], ok[order]
        played = np.bincount(team, minlength=n_teams).astype(np.int64)
        out = [played, *(np.zeros(n_teams, np.int64) for _ in range(3))]
        if n == 0:
            return cls(*out)
        idx = np.arange(2 * n)
        starts = np.flatnonzero(np.r_[True, team[1:] != team[:-1]])
        ends = np.r_[starts[1:], 2 * n]
        # run[k]: unbeaten matches in a row ending at k (0 at a defeat), within the team
        barrier = np.where(ok, -1, idx)
        barrier[starts] = np.where(ok[starts], starts - 1, starts)
        run = idx - np.maximum.accumulate(barrier)
        first_defeat = np.minimum.reduceat(np.where(ok, 2 * n, idx), starts)
        teams = team[starts]
        out[1][teams] = np.minimum(first_defeat, ends) - starts
        out[2][teams] = run[ends - 1]
        out[3][teams] = np.maximum.reduceat(run, starts)
        return cls(*out)

    def then(self, later: Streaks) -> Streaks:
        """The summary of this stretch followed by `later` (associative)."""
        whole_first = self.first == self.played  # every match of this stretch unbeaten
        whole_later = later.first == later.played
        return Streaks(self.played + later.played,
                       np.where(whole_first, self.first + later.first, self.first),
                       np.where(whole_later, self.last + later.last, later.last),
                       np.maximum.reduce([self.best, later.best, self.last + later.first]))


@dataclass(frozen=True)
class ScorerGoals:
    """Counted goals per (tournament, scorer) after the join: one entry per distinct pair.
    Tournaments and scorers are int64 codes (`Tables.tournaments`, `Tables.scorer_name`)."""

    tournament: np.ndarray
    scorer: np.ndarray
    goals: np.ndarray

    @classmethod
    def count(cls, tournament: np.ndarray, scorer: np.ndarray) -> ScorerGoals:
        """Count the goal-match pairs given as (tournament, scorer) codes, scorers below 2**40."""
        key = np.asarray(tournament, np.int64) << 40 | np.asarray(scorer, np.int64)
        keys, goals = np.unique(key, return_counts=True)
        return cls(keys >> 40, keys & ((1 << 40) - 1), goals.astype(np.int64))

    @classmethod
    def merge(cls, parts: Sequence[ScorerGoals]) -> ScorerGoals:
        """The sum of several counts (each sorted by key, as `count` makes them)."""
        key = np.concatenate([p.tournament << 40 | p.scorer for p in parts] or [[]]).astype(
            np.int64)
        goals = np.concatenate([p.goals for p in parts] or [[]]).astype(np.int64)
        if not len(key):
            return cls(key, key, goals)
        order = np.argsort(key, kind="stable")  # merges the sorted runs
        key, goals = key[order], goals[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        return cls(key[starts] >> 40, key[starts] & ((1 << 40) - 1),
                   np.add.reduceat(goals, starts))


def join_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inner equi-join of two int64 key arrays: (left index, right index) of every equal pair,
    as SQL counts them (a key on both sides twice gives four pairs)."""
    order = np.argsort(right, kind="stable")
    sorted_right = right[order]
    lo = np.searchsorted(sorted_right, left, side="left")
    hi = np.searchsorted(sorted_right, left, side="right")
    n = hi - lo
    li = np.repeat(np.arange(len(left)), n)
    within = np.arange(len(li)) - np.repeat(np.cumsum(n) - n, n)
    return li, order[np.repeat(lo, n) + within]


@dataclass(frozen=True)
class Tables:
    """What a dataset is made of: word counts, the match table as arrays, and the summaries of
    the matches in order and of the goals joined to them.

    `home` and `away` are ids into `teams`; scores are integers; `neutral` is boolean;
    `word_counts[i]` is the count of `words[i]`; `streaks` is indexed by team id; the codes of
    `scorer_goals` are ids into `tournaments` and what `scorer_name` turns into a name.
    """

    words: Sequence[str]
    word_counts: np.ndarray
    teams: Sequence[str]
    home: np.ndarray
    away: np.ndarray
    home_score: np.ndarray
    away_score: np.ndarray
    neutral: np.ndarray
    weights: np.ndarray | None = None
    streaks: Streaks | None = None
    scorer_goals: ScorerGoals | None = None
    tournaments: Sequence[str] = ()
    scorer_name: Callable[[int], str] | None = None

    @cached_property
    def w(self) -> np.ndarray:
        """How many matches each row stands for (int64)."""
        return (np.ones(len(self.home), dtype=np.int64) if self.weights is None
                else np.asarray(self.weights, dtype=np.int64))

    @cached_property
    def sign(self) -> np.ndarray:
        """sign(home_score − away_score) per row: 1 home win, 0 draw, −1 away win."""
        hs, as_ = (np.asarray(s, np.int64) for s in (self.home_score, self.away_score))
        return np.sign(hs - as_)

    def by_team(self, at_home: np.ndarray, away_side: np.ndarray) -> np.ndarray:
        """Per team, the weighted sum of `at_home` over its home rows and `away_side` over its
        away rows (exact integers: float64 sums of integers are exact below 2**53)."""
        wf = self.w.astype(np.float64)
        n = len(self.teams)
        total = (np.bincount(self.home, wf * at_home, minlength=n)
                 + np.bincount(self.away, wf * away_side, minlength=n))
        return np.rint(total).astype(np.int64)

    @cached_property
    def played(self) -> np.ndarray:
        ones = np.ones(len(self.home))
        return self.by_team(ones, ones)

    @cached_property
    def seen(self) -> np.ndarray:
        """Ids of the teams that play at least one match (the keys of the keyed answers)."""
        return np.flatnonzero(self.played)


def wordcount(t: Tables) -> dict[str, int]:
    """word -> count for every word with a positive count."""
    return {t.words[i]: int(t.word_counts[i]) for i in np.flatnonzero(t.word_counts)}


def mean_home_score(t: Tables) -> float:
    matches = int(t.w.sum())
    if matches == 0:
        raise ValueError("no matches")
    return int((t.w * np.asarray(t.home_score, np.int64)).sum()) / matches


def home_advantage(t: Tables) -> int:
    return int((t.w * t.sign)[~np.asarray(t.neutral, bool)].sum())


def team_records(t: Tables) -> dict[str, dict[str, int]]:
    home_win, draw, away_win = t.sign > 0, t.sign == 0, t.sign < 0
    hs, as_ = t.home_score, t.away_score
    columns = [t.played, t.by_team(home_win, away_win), t.by_team(draw, draw),
               t.by_team(away_win, home_win), t.by_team(hs, as_), t.by_team(as_, hs)]
    records = np.stack(columns, axis=1)
    return {t.teams[i]: dict(zip(spec.RECORD_FIELDS, map(int, records[i]), strict=True))
            for i in t.seen}


def team_ratings(t: Tables, passes: int = spec.RATING_PASSES) -> dict[str, float]:
    """The ratings after `passes` full passes; each pass uses the previous pass's ratings."""
    n_teams = len(t.teams)
    y = (t.sign + 1) / 2.0  # 1 home win, 0.5 draw, 0 away win
    bonus = np.where(np.asarray(t.neutral, bool), 0.0, spec.RATING_HOME_BONUS)
    n = np.maximum(t.played, 1).astype(np.float64)
    wf = t.w.astype(np.float64)
    r = np.zeros(n_teams)
    for _ in range(passes):
        d = r[t.home] - r[t.away] + bonus
        e = wf * (y - 1.0 / (1.0 + np.exp(-d)))
        g = np.bincount(t.home, e, minlength=n_teams) - np.bincount(t.away, e, minlength=n_teams)
        r = r + spec.RATING_STEP * g / n
    return {t.teams[i]: float(r[i]) for i in t.seen}


def unbeaten_streaks(t: Tables) -> dict[str, int]:
    if t.streaks is None:
        raise ValueError("no streak summary")
    if not np.array_equal(t.streaks.played, t.played):
        raise ValueError("the streak summary and the match table disagree on matches played")
    return {t.teams[i]: int(t.streaks.best[i]) for i in t.seen}


def top_scorers(t: Tables) -> dict[str, list[Any]]:
    """The scorer with the most goals per tournament, ties to the smaller name (code points)."""
    sg, name = t.scorer_goals, t.scorer_name
    if sg is None or name is None:
        raise ValueError("no goal counts")
    best = np.zeros(len(t.tournaments), np.int64)
    np.maximum.at(best, sg.tournament, sg.goals)
    tied: dict[int, dict[str, int]] = {}
    for i in np.flatnonzero(sg.goals == best[sg.tournament]):
        tied.setdefault(int(sg.tournament[i]), {})[name(int(sg.scorer[i]))] = int(sg.goals[i])
    return {t.tournaments[k]: list(spec.top_scorer(names)) for k, names in tied.items()}


#: workload -> its answer from a dataset's tables: one entry per workload of the spec.
ANSWERS: dict[str, Callable[[Tables], Any]] = {
    "wordcount": wordcount,
    "mean_home_score": mean_home_score,
    "home_advantage": home_advantage,
    "team_records": team_records,
    "team_ratings": team_ratings,
    "unbeaten_streaks": unbeaten_streaks,
    "top_scorers": top_scorers,
}


def answers(t: Tables) -> dict[str, Any]:
    """Every workload's answer, keyed by workload name, in the spec's order."""
    missing = [w for w in spec.NAMES if w not in ANSWERS]
    if missing:
        raise NotImplementedError(f"the generator computes no answer for {', '.join(missing)}")
    return {w: ANSWERS[w](t) for w in spec.NAMES}
