"""Vectorised building blocks on pandas frames of matches, shared by the dataframe engines.

Each function works on one frame (a whole table or one partition) and returns a partial result
that combines by plain addition, so pandas applies them once and Dask or a batch job applies them
per partition and sums.

Frames come from `read_matches`/`read_all`: Arrow reads the columns, and the two team columns
become pandas categoricals over one shared dictionary (Arrow's `dictionary_encode`, one hash pass
and no Python string per row). Per-team work is then `bincount` over the codes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from workloads import spec
from workloads.dataset import Input
from workloads.layout import MATCHES
from workloads.readers import missing_file
from workloads.spec import MATCH_COLUMNS, RECORD_FIELDS
from workloads.validate import locate_malformed

TEAM_COLUMNS = ("home_team", "away_team")
#: The columns of `home_advantage`.
SCORE_COLUMNS = ("home_score", "away_score", "neutral")
#: Arrow types of the match columns when read from CSV (Parquet files carry their own).
ARROW_TYPES = {"home_team": pa.string(), "away_team": pa.string(), "home_score": pa.int64(),
               "away_score": pa.int64(), "neutral": pa.bool_()}


def read_table(path: str, fmt: str, columns: Sequence[str] = MATCH_COLUMNS) -> pa.Table:
    """`columns` of one match file as an Arrow table; errors name the file (and CSV line)."""
    columns = list(columns)
    try:
        if fmt == "parquet":
            return pq.read_table(path, columns=columns)
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            include_columns=columns, column_types={c: ARROW_TYPES[c] for c in columns}))
    except FileNotFoundError:
        raise missing_file(path) from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise locate_malformed(Input(MATCHES, (path,), fmt), exc) from None


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table of matches as a frame; team columns as categoricals sharing categories."""
    data = {c: table.column(c).to_numpy() for c in table.column_names if c not in TEAM_COLUMNS}
    if TEAM_COLUMNS[0] in table.column_names:
        home, away = (table.column(c) for c in TEAM_COLUMNS)
        both = pa.chunked_array([*home.chunks, *away.chunks], type=home.type)
        encoded = both.combine_chunks().dictionary_encode()
        codes = encoded.indices.to_numpy()
        dtype = pd.CategoricalDtype(pd.Index(encoded.dictionary.to_pylist(), dtype=object))
        n = table.num_rows
        data[TEAM_COLUMNS[0]] = pd.Categorical.from_codes(codes[:n], dtype=dtype)
        data[TEAM_COLUMNS[1]] = pd.Categorical.from_codes(codes[n:], dtype=dtype)
    return pd.DataFrame(data)[table.column_names]


def read_matches(path: str, fmt: str, columns: Sequence[str] = MATCH_COLUMNS) -> pd.DataFrame:
    """`columns` of one match file as a frame."""
    return to_frame(read_table(path, fmt, columns))


def read_all(paths: Sequence[str], fmt: str,
             columns: Sequence[str] = MATCH_COLUMNS) -> pd.DataFrame:
    """`columns` of every file as one frame (tables joined in Arrow: one team dictionary)."""
    return to_frame(pa.concat_tables([read_table(p, fmt, columns) for p in paths]))


def empty(columns: Sequence[str] = MATCH_COLUMNS) -> pd.DataFrame:
    """A frame with no rows and `read_matches`' dtypes (Dask's meta)."""
    return to_frame(pa.table({c: pa.array([], ARROW_TYPES[c]) for c in columns}))


def home_advantage(df: pd.DataFrame) -> int:
    diff = df["home_score"].to_numpy() - df["away_score"].to_numpy()
    return int(np.sign(diff[~df["neutral"].to_numpy()]).sum())


def team_codes(df: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """The teams of `df` (its categories) and the home and away columns as codes into them.
    Team columns of strings (another reader's frame) are encoded here, as `to_frame` does."""
    if not all(isinstance(df[c].dtype, pd.CategoricalDtype) for c in TEAM_COLUMNS):
        df = to_frame(pa.table({c: pa.array(df[c], pa.string()) for c in TEAM_COLUMNS}))
    home, away = (df[c].cat for c in TEAM_COLUMNS)
    return home.categories, home.codes.to_numpy(), away.codes.to_numpy()


def team_records(df: pd.DataFrame) -> pd.DataFrame:
    """Per team: played, won, drawn, lost, goals_for, goals_against (a partial, sums combine)."""
    teams, home, away = team_codes(df)
    team = np.concatenate([home, away])
    gf = np.concatenate([df["home_score"].to_numpy(), df["away_score"].to_numpy()])
    ga = np.concatenate([df["away_score"].to_numpy(), df["home_score"].to_numpy()])

    def count(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        chosen = team if mask is None else team[mask]
        return np.bincount(chosen, weights, minlength=len(teams)).astype(np.int64)

    records = pd.DataFrame(
        np.column_stack([count(), count(gf > ga), count(gf == ga), count(gf < ga),
                         count(weights=gf), count(weights=ga)]),
        index=pd.Index(teams.to_numpy(dtype=object), name="team"), columns=list(RECORD_FIELDS))
    return records[records["played"] > 0]


def records_answer(records: pd.DataFrame) -> spec.TeamRecords:
    rows = records[list(RECORD_FIELDS)].to_numpy()
    return {team: spec.TeamRecord(*map(int, row))
            for team, row in zip(records.index, rows, strict=True)}


def team_index(df: pd.DataFrame) -> pd.Index:
    """Every team seen as home or away, sorted."""
    categories, home, away = team_codes(df)
    seen = np.bincount(np.concatenate([home, away]), minlength=len(categories)) > 0
    return pd.Index(np.sort(categories.to_numpy(dtype=object)[seen]))


def union_index(*indexes: pd.Index) -> pd.Index:
    """The sorted union of team indexes (of partitions)."""
    return pd.Index(np.unique(np.concatenate([ix.to_numpy() for ix in indexes])))


def coded(df: pd.DataFrame, teams: pd.Index) -> pd.DataFrame:
    """The columns one rating pass needs: team codes into `teams`, outcome y, home-ground bonus."""
    categories, home, away = team_codes(df)
    position = teams.get_indexer(categories).astype("int32")
    hs, as_ = df["home_score"].to_numpy(), df["away_score"].to_numpy()
    return pd.DataFrame({
        "home": position[home],
        "away": position[away],
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
