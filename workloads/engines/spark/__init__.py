"""The Spark engine (`engine`) and the JVM every Spark process parbench starts runs on (`jvm`,
shared with `cluster up spark`). The engine is imported on first use: `jvm` needs no PySpark
session code."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "SparkEngine":
        from workloads.engines.spark.engine import SparkEngine

        return SparkEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
