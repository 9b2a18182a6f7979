"""Dask: one scheduler and N single-threaded worker processes, on 127.0.0.1 or emulated hosts."""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from workloads.probes import DASK_PORT
from workloads.runtime.errors import ParbenchError
from workloads.runtime.settings import Settings

from ._procs import ClusterInfo, choose_ports, port_answers

if TYPE_CHECKING:
    from ._core import Launcher


class DaskBackend:
    """`dask scheduler` + N `dask worker --nworkers 1 --nthreads 1` processes, every server
    (the scheduler's and workers' HTTP servers too; no dashboard) on the cluster's host."""

    default_timeout = 60.0
    has_web_port = True
    any_host = True
    port_span = 1

    def __init__(self) -> None:
        self._client: Any = None

    def check(self) -> None:
        if importlib.util.find_spec("distributed") is None:
            raise ParbenchError(
                "dask: the 'distributed' package is not installed in "
                f"{sys.executable} (pip install 'parbench[dask]')"
            )

    def ports(self, port: int | None, web_port: int | None, host: str) -> dict[str, int]:
        """The scheduler's port (8786 by default) and its HTTP server's (any free one)."""
        return choose_ports({"scheduler": port, "web": web_port},
                            {"scheduler": DASK_PORT, "web": 0}, host, "dask")

    def probe_port(self, info: ClusterInfo) -> int:
        return info.ports["scheduler"]

    def launch(self, info: ClusterInfo, launcher: Launcher) -> None:
        host, port, web = info.host, info.ports["scheduler"], info.ports["web"]
        info.address = f"tcp://{host}:{port}"
        info.env = {Settings.variable("dask_address"): info.address}
        env = launcher.env(PYTHONUNBUFFERED="1")
        network = info.emulated()
        on = network.hosts[0].wrap if network else list
        scheduler = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        launcher.start(
            "scheduler",
            on([*scheduler, "--host", host, "--port", str(port), "--no-dashboard",
                "--dashboard-address", f"{host}:{web}"]),
            env,
        )
        if network is None:
            for i in range(info.workers):
                launcher.start(f"worker-{i}", self._worker(info, host, f"worker-{i}", 1), env)
            return
        for worker_host in network.hosts[1:]:  # one worker process per core of each host
            cmd = self._worker(info, worker_host.address, worker_host.name,
                               len(worker_host.cores))
            launcher.start(f"worker-{worker_host.name}", worker_host.wrap(cmd), env)

    @staticmethod
    def _worker(info: ClusterInfo, host: str, name: str, processes: int) -> list[str]:
        """`dask worker` at `host`: `processes` single-threaded workers (the nanny starts them)."""
        return [sys.executable, "-m", "distributed.cli.dask_worker", info.address,
                "--nthreads", "1", "--nworkers", str(processes), "--no-dashboard",
                "--host", host, "--dashboard-address", f"{host}:0", "--name", name,
                "--local-directory", str(info.folder / name)]

    def ready(self, info: ClusterInfo) -> bool:
        """True once the scheduler counts all N workers (asked through a short-lived Client)."""
        if not port_answers(info.ports["scheduler"], info.host):
            return False
        from distributed import Client

        try:
            if self._client is None:
                self._client = Client(info.address, timeout="5s", set_as_default=False)
            self._client.wait_for_workers(info.workers, timeout=1)
        except (OSError, TimeoutError):
            return False
        self.close()
        return True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def before_stop(self, info: ClusterInfo) -> None:
        return None
