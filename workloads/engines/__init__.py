"""The engine registry: one line per framework, imported lazily so a missing one breaks nothing.

Out-of-tree engines join it through the `engines` setting ("name=module:Class,
name2=/path/to/file.py:Class"; `python -m workloads settings` names its variable), under the same
contract (`base.Engine`).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from workloads.engines.base import Availability, Engine, missing_workloads
from workloads.runtime.errors import EngineUnavailable, ParbenchError
from workloads.runtime.settings import Settings

#: engine name -> "module:Class". Adding a framework is one module and one line here.
BUILTIN: dict[str, str] = {
    "serial": "workloads.engines.serial:SerialEngine",
    "pandas": "workloads.engines.pandas:PandasEngine",
    "mapreduce": "workloads.engines.mapreduce:MapReduceEngine",
    "dask-threads": "workloads.engines.dask:DaskThreadsEngine",
    "dask-processes": "workloads.engines.dask:DaskProcessesEngine",
    "dask-distributed": "workloads.engines.dask:DaskDistributedEngine",
    "spark": "workloads.engines.spark:SparkEngine",
    "batch": "workloads.engines.batch:BatchEngine",
    "polars": "workloads.engines.polars:PolarsEngine",
    "duckdb": "workloads.engines.duckdb:DuckDBEngine",
    "ray": "workloads.engines.ray:RayEngine",
}


def registry(settings: Settings | None = None) -> dict[str, str]:
    """The built-in engines and the plugins of `settings`."""
    return {**BUILTIN, **(settings or Settings.from_env()).engines}


def names(settings: Settings | None = None) -> list[str]:
    return list(registry(settings))


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


def engine_class(name: str, settings: Settings | None = None) -> type[Engine]:
    """The engine class called `name` (importing its module), or a one-line error; an engine
    that lacks a workload of the spec is refused, naming it."""
    found = implementation(name, settings)
    if missing := missing_workloads(found):
        raise ParbenchError(f"engine {name!r} does not implement {', '.join(missing)}")
    return found


def implementation(name: str, settings: Settings | None = None) -> type[Engine]:
    """The class registered as `name`, imported, whether or not it meets the contract."""
    known = registry(settings)
    if name not in known:
        raise ParbenchError(f"unknown engine {name!r}: choose one of {', '.join(known)}")
    module, _, cls = known[name].rpartition(":")
    try:
        return getattr(_import(module), cls)
    except ImportError as exc:
        raise EngineUnavailable(f"engine {name!r} is unavailable: {exc}; install it with "
                                f"`pip install -e '.[all]'`") from None
    except AttributeError:
        raise ParbenchError(f"engine {name!r}: {module} has no class {cls}") from None


def availability(name: str, settings: Settings | None = None) -> Availability:
    settings = settings or Settings.from_env()
    try:
        return engine_class(name, settings).availability(settings)
    except ParbenchError as exc:  # not installed, or not meeting the contract
        return Availability(False, str(exc))


def create(name: str, workers: int = 1, settings: Settings | None = None) -> Engine:
    """A new, not yet started engine; raises EngineUnavailable with the reason if it cannot run."""
    settings = settings or Settings.from_env()
    cls = engine_class(name, settings)
    avail = cls.availability(settings)
    if not avail.ok:
        raise EngineUnavailable(f"engine {name!r} is unavailable: {avail.reason}")
    return cls(workers, settings)


__all__ = ["BUILTIN", "Availability", "Engine", "EngineUnavailable", "availability", "create",
           "engine_class", "implementation", "names", "registry"]
