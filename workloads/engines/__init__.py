"""The engine registry: one line per framework, imported lazily so a missing one breaks nothing."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType

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

#: Out-of-tree engines: "name=module:Class,name2=/path/to/file.py:Class" (same contract as above).
PLUGINS_ENV = "PARBENCH_ENGINES"


def _plugins() -> dict[str, str]:
    found = {}
    for item in filter(None, os.environ.get(PLUGINS_ENV, "").split(",")):
        name, sep, target = item.partition("=")
        if not sep or ":" not in target:
            raise ParbenchError(f"{PLUGINS_ENV}: {item!r} is not name=module:Class")
        found[name.strip()] = target.strip()
    return found


REGISTRY.update(_plugins())


def _import(module: str) -> ModuleType:
    """Import a dotted module name, or a plugin's `.py` file by path."""
    if not module.endswith(".py"):
        return importlib.import_module(module)
    spec = importlib.util.spec_from_file_location(Path(module).stem, module)
    if spec is None or spec.loader is None or not Path(module).is_file():
        raise ImportError(f"no engine module at {module}")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def names() -> list[str]:
    return list(REGISTRY)


def engine_class(name: str) -> type[Engine]:
    """The engine class called `name` (importing its module), or a one-line error."""
    if name not in REGISTRY:
        raise ParbenchError(f"unknown engine {name!r}: choose one of {', '.join(REGISTRY)}")
    module, _, cls = REGISTRY[name].rpartition(":")
    try:
        return getattr(_import(module), cls)
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
