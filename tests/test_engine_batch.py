"""The batch engine: local job arrays and a real single-node Slurm, failures named clearly."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import require_slurm

from workloads import cluster, spec
from workloads.data.dataset import Input
from workloads.engines.batch.engine import BatchEngine, shard
from workloads.runtime.errors import JobFailed
from workloads.runtime.settings import Settings


def test_shards_cover_every_file_once():
    paths = tuple(f"/d/part-{i}.csv" for i in range(7))
    groups = shard(paths, 3)
    assert [len(g) for g in groups] == [2, 3, 2]
    assert [p for g in groups for p in g] == list(paths)
    assert shard(paths[:1], 4) == [[paths[0]]]


def broken_copy(dataset, tmp_path: Path) -> Input:
    """The scale-0.1 matches with one malformed row in the last file."""
    inp = dataset("0.1").input("matches")
    bad = tmp_path / "part-bad.csv"
    lines = Path(inp.paths[-1]).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = "1,2,3\n"
    bad.write_text("".join(lines), encoding="utf-8")
    return Input("matches", (*inp.paths[:-1], str(bad)), "csv")


def test_local_failed_task_names_task_and_log(dataset, tmp_path):
    engine = BatchEngine(2, Settings(batch_backend="local"))
    with engine, pytest.raises(JobFailed) as failure:
        engine.run_inputs("home_advantage", {"matches": broken_copy(dataset, tmp_path)})
    message = str(failure.value)
    assert "batch array task 1 failed" in message and "part-bad.csv:3" in message
    log = Path(message.rsplit("see its log ", 1)[1])
    assert log.is_file() and "malformed row" in log.read_text()
    shutil.rmtree(log.parent.parent)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    require_slurm()
    state = tmp_path_factory.mktemp("slurm-state")
    with cluster.running("slurm", 2, state, port=0) as info:
        saved = {k: os.environ.get(k) for k in info.env}
        os.environ.update(info.env)
        try:
            yield info
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture(scope="module")
def slurm_engine(slurm, tmp_path_factory):
    jobs = tmp_path_factory.mktemp("batch-jobs")
    with BatchEngine(2, Settings(batch_backend="slurm", batch_dir=jobs)) as engine:
        yield engine


#: On the Slurm cluster on 127.0.0.1: a group-by and the join (all seven run on Slurm across
#: emulated hosts in test_hosts.py, and on the local backend in test_engines.py).
ON_SLURM = ("team_records", "top_scorers")


@pytest.mark.parametrize("workload", ON_SLURM)
def test_slurm_equals_manifest(workload, slurm_engine, dataset):
    ds = dataset("0.1")
    spec.get(workload).check(ds.answer(workload), slurm_engine.run(workload, ds))
    assert not list(slurm_engine.root.glob("job-*")), "finished job folders are removed"


def test_slurm_failed_task_names_task_and_log(slurm_engine, dataset, tmp_path):
    with pytest.raises(JobFailed, match=r"batch array task 1 failed.*part-bad\.csv:3.*log"):
        slurm_engine.run_inputs("team_records", {"matches": broken_copy(dataset, tmp_path)})
