"""Start and stop real clusters for parbench: Dask, Spark standalone, Slurm, Ray, on 127.0.0.1 or
spread over emulated hosts (`--hosts N`, network namespaces: see _hosts).

    from workloads.cluster import running
    with running("dask", workers=2, state_dir=tmp) as cluster:
        Client(cluster.address)

CLI: `python -m workloads cluster up|down|status [dask|spark|slurm|ray] [--workers N] [--state DIR]`
(`up` also: `--port`, `--web-port`, `--timeout`, `--host`, `--hosts`, `--link`).
"""

from ._cli import main
from ._core import (
    KINDS,
    ClusterStatus,
    down,
    emulated,
    running,
    start_cluster,
    state_root,
    status,
    up,
    worker_limit,
)
from ._hosts import SUBNETS, Host, Network, can_make, link_bits
from ._procs import ClusterInfo, Proc

__all__ = [
    "KINDS",
    "SUBNETS",
    "ClusterInfo",
    "ClusterStatus",
    "Host",
    "Network",
    "Proc",
    "can_make",
    "down",
    "emulated",
    "main",
    "running",
    "start_cluster",
    "state_root",
    "status",
    "link_bits",
    "up",
    "worker_limit",
]
