"""Where this project's code is: the folder that holds the `workloads` package (the checkout, or
site-packages when installed), for processes that must import it (batch jobs, a Polars server,
Spark executors)."""

from pathlib import Path

#: The folder that holds the `workloads` package.
CODE_ROOT = Path(__file__).resolve().parents[2]
