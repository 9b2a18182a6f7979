"""Vectorised building blocks on pandas frames of matches, shared by the dataframe engines.

Each function works on one frame (a whole table or one partition) and returns a partial result
that combines by plain addition, so pandas applies them once and Dask or a batch job applies them
per partition and sums.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from workloads import spec
from workloads.readers import MATCH_COLUMNS, PANDAS_DTYPES, locate_malformed, missing_file

RECORD_FIELDS = list(spec.TeamRecord._fields)


def read_matches(path: str, fmt: str) -> pd.DataFrame:
    """One match file as a typed frame of the columns the workloads use."""
    try:
        if fmt == "parquet":
            return pd.read_parquet(path, columns=list(MATCH_COLUMNS))
        return pd.read_csv(path, usecols=list(MATCH_COLUMNS), dtype=PANDAS_DTYPES,
                           engine="pyarrow")
    except FileNotFoundError:
        raise missing_file(path) from None
    except (ValueError, TypeError, OSError) as exc:  # pandas and pyarrow parse errors
        raise locate_malformed([path], fmt, exc) from None


def read_all(paths: Sequence[str], fmt: str) -> pd.DataFrame:
    return pd.concat([read_matches(p, fmt) for p in paths], ignore_index=True)


def home_advantage(df: pd.DataFrame) -> int:
    diff = df["home_score"].to_numpy() - df["away_score"].to_numpy()
    return int(np.sign(diff[~df["neutral"].to_numpy()]).sum())


def team_records(df: pd.DataFrame) -> pd.DataFrame:
    """Per team: played, won, drawn, lost, goals_for, goals_against (a partial, sums combine)."""
    sides = []
    for team, gf, ga in (("home_team", "home_score", "away_score"),
                         ("away_team", "away_score", "home_score")):
        goals_for, goals_against = df[gf].to_numpy(), df[ga].to_numpy()
        sides.append(pd.DataFrame({
            "team": df[team].to_numpy(),
            "played": 1,
            "won": goals_for > goals_against,
            "drawn": goals_for == goals_against,
            "lost": goals_for < goals_against,
            "goals_for": goals_for,
            "goals_against": goals_against,
        }))
    both = pd.concat(sides, ignore_index=True)
    return both.groupby("team", sort=False).sum().astype("int64")


def records_answer(records: pd.DataFrame) -> spec.TeamRecords:
    return {team: spec.TeamRecord(*map(int, row))
            for team, row in zip(records.index, records[RECORD_FIELDS].to_numpy(), strict=True)}


def team_index(df: pd.DataFrame) -> pd.Index:
    """Every team seen as home or away, sorted."""
    return pd.Index(np.union1d(df["home_team"].unique(), df["away_team"].unique()))


def coded(df: pd.DataFrame, teams: pd.Index) -> pd.DataFrame:
    """The columns one rating pass needs: team codes, outcome y and the home-ground bonus."""
    hs, as_ = df["home_score"].to_numpy(), df["away_score"].to_numpy()
    return pd.DataFrame({
        "home": teams.get_indexer(df["home_team"]).astype("int32"),
        "away": teams.get_indexer(df["away_team"]).astype("int32"),
        "y": np.where(hs > as_, 1.0, np.where(hs == as_, 0.5, 0.0)),
        "bonus": np.where(df["neutral"].to_numpy(), 0.0, spec.RATING_HOME_BONUS),
    })


def played(c: pd.DataFrame, n_teams: int) -> np.ndarray:
    return (np.bincount(c["home"], minlength=n_teams)
            + np.bincount(c["away"], minlength=n_teams))


def gradient(c: pd.DataFrame, ratings: np.ndarray) -> np.ndarray:
    """Σ e per team over the matches of `c`, given the previous pass's ratings."""
    home, away = c["home"].to_numpy(), c["away"].to_numpy()
    d = ratings[home] - ratings[away] + c["bonus"].to_numpy()
    e = c["y"].to_numpy() - 1.0 / (1.0 + np.exp(-d))
    n = len(ratings)
    return np.bincount(home, e, minlength=n) - np.bincount(away, e, minlength=n)


def step(ratings: np.ndarray, grad: np.ndarray, n_played: np.ndarray) -> np.ndarray:
    """Ratings after one pass: r += 4·g/n."""
    return ratings + spec.RATING_STEP * grad / n_played


def ratings_answer(teams: pd.Index, ratings: np.ndarray) -> spec.Ratings:
    return dict(zip(teams.tolist(), ratings.tolist(), strict=True))
