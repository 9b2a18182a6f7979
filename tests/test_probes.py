"""workloads.probes: the bounded checks that the expected service is behind an address, against
real servers on 127.0.0.1 (a Dask scheduler and worker, HTTP, a silent port, nonsense)."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator

import pytest
from servers import closed_port, http_server, silent_port, talker

from workloads import probes
from workloads.runtime.errors import EngineUnavailable

TIMEOUT = 2.0
CHECKS = [(probes.check_dask_scheduler, "tcp"), (probes.check_spark_master, "spark"),
          (probes.check_ray, "")]


def url(scheme: str, port: int) -> str:
    """An address on 127.0.0.1 in a check's form: `scheme://host:port`, or `host:port`."""
    return f"{scheme}://127.0.0.1:{port}" if scheme else f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def dask_local() -> Iterator[tuple[str, str]]:
    """(scheduler address, worker address) of an in-process Dask cluster on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp://", host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:
        yield cluster.scheduler_address, next(iter(cluster.scheduler.workers))


def refused(check: Callable[..., None], address: str) -> str:
    """The one-line message `check` raises for `address`; it waits TIMEOUT at most, so it must
    end within three times that however loaded the machine (one that ignored it would wait
    minutes for a silent port's connect and for ever for a server that never replies)."""
    t0 = time.monotonic()
    with pytest.raises(EngineUnavailable) as info:
        check(address, TIMEOUT, source="PARBENCH_TEST")
    assert time.monotonic() - t0 < 3 * TIMEOUT
    message = str(info.value)
    assert "\n" not in message and address in message and "$PARBENCH_TEST" in message
    return message


@pytest.mark.parametrize(("check", "scheme"), CHECKS)
def test_closed_port_is_refused_at_once(check, scheme):
    assert "connection refused" in refused(check, url(scheme, closed_port()))


@pytest.mark.parametrize(("check", "scheme"), CHECKS)
def test_silent_port_ends_at_the_deadline(check, scheme):
    with silent_port() as port:
        assert f"no answer within {TIMEOUT:g} s" in refused(check, url(scheme, port))


@pytest.mark.parametrize(("check", "scheme"), CHECKS)
def test_http_server_is_not_taken_for_the_service(check, scheme):
    with http_server() as port:
        message = refused(check, url(scheme, port))
    assert "another kind of server?" in message or "does not speak gRPC" in message


@pytest.mark.parametrize("payload", [b"SSH-2.0-OpenSSH_9.6\r\n", b"\xff" * 64,
                                     b"\x10" + b"\x00" * 15, b""])
@pytest.mark.parametrize(("check", "scheme"), CHECKS)
def test_a_server_talking_nonsense_is_refused(check, scheme, payload):
    """A banner, a frame length of 2^64 - 1 (nothing that large is ever allocated), a frame
    that ends early, silence."""
    with talker(payload) as port:
        refused(check, url(scheme, port))


@pytest.mark.parametrize(("text", "reason"), [
    (b"", "no reason given"), (b"\n", "no reason given"),
    (b"java.lang.IllegalStateException: busy\n\tat Foo.bar",
     "java.lang.IllegalStateException: busy"),
])
def test_a_spark_rpc_failure_is_one_line_with_its_reason(text, reason):
    """An RpcFailure to the probe's request (id "Parbe"), its message empty or not: one line."""
    body = struct.pack(">i", len(text)) + text
    with talker(struct.pack(">qbq", 17 + len(body), 5, 0x5061726265) + body) as port:
        message = refused(probes.check_spark_master, url("spark", port))
    assert message.endswith(f"its Spark RPC refused the request: {reason}")


def test_dask_scheduler_passes_and_a_worker_is_named(dask_local):
    scheduler, worker = dask_local
    probes.check_dask_scheduler(scheduler, TIMEOUT)
    probes.check_dask_scheduler(scheduler.removeprefix("tcp://"), TIMEOUT)
    assert "it is a Dask Worker, not a scheduler" in refused(probes.check_dask_scheduler,
                                                             worker)


def test_dask_scheduler_at_work_passes(dask_local):
    """While workers run tasks, the scheduler's identity holds metrics keyed by tuples (msgpack
    arrays, from each heartbeat): they must decode as Dask decodes them."""
    from distributed import Client

    with Client(dask_local[0], set_as_default=False) as client:
        tasks = client.map(time.sleep, [0.01] * 200, pure=False)
        while not all(task.done() for task in tasks):
            probes.check_dask_scheduler(dask_local[0], TIMEOUT)
            time.sleep(0.05)
        client.gather(tasks)


def test_spark_probe_of_a_dask_scheduler_is_refused(dask_local):
    assert "Spark's RPC protocol" in refused(probes.check_spark_master,
                                             dask_local[0].replace("tcp://", "spark://"))


@pytest.mark.parametrize("address", [
    "tcp://127.0.0.1:notaport", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536",
    "tcp://:8786", "tls://127.0.0.1:8786", "spark://127.0.0.1:7077", "http://127.0.0.1:8786",
    "tcp://[::1:8786", "tcp://bad host:8786", "tcp://127.0.0.1:８７８６", "",
])
def test_not_a_dask_address(address):
    with pytest.raises(EngineUnavailable, match="is not a Dask scheduler address"):
        probes.check_dask_scheduler(address, TIMEOUT, source="PARBENCH_TEST")


@pytest.mark.parametrize("url", [
    "spark://127.0.0.1", "spark://127.0.0.1:", "spark://:7077", "spark://127.0.0.1:7077,",
    "tcp://127.0.0.1:7077", "127.0.0.1:7077", "yarn", "localhost:7077", "spark://h:70770",
])
def test_not_a_spark_master_url(url):
    with pytest.raises(EngineUnavailable, match="is not a Spark master URL"):
        probes.check_spark_master(url, TIMEOUT)


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[2,3]",
                                    "local-cluster[2,1,1024]"])
