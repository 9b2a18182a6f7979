"""`python -m workloads.engines.polars FD THREADS`: the Polars process of a `polars` engine,
serving requests on the connection at descriptor FD (started by `engine.PolarsProcess`)."""

import sys
from multiprocessing.connection import Connection

from workloads.engines.polars.engine import serve

fd, threads = map(int, sys.argv[1:])
serve(Connection(fd), threads)
