"""The one validation of input files, shared by every engine.

A timed run reads files whose bytes match the manifest's sha256, so engines parse only what their
workload needs and check nothing more. A run on unverified files (`--no-verify`) is validated here
first, outside any timing, by one definition of a well-formed file: the same input is malformed
for every engine or for none, and the error names the file (and for CSV and text the line).

A well-formed match CSV has the tutorial's header and, on every row, ten fields: an integer match
id, an ISO date, non-empty team names, non-negative integer scores, any tournament, city and
country, and `neutral` spelled `True` or `False`. A match Parquet file has the typed columns the
generator writes, without nulls. A goal CSV has the goal columns and, on every row, eight fields:
an ISO date, non-empty team and scorer names (the scorer `NA` is a name), a non-negative integer
minute or `NA`, and `own_goal` and `penalty` spelled `TRUE` or `FALSE`; a goal Parquet file has
its typed columns, nulls only in `minute`. A text file is UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from workloads.data.dataset import Input
from workloads.data.readers import header_problem, missing_file, unreadable
from workloads.layout import (
    BOOL,
    COLUMN_TYPES,
    CSV_BOOLEANS,
    CSV_COLUMNS,
    DATE,
    GOAL_COLUMNS,
    GOAL_FALSE,
    GOAL_TRUE,
    GOALS,
    INT64,
    MATCH_FALSE,
    MATCH_TRUE,
    MATCHES,
    MISSING_MINUTE,
    STRING,
    TEXT,
    csv_types,
)
from workloads.runtime.errors import DataError

#: The Arrow type of each of `layout.COLUMN_TYPES`' type names.
ARROW_TYPES = {INT64: pa.int64(), DATE: pa.date32(), STRING: pa.string(), BOOL: pa.bool_()}


def arrow_types(types: dict[str, str]) -> dict[str, pa.DataType]:
    """The same columns with their Arrow types."""
    return {name: ARROW_TYPES[kind] for name, kind in types.items()}


#: Arrow types of every match CSV column (by header name), as a well-formed file has them.
CSV_TYPES = arrow_types(csv_types(MATCHES))
#: Arrow types of every match Parquet column, as a reader gets them.
MATCH_TYPES = arrow_types(COLUMN_TYPES[MATCHES])
NON_EMPTY = ("home_team", "away_team")
SCORES = ("home_score", "away_score")
#: Arrow types of every goal column (the same names in CSV and Parquet).
GOAL_TYPES = arrow_types(COLUMN_TYPES[GOALS])
GOAL_NON_EMPTY = ("home_team", "away_team", "team", "scorer")
GOAL_FLAGS = ("own_goal", "penalty")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_INT = re.compile(r"-?\d+")


def row_problem(row: list[str]) -> str | None:
    """What is wrong with one row of a match CSV (None: nothing)."""
    if len(row) != len(CSV_COLUMNS):
        return f"expected {len(CSV_COLUMNS)} fields, got {len(row)}"
    field = dict(zip(CSV_COLUMNS, row, strict=True))
    if not _INT.fullmatch(field[""]):
        return f"the match id {field['']!r} is not an integer"
    if not _DATE.fullmatch(field["date"]):
        return f"the date {field['date']!r} is not YYYY-MM-DD"
    for name in NON_EMPTY:
        if not field[name]:
            return f"{name} is empty"
    for name in SCORES:
        if not field[name].isdigit():
            return f"{name} {field[name]!r} is not a non-negative integer"
    if field["neutral"] not in CSV_BOOLEANS[MATCHES]:
        return f"neutral {field['neutral']!r} is not {MATCH_TRUE} or {MATCH_FALSE}"
    return None


def goal_row_problem(row: list[str]) -> str | None:
    """What is wrong with one row of a goal CSV (None: nothing)."""
    if len(row) != len(GOAL_COLUMNS):
        return f"expected {len(GOAL_COLUMNS)} fields, got {len(row)}"
    field = dict(zip(GOAL_COLUMNS, row, strict=True))
    if not _DATE.fullmatch(field["date"]):
        return f"the date {field['date']!r} is not YYYY-MM-DD"
    for name in GOAL_NON_EMPTY:
        if not field[name]:
            return f"{name} is empty"
    if field["minute"] != MISSING_MINUTE and not field["minute"].isdigit():
        return f"minute {field['minute']!r} is not a non-negative integer or {MISSING_MINUTE}"
    for name in GOAL_FLAGS:
        if field[name] not in CSV_BOOLEANS[GOALS]:
            return f"{name} {field[name]!r} is not {GOAL_TRUE} or {GOAL_FALSE}"
    return None


def _first_bad_line(path: Path) -> int:
    """The number of the first line of `path` that is not UTF-8."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _text(path: Path) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            while f.read(1 << 24):
                pass
    except UnicodeDecodeError:
        raise DataError(f"{path}:{_first_bad_line(path)}: not UTF-8 text") from None


