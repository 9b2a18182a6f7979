"""The single definition of every workload: its data, the meaning of its answer, and the check.

Engines implement these workloads; they never redefine them. Each `Workload` knows how to turn an
engine's answer into its canonical form (plain Python types, JSON-ready) and how to compare two
answers, raising `AnswerMismatch` with a message that names the first differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from datagen.layout import WORKLOADS

DataKind = Literal["text", "matches"]

#: team_ratings (DESIGN.md): K full passes, home-ground bonus, step size.
RATING_PASSES = 10
RATING_HOME_BONUS = 0.3
RATING_STEP = 4.0

MEAN_REL_TOL = 1e-9
RATING_ABS_TOL = 1e-6
MAX_LISTED = 5


class ParbenchError(Exception):
    """An error the user can fix; the CLI prints its message as one line."""


class AnswerMismatch(ParbenchError):
    """An engine's answer differs from the expected one."""


class TeamRecord(NamedTuple):
    """One team's record over home and away matches."""

    played: int = 0
    won: int = 0
    drawn: int = 0
    lost: int = 0
    goals_for: int = 0
    goals_against: int = 0

    def __add__(self, other: tuple) -> TeamRecord:  # type: ignore[override]
        return TeamRecord(*(a + b for a, b in zip(self, other, strict=True)))


WordCounts = dict[str, int]
TeamRecords = dict[str, TeamRecord]
Ratings = dict[str, float]
Answer = WordCounts | float | int | TeamRecords | Ratings


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


# --------------------------------------------------------------------------- comparison helpers


def _fmt(value: Any) -> str:
    return repr(value)


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
        shown = ", ".join(f"{k!r}: expected {_fmt(expected[k])}, got {_fmt(actual[k])}"
                          for k in sorted(differ)[:MAX_LISTED])
        parts.append(f"{len(differ)} differ, first {shown}")
    if missing:
        parts.append(f"{len(missing)} missing, first {sorted(missing)[:MAX_LISTED]}")
    if extra:
        parts.append(f"{len(extra)} unexpected, first {sorted(extra)[:MAX_LISTED]}")
    raise AnswerMismatch("; ".join(parts))


def _compare_scalar(name: str, expected: Any, actual: Any,
                    same: Callable[[Any, Any], bool]) -> None:
    if not same(expected, actual):
        raise AnswerMismatch(f"{name}: expected {_fmt(expected)}, got {_fmt(actual)}")


def _exact(a: Any, b: Any) -> bool:
    return a == b


def _rel(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=MEAN_REL_TOL, abs_tol=0.0)


def _abs(a: float, b: float) -> bool:
    return abs(a - b) <= RATING_ABS_TOL


# --------------------------------------------------------------------------- canonical forms


def _counts(answer: Mapping[str, Any]) -> WordCounts:
    return {str(k): int(v) for k, v in answer.items()}


def _records(answer: Mapping[str, Any]) -> TeamRecords:
    out: TeamRecords = {}
    for team, rec in answer.items():
        if isinstance(rec, Mapping):
            rec = [rec[f] for f in TeamRecord._fields]
        out[str(team)] = TeamRecord(*(int(v) for v in rec))
    return out


def _ratings(answer: Mapping[str, Any]) -> Ratings:
    return {str(k): float(v) for k, v in answer.items()}


def _records_json(answer: TeamRecords) -> dict[str, dict[str, int]]:
    return {team: rec._asdict() for team, rec in answer.items()}


@dataclass(frozen=True)
class Workload:
    """One workload: which data it reads, what its answer means, how answers compare."""

    name: str
    data: DataKind
    answer: str
    canonical: Callable[[Any], Any]
    same: Callable[[Any, Any], bool]
    keyed: bool
    to_json: Callable[[Any], Any] = lambda answer: answer

    def check(self, expected: Any, actual: Any) -> None:
        """Raise `AnswerMismatch` naming the first differences; return None if they agree."""
        expected, actual = self.canonical(expected), self.canonical(actual)
        if self.keyed:
            _compare_maps(self.name, expected, actual, self.same)
        else:
            _compare_scalar(self.name, expected, actual, self.same)

    def summary(self, answer: Any) -> str:
        """A one-line human summary of an answer."""
        answer = self.canonical(answer)
        if not self.keyed:
            return f"{self.name} = {answer!r}"
        if self.name == "wordcount":
            top = sorted(answer.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            return (f"{len(answer)} distinct words, {sum(answer.values())} in all; top: "
                    + ", ".join(f"{w} {c}" for w, c in top))
        if self.name == "team_records":
            top = sorted(answer.items(), key=lambda kv: (-kv[1].played, kv[0]))[:3]
            return f"{len(answer)} teams; most played: " + ", ".join(
                f"{t} {r.played} ({r.won}W {r.drawn}D {r.lost}L)" for t, r in top)
        top = sorted(answer.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        return f"{len(answer)} teams; top rated: " + ", ".join(f"{t} {r:.3f}" for t, r in top)


WORKLOAD_LIST: tuple[Workload, ...] = (
    Workload("wordcount", "text", "word -> count over all files; words are str.split() tokens",
             _counts, _exact, keyed=True),
    Workload("mean_home_score", "matches", "mean of home_score (relative tolerance 1e-9)",
             float, _rel, keyed=False),
    Workload("home_advantage", "matches",
             "sum over non-neutral matches of sign(home_score - away_score)",
             int, _exact, keyed=False),
    Workload("team_records", "matches",
             "team -> played, won, drawn, lost, goals_for, goals_against (home and away)",
             _records, _exact, keyed=True, to_json=_records_json),
    Workload("team_ratings", "matches",
             f"team -> rating after {RATING_PASSES} passes of the DESIGN.md update "
             "(absolute tolerance 1e-6)",
             _ratings, _abs, keyed=True),
)
WORKLOADS_BY_NAME: dict[str, Workload] = {w.name: w for w in WORKLOAD_LIST}
assert tuple(WORKLOADS_BY_NAME) == WORKLOADS, "spec and datagen.layout list different workloads"


def get(name: str) -> Workload:
    """The workload called `name`, or a ParbenchError listing the known ones."""
    try:
        return WORKLOADS_BY_NAME[name]
    except KeyError:
        raise ParbenchError(
            f"unknown workload {name!r}: choose one of {', '.join(WORKLOADS_BY_NAME)}") from None


def answer_to_json(name: str, answer: Any) -> Any:
    """The JSON form of an answer (the CLI's `answer` field)."""
    w = get(name)
    return w.to_json(w.canonical(answer))


def merge_counts(parts: Iterable[Mapping[str, int]]) -> WordCounts:
    """Sum word-count dictionaries (the reduce side of wordcount)."""
    total: dict[str, int] = {}
    for part in parts:
        for k, v in part.items():
            total[k] = total.get(k, 0) + v
    return total
