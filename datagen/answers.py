"""The expected answer of every workload, computed from the arrays a dataset was made of.

The generator calls these on the arrays it generated (synthetic data) or parsed (the tutorial),
never on files read back. `ANSWERS` has one function per workload of `workloads.spec`, which
defines each answer and its constants. Match rows may carry integer `weights` (a row that stands
for `w` identical matches), which lets the synthetic generator pass one count per real row instead
of every generated row; without weights every row counts once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from workloads import spec


@dataclass(frozen=True)
class Tables:
    """What a dataset is made of: word counts, and the match table as arrays.

    `home` and `away` are ids into `teams`; scores are integers; `neutral` is boolean;
    `word_counts[i]` is the count of `words[i]`.
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


#: workload -> its answer from a dataset's tables: one entry per workload of the spec.
ANSWERS: dict[str, Callable[[Tables], Any]] = {
    "wordcount": wordcount,
    "mean_home_score": mean_home_score,
    "home_advantage": home_advantage,
    "team_records": team_records,
    "team_ratings": team_ratings,
}


def answers(t: Tables) -> dict[str, Any]:
    """Every workload's answer, keyed by workload name, in the spec's order."""
    missing = [w for w in spec.NAMES if w not in ANSWERS]
    if missing:
        raise NotImplementedError(f"the generator computes no answer for {', '.join(missing)}")
    return {w: ANSWERS[w](t) for w in spec.NAMES}
