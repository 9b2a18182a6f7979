"""Is the expected service behind an address? Bounded checks of a Dask scheduler, a Spark
standalone master and a Ray head (its GCS), which the engines run before they hand an address to
their framework: one module per framework's wire protocol, `wire` for what they share."""

from workloads.probes.dask import (
    DASK_DASHBOARD_PORT,
    DASK_PORT,
    check_dask_scheduler,
    parse_dask_address,
)
from workloads.probes.ray import RAY_PORT, check_ray, parse_ray_address
from workloads.probes.spark import (
    SPARK_PORT,
    SPARK_WEB_PORT,
    check_spark_master,
    is_local_master,
    parse_spark_master,
)
from workloads.probes.wire import DEFAULT_TIMEOUT, Endpoint, host_addresses, parse_endpoint

__all__ = ["DASK_DASHBOARD_PORT", "DASK_PORT", "DEFAULT_TIMEOUT", "RAY_PORT", "SPARK_PORT",
           "SPARK_WEB_PORT", "Endpoint", "check_dask_scheduler", "check_ray", "check_spark_master",
           "host_addresses", "is_local_master", "parse_dask_address", "parse_endpoint",
           "parse_ray_address", "parse_spark_master"]
