"""Ray: one head node with N CPUs on 127.0.0.1 (`ray start --head --block`), or a head, a node
per worker host and one for the driver on emulated hosts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from workloads import probes
from workloads.probes import RAY_PORT
from workloads.runtime import scratch
from workloads.runtime.errors import EngineUnavailable, ParbenchError
from workloads.runtime.settings import Settings

from ._procs import ClusterInfo, choose_ports, port_answers, wait_until

if TYPE_CHECKING:
    from ._core import Launcher

#: Ray's line, in the head's log, once its GCS, raylet and the rest have started.
STARTED = "Ray runtime started."


class RayBackend:
    """`ray start --head --block` with `--num-cpus N`: the GCS, raylet, object store and the
    workers it starts, on 127.0.0.1 only (no dashboard), in a session folder `up` made. As
    with the Dask and Spark clusters, nothing authenticates clients: it is reachable from this
    machine only."""

    default_timeout = 60.0
    has_web_port = False
    any_host = False
    port_span = 1

    def check(self) -> None:
        if importlib.util.find_spec("ray") is None:
            raise ParbenchError(f"ray: ray is not installed in {sys.executable} "
                                "(pip install 'parbench[ray]')")

    def ports(self, port: int | None, web_port: int | None, host: str) -> dict[str, int]:
        """The GCS's port (6379 by default); Ray picks its other ports among the free ones."""
        return choose_ports({"gcs": port}, {"gcs": RAY_PORT}, host, "ray")

    def probe_port(self, info: ClusterInfo) -> int:
        return info.ports["gcs"]

    def _run_folder(self, info: ClusterInfo) -> Path:
        """Ray's session folder `run/`; a link to a folder in /tmp when the state path is too
        long for Ray's socket paths (`down` removes both)."""
        from workloads.engines.ray import sockets_fit

        folder = info.folder / "run"
        if not sockets_fit(folder):
            folder.symlink_to(scratch.lasting_folder("ray", within=Path("/tmp")))
        else:
            folder.mkdir()
        return folder.resolve()

    def launch(self, info: ClusterInfo, launcher: Launcher) -> None:
        from workloads.engines import ray as engine  # imports ray, which `check` found
        from workloads.runtime import memory

        port = info.ports["gcs"]
        info.address = f"{info.host}:{port}"
        info.env = {Settings.variable("ray_address"): info.address}
        run = self._run_folder(info)
        network = info.emulated()
        nodes = 1 if network is None else len(network.hosts) + 1
        size, in_shm = engine.object_store_bytes(memory.available() // nodes)
        plasma = [] if in_shm else ["--plasma-directory", str(run)]
        # as the Dask and Spark clusters: no authentication (loopback or the emulated hosts);
        # SIGTERM stops at once (Ray would first drain the node for 30 s)
        common = {**engine.QUIET, "RAY_AUTH_MODE": "disabled",
                  "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0", "PYTHONUNBUFFERED": "1"}
        start = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", "--num-gpus",
                 "0", "--object-store-memory", str(size), *plasma, "--disable-usage-stats"]
        head = [*start, "--head", "--port", str(port), "--temp-dir", str(run),
                "--include-dashboard", "false", "--node-ip-address", info.host]
        if network is None:
            env = launcher.env(**common, **engine.LOOPBACK_NODE)
            launcher.start("head", [*head, "--num-cpus", str(info.workers)], env)
            return
        # The head schedules only; each worker host's node runs tasks on its cores; the
        # driver's host is a node without CPUs, as a Ray driver must run on a node.
        # One node at a time: the nodes share the head's session folder (one file system), and
        # two starting at once would pick the same names for their sockets and logs.
        env = launcher.env(**common)
        join = [*start, "--address", info.address]
        nodes = [("head", network.hosts[0].wrap([*head, "--num-cpus", "0"]))]
        nodes += [(f"node-{host.name}",
                   host.wrap([*join, "--node-ip-address", host.address, "--num-cpus",
                              str(len(host.cores))])) for host in network.hosts[1:]]
        nodes.append(("node-driver", network.driver.wrap(
            [*join, "--node-ip-address", network.driver.address, "--num-cpus", "0"])))
        for name, cmd in nodes:
            launcher.start(name, cmd, env)
            log = Path(info.processes[-1].log)
            wait_until(info, lambda log=log: STARTED in log.read_text(errors="replace"),
                       launcher.timeout, f"{name} to start")

    def ready(self, info: ClusterInfo) -> bool:
        """True once every node has logged that Ray started and the GCS answers."""
        if not port_answers(info.ports["gcs"], info.host):
            return False
        try:
            started = all(STARTED in Path(p.log).read_text(errors="replace")
                          for p in info.processes)
            probes.check_ray(info.address, 5.0)
        except (OSError, EngineUnavailable):
            return False
        return started

    def close(self) -> None:
        return None

    def before_stop(self, info: ClusterInfo) -> None:
        return None

