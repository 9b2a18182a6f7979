"""Every knob parbench reads from the environment, in one typed place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workloads.spec import ParbenchError


def _split(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


def default_workers(cores: int) -> list[int]:
    """1, 2, 4, … below the core count, plus the core count itself."""
    counts, p = [], 1
    while p < cores:
        counts.append(p)
        p *= 2
    return [*counts, cores]


def _workers_from(text: str) -> list[int]:
    try:
        counts = sorted({int(t) for t in _split(text)})
    except ValueError:
        counts = [0]
    if not counts or counts[0] < 1:
        raise ParbenchError(f"PARBENCH_WORKERS={text!r}: give positive integers, e.g. '1 2 4'")
    return counts


@dataclass(frozen=True)
class Settings:
    """parbench's environment: data location, benchmark grid, cluster addresses."""

    data: str = "data"
    scales: tuple[str, ...] | None = None
    workers: tuple[int, ...] = (1,)
    format: str = "csv"
    dask_address: str | None = None
    spark_master: str | None = None
    batch_backend: str = "local"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, root: Path | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data = env.get("PARBENCH_DATA") or str((root or Path.cwd()) / "data")
        scales = tuple(_split(env["PARBENCH_SCALES"])) if env.get("PARBENCH_SCALES") else None
        workers = (_workers_from(env["PARBENCH_WORKERS"]) if env.get("PARBENCH_WORKERS")
                   else default_workers(os.cpu_count() or 1))
        fmt = env.get("PARBENCH_FORMAT", "csv")
        if fmt not in ("csv", "parquet"):
            raise ParbenchError(f"PARBENCH_FORMAT={fmt!r}: choose csv or parquet")
        backend = env.get("PARBENCH_BATCH", "local")
        if backend not in ("local", "slurm"):
            raise ParbenchError(f"PARBENCH_BATCH={backend!r}: choose local or slurm")
        return cls(data=data, scales=scales, workers=tuple(workers), format=fmt,
                   dask_address=env.get("PARBENCH_DASK_ADDRESS") or None,
                   spark_master=env.get("PARBENCH_SPARK_MASTER") or None,
                   batch_backend=backend)
