"""The single definition of every workload: its inputs, the meaning of its answer, and the check.

This module is the root of the project: the generator computes each workload's answer from it,
engines implement it (one method per workload, named as here, taking its inputs by kind), and the
benchmarks, tests and report list the workloads from `WORKLOADS`. A `Workload` turns an answer into
its canonical form (plain Python types, JSON-ready) and compares two answers, raising
`AnswerMismatch` with a message that names the first differences. docs/design.md gives every
definition in words.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from workloads.layout import GOALS, MATCHES, TEXT
from workloads.runtime.errors import AnswerMismatch, ParbenchError

#: team_ratings: K full passes, the home-ground bonus added to d, the step size.
RATING_PASSES = 10
RATING_HOME_BONUS = 0.3
RATING_STEP = 4.0

MEAN_REL_TOL = 1e-9
RATING_ABS_TOL = 1e-6
#: How many differing keys a mismatch message names.
MAX_LISTED = 5


class Match(NamedTuple):
    """The fields of a match that the match workloads read."""

    home_team: str
    away_team: str
    home_score: int
    away_score: int
    neutral: bool


MATCH_COLUMNS = Match._fields


class Fixture(NamedTuple):
    """The fields of a match that `unbeaten_streaks` and `top_scorers` read: a match with its
    identity. `date` is the ISO text in both formats (Parquet readers format their date32)."""

    match_id: int
    date: str
    home_team: str
    away_team: str
    home_score: int
    away_score: int
    tournament: str


FIXTURE_COLUMNS = Fixture._fields
#: unbeaten_streaks: each team's matches are ordered by these fields.
STREAK_ORDER = ("date", "match_id")
#: top_scorers: goals join matches on these fields (an inner equi-join).
JOIN_KEY = ("date", "home_team", "away_team")


class Goal(NamedTuple):
    """The fields of a goal that `top_scorers` reads."""

    date: str
    home_team: str
    away_team: str
    scorer: str
    own_goal: bool


GOAL_FIELDS = Goal._fields
#: The scorer of a goal whose scorer is unknown: a value (not a null) in both formats.
UNKNOWN_SCORER = "NA"


class TeamRecord(NamedTuple):
    """One team's record over home and away matches."""

    played: int = 0
    won: int = 0
    drawn: int = 0
    lost: int = 0
    goals_for: int = 0
    goals_against: int = 0

    @classmethod
    def of_match(cls, goals_for: int, goals_against: int) -> TeamRecord:
        """A team's record from one match it played."""
        return cls(1, int(goals_for > goals_against), int(goals_for == goals_against),
                   int(goals_for < goals_against), goals_for, goals_against)

    def __add__(self, other: tuple) -> TeamRecord:  # type: ignore[override]
        return TeamRecord(*(a + b for a, b in zip(self, other, strict=True)))


RECORD_FIELDS = TeamRecord._fields

WordCounts = dict[str, int]
TeamRecords = dict[str, TeamRecord]
Ratings = dict[str, float]
Streaks = dict[str, int]
#: tournament -> (scorer, goals)
TopScorers = dict[str, tuple[str, int]]


# --------------------------------------------------------------------------- the rating update


def match_points(home_score: int, away_score: int) -> float:
    """y of the rating update: 1 for a home win, 0.5 for a draw, 0 for an away win."""
    return 1.0 if home_score > away_score else 0.5 if home_score == away_score else 0.0


def rating_error(r_home: float, r_away: float, neutral: bool, home_score: int,
                 away_score: int) -> float:
    """e = y − σ(rᵢ − rⱼ + 0.3·[not neutral]) for one match: gᵢ += e, gⱼ −= e."""
    d = r_home - r_away + (0.0 if neutral else RATING_HOME_BONUS)
    return match_points(home_score, away_score) - 1.0 / (1.0 + math.exp(-d))


def apply_pass(ratings: Mapping[str, float], gradient: Mapping[str, float],
               played: Mapping[str, int]) -> Ratings:
    """Ratings after one pass: every rₜ += 4·gₜ / nₜ."""
    return {t: ratings.get(t, 0.0) + RATING_STEP * gradient.get(t, 0.0) / played[t] for t in played}


def unbeaten(goals_for: int, goals_against: int) -> bool:
    """unbeaten_streaks: a match is unbeaten for a team that won or drew it."""
    return goals_for >= goals_against


def counts_for_scorer(goal: Goal) -> bool:
    """top_scorers: own goals and goals by an unknown scorer (`NA`) are left out."""
    return not goal.own_goal and goal.scorer != UNKNOWN_SCORER


def top_scorer(goals_by_scorer: Mapping[str, int]) -> tuple[str, int]:
    """The scorer with the most goals, a tie going to the smaller name in code-point order."""
    scorer, goals = min(goals_by_scorer.items(), key=lambda kv: (-kv[1], kv[0]))
    return scorer, goals


