"""Real clusters on 127.0.0.1 (Dask, Spark standalone, Slurm): up, use, status, down. No mocks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from workloads import cluster
from workloads.cluster._procs import port_free
from workloads.errors import ParbenchError


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    """A private state folder; every cluster recorded in it is stopped, even if the test fails."""
    folder = tmp_path / "state"
    try:
        yield folder
    finally:
        errors = []
        for kind in cluster.KINDS:
            try:
                cluster.down(kind, folder)
            except Exception as exc:  # stop the other kinds first, then report
                errors.append(exc)
        if errors:
            raise errors[0]


def _tree(pids: list[int]) -> list[psutil.Process]:
    """The recorded daemons and all their descendants (executors, nanny children...)."""
    procs = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs += [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return procs


def _survivors(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def _assert_down(kind: str, state: Path, info: cluster.ClusterInfo) -> None:
    procs = _tree(info.pids)
    assert cluster.down(kind, state)
    assert _survivors(procs) == []
    assert all(port_free(port) for port in info.ports.values())
    assert not (state / f"{kind}.json").exists()
    assert not cluster.status(kind, state)[0].running


def test_dask_cli_up_status_down(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    from distributed import Client

    argv = ["--workers", "2", "--state", str(state), "--port", "0"]
    assert cluster.main(["up", "dask", *argv]) == 0
    info = cluster.ClusterInfo.load("dask", state)
    assert info is not None
    assert capsys.readouterr().out == f"export PARBENCH_DASK_ADDRESS={info.address}\n"

    with Client(info.address, timeout="10s") as client:
        assert len(client.nthreads()) == 2
        assert set(client.nthreads().values()) == {1}
        assert client.submit(sum, [1, 2, 3]).result() == 6

    assert cluster.main(["up", "dask", *argv]) == 0  # idempotent: same cluster, same PIDs
    assert "already running" in capsys.readouterr().err
    assert cluster.ClusterInfo.load("dask", state).pids == info.pids  # type: ignore[union-attr]
    assert cluster.main(["status", "dask", "--state", str(state)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"dask: running at {info.address}") and line.count("\n") == 1

    _assert_down("dask", state, info)


def test_spark_standalone(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("spark needs java (OpenJDK 17+)")
    from pyspark.sql import SparkSession

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    with cluster.running("spark", 2, state, port=0, web_port=0) as info:
        assert info.env == {"PARBENCH_SPARK_MASTER": info.address}
        spark = (
            SparkSession.builder.master(info.address)
            .appName("parbench-test-cluster")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.executor.memory", "512m")
            .getOrCreate()
        )
        try:
            assert spark.range(100).count() == 100
            squares = spark.sparkContext.parallelize(range(10), 2).map(lambda x: x * x)
            assert squares.sum() == 285  # Python workers on the executor
        finally:
            spark.stop()
        assert cluster.status("spark", state)[0].running
        procs = _tree(info.pids)
    assert _survivors(procs) == []
    assert all(port_free(port) for port in info.ports.values())
    assert not (state / "spark.json").exists()


def _slurm_usable() -> None:
    if shutil.which("slurmctld") or os.path.exists("/usr/sbin/slurmctld"):
        if os.geteuid() != 0:
            pytest.skip("the single-node Slurm cluster runs slurmd as root")
        return
    if os.geteuid() != 0:
        pytest.skip("slurm is not installed (as root: .ci/install-slurm.sh)")
    pytest.fail("slurm is not installed: run .ci/install-slurm.sh")


def test_slurm_array_job(state: Path, tmp_path: Path) -> None:
    _slurm_usable()
    info = cluster.up("slurm", 2, state, port=0)
    env = {**os.environ, **info.env}
    out = tmp_path / "jobs"
    out.mkdir()
    subprocess.run(
        ["sbatch", "--wait", "--quiet", "--array=0-2", f"--chdir={out}", "--output=out_%a",
         "--wrap", "echo $SLURM_ARRAY_TASK_ID"],
        env=env, check=True, timeout=60,
    )
    assert {p.name: p.read_text().strip() for p in out.iterdir()} == {
        f"out_{i}": str(i) for i in range(3)
    }
    assert cluster.status("slurm", state)[0].running
    _assert_down("slurm", state, info)


def test_bad_input_is_one_line_exit_2(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster.main(["up", "hadoop", "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown cluster kind 'hadoop'" in err
    assert cluster.main(["up", "dask", "--workers", "0", "--state", str(state)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(ParbenchError, match="unknown cluster kind"):
        cluster.up("hadoop", 1, state)


def test_busy_port_is_one_line_exit_2(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        argv = ["up", "dask", "--workers", "1", "--state", str(state), "--port", str(port)]
        assert cluster.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port}" in err and "busy" in err
    assert not (state / "dask.json").exists()


def test_down_when_not_running_succeeds(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster.main(["down", "spark", "--state", str(state)]) == 0
    assert capsys.readouterr().out == "spark: not running\n"
    assert cluster.main(["down", "--state", str(state)]) == 0
    assert cluster.down("dask", state) is False
    assert cluster.main(["status", "--state", str(state)]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        f"{kind}: not running" for kind in cluster.KINDS
    ]
