"""Ray: one head node with N CPUs on 127.0.0.1 (`ray start --head --block`)."""

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

from ._procs import ClusterInfo, choose_ports, port_answers

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

        port = info.ports["gcs"]
        info.address = f"{info.host}:{port}"
        info.env = {Settings.variable("ray_address"): info.address}
        run = self._run_folder(info)
        size, in_shm = engine.object_store_bytes()
        plasma = [] if in_shm else ["--plasma-directory", str(run)]
        env = launcher.env(**engine.QUIET, **engine.LOOPBACK_NODE,
                           # as the Dask and Spark clusters: loopback, no authentication
                           RAY_AUTH_MODE="disabled",
                           # SIGTERM stops at once (Ray would first drain the node for 30 s)
                           RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="0", PYTHONUNBUFFERED="1")
        launcher.start(
            "head",
            [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
             "--node-ip-address", info.host, "--port", str(port),
             "--num-cpus", str(info.workers), "--num-gpus", "0",
             "--object-store-memory", str(size), *plasma, "--temp-dir", str(run),
             "--include-dashboard", "false",
             "--disable-usage-stats"],
            env,
        )

    def ready(self, info: ClusterInfo) -> bool:
        """True once the head has logged that Ray started and its GCS answers."""
        if not port_answers(info.ports["gcs"], info.host):
            return False
        try:
            started = STARTED in Path(info.processes[0].log).read_text(errors="replace")
            probes.check_ray(info.address, 5.0)
        except (OSError, EngineUnavailable):
            return False
        return started

    def close(self) -> None:
        return None

    def before_stop(self, info: ClusterInfo) -> None:
        return None

