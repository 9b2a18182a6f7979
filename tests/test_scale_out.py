"""Distributed engines against live daemons on 127.0.0.1: an external Dask scheduler, a Spark
standalone master and a Ray head (the batch engine on Slurm is in test_engine_batch.py), and their
faults."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator

import psutil
import pytest
from conftest import run_cli
from servers import closed_port, http_server, silent_port

from workloads import cluster, engines, probes, spec
from workloads.runtime.errors import EngineUnavailable


@pytest.fixture
def env(monkeypatch):
    return monkeypatch


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    with cluster.running("dask", 2, tmp_path_factory.mktemp("dask-state"), port=0) as info:
        yield info


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    with cluster.running("spark", 2, tmp_path_factory.mktemp("spark-state"), port=0,
                         web_port=0) as info:
        yield info


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    pytest.importorskip("ray")
    with cluster.running("ray", 2, tmp_path_factory.mktemp("ray-state"), port=0) as info:
        yield info


#: What each engine runs on a cluster on 127.0.0.1 here: a group-by and the join (every workload
#: runs against clusters across emulated hosts in test_hosts.py, and on the engines' own local
#: clusters in test_engines.py).
ON_A_CLUSTER = ("team_records", "top_scorers")


def run_all(engine, dataset) -> None:
    ds = dataset("0.01")
    for name in ON_A_CLUSTER:
        spec.get(name).check(ds.answer(name), engine.run(name, ds))


def test_dask_external_scheduler(dask_cluster, dataset, env):
    env.setenv("PARBENCH_DASK_ADDRESS", dask_cluster.address)
    with engines.create("dask-distributed", 2) as e:
        assert e.cluster is None, "must not start a LocalCluster"
        run_all(e, dataset)
    assert all(psutil.pid_exists(p) for p in dask_cluster.pids), "stop() must not stop the cluster"


def test_dask_worker_killed_mid_job(dask_cluster, dataset, env):
    """A worker SIGKILLed while it runs a task of a `team_ratings` run: the run still gives the
    manifest's answer. The kill is aimed at a run in flight; an attempt whose run ended before
    the signal landed does not count and is repeated."""
    env.setenv("PARBENCH_DASK_ADDRESS", dask_cluster.address)
    ds = dataset("1")
    expected = ds.answer("team_ratings")
    with engines.create("dask-distributed", 2) as e:
        for _ in range(5):
            e.client.wait_for_workers(2, timeout=60)
            address, victim = max(e.client.run(os.getpid).items(), key=lambda kv: kv[1])
            outcome: dict[str, object] = {}

            def run(outcome: dict[str, object] = outcome) -> None:
                try:
                    outcome["answer"] = e.run("team_ratings", ds)
                finally:
                    outcome["ended"] = time.monotonic()

            runner = threading.Thread(target=run)
            runner.start()
            while runner.is_alive() and not e.client.processing().get(address):
                time.sleep(0.002)  # until the victim holds a task of this run
            killed = time.monotonic()
            if runner.is_alive():
                os.kill(victim, signal.SIGKILL)
            runner.join()
            spec.get("team_ratings").check(expected, outcome["answer"])
            if killed < outcome["ended"]:  # type: ignore[operator]
                assert gone(victim)
                return
        pytest.fail("no attempt caught a run in flight")


def gone(pid: int) -> bool:
    """Whether `pid` has ended (a zombie its parent has not yet reaped counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_spark_standalone_master(spark_cluster, engine, dataset, env):
    engine.release("spark")  # one SparkContext per JVM: the local one must go first
    env.setenv("PARBENCH_SPARK_MASTER", spark_cluster.address)
    with engines.create("spark", 2) as e:
        assert e.spark.sparkContext.master == spark_cluster.address
        run_all(e, dataset)


def test_spark_master_is_told_from_its_worker(spark_cluster):
    """The RPC check knows the master, and names a worker's RPC port as not one."""
    probes.check_spark_master(spark_cluster.address, 5.0)
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with no_proxy.open(f"http://127.0.0.1:{spark_cluster.ports['web']}/json/",
                       timeout=5) as response:
        worker = json.load(response)["workers"][0]
    address = f"spark://{worker['host']}:{worker['port']}"
    with pytest.raises(EngineUnavailable, match="not a standalone master"):
        probes.check_spark_master(address, 5.0)


def test_ray_cluster(ray_cluster, dataset, env):
    env.setenv("PARBENCH_RAY_ADDRESS", ray_cluster.address)
    with engines.create("ray", 2) as e:
        assert e._session is None and not e.task_options, "a local Ray? a placement group?"
        run_all(e, dataset)
    with engines.create("ray", 1) as e:  # 1 of the cluster's 2 CPUs: held by a group
        assert e.task_options and len(e.worker_pids) == 1
        ds = dataset("0.1")
        spec.get("team_ratings").check(ds.answer("team_ratings"), e.run("team_ratings", ds))
    assert all(psutil.pid_exists(p) for p in ray_cluster.pids), "stop() must not stop the cluster"


def test_ray_cluster_with_fewer_cpus_is_one_line(ray_cluster, env, monkeypatch):
    env.setenv("PARBENCH_RAY_ADDRESS", ray_cluster.address)
    monkeypatch.setattr("workloads.engines.ray.CPUS_TIMEOUT", 1.0)
    with pytest.raises(EngineUnavailable, match=f"at {ray_cluster.address} .* has 2 CPU.s., "
                                                "fewer than the 3 worker.s. asked"):
        engines.create("ray", 3).start()


def busy_ray_worker(pids: list[int]) -> psutil.Process | None:
    """A worker process of the cluster running a task (its title `ray::<task>`, not IDLE)."""
    for proc in cluster_tree(pids):
        try:
            title = proc.cmdline()[0] if proc.cmdline() else ""
        except psutil.Error:
            continue
        if title.startswith("ray::") and title not in ("ray::IDLE",) \
                and not title.endswith("Agent"):
            return proc
    return None


def cluster_tree(pids: list[int]) -> list[psutil.Process]:
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            procs += psutil.Process(pid).children(recursive=True)
    return procs


def test_ray_worker_killed_mid_job(ray_cluster, dataset, env):
    """A worker process SIGKILLed while it runs a task of a `team_ratings` run: Ray runs the
    task again on a new worker and the run gives the manifest's answer. As for Dask, an attempt
    whose run ended before the kill does not count and is repeated."""
    env.setenv("PARBENCH_RAY_ADDRESS", ray_cluster.address)
    ds = dataset("1")
    expected = ds.answer("team_ratings")
    with engines.create("ray", 2) as e:
        for _ in range(5):
            outcome: dict[str, object] = {}

            def run(outcome: dict[str, object] = outcome) -> None:
                try:
                    outcome["answer"] = e.run("team_ratings", ds)
                finally:
                    outcome["ended"] = time.monotonic()

            runner = threading.Thread(target=run)
            runner.start()
            victim = None
            while runner.is_alive() and victim is None:
                victim = busy_ray_worker(ray_cluster.pids)
                time.sleep(0.002)
            killed = time.monotonic()
            if victim is not None and runner.is_alive():
                victim.kill()
            runner.join()
            spec.get("team_ratings").check(expected, outcome["answer"])
            if victim is not None and killed < outcome["ended"]:  # type: ignore[operator]
                assert gone(victim.pid)
                return
        pytest.fail("no attempt caught a run in flight")


@contextlib.contextmanager
def wrong_service(fault: str) -> Iterator[int]:
    """The port of a real server on 127.0.0.1 that is neither a scheduler nor a master."""
    if fault == "closed port":
        yield closed_port()
        return
    with (silent_port() if fault == "silent port" else http_server()) as port:
        yield port


#: Seconds a run against a wrong address may take: the address check's deadline (a silent port
#: and an HTTP server wait all of it) and the command's start (a few seconds), three times over.
#: The engines' wait for an address to answer in these tests (PARBENCH_CONNECT_TIMEOUT): a silent
#: port and an HTTP server wait all of it.
CONNECT_TIMEOUT = 1.0
WRONG_SERVICE_WITHIN = 3 * (CONNECT_TIMEOUT + 5)


@pytest.mark.parametrize("fault", ["closed port", "silent port", "http server"])
@pytest.mark.parametrize(("engine_name", "variable", "scheme"), [
    ("dask-distributed", "PARBENCH_DASK_ADDRESS", "tcp"),
    ("spark", "PARBENCH_SPARK_MASTER", "spark"),
    ("ray", "PARBENCH_RAY_ADDRESS", ""),
])
def test_wrong_service_is_one_line(engine_name, variable, scheme, fault, data_dir):
    """Through the command line: a non-zero exit within seconds, one line naming the address."""
    with wrong_service(fault) as port:
        address = f"{scheme}://127.0.0.1:{port}" if scheme else f"127.0.0.1:{port}"
        t0 = time.monotonic()
        proc = run_cli("workloads", "run", "mean_home_score", "--engine", engine_name,
                       "--workers", "1", "--data", str(data_dir / "scale-0.01"), timeout=60,
                       env={variable: address, "PARBENCH_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)})
        elapsed = time.monotonic() - t0
    assert proc.returncode != 0 and elapsed < WRONG_SERVICE_WITHIN, (proc.returncode, elapsed)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0] and "Traceback" not in proc.stderr, proc.stderr
