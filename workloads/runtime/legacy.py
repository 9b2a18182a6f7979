"""The module paths of parbench before its packages by role, kept for out-of-tree engines.

`import workloads.dataset` (and the rest of `MOVED`) still gives the module at its new path, the
same module object, with one deprecation line naming the new path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old path -> new path
MOVED: dict[str, str] = {
    "workloads.settings": "workloads.runtime.settings",
    "workloads.errors": "workloads.runtime.errors",
    "workloads.console": "workloads.runtime.console",
    "workloads.scratch": "workloads.runtime.scratch",
    "workloads.limits": "workloads.runtime.limits",
    "workloads.dataset": "workloads.data.dataset",
    "workloads.validate": "workloads.data.validate",
    "workloads.readers": "workloads.data.readers",
    "workloads.frames": "workloads.data.frames",
    "workloads.services": "workloads.probes",
    "workloads.sparkjvm": "workloads.engines.spark.jvm",
    "workloads.batch_job": "workloads.engines.batch.job",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path and loads it as the module at its new one."""

    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} is now {new}: import it from there",
                      DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        spec.loader_state = module.__spec__  # the import system sets the alias's spec on it
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run (the module ran when imported at its new path): give back its spec."""
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    """Let the old paths import (once per process)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())
