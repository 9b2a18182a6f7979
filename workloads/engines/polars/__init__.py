"""The `polars` engine: `engine` runs Polars in a process of its own whose thread pool has the
worker count; `plans` holds the workloads as Polars queries (imported only in that process)."""

from workloads.engines.polars.engine import PolarsEngine

__all__ = ["PolarsEngine"]
