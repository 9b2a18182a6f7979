"""The expected answers of every workload, computed from the arrays a dataset was made of.

The generator calls these on the arrays it generated (synthetic data) or parsed (the tutorial),
never on files read back. Definitions follow DESIGN.md ("Workloads"); `workloads.spec` is their
reference and the tests check that both agree. Rows may carry integer `weights` (a row that stands
for `w` identical matches), which lets the synthetic generator pass one count per real row instead
of every generated row; without weights every row counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: team_ratings: passes, home-ground bonus, step size (the same as `workloads.spec`).
RATING_PASSES = 10
RATING_HOME_BONUS = 0.3
RATING_STEP = 4.0

RECORD_FIELDS = ("played", "won", "drawn", "lost", "goals_for", "goals_against")


def wordcount(words: Sequence[str], counts: np.ndarray) -> dict[str, int]:
    """word -> count for every word with a positive count (`counts[i]` is `words[i]`'s count)."""
    return {words[i]: int(counts[i]) for i in np.flatnonzero(counts)}


def word_ids_count(ids: np.ndarray, vocabulary_size: int) -> np.ndarray:
    """Counts per word id (int64, length `vocabulary_size`)."""
    return np.bincount(ids, minlength=vocabulary_size).astype(np.int64)


def _sum_by(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(keys, weights=values, minlength=size)


def match_answers(teams: Sequence[str], home: np.ndarray, away: np.ndarray,
                  home_score: np.ndarray, away_score: np.ndarray, neutral: np.ndarray,
                  weights: np.ndarray | None = None) -> dict[str, Any]:
    """mean_home_score, home_advantage, team_records and team_ratings of a results table.

    `home` and `away` are ids into `teams`; scores are integers; `neutral` is boolean. Teams
    that play no match (zero weight) are left out of the keyed answers.
    """
    n_teams = len(teams)
    home = np.asarray(home, dtype=np.intp)
    away = np.asarray(away, dtype=np.intp)
    hs = np.asarray(home_score, dtype=np.int64)
    as_ = np.asarray(away_score, dtype=np.int64)
    neutral = np.asarray(neutral, dtype=bool)
    w = np.ones(len(home), dtype=np.int64) if weights is None else np.asarray(weights, np.int64)
    matches = int(w.sum())
    if matches == 0:
        raise ValueError("no matches")

    # float64 sums of integers are exact below 2**53
    wf = w.astype(np.float64)
    sign = np.sign(hs - as_)
    home_win, draw, away_win = sign > 0, sign == 0, sign < 0

    def by_team(at_home: np.ndarray, away_side: np.ndarray) -> np.ndarray:
        total = _sum_by(home, wf * at_home, n_teams) + _sum_by(away, wf * away_side, n_teams)
        return np.rint(total).astype(np.int64)

    ones = np.ones(len(home))
    played = by_team(ones, ones)
    records = np.stack([
        played,
        by_team(home_win, away_win),
        by_team(draw, draw),
        by_team(away_win, home_win),
        by_team(hs, as_),
        by_team(as_, hs),
    ], axis=1)
    seen = np.flatnonzero(played)
    return {
        "mean_home_score": int((w * hs).sum()) / matches,
        "home_advantage": int((w * sign)[~neutral].sum()),
        "team_records": {teams[t]: dict(zip(RECORD_FIELDS, map(int, records[t]), strict=True))
                         for t in seen},
        "team_ratings": _ratings(teams, home, away, sign, neutral, wf, played, seen),
    }


def _ratings(teams: Sequence[str], home: np.ndarray, away: np.ndarray, sign: np.ndarray,
             neutral: np.ndarray, wf: np.ndarray, played: np.ndarray,
             seen: np.ndarray) -> dict[str, float]:
    """team_ratings: RATING_PASSES full passes; each pass uses the previous pass's ratings."""
    n_teams = len(teams)
    y = (sign + 1) / 2.0  # 1 home win, 0.5 draw, 0 away win
    bonus = np.where(neutral, 0.0, RATING_HOME_BONUS)
    n = np.maximum(played, 1).astype(np.float64)
    r = np.zeros(n_teams)
    for _ in range(RATING_PASSES):
        d = r[home] - r[away] + bonus
        e = wf * (y - 1.0 / (1.0 + np.exp(-d)))
        g = _sum_by(home, e, n_teams) - _sum_by(away, e, n_teams)
        r = r + RATING_STEP * g / n
    return {teams[t]: float(r[t]) for t in seen}


def answers(words: Sequence[str], word_counts: np.ndarray, teams: Sequence[str],
            home: np.ndarray, away: np.ndarray, home_score: np.ndarray,
            away_score: np.ndarray, neutral: np.ndarray,
            weights: np.ndarray | None = None) -> dict[str, Any]:
    """All five answers, keyed by workload name (`layout.WORKLOADS`)."""
    out: dict[str, Any] = {"wordcount": wordcount(words, word_counts)}
    out.update(match_answers(teams, home, away, home_score, away_score, neutral, weights))
    return out
