"""The `mapreduce` engine: the tutorial's map → shuffle → reduce, parallel, on worker processes.

`runtime` is the generic job runner, `jobs` the five workloads as mappers, combiners and reducers,
`engine` the `Engine`, and `streaming` the word-count mapper and reducer as Hadoop Streaming
programs: `python -m workloads.engines.mapreduce mapper|reducer`.
"""

from workloads.engines.mapreduce.engine import MapReduceEngine

__all__ = ["MapReduceEngine"]
