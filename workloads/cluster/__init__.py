"""Start and stop real clusters on 127.0.0.1 for parbench: Dask, Spark standalone, Slurm, Ray.

    from workloads.cluster import running
    with running("dask", workers=2, state_dir=tmp) as cluster:
        Client(cluster.address)

CLI: `python -m workloads cluster up|down|status [dask|spark|slurm|ray] [--workers N] [--state DIR]`
(`up` also: `--port`, `--web-port`, `--timeout`, `--host`).
"""

from ._cli import main
from ._core import (
    KINDS,
    ClusterStatus,
    down,
    running,
    start_cluster,
    state_root,
    status,
    up,
    worker_limit,
)
from ._procs import ClusterInfo, Proc

__all__ = [
    "KINDS",
    "ClusterInfo",
    "ClusterStatus",
    "Proc",
    "down",
    "main",
    "running",
    "start_cluster",
    "state_root",
    "status",
    "up",
    "worker_limit",
]
