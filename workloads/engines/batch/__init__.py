"""The batch engine: one job per shard (`job`, each run as a process of its own), then a merge
(`engine`). The engine is imported on first use, so that a job's process does not load it."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "BatchEngine":
        from workloads.engines.batch.engine import BatchEngine

        return BatchEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