def merge_counts(parts: Iterable[Mapping[str, int]]) -> WordCounts:
    """Sum word-count dictionaries (the reduce side of wordcount)."""
    total: dict[str, int] = {}
    for part in parts:
        for k, v in part.items():
            total[k] = total.get(k, 0) + v
    return total


# --------------------------------------------------------------------------- comparison


def _compare_maps(name: str, expected: Mapping, actual: Mapping,
                  same: Callable[[Any, Any], bool]) -> None:
    missing = [k for k in expected if k not in actual]
    extra = [k for k in actual if k not in expected]
    differ = [k for k in expected if k in actual and not same(expected[k], actual[k])]
    if not (missing or extra or differ):
        return
    parts = [f"{name}: answer differs from expected ({len(expected)} keys expected, "
             f"{len(actual)} given)"]
    if differ:
        shown = ", ".join(f"{k!r}: expected {expected[k]!r}, got {actual[k]!r}"
                          for k in sorted(differ)[:MAX_LISTED])
        parts.append(f"{len(differ)} differ, first {shown}")
    if missing:
        parts.append(f"{len(missing)} missing, first {sorted(missing)[:MAX_LISTED]}")
    if extra:
        parts.append(f"{len(extra)} unexpected, first {sorted(extra)[:MAX_LISTED]}")
    raise AnswerMismatch("; ".join(parts))


def _exact(a: Any, b: Any) -> bool:
    """Equal, and of the same types: the canonical forms hold `int` and `str` (tuples of them),
    so a value the canonical form could not make an integer (2.7, "3", True) never equals one."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(map(_exact, a, b)))
    return type(a) is type(b) and a == b


def _relative(a: Any, b: Any) -> bool:
    return (type(a) is float and type(b) is float
            and math.isclose(a, b, rel_tol=MEAN_REL_TOL, abs_tol=0.0))


def _absolute(a: Any, b: Any) -> bool:
    return type(a) is float and type(b) is float and abs(a - b) <= RATING_ABS_TOL


# --------------------------------------------------------------------------- canonical forms


def _integer(value: Any) -> Any:
    """An integer value as `int`: Python's and NumPy's integers, and integral floats (pandas
    turns integer columns into floats when a join leaves gaps). Anything else (2.7, "3", True,
    NaN) is returned unchanged, never truncated, so that the comparison reports it; a NumPy
    bool as a Python bool, which JSON can write."""
    if isinstance(value, bool):
        return value
    if getattr(getattr(value, "dtype", None), "kind", None) == "b":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return value


def _of_form(value: Any, form: Any) -> bool:
    if isinstance(form, tuple):
        return (isinstance(value, tuple) and len(value) == len(form)
                and all(map(_of_form, value, form)))
    return type(value) is form


def _real(value: Any) -> Any:
    """A number as `float` (an `int` included); a string or a bool is returned unchanged."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def _counts(answer: Mapping[str, Any]) -> WordCounts:
    return {str(k): _integer(v) for k, v in answer.items()}


def _records(answer: Mapping[str, Any]) -> TeamRecords:
    out: TeamRecords = {}
    for team, rec in answer.items():
        if isinstance(rec, Mapping):
            rec = [rec[f] for f in RECORD_FIELDS]
        out[str(team)] = TeamRecord(*(_integer(v) for v in rec))
    return out


def _ratings(answer: Mapping[str, Any]) -> Ratings:
    return {str(k): _real(v) for k, v in answer.items()}


def _records_json(answer: TeamRecords) -> dict[str, dict[str, int]]:
    return {team: rec._asdict() for team, rec in answer.items()}


def _tops(answer: Mapping[str, Any]) -> TopScorers:
    out: TopScorers = {}
    for tournament, (scorer, goals) in answer.items():
        out[str(tournament)] = (str(scorer), _integer(goals))
    return out


def _tops_json(answer: TopScorers) -> dict[str, list[Any]]:
    return {t: list(top) for t, top in answer.items()}


# --------------------------------------------------------------------------- one-line summaries


def _top(answer: Mapping[str, Any], key: Callable[[Any], Any], n: int) -> list[tuple[str, Any]]:
    return sorted(answer.items(), key=lambda kv: (key(kv[1]), kv[0]))[:n]


def _words_summary(answer: WordCounts) -> str:
    top = _top(answer, lambda c: -c, 5)
    return (f"{len(answer)} distinct words, {sum(answer.values())} in all; top: "
            + ", ".join(f"{w} {c}" for w, c in top))


def _records_summary(answer: TeamRecords) -> str:
    top = _top(answer, lambda r: -r.played, 3)
    return f"{len(answer)} teams; most played: " + ", ".join(
        f"{t} {r.played} ({r.won}W {r.drawn}D {r.lost}L)" for t, r in top)


