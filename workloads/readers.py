"""Plain-Python readers of the dataset files, shared by the engines that loop over rows.

`match_rows` is the tutorial's way of reading the results table (the `csv` module, row by row),
parsing what the workloads need; what makes a file well-formed is defined once, in
`workloads.validate`.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from workloads.errors import DataError
from workloads.layout import CSV_COLUMNS
from workloads.spec import MATCH_COLUMNS, Match

_INDEX = {name: i for i, name in enumerate(CSV_COLUMNS)}
_BOOL = {"True": True, "False": False}


def missing_file(path: str | Path) -> DataError:
    return DataError(f"data file {path} is missing: regenerate the dataset with "
                     "`python -m datagen ... --force`")


def _parse(row: list[str], where: str) -> Match:
    if len(row) != len(CSV_COLUMNS):
        raise DataError(f"{where}: malformed row, expected {len(CSV_COLUMNS)} fields, "
                        f"got {len(row)}")
    try:
        home_score = int(row[_INDEX["home_score"]])
        away_score = int(row[_INDEX["away_score"]])
        neutral = _BOOL[row[_INDEX["neutral"]]]
    except (ValueError, KeyError):
        raise DataError(f"{where}: malformed row, scores must be integers and neutral "
                        f"True/False: {','.join(row)!r}") from None
    return Match(row[_INDEX["home_team"]], row[_INDEX["away_team"]], home_score, away_score,
                 neutral)


def csv_rows(path: str | Path) -> Iterator[Match]:
    """The matches of one CSV file, validated row by row (errors name file and line)."""
    try:
        f = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed by `with` below
    except FileNotFoundError:
        raise missing_file(path) from None
    with f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != CSV_COLUMNS:
            raise DataError(f"{path}:1: header is not the tutorial's columns {CSV_COLUMNS}")
        for row in reader:
            yield _parse(row, f"{path}:{reader.line_num}")


def parquet_rows(path: str | Path) -> Iterator[Match]:
    """The matches of one Parquet file as Python tuples."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=list(MATCH_COLUMNS))
    except FileNotFoundError:
        raise missing_file(path) from None
    yield from map(Match._make, zip(*(table.column(c).to_pylist() for c in MATCH_COLUMNS),
                                    strict=True))


def match_rows(paths: Iterable[str], fmt: str) -> Iterator[Match]:
    """All matches of the given files, in file order."""
    read = csv_rows if fmt == "csv" else parquet_rows
    for path in paths:
        yield from read(path)


def unreadable(paths: Iterable[str], error: BaseException | str) -> DataError:
    """A DataError naming the files and the first line of a framework's message."""
    paths = list(paths)
    text = str(error).strip()
    reason = text.splitlines()[0] if text else type(error).__name__
    return DataError(f"cannot read {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''}: "
                     f"{reason}")


def text_lines(path: str | Path) -> Iterator[str]:
    """The lines of one text file."""
    try:
        f = open(path, encoding="utf-8")  # noqa: SIM115 - closed by `with` below
    except FileNotFoundError:
        raise missing_file(path) from None
    with f:
        yield from f


def merge_counts(parts: Iterable[Counter[str]]) -> Counter[str]:
    """Sum word counts into a new Counter (Counter.update with a mapping adds counts)."""
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return total


def count_words(path: str | Path) -> Counter[str]:
    """Word counts of one text file: `str.split` tokens counted by Counter's C loop."""
    try:
        with open(path, encoding="utf-8") as f:
            return Counter(f.read().split())
    except FileNotFoundError:
        raise missing_file(path) from None
