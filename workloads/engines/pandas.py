"""pandas: the single-machine, in-memory answer most users start from (vectorised, one process)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from workloads import spec
from workloads.data import frames
from workloads.data.dataset import Input
from workloads.data.readers import count_words
from workloads.engines.base import Availability, Engine
from workloads.runtime.settings import Settings


class PandasEngine(Engine):
    name = "pandas"
    max_workers = 1
    in_process = True

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        return Availability(True, versions={"pandas": pd.__version__, "numpy": np.__version__})

    def wordcount(self, text: Input) -> spec.WordCounts:
        # pandas has no tokenizer faster than str.split, and Counter's C loop counts faster than
        # Series(words).value_counts() (see docs/engines.md).
        total: Counter[str] = Counter()
        for path in text.paths:
            total.update(count_words(path))
        return dict(total)

    def mean_home_score(self, matches: Input) -> float:
        df = frames.read_all(matches.paths, matches.fmt, ["home_score"])
        return float(df["home_score"].mean())

    def home_advantage(self, matches: Input) -> int:
        df = frames.read_all(matches.paths, matches.fmt, frames.SCORE_COLUMNS)
        return frames.home_advantage(df)

    def team_records(self, matches: Input) -> spec.TeamRecords:
        df = frames.read_all(matches.paths, matches.fmt)
        return frames.records_answer(frames.team_records(df))

    def team_ratings(self, matches: Input) -> spec.Ratings:
        df = frames.read_all(matches.paths, matches.fmt)
        teams = frames.team_index(df)
        c = frames.coded(df, teams)
        n_played = frames.played(c, len(teams))
        ratings = np.zeros(len(teams))
        for _ in range(spec.RATING_PASSES):
            ratings = frames.step(ratings, frames.gradient(c, ratings), n_played)
        return frames.ratings_answer(teams, ratings)

    def unbeaten_streaks(self, matches: Input) -> spec.Streaks:
        df = frames.read_all(matches.paths, matches.fmt, frames.STREAK_COLUMNS)
        return frames.longest_runs(frames.streak_sides(df)).to_dict()

    def top_scorers(self, goals: Input, matches: Input) -> spec.TopScorers:
        scoring = frames.scoring_goals(frames.read_tables(goals, frames.GOAL_READ))
        keyed = frames.fixtures(frames.read_tables(matches, spec.FIXTURE_COLUMNS))
        return frames.top_scorers(frames.goals_per_scorer(scoring, keyed))
