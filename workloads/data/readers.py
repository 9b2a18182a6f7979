"""Plain-Python readers of the dataset files, shared by the engines that loop over rows.

`match_rows`, `fixture_rows` and `goal_rows` are the tutorial's way of reading a table (the `csv`
module, row by row), parsing what the workloads need; a row they cannot parse is an error that
names the file and line. What makes a file well-formed is defined once, in
`workloads.data.validate`.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from workloads.layout import (
    CSV_COLUMNS,
    GOAL_COLUMNS,
    GOAL_FALSE,
    GOAL_TRUE,
    MATCH_FALSE,
    MATCH_ID,
    MATCH_TRUE,
)
from workloads.runtime.errors import DataError
from workloads.spec import FIXTURE_COLUMNS, GOAL_FIELDS, MATCH_COLUMNS, Fixture, Goal, Match

Row = TypeVar("Row")

_M = {name: i for i, name in enumerate(CSV_COLUMNS)}
_G = {name: i for i, name in enumerate(GOAL_COLUMNS)}
_BOOL = {MATCH_TRUE: True, MATCH_FALSE: False}
_GOAL_BOOL = {GOAL_TRUE: True, GOAL_FALSE: False}


def missing_file(path: str | Path) -> DataError:
    return DataError(f"data file {path} is missing: regenerate the dataset with "
                     "`python -m datagen ... --force`")


def _width(row: list[str], columns: Sequence[str], where: str) -> None:
    if len(row) != len(columns):
        raise DataError(f"{where}: malformed row, expected {len(columns)} fields, got {len(row)}")


def _match(row: list[str], where: str) -> Match:
    _width(row, CSV_COLUMNS, where)
    try:
        return Match(row[_M["home_team"]], row[_M["away_team"]], int(row[_M["home_score"]]),
                     int(row[_M["away_score"]]), _BOOL[row[_M["neutral"]]])
    except (ValueError, KeyError):
        raise DataError(f"{where}: malformed row, scores must be integers and neutral "
                        f"True/False: {','.join(row)!r}") from None


def _fixture(row: list[str], where: str) -> Fixture:
    _width(row, CSV_COLUMNS, where)
    try:
        return Fixture(int(row[0]), row[_M["date"]], row[_M["home_team"]], row[_M["away_team"]],
                       int(row[_M["home_score"]]), int(row[_M["away_score"]]),
                       row[_M["tournament"]])
    except ValueError:
        raise DataError(f"{where}: malformed row, the match id and the scores must be integers: "
                        f"{','.join(row)!r}") from None


def _goal(row: list[str], where: str) -> Goal:
    _width(row, GOAL_COLUMNS, where)
    try:
        own_goal = _GOAL_BOOL[row[_G["own_goal"]]]
    except KeyError:
        raise DataError(f"{where}: malformed row, own_goal {row[_G['own_goal']]!r} is not "
                        f"{GOAL_TRUE} or {GOAL_FALSE}") from None
    return Goal(row[_G["date"]], row[_G["home_team"]], row[_G["away_team"]], row[_G["scorer"]],
                own_goal)


def header_problem(header: list[str] | None, columns: Sequence[str]) -> str:
    """What is wrong with a CSV header that is not `columns`."""
    if tuple(columns) == CSV_COLUMNS:
        return f"header is not the tutorial's columns {CSV_COLUMNS}"
    missing = [c for c in columns if c not in (header or ())]
    if header and missing:
        return f"header has no column {', '.join(missing)}"
    return f"header is not the columns {tuple(columns)}"


def _csv(path: str | Path, columns: Sequence[str],
         parse: Callable[[list[str], str], Row]) -> Iterator[Row]:
    """The rows of one CSV file whose header is exactly `columns`, parsed (errors name the line)."""
    try:
        f = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed by `with` below
    except FileNotFoundError:
        raise missing_file(path) from None
    with f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != tuple(columns):
            raise DataError(f"{path}:1: {header_problem(header, columns)}")
        for row in reader:
            yield parse(row, f"{path}:{reader.line_num}")


def _parquet(path: str | Path, columns: Sequence[str], make: Callable[..., Row],
             renamed: dict[str, str] | None = None) -> Iterator[Row]:
    """The rows of one Parquet file as `make(*values)`; dates become ISO text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    renamed = renamed or {}
    names = [renamed.get(c, c) for c in columns]
    try:
        table = pq.read_table(path, columns=names)
    except FileNotFoundError:
        raise missing_file(path) from None
    except (pa.ArrowException, OSError) as exc:
        raise unreadable([str(path)], exc) from None
    values = []
    for name in names:
        column = table.column(name)
        if pa.types.is_date(column.type):
            column = column.cast(pa.string())
        values.append(column.to_pylist())
    yield from map(make, *values)


def csv_rows(path: str | Path) -> Iterator[Match]:
    """The matches of one CSV file, validated row by row (errors name file and line)."""
    return _csv(path, CSV_COLUMNS, _match)


def parquet_rows(path: str | Path) -> Iterator[Match]:
    """The matches of one Parquet file as Python tuples."""
    return _parquet(path, MATCH_COLUMNS, Match)


def match_rows(paths: Iterable[str], fmt: str) -> Iterator[Match]:
    """All matches of the given files, in file order."""
    read = csv_rows if fmt == "csv" else parquet_rows
    for path in paths:
        yield from read(path)


def fixture_rows(paths: Iterable[str], fmt: str) -> Iterator[Fixture]:
    """All matches of the given files with their id, date and tournament, in file order."""
    for path in paths:
        if fmt == "csv":
            yield from _csv(path, CSV_COLUMNS, _fixture)
        else:
            yield from _parquet(path, FIXTURE_COLUMNS, Fixture, {"match_id": MATCH_ID})


def goal_rows(paths: Iterable[str], fmt: str) -> Iterator[Goal]:
    """All goals of the given files, in file order; the scorer `NA` stays the string "NA"."""
    for path in paths:
        if fmt == "csv":
            yield from _csv(path, GOAL_COLUMNS, _goal)
        else:
            yield from _parquet(path, GOAL_FIELDS, Goal)


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
