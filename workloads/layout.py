"""The on-disk layout of a dataset: the one contract between `datagen` and every reader.

A dataset is a folder::

    <name>/manifest.json               parameters, files (bytes, sha256), counts, answers
    <name>/text/part-NNNNN.txt         the corpus: UTF-8, words separated by single spaces, LF lines
    <name>/matches/part-NNNNN.csv      the results table with the tutorial's columns
    <name>/matches/part-NNNNN.parquet  the same rows, typed (no index column)

The manifest is written last, so a folder without a complete manifest is not a dataset. A kind of
input (`TEXT`, `MATCHES`) is also the name of its folder.
"""

from __future__ import annotations

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "parbench-dataset/1"
#: Keys every complete manifest has; `answers` holds one entry per workload of the spec.
MANIFEST_KEYS = ("format", "name", "generator", "params", "files", "counts", "answers")

#: The kinds of input a workload reads; each is the folder of its files.
TEXT = "text"
MATCHES = "matches"
INPUT_KINDS = (TEXT, MATCHES)
#: Formats of the tables (text is always .txt).
FORMATS = ("csv", "parquet")
TEXT_FORMAT = "txt"
SUFFIX = {TEXT_FORMAT: ".txt", "csv": ".csv", "parquet": ".parquet"}

#: The tutorial's columns; the first (unnamed) one is the pandas index as the course saved it.
CSV_COLUMNS = ("", "date", "home_team", "away_team", "home_score", "away_score", "tournament",
               "city", "country", "neutral")
#: Parquet holds the typed data columns only: date32, strings, int32 scores, bool neutral.
PARQUET_COLUMNS = CSV_COLUMNS[1:]

#: `params.kind` of a manifest: generated data, or the tutorial's real files.
DATASET_KINDS = ("synthetic", "tutorial")
TUTORIAL = "tutorial"
SCALE_PREFIX = "scale-"

#: A dataset being written lives in a hidden folder beside its target,
#: `.<name>.partial-<host>-<pid>`, and is renamed into place once its manifest is written;
#: a folder whose name starts with "." is never a dataset.
PARTIAL_MARK = ".partial-"


def part_name(index: int, fmt: str) -> str:
    """File name of part `index` in format "txt", "csv" or "parquet"."""
    return f"part-{index:05d}{SUFFIX[fmt]}"


def scale_dirname(scale: str | float) -> str:
    """`scale-N` with N as given and no trailing zeros: scale-1, scale-10, scale-0.1."""
    text = str(scale)
    if "." in text and "e" not in text.lower():
        text = text.rstrip("0").rstrip(".")
    return f"{SCALE_PREFIX}{text}"
