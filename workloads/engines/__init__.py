"""The engine registry: one line per framework, imported lazily so a missing one breaks nothing."""

from __future__ import annotations

import importlib

from workloads.engines.base import Availability, Engine, EngineUnavailable
from workloads.spec import ParbenchError

#: engine name -> "module:Class". Adding a framework is one module and one line here.
REGISTRY: dict[str, str] = {
    "serial": "workloads.engines.serial:SerialEngine",
    "pandas": "workloads.engines.pandas:PandasEngine",
    "mapreduce": "workloads.engines.mapreduce:MapReduceEngine",
    "dask-threads": "workloads.engines.dask:DaskThreadsEngine",
    "dask-processes": "workloads.engines.dask:DaskProcessesEngine",
    "dask-distributed": "workloads.engines.dask:DaskDistributedEngine",
    "spark": "workloads.engines.spark:SparkEngine",
    "batch": "workloads.engines.batch:BatchEngine",
}


def names() -> list[str]:
    return list(REGISTRY)


def engine_class(name: str) -> type[Engine]:
    """The engine class called `name` (importing its module), or a one-line error."""
    if name not in REGISTRY:
        raise ParbenchError(f"unknown engine {name!r}: choose one of {', '.join(REGISTRY)}")
    module, _, cls = REGISTRY[name].partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise EngineUnavailable(f"engine {name!r} is unavailable: {exc}; install it with "
                                f"`pip install -e '.[all]'`") from None


def availability(name: str) -> Availability:
    try:
        return engine_class(name).availability()
    except EngineUnavailable as exc:
        return Availability(False, str(exc))


def create(name: str, workers: int = 1) -> Engine:
    """A new, not yet started engine; raises EngineUnavailable with the reason if it cannot run."""
    cls = engine_class(name)
    avail = cls.availability()
    if not avail.ok:
        raise EngineUnavailable(f"engine {name!r} is unavailable: {avail.reason}")
    return cls(workers)


__all__ = ["REGISTRY", "Availability", "Engine", "EngineUnavailable", "availability", "create",
           "engine_class", "names"]
