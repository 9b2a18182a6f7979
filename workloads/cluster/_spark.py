"""Spark standalone: one master and one worker with N cores on 127.0.0.1, or a worker on each
emulated host."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workloads.engines.spark import jvm
from workloads.probes import SPARK_PORT, SPARK_WEB_PORT
from workloads.runtime.errors import ParbenchError
from workloads.runtime.settings import Settings

from ._procs import ClusterInfo, choose_ports, wait_until

if TYPE_CHECKING:
    from ._core import Launcher

DEPLOY = "org.apache.spark.deploy"
#: Every daemon: log4j; maxRetries=0: fail on a busy port instead of silently taking the next
#: one; no REST submission server (it would listen on a fixed port, 6066, and take jobs from
#: anyone who reaches it).
DAEMON_OPTIONS = ("-Dspark.port.maxRetries=0", "-Dspark.master.rest.enabled=false")
# Loopback only: never route the master's JSON through an http_proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def spark_home() -> Path:
    """SPARK_HOME of the installed pyspark, or a one-line error naming the install command."""
    home = jvm.spark_home()
    if home is None:
        raise ParbenchError(
            f"spark: pyspark is not installed in {sys.executable} (pip install 'parbench[spark]')"
        )
    return home


def worker_memory(workers: int = 1) -> str:
    """Half the machine's memory (at least 1 GiB), shared by `workers`, for a worker's
    executors."""
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return f"{max(1024, total_mb // 2 // workers)}m"


class SparkBackend:
    """`spark-class ...deploy.master.Master` + one `...deploy.worker.Worker --cores N`, their
    RPC and web UIs (and the executors they start) on the cluster's host."""

    default_timeout = 120.0
    has_web_port = True
    any_host = True
    port_span = 1

    def check(self) -> None:
        home = spark_home()
        if not os.access(home / "bin" / "spark-class", os.X_OK):
            raise ParbenchError(f"spark: {home / 'bin' / 'spark-class'} is missing or not "
                                "executable")
        if jvm.java_runner()[0] is None:
            raise ParbenchError("spark: no java found (install OpenJDK 17+ or set JAVA_HOME)")

    def ports(self, port: int | None, web_port: int | None, host: str) -> dict[str, int]:
        return choose_ports({"master": port, "web": web_port},
                            {"master": SPARK_PORT, "web": SPARK_WEB_PORT}, host, "spark")

    def probe_port(self, info: ClusterInfo) -> int:
        return info.ports["master"]

    def _env(self, info: ClusterInfo, launcher: Launcher, host: str) -> dict[str, str]:
        return launcher.env(
            # SPARK_LOCAL_IP: where every daemon, web UI and executor listens.
            **{**jvm.jvm_environment(), "SPARK_LOCAL_IP": host},
            SPARK_HOME=str(spark_home()),
            SPARK_CONF_DIR=str(info.folder),
            SPARK_DAEMON_JAVA_OPTS=" ".join((jvm.log4j_option(), *DAEMON_OPTIONS)),
        )

    def launch(self, info: ClusterInfo, launcher: Launcher) -> None:
        master, web = info.ports["master"], info.ports["web"]
        info.address = f"spark://{info.host}:{master}"
        info.env = {Settings.variable("spark_master"): info.address}
        network = info.emulated()
        spark_class = str(spark_home() / "bin" / "spark-class")
        launcher.start(
            "master",
            (network.hosts[0].wrap if network else list)(
                [spark_class, f"{DEPLOY}.master.Master", "--host", info.host,
                 "--port", str(master), "--webui-port", str(web)]),
            self._env(info, launcher, info.host),
        )
        # A worker that finds no leader backs off for 5-15 s: start it once the master is ALIVE.
        wait_until(info, lambda: self._leader(info), launcher.timeout, "master leader")
        if network is None:
            cmd = self._worker(info, spark_class, info.host, "work", info.workers, 1)
            launcher.start("worker", cmd, self._env(info, launcher, info.host))
            return
        for host in network.hosts[1:]:
            cmd = self._worker(info, spark_class, host.address, f"work-{host.name}",
                               len(host.cores), len(network.hosts) - 1)
            launcher.start(f"worker-{host.name}", host.wrap(cmd),
                           self._env(info, launcher, host.address))

    @staticmethod
    def _worker(info: ClusterInfo, spark_class: str, host: str, work: str, cores: int,
                of: int) -> list[str]:
        """A worker at `host` with `cores` cores and its share of `of` workers' memory."""
        folder = info.folder / work
        folder.mkdir()
        return [spark_class, f"{DEPLOY}.worker.Worker", info.address,
                "--host", host, "--port", "0", "--webui-port", "0", "--cores", str(cores),
                "--memory", worker_memory(of), "--work-dir", str(folder)]

    def _master_state(self, info: ClusterInfo) -> dict[str, Any] | None:
        """The master's JSON once it is the ALIVE leader, else None."""
        url = f"http://{info.host}:{info.ports['web']}/json/"
        try:
            with _NO_PROXY.open(url, timeout=5) as response:
                state = json.load(response)
        except (OSError, ValueError):
            return None
        return state if state.get("status") == "ALIVE" else None

    def _leader(self, info: ClusterInfo) -> bool:
        return self._master_state(info) is not None

    def ready(self, info: ClusterInfo) -> bool:
        """True once the master's JSON lists an ALIVE worker with all N cores."""
        state = self._master_state(info) or {}
        alive = [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
        return sum(w.get("cores", 0) for w in alive) >= info.workers

    def close(self) -> None:
        return None

    def before_stop(self, info: ClusterInfo) -> None:
        return None
