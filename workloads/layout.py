"""The on-disk layout of a dataset: the one contract between `datagen` and every reader.

A dataset is a folder::

    <name>/manifest.json               parameters, files (bytes, sha256), counts, answers
    <name>/text/part-NNNNN.txt         the corpus: UTF-8, words separated by single spaces, LF lines
    <name>/matches/part-NNNNN.csv      the results table with the tutorial's columns
    <name>/matches/part-NNNNN.parquet  the same rows, typed, the match id named `match_id`
    <name>/goals/part-NNNNN.csv        one row per goal, in the real goal file's columns
    <name>/goals/part-NNNNN.parquet    the same rows, typed

The manifest is written last, so a folder without a complete manifest is not a dataset. A kind of
input (`TEXT`, `MATCHES`, `GOALS`) is also the name of its folder.

The columns of each table and their types (`COLUMN_TYPES`) are defined here once; each engine maps
the type names to its framework's own types in one small mapping.

Reading the tables:

* The match CSV's first column has an empty name: it holds the integer match id (the tutorial's
  pandas index), called `match_id` in Parquet. CSV readers map the unnamed column to `match_id`;
  Parquet readers select columns by name.
* Goal CSV files write booleans `TRUE`/`FALSE` and a missing minute as `NA` (Parquet: null).
* The scorer `NA` means "scorer unknown". It is a value, the two letters, in both formats, never
  a null. pandas' `read_csv` turns it into a missing value by default: read goal CSV files with
  `keep_default_na=False, na_values={"minute": ["NA"]}`. Arrow's CSV reader (whose
  `strings_can_be_null` is false by default), the `csv` module, Spark, Polars and DuckDB keep it
  as the string by default.
"""

from __future__ import annotations

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "parbench-dataset/1"
#: Keys every complete manifest has; `answers` holds one entry per workload of the spec.
MANIFEST_KEYS = ("format", "name", "generator", "params", "files", "counts", "answers")

#: The kinds of input a workload reads; each is the folder of its files.
TEXT = "text"
MATCHES = "matches"
GOALS = "goals"
#: Formats of the tables (text is always .txt).
FORMATS = ("csv", "parquet")
TEXT_FORMAT = "txt"
SUFFIX = {TEXT_FORMAT: ".txt", "csv": ".csv", "parquet": ".parquet"}

#: The match id: the CSV's unnamed first column (the pandas index as the course saved it), and
#: the first column of the Parquet files under this name.
MATCH_ID = "match_id"
#: The match CSV's columns, the tutorial's: the first, unnamed, is the match id.
CSV_COLUMNS = ("", "date", "home_team", "away_team", "home_score", "away_score", "tournament",
               "city", "country", "neutral")
#: The match Parquet columns: the CSV's, the first named.
PARQUET_COLUMNS = (MATCH_ID, *CSV_COLUMNS[1:])
#: How match CSV files write `neutral`.
MATCH_TRUE, MATCH_FALSE = "True", "False"

#: The goal columns, the same in CSV and Parquet (the real `goalscorers.csv`'s): the match
#: (`date`, `home_team`, `away_team`), the side credited (`team`), `scorer`, `minute`, and the
#: `own_goal` and `penalty` flags.
GOAL_COLUMNS = ("date", "home_team", "away_team", "team", "scorer", "minute", "own_goal",
                "penalty")
#: How goal CSV files write booleans and a missing minute.
GOAL_TRUE, GOAL_FALSE = "TRUE", "FALSE"
MISSING_MINUTE = "NA"

#: The columns of each kind of table in each format.
TABLE_COLUMNS = {(MATCHES, "csv"): CSV_COLUMNS, (MATCHES, "parquet"): PARQUET_COLUMNS,
                 (GOALS, "csv"): GOAL_COLUMNS, (GOALS, "parquet"): GOAL_COLUMNS}
#: How the CSV files of each kind of table write true and false.
CSV_BOOLEANS = {MATCHES: (MATCH_TRUE, MATCH_FALSE), GOALS: (GOAL_TRUE, GOAL_FALSE)}

#: The type names of `COLUMN_TYPES`: a 64-bit integer, a calendar day (`YYYY-MM-DD` in CSV), text,
#: a boolean.
INT64, DATE, STRING, BOOL = "int64", "date", "string", "bool"
#: Every column's type as a reader gets it, by kind of table, in file order, keyed by the Parquet
#: names (the match CSV's unnamed first column is `match_id`). The one nullable column is a goal's
#: `minute` (`NA` in CSV); an engine that never reads it may keep it as text.
COLUMN_TYPES = {
    MATCHES: {MATCH_ID: INT64, "date": DATE, "home_team": STRING, "away_team": STRING,
              "home_score": INT64, "away_score": INT64, "tournament": STRING, "city": STRING,
              "country": STRING, "neutral": BOOL},
    GOALS: {"date": DATE, "home_team": STRING, "away_team": STRING, "team": STRING,
            "scorer": STRING, "minute": INT64, "own_goal": BOOL, "penalty": BOOL},
}
#: Integer columns that the generator stores as 32-bit integers in Parquet (their values are
#: small): a Parquet reader may get them so, as long as it sums them in 64 bits.
PARQUET_INT32 = ("home_score", "away_score", "minute")

#: The name (the folder) of the dataset of the tutorial's real files.
TUTORIAL = "tutorial"
SCALE_PREFIX = "scale-"

#: A dataset being written lives in a hidden folder beside its target,
#: `.<name>.partial-<host>-<pid>`, and is renamed into place once its manifest is written;
#: a folder whose name starts with "." is never a dataset.
PARTIAL_MARK = ".partial-"


def csv_types(kind: str) -> dict[str, str]:
    """`COLUMN_TYPES` of a kind of table keyed by the CSV header's names (the match id: "")."""
    return dict(zip(TABLE_COLUMNS[kind, "csv"], COLUMN_TYPES[kind].values(), strict=True))


def part_name(index: int, fmt: str) -> str:
    """File name of part `index` in format "txt", "csv" or "parquet"."""
    return f"part-{index:05d}{SUFFIX[fmt]}"


def scale_dirname(scale: str | float) -> str:
    """`scale-N` with N as given and no trailing zeros: scale-1, scale-10, scale-0.1."""
    text = str(scale)
    if "." in text and "e" not in text.lower():
        text = text.rstrip("0").rstrip(".")
    return f"{SCALE_PREFIX}{text}"
