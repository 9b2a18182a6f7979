"""The project's code reaches the processes that import it from elsewhere: batch jobs started in
another folder, and a Spark cluster's executors (the zip `--py-files` ships)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import workloads


def test_a_batch_job_imports_this_checkout_from_any_folder(tmp_path):
    from workloads.engines.batch.engine import job_env

    # -S: no site-packages, so no installed copy of the project either: only PYTHONPATH.
    out = subprocess.run([sys.executable, "-S", "-c",
                          "import workloads, sys; print(workloads.__file__)"],
                         cwd=tmp_path, env=job_env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == workloads.__file__


def test_the_spark_zip_holds_the_workloads_package():
    from workloads.engines.spark.engine import _code_zip
    from workloads.runtime import scratch

    path = _code_zip()
    try:
        names = set(zipfile.ZipFile(path).namelist())
    finally:
        scratch.remove(path)
    assert {"workloads/__init__.py", "workloads/spec.py", "workloads/engines/spark/engine.py",
            "workloads/data/frames.py"} <= names