def test_local_masters_need_no_probe(master):
    assert probes.is_local_master(master)


def test_every_master_of_a_list_is_tried():
    first, second = closed_port(), closed_port()
    message = refused(probes.check_spark_master, f"spark://127.0.0.1:{first},127.0.0.1:{second}")
    assert f"127.0.0.1:{first}: connection refused" in message
    assert f"127.0.0.1:{second}: connection refused" in message


@pytest.fixture(scope="module")
def ray_local() -> Iterator[tuple[str, int]]:
    """(GCS address, a raylet's gRPC port) of a 1-CPU local Ray, as the engine starts it."""
    pytest.importorskip("ray")
    from workloads import engines

    with engines.create("ray", 1) as engine:
        import ray

        yield (ray.get_runtime_context().gcs_address, ray.nodes()[0]["NodeManagerPort"])
    assert engine._session is None


def test_ray_gcs_passes_and_a_raylet_is_named(ray_local):
    gcs, raylet = ray_local
    probes.check_ray(gcs, TIMEOUT)
    assert "speaks gRPC but is not a Ray GCS" in refused(probes.check_ray,
                                                        f"127.0.0.1:{raylet}")


def test_ray_probe_of_a_dask_scheduler_is_refused(dask_local):
    assert "does not speak gRPC" in refused(probes.check_ray,
                                            dask_local[0].removeprefix("tcp://"))


@pytest.mark.parametrize("address", ["127.0.0.1", "ray://127.0.0.1:10001", "127.0.0.1:0",
                                     ":6379", "bad host:6379", "", "tcp://127.0.0.1:6379"])
def test_not_a_ray_address(address):
    with pytest.raises(EngineUnavailable, match="is not a Ray cluster address"):
        probes.check_ray(address, TIMEOUT, source="PARBENCH_TEST")
