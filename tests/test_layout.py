"""The column types of `workloads.layout`, the one definition: the files `datagen` writes store
them, and each framework's reader of the CSV files (and Polars' of the Parquet files too) gives
every column its declared type. The expected framework types are written out here, not taken
from the engines' own mappings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workloads.data import frames
from workloads.data.dataset import Input
from workloads.engines import duckdb as duckdb_engine
from workloads.layout import COLUMN_TYPES, GOALS, MATCHES, PARQUET_INT32, TABLE_COLUMNS

KINDS = (MATCHES, GOALS)
ARROW = {"int64": pa.int64(), "date": pa.date32(), "string": pa.string(), "bool": pa.bool_()}
DUCKDB = {"int64": "BIGINT", "date": "DATE", "string": "VARCHAR", "bool": "BOOLEAN"}
POLARS = {"int64": "Int64", "date": "Date", "string": "String", "bool": "Boolean"}


def first_file(dataset, name: str, kind: str, fmt: str) -> Input:
    return Input(kind, dataset(name).input(kind, fmt).paths[:1], fmt)


def test_every_column_has_a_type_in_file_order():
    for kind in KINDS:
        assert tuple(COLUMN_TYPES[kind]) == TABLE_COLUMNS[kind, "parquet"]
        assert set(COLUMN_TYPES[kind].values()) <= set(ARROW)
    assert set(PARQUET_INT32) <= set(COLUMN_TYPES[MATCHES]) | set(COLUMN_TYPES[GOALS])


@pytest.mark.parametrize("name", ["tutorial", "0.01"])
@pytest.mark.parametrize("kind", KINDS)
def test_generated_parquet_stores_the_declared_types(dataset, name, kind):
    schema = pq.read_schema(first_file(dataset, name, kind, "parquet").paths[0])
    stored = {f.name: f.type for f in schema}
    assert stored == {c: pa.int32() if c in PARQUET_INT32 else ARROW[t]
                      for c, t in COLUMN_TYPES[kind].items()}


@pytest.mark.parametrize("kind", KINDS)
def test_arrow_reads_csv_columns_as_declared(dataset, kind):
    inp = first_file(dataset, "tutorial", kind, "csv")
    table = frames.read_table(inp.paths[0], "csv", list(COLUMN_TYPES[kind]), kind)
    assert {f.name: f.type for f in table.schema} == {c: ARROW[t]
                                                       for c, t in COLUMN_TYPES[kind].items()}


@pytest.mark.parametrize("kind", KINDS)
def test_duckdb_reads_csv_columns_as_declared(dataset, kind):
    """A goal's minute (`NA` when missing, never read) is the one column DuckDB keeps as text."""
    inp = first_file(dataset, "tutorial", kind, "csv")
    with duckdb.connect() as con:
        rows = con.execute(f"DESCRIBE SELECT * FROM {duckdb_engine._source(inp)}",
                           {kind: list(inp.paths)}).fetchall()
    expected = {c: DUCKDB[t] for c, t in COLUMN_TYPES[kind].items()}
    if kind == GOALS:
        expected["minute"] = "VARCHAR"
    assert {name: type_ for name, type_, *_ in rows} == expected


def test_polars_reads_both_formats_as_declared(dataset):
    """In a process of its own: Polars' thread pool is sized once per process (see
    `test_engine_polars`)."""
    inputs = {f"{kind}/{fmt}": list(first_file(dataset, "tutorial", kind, fmt).paths)
              for kind in KINDS for fmt in ("csv", "parquet")}
    code = ("import json, sys\n"
            "from workloads.data.dataset import Input\n"
            "from workloads.engines.polars import plans\n"
            "schemas = {}\n"
            "for key, paths in json.loads(sys.argv[1]).items():\n"
            "    kind, fmt = key.split('/')\n"
            "    schema = plans.scan(Input(kind, tuple(paths), fmt)).collect_schema()\n"
            "    schemas[key] = {name: str(type_) for name, type_ in schema.items()}\n"
            "print(json.dumps(schemas))\n")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(inputs)], capture_output=True,
                         text=True, check=True, timeout=120,
                         env={**os.environ, "POLARS_MAX_THREADS": "1"})
    schemas = json.loads(out.stdout)
    for key in inputs:
        kind = key.split("/")[0]
        assert schemas[key] == {c: POLARS[t] for c, t in COLUMN_TYPES[kind].items()}, key