def _ratings_summary(answer: Ratings) -> str:
    top = _top(answer, lambda r: -r, 3)
    return f"{len(answer)} teams; top rated: " + ", ".join(f"{t} {r:.3f}" for t, r in top)


def _streaks_summary(answer: Streaks) -> str:
    top = _top(answer, lambda n: -n, 3)
    return f"{len(answer)} teams; longest unbeaten: " + ", ".join(f"{t} {n}" for t, n in top)


def _tops_summary(answer: TopScorers) -> str:
    top = _top(answer, lambda sg: -sg[1], 3)
    return f"{len(answer)} tournaments; most goals: " + ", ".join(
        f"{s} {g} ({t})" for t, (s, g) in top)


# --------------------------------------------------------------------------- the workloads


@dataclass(frozen=True)
class Workload:
    """One workload: the inputs it reads (by kind), what its answer means, how answers compare.

    An answer is either one value (`keyed=False`) or a mapping whose keys must all match.
    """

    name: str
    inputs: tuple[str, ...]
    answer: str
    canonical: Callable[[Any], Any]
    same: Callable[[Any, Any], bool]
    keyed: bool
    #: The type of a value in canonical form (of each key's value, if keyed): a tuple for a
    #: tuple of values.
    form: Any = int
    to_json: Callable[[Any], Any] = lambda answer: answer
    summarize: Callable[[Any], str] | None = None

    def well_formed(self, answer: Any) -> bool:
        """Whether `answer` has this workload's form (a manifest's answer must): a mapping if
        keyed, its values of `form` once canonical; 2.5 for a count, "3.5" for a mean or a
        word for a table do not."""
        try:
            canonical = self.canonical(answer)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError):
            return False
        if self.keyed:
            return isinstance(canonical, dict) and all(_of_form(v, self.form)
                                                      for v in canonical.values())
        return _of_form(canonical, self.form)

    def check(self, expected: Any, actual: Any) -> None:
        """Raise `AnswerMismatch` naming the first differences; return None if they agree."""
        expected, actual = self.canonical(expected), self.canonical(actual)
        if self.keyed:
            _compare_maps(self.name, expected, actual, self.same)
        elif not self.same(expected, actual):
            raise AnswerMismatch(f"{self.name}: expected {expected!r}, got {actual!r}")

    def summary(self, answer: Any) -> str:
        """A one-line human summary of an answer."""
        answer = self.canonical(answer)
        if self.summarize is None:
            return f"{self.name} = {answer!r}"
        return self.summarize(answer)


WORKLOADS: tuple[Workload, ...] = (
    Workload("wordcount", (TEXT,),
             "word -> count over all files; words are str.split() tokens, case kept",
             _counts, _exact, keyed=True, summarize=_words_summary),
    Workload("mean_home_score", (MATCHES,), "mean of home_score (relative tolerance 1e-9)",
             _real, _relative, keyed=False, form=float),
    Workload("home_advantage", (MATCHES,),
             "sum over non-neutral matches of sign(home_score - away_score)",
             _integer, _exact, keyed=False),
    Workload("team_records", (MATCHES,),
             "team -> played, won, drawn, lost, goals_for, goals_against (home and away)",
             _records, _exact, keyed=True, form=(int,) * len(RECORD_FIELDS),
             to_json=_records_json, summarize=_records_summary),
    Workload("team_ratings", (MATCHES,),
             f"team -> rating after {RATING_PASSES} passes of the rating update "
             "(absolute tolerance 1e-6)",
             _ratings, _absolute, keyed=True, form=float, summarize=_ratings_summary),
    Workload("unbeaten_streaks", (MATCHES,),
             "team -> longest run of consecutive matches it did not lose, its matches (home and "
             "away) ordered by (date, match_id)",
             _counts, _exact, keyed=True, summarize=_streaks_summary),
    Workload("top_scorers", (GOALS, MATCHES),
             "tournament -> [scorer, goals]: goals inner-joined to matches on (date, home_team, "
             "away_team), every matching pair counted, own goals and scorer NA left out; the "
             "most goals per tournament, ties to the smaller name (code points)",
             _tops, _exact, keyed=True, form=(str, int), to_json=_tops_json,
             summarize=_tops_summary),
)
NAMES: tuple[str, ...] = tuple(w.name for w in WORKLOADS)
BY_NAME: dict[str, Workload] = {w.name: w for w in WORKLOADS}


def get(name: str) -> Workload:
    """The workload called `name`, or a ParbenchError listing the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ParbenchError(f"unknown workload {name!r}: choose one of {', '.join(NAMES)}") \
            from None


def answer_to_json(name: str, answer: Any) -> Any:
    """The JSON form of an answer (the CLI's `answer` field)."""
    w = get(name)
    return w.to_json(w.canonical(answer))
