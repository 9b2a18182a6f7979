"""The project's code reaches the processes that import it from elsewhere: a batch job started in
another folder imports this checkout through its PYTHONPATH alone (the Spark zip:
test_engines.py)."""

from __future__ import annotations

import subprocess
import sys

import workloads


def test_a_batch_job_imports_this_checkout_from_any_folder(tmp_path):
    from workloads.engines.batch.engine import job_env

    # -S: no site-packages, so no installed copy of the project either: only PYTHONPATH.
    out = subprocess.run([sys.executable, "-S", "-c",
                          "import workloads, sys; print(workloads.__file__)"],
                         cwd=tmp_path, env=job_env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == workloads.__file__

