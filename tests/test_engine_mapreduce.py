"""mapreduce: the Streaming programs as a real shell pipeline, counters, variants, errors."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from workloads import spec
from workloads.data.dataset import Input
from workloads.engines.mapreduce import MapReduceEngine
from workloads.engines.mapreduce.runtime import partition
from workloads.runtime.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = f"{shlex.quote(sys.executable)} -m workloads.engines.mapreduce"


def pipeline(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def parse_counts(text: str) -> dict[str, int]:
    pairs = (line.split("\t") for line in text.splitlines())
    return {word: int(count) for word, count in pairs}


@pytest.mark.parametrize("mapper", ["mapper", "mapper --no-combine"])
@pytest.mark.parametrize("scale", ["tutorial", "0.1"])
def test_streaming_pipeline_equals_manifest(scale, mapper, dataset):
    ds = dataset(scale)
    files = " ".join(map(shlex.quote, ds.input("text").paths))
    done = pipeline(f"cat {files} | {PROGRAM} {mapper} | LC_ALL=C sort | {PROGRAM} reducer")
    assert done.returncode == 0 and not done.stderr, done.stderr
    spec.get("wordcount").check(ds.answer("wordcount"), parse_counts(done.stdout))


def test_streaming_reducer_names_bad_line():
    done = pipeline(f"printf 'a\\t1\\na\\t2\\nb\\tx\\n' | {PROGRAM} reducer")
    assert done.returncode == 1
    assert "<stdin>:3" in done.stderr and "b\\tx" in done.stderr


def test_counters(engine, dataset):
    ds = dataset("0.1")
    counts = ds.manifest["counts"]
    e = engine("mapreduce", 2)
    e.run("wordcount", ds)
    c = e.counters
    assert c["map_input_records"] == counts["lines"]
    assert c["jobs"] == 1 and c["map_tasks"] == len(ds.input("text").paths)
    assert c["reduce_output_records"] == len(ds.answer("wordcount"))
    assert c["shuffle_bytes"] > 0 and c["spill_files"] > 0
    assert c["reduce_input_records"] == c["combine_output_records"] <= c["map_output_records"]
    assert os.listdir(e.workdir) == [], "spill files left behind"
    e.run("team_records", ds)
    assert e.counters["map_input_records"] == counts["matches"]
    assert e.counters["reduce_output_records"] == counts["teams"]
    e.run("team_ratings", ds, "parquet")
    assert e.counters["jobs"] == spec.RATING_PASSES
    assert e.counters["map_input_records"] == spec.RATING_PASSES * counts["matches"]
    assert os.listdir(e.workdir) == []


@pytest.mark.parametrize("options", [
    {"mappers": "plain", "serializer": "pickle"},
    {"mappers": "plain", "serializer": "marshal", "partitions": 3},
    {"mappers": "vectorised", "serializer": "pickle", "partitions": 1},
])
def test_variants_equal_manifest(options, dataset):
    ds = dataset("0.1")
    with MapReduceEngine(2, **options) as e:
        for workload in spec.NAMES:
            for fmt in ("csv", "parquet"):
                spec.get(workload).check(ds.answer(workload), e.run(workload, ds, fmt))
    assert e.workdir is None


@pytest.mark.parametrize("mappers", ["plain", "vectorised"])
def test_malformed_row_is_named(mappers, dataset, tmp_path):
    good = dataset("0.01").input("matches").paths[0]
    lines = Path(good).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",False", ",maybe").replace(",True", ",maybe")
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    with MapReduceEngine(1, mappers=mappers) as e:
        with pytest.raises(DataError, match=f"{bad}:3"):
            e.run_inputs("team_records", {"matches": Input("matches", (good, str(bad)), "csv")})
        assert os.listdir(e.workdir) == []


def test_bad_options():
    for options in ({"mappers": "java"}, {"serializer": "json"}, {"partitions": 0}):
        with pytest.raises(spec.ParbenchError):
            MapReduceEngine(1, **options)


def test_partition_is_stable_crc32():
    # the same partition in every process, whatever PYTHONHASHSEED: CRC-32 of the UTF-8 bytes
    assert partition("Curaçao", 2**32) == 0x87FC3BFE and partition("Curaçao", 7) == 0x87FC3BFE % 7
