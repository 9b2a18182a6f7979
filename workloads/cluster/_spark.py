"""Spark standalone: one master and one worker with N cores on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workloads import sparkjvm
from workloads.errors import ParbenchError
from workloads.settings import Settings

from ._procs import LOOPBACK, ClusterInfo, free_port, wait_until

if TYPE_CHECKING:
    from ._core import Launcher

DEFAULT_PORT = 7077
DEFAULT_WEB_PORT = 8080
DEPLOY = "org.apache.spark.deploy"
# Loopback only: never route the master's JSON through an http_proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def spark_home() -> Path:
    """SPARK_HOME of the installed pyspark, or a one-line error naming the install command."""
    home = sparkjvm.spark_home()
    if home is None:
        raise ParbenchError(
            f"spark: pyspark is not installed in {sys.executable} (pip install 'parbench[spark]')"
        )
    return home


def worker_memory() -> str:
    """Half the machine's memory (at least 1 GiB) for the worker's executors."""
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return f"{max(1024, total_mb // 2)}m"


class SparkBackend:
    """`spark-class ...deploy.master.Master` + one `...deploy.worker.Worker --cores N`."""

    default_timeout = 120.0

    def check(self) -> None:
        home = spark_home()
        if not os.access(home / "bin" / "spark-class", os.X_OK):
            raise ParbenchError(f"spark: {home / 'bin' / 'spark-class'} is missing or not "
                                "executable")
        if sparkjvm.java_runner()[0] is None:
            raise ParbenchError("spark: no java found (install OpenJDK 17+ or set JAVA_HOME)")

    def default_workers(self) -> int:
        return os.cpu_count() or 1

    def ports(self, port: int | None, web_port: int | None) -> dict[str, int]:
        master = free_port() if port == 0 else port or DEFAULT_PORT
        web = free_port(exclude=(master,)) if web_port == 0 else web_port or DEFAULT_WEB_PORT
        if web == master:
            raise ParbenchError(f"spark: --port and --web-port are both {web}")
        return {"master": master, "web": web}

    def probe_port(self, info: ClusterInfo) -> int:
        return info.ports["master"]

    def _env(self, info: ClusterInfo, launcher: Launcher) -> dict[str, str]:
        return launcher.env(
            **{**sparkjvm.jvm_environment(), "SPARK_LOCAL_IP": LOOPBACK},
            SPARK_HOME=str(spark_home()),
            SPARK_CONF_DIR=str(info.folder),
            # maxRetries=0: fail on a busy port instead of silently taking the next one.
            SPARK_DAEMON_JAVA_OPTS=f"{sparkjvm.log4j_option()} -Dspark.port.maxRetries=0",
        )

    def launch(self, info: ClusterInfo, launcher: Launcher) -> None:
        master, web = info.ports["master"], info.ports["web"]
        info.address = f"spark://{LOOPBACK}:{master}"
        info.env = {Settings.variable("spark_master"): info.address}
        env = self._env(info, launcher)
        spark_class = str(spark_home() / "bin" / "spark-class")
        launcher.start(
            "master",
            [spark_class, f"{DEPLOY}.master.Master", "--host", LOOPBACK,
             "--port", str(master), "--webui-port", str(web)],
            env,
        )
        # A worker that finds no leader backs off for 5-15 s: start it once the master is ALIVE.
        wait_until(info, lambda: self._leader(info), launcher.timeout, "master leader")
        work = info.folder / "work"
        work.mkdir()
        launcher.start(
            "worker",
            [spark_class, f"{DEPLOY}.worker.Worker", info.address,
             "--host", LOOPBACK, "--port", "0", "--webui-port", "0",
             "--cores", str(info.workers), "--memory", worker_memory(), "--work-dir", str(work)],
            env,
        )

    def _master_state(self, info: ClusterInfo) -> dict[str, Any] | None:
        """The master's JSON once it is the ALIVE leader, else None."""
        url = f"http://{LOOPBACK}:{info.ports['web']}/json/"
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
