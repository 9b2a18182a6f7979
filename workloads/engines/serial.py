"""The tutorial's plain-Python code path: loops over files and rows, `str.split`, `csv`.

This is T₁, the baseline of every speedup, so it stays as a reader of the tutorial would write it:
no dataframes, no vectorisation, one process.
"""

from __future__ import annotations

from collections import defaultdict

from workloads import spec
from workloads.data.dataset import Input
from workloads.data.readers import fixture_rows, goal_rows, match_rows, text_lines
from workloads.engines.base import Engine
from workloads.spec import Ratings, Streaks, TeamRecord, TeamRecords, TopScorers, WordCounts


class SerialEngine(Engine):
    name = "serial"
    max_workers = 1

    def wordcount(self, text: Input) -> WordCounts:
        counts: WordCounts = {}
        for path in text.paths:
            for line in text_lines(path):
                for word in line.split():
                    counts[word] = counts.get(word, 0) + 1
        return counts

    def mean_home_score(self, matches: Input) -> float:
        total = n = 0
        for m in match_rows(matches.paths, matches.fmt):
            total += m.home_score
            n += 1
        return total / n

    def home_advantage(self, matches: Input) -> int:
        advantage = 0
        for m in match_rows(matches.paths, matches.fmt):
            if not m.neutral:
                advantage += (m.home_score > m.away_score) - (m.home_score < m.away_score)
        return advantage

    def team_records(self, matches: Input) -> TeamRecords:
        records: TeamRecords = defaultdict(TeamRecord)
        for m in match_rows(matches.paths, matches.fmt):
            records[m.home_team] += TeamRecord.of_match(m.home_score, m.away_score)
            records[m.away_team] += TeamRecord.of_match(m.away_score, m.home_score)
        return dict(records)

    def team_ratings(self, matches: Input) -> Ratings:
        matches = list(match_rows(matches.paths, matches.fmt))
        played: dict[str, int] = defaultdict(int)
        for m in matches:
            played[m.home_team] += 1
            played[m.away_team] += 1
        ratings: Ratings = dict.fromkeys(played, 0.0)
        for _ in range(spec.RATING_PASSES):
            gradient: dict[str, float] = defaultdict(float)
            for m in matches:
                e = spec.rating_error(ratings[m.home_team], ratings[m.away_team], m.neutral,
                                      m.home_score, m.away_score)
                gradient[m.home_team] += e
                gradient[m.away_team] -= e
            ratings = spec.apply_pass(ratings, gradient, played)
        return ratings

    def unbeaten_streaks(self, matches: Input) -> Streaks:
        fixtures = sorted(fixture_rows(matches.paths, matches.fmt),
                          key=lambda m: (m.date, m.match_id))
        run: dict[str, int] = {}
        longest: Streaks = {}
        for m in fixtures:
            for team, goals_for, goals_against in ((m.home_team, m.home_score, m.away_score),
                                                   (m.away_team, m.away_score, m.home_score)):
                run[team] = run.get(team, 0) + 1 if spec.unbeaten(goals_for, goals_against) else 0
                longest[team] = max(longest.get(team, 0), run[team])
        return longest

    def top_scorers(self, goals: Input, matches: Input) -> TopScorers:
        tournaments: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for m in fixture_rows(matches.paths, matches.fmt):
            tournaments[m.date, m.home_team, m.away_team].append(m.tournament)
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for g in goal_rows(goals.paths, goals.fmt):
            if spec.counts_for_scorer(g):
                for tournament in tournaments.get((g.date, g.home_team, g.away_team), ()):
                    by_scorer = counts[tournament]
                    by_scorer[g.scorer] = by_scorer.get(g.scorer, 0) + 1
        return {t: spec.top_scorer(by_scorer) for t, by_scorer in counts.items()}