def _csv_rows(path: Path, columns: tuple[str, ...] = CSV_COLUMNS,
              problem_of=row_problem) -> None:
    """Name the first malformed line of a CSV file (the slow, exact pass)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or tuple(header) != columns:
                raise DataError(f"{path}:1: {header_problem(header, columns)}")
            for row in reader:
                problem = problem_of(row)
                if problem:
                    raise DataError(f"{path}:{reader.line_num}: malformed row, {problem}")
    except UnicodeDecodeError:
        raise DataError(f"{path}:{_first_bad_line(path)}: not UTF-8 text") from None


def _matches_csv(path: Path) -> None:
    """Arrow parses every column strictly (fast); on a failure the csv module names the line."""
    options = pacsv.ConvertOptions(column_types=CSV_TYPES, null_values=[],
                                   strings_can_be_null=False, true_values=[MATCH_TRUE],
                                   false_values=[MATCH_FALSE])
    try:
        table = pacsv.read_csv(path, convert_options=options)
        ok = (tuple(table.column_names) == CSV_COLUMNS
              and all(pc.min(pc.utf8_length(table[c])).as_py() or table.num_rows == 0
                      for c in NON_EMPTY)
              and all(pc.min(table[c]).as_py() is None or pc.min(table[c]).as_py() >= 0
                      for c in SCORES))
    except (pa.ArrowException, OSError, ValueError) as exc:
        ok, error = False, exc
    else:
        error = None
    if not ok:
        _csv_rows(path)
        raise unreadable([str(path)], error or "malformed rows")


def _goals_csv(path: Path) -> None:
    """As `_matches_csv`, for a goal file: Arrow first, the csv module to name the line."""
    options = pacsv.ConvertOptions(column_types=GOAL_TYPES, null_values=[MISSING_MINUTE],
                                   strings_can_be_null=False, true_values=[GOAL_TRUE],
                                   false_values=[GOAL_FALSE])
    try:
        table = pacsv.read_csv(path, convert_options=options)
        ok = (tuple(table.column_names) == GOAL_COLUMNS
              and all(table[c].null_count == 0 for c in GOAL_COLUMNS if c != "minute")
              and all(pc.min(pc.utf8_length(table[c])).as_py() or table.num_rows == 0
                      for c in GOAL_NON_EMPTY)
              and (pc.min(table["minute"]).as_py() or 0) >= 0)
    except (pa.ArrowException, OSError, ValueError) as exc:
        ok, error = False, exc
    else:
        error = None
    if not ok:
        _csv_rows(path, GOAL_COLUMNS, goal_row_problem)
        raise unreadable([str(path)], error or "malformed rows")


def _typed_parquet(path: Path, types: dict[str, pa.DataType], nullable: tuple[str, ...] = ()
                   ) -> None:
    """A Parquet file with the columns of `types`, of compatible types, nulls only in
    `nullable`."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise unreadable([str(path)], exc) from None
    columns = list(types)
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DataError(f"{path}: no column {', '.join(missing)}")
    nulls = [c for c in columns if table[c].null_count and c not in nullable]
    if nulls:
        raise DataError(f"{path}: nulls in {', '.join(nulls)}")
    for name in columns:
        if not _compatible(table.schema.field(name).type, types[name]):
            raise DataError(f"{path}: column {name} is {table.schema.field(name).type}, "
                            f"not {types[name]}")


def _goals_parquet(path: Path) -> None:
    _typed_parquet(path, GOAL_TYPES, nullable=("minute",))


def _matches_parquet(path: Path) -> None:
    _typed_parquet(path, MATCH_TYPES)


def _compatible(have: pa.DataType, want: pa.DataType) -> bool:
    if pa.types.is_integer(want):
        return pa.types.is_integer(have)
    if pa.types.is_string(want):
        return pa.types.is_string(have) or pa.types.is_large_string(have) or (
            pa.types.is_dictionary(have) and pa.types.is_string(have.value_type))
    return have == want


VALIDATORS = {(TEXT, "txt"): _text, (MATCHES, "csv"): _matches_csv,
              (MATCHES, "parquet"): _matches_parquet, (GOALS, "csv"): _goals_csv,
              (GOALS, "parquet"): _goals_parquet}


def validate(inputs: Iterable[Input]) -> None:
    """Check every file of `inputs`, or raise a DataError naming the first bad one (and line)."""
    for inp in inputs:
        check = VALIDATORS[(inp.kind, inp.fmt)]
        for name in inp.paths:
            path = Path(name)
            if not path.is_file():
                raise missing_file(path)
            check(path)


def find_malformed(inp: Input) -> DataError | None:
    """The DataError naming the first missing or malformed file of `inp`, or None."""
    try:
        validate([inp])
    except DataError as found:
        return found
    return None


def locate_malformed(inp: Input, error: BaseException | str) -> DataError:
    """Where a framework's reader failed on `inp`: the file (and line) that `validate` names,
    failing that the files and the framework's message."""
    return find_malformed(inp) or unreadable(inp.paths, error)
