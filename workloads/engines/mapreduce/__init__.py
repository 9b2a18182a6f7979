"""The `mapreduce` engine: the tutorial's map → shuffle → reduce, parallel, on worker processes.

`runtime` is the generic job runner, `jobs` the five workloads as mappers, combiners and reducers,
`engine` the `Engine`, and `streaming` the word-count mapper and reducer as Hadoop Streaming
programs: `python -m workloads.engines.mapreduce mapper|reducer`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MapReduceEngine"]


def __getattr__(name: str) -> Any:
    # The engine (numpy, pandas, pyarrow) loads on first use, so that the Streaming programs,
    # which need none of it, start in a tenth of a second.
    if name == "MapReduceEngine":
        from workloads.engines.mapreduce.engine import MapReduceEngine

        return MapReduceEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
