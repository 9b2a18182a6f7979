"""The engines that spill, configured from a memory budget: Spark (the driver JVM's heap and its
own memory), Dask (workers' memory limits, disk shuffles, pieces of files), Ray (the object store
and its spilling), mapreduce and batch (tables read in pieces).

The peak of a run is sampled here, independently of parbench's accounting (`budget_runs`)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

import pytest
from budget_runs import GiB, MiB, parbench_cgroups, run_sampled

from tests.conftest import run_cli
from workloads import engines, spec
from workloads.data import frames
from workloads.data.dataset import Dataset
from workloads.engines import dask as dask_engine
from workloads.engines import ray as ray_engine
from workloads.engines.spark import engine as spark_engine
from workloads.runtime import limits
from workloads.runtime.errors import ParbenchError
from workloads.runtime.settings import Settings

needs_java = pytest.mark.skipif(not spark_engine.SparkEngine.availability().ok,
                                reason="Spark needs Java")


# --------------------------------------------------------------------------- pieces of files


def test_pieces_cover_every_line_once(data_dir):
    """Pieces of any size, even smaller than a line, read every row exactly once."""
    import pyarrow as pa

    matches = Dataset.open(data_dir / "scale-1").input("matches")
    path = matches.paths[0]
    whole = frames.read_table(path, "csv", frames.STREAK_COLUMNS)
    for most in (50, 4096, os.path.getsize(path) // 3, None):
        pieces = frames.pieces([path], "csv", most)
        assert len(pieces) == (1 if most is None else math.ceil(os.path.getsize(path) / most))
        read = pa.concat_tables([frames.read_table(p, "csv", frames.STREAK_COLUMNS, span=s)
                                 for p, s in pieces])
        assert read.equals(whole), most
    assert frames.pieces([path], "parquet", 50) == [(path, None)]


def test_block_bytes_from_the_budget():
    assert limits.block_bytes(None, 2) is None
    assert limits.block_bytes(1 * GiB, 2) == 16 * MiB
    assert limits.shuffle_partitions(130, 2) == 130 and limits.shuffle_partitions(1, 2) == 2
    assert limits.block_bytes(64 * GiB, 1) == limits.BLOCK_MAX
    assert limits.block_bytes(128 * MiB, 8) == limits.BLOCK_MIN


# --------------------------------------------------------------------------- sizes


def test_spark_heap_and_jvm_memory_fit_the_budget(tmp_path):
    budget, room = 1 * GiB, 1 * GiB - 100 * MiB  # a run's Python driver holds ~80-100 MiB
    conf, java = spark_engine.budget_conf(budget, room)
    heap = int(conf["spark.driver.memory"].removesuffix("m")) * MiB
    native = spark_engine.JVM_NATIVE + spark_engine.CODE_CACHE + spark_engine.DIRECT_MEMORY
    assert spark_engine.SPARK_MIN_HEAP <= heap <= room - native - spark_engine.PYTHON_SIDE
    assert "-XX:+UseSerialGC" in java
    assert f"-XX:MaxDirectMemorySize={spark_engine.DIRECT_MEMORY // MiB}m" in java
    with pytest.raises(ParbenchError, match=r"below the .* Spark starts with") as raised:
        spark_engine.budget_conf(700 * MiB, 600 * MiB)
    assert "\n" not in str(raised.value)
    # the session's settings: the budget's, and Spark's files in the folder it is given
    conf = spark_engine.SparkEngine(2, Settings(memory=4 * GiB)).conf(tmp_path)
    assert conf["spark.driver.memory"] != "4g" and conf["spark.local.dir"] == str(tmp_path)
    assert f"-Djava.io.tmpdir={tmp_path}" in conf["spark.driver.extraJavaOptions"]
    assert "UseSerialGC" not in conf["spark.driver.extraJavaOptions"]
    assert spark_engine.SparkEngine(2, Settings()).conf()["spark.driver.memory"] == "4g"


def test_dask_workers_share_what_is_left():
    limit, config = dask_engine.worker_memory(900 * MiB, 2)
    # their resident sets count the pages they share once each; the budget counts them once
    assert 2 * (limit - dask_engine.WORKER_SHARED) + dask_engine.CLIENT_GROWTH <= 900 * MiB
    assert config["distributed.worker.memory.terminate"] < 1


def test_ray_object_store_leaves_room_for_its_processes(monkeypatch):
    # what the budget holds already: a run's driver (~100 MiB), not this test session's tree
    monkeypatch.setattr(ray_engine.memory, "tree_usage", lambda: 100 * MiB)
    room = ray_engine.store_room(1 * GiB, 2)
    assert 0 < room < 1 * GiB - 100 * MiB - ray_engine.RAY_PROCESSES - 2 * ray_engine.WORKER_PROCESS
    assert ray_engine.store_room(None, 2) > 1 * GiB  # the machine's available memory


# --------------------------------------------------------------------------- the answers


SPILLING = ("spark", "dask-threads", "dask-processes", "dask-distributed", "ray", "mapreduce",
            "batch")
KEYED = ("team_records", "unbeaten_streaks", "top_scorers", "team_ratings")


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", SPILLING)
def test_budget_forms_give_the_manifests_answers(name, data_dir, monkeypatch):
    """Under a budget each engine takes its out-of-core form (pieces of files, disk shuffles,
    many buckets, Spark's windows); pieces of 8 KiB cut each file of scale 0.01 (17 KB) in three."""
    if name == "spark" and not spark_engine.SparkEngine.availability().ok:
        pytest.skip("Spark needs Java")
    monkeypatch.setattr(limits, "block_bytes", lambda budget, workers: 8 * 1024)
    dataset = Dataset.open(data_dir / "scale-0.01")
    assert len(frames.pieces(dataset.input("matches").paths, "csv", 8 * 1024)) > 2 * len(
        dataset.input("matches").paths)
    with engines.create(name, 2, Settings(memory=4 * GiB)) as engine:
        for workload in KEYED:
            answer = engine.run(workload, dataset)
            spec.get(workload).check(dataset.answer(workload), answer)


# --------------------------------------------------------------------------- at twice a budget


@pytest.fixture(scope="module")
def twice_a_gib(tmp_path_factory: pytest.TempPathFactory):
    """A dataset whose match CSV is one file of 2 GiB: scale 10's match rows, repeated (the
    team_records of k copies is k times the records), with its own manifest. One file, as users'
    exports often are: an engine must cut it, as a whole it cannot be held. Made from a small
    generated dataset, not generated at scale 600: the test is about memory, and this costs
    seconds, not minutes."""
    out = tmp_path_factory.mktemp("twice")
    run_cli("datagen", "--scale", "10", "--formats", "csv", "--out", str(out), check=True)
    small = Dataset.open(out / "scale-10")
    sources = small.input("matches").paths
    copies = math.ceil(2 * GiB / sum(os.path.getsize(p) for p in sources))
    big = out / "twice"
    (big / "matches").mkdir(parents=True)
    name = "matches/part-00000.csv"
    with open(sources[0], "rb") as f:
        header = f.readline()
    bodies = []
    for source in sources:
        with open(source, "rb") as f:
            f.readline()
            bodies.append(f.read())
    digest = hashlib.sha256(header)
    with open(big / name, "wb") as f:
        f.write(header)
        for _ in range(copies):
            for body in bodies:
                f.write(body)
                digest.update(body)
    files = {name: {"bytes": (big / name).stat().st_size, "sha256": digest.hexdigest()}}
    manifest = json.loads((small.path / "manifest.json").read_text())
    manifest["files"] = files
    manifest["answers"]["team_records"] = {
        team: {field: n * copies for field, n in record.items()}
        for team, record in manifest["answers"]["team_records"].items()}
    (big / "manifest.json").write_text(json.dumps(manifest))
    assert sum(f["bytes"] for f in files.values()) >= 2 * GiB
    yield big
    shutil.rmtree(out, ignore_errors=True)


def left_in_tmp() -> set[str]:
    """What a JVM would leave in /tmp, whatever $TMPDIR says."""
    return {p.name for p in Path("/tmp").iterdir() if p.name.startswith(("blockmgr-", "spark-"))}


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", [pytest.param("spark", marks=needs_java), "dask-distributed"])
def test_team_records_at_twice_a_gib(name, twice_a_gib, tmp_path):
    """team_records over 2 GiB of match CSV in a 1 GiB budget: the manifest's answer, a peak
    sampled here at most 5% above the budget, nothing left behind."""
    budget = 1 * GiB
    before = left_in_tmp()
    proc, peak = run_sampled(
        ["run", "team_records", "--engine", name, "--workers", "2", "--data", str(twice_a_gib),
         "--memory", "1GiB"],
        {"TMPDIR": str(tmp_path), "PARBENCH_MEMORY_ENFORCEMENT": "auto"}, timeout=540)
    assert proc.returncode == 0, proc.stderr
    assert "check: ok" in proc.stdout
    assert 0 < peak <= 1.05 * budget, f"peak {peak / MiB:.0f} MiB"
    assert list(tmp_path.iterdir()) == []
    assert left_in_tmp() <= before
    assert parbench_cgroups() == []
