"""Runs under a memory budget, measured by the tests themselves: the peak proportional set size
(a shared page counted once) of a run's processes, sampled from /proc independently of parbench's
own accounting, and the memory cgroups parbench makes (cgroup v1, where this process may write)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

MiB, GiB = 2**20, 2**30
#: How often the tests sample a run's memory.
SAMPLE_EVERY = 0.02
#: This process's memory cgroup (v1), under which the enclosure makes its own.
OWN_V1 = next((Path("/sys/fs/cgroup/memory") / line.split(":", 2)[2].lstrip("/")
               for line in Path("/proc/self/cgroup").read_text().splitlines()
               if line.split(":")[1] == "memory"), None)
CGROUP_V1 = OWN_V1 is not None and os.access(OWN_V1, os.W_OK)
NO_CGROUP = "no writable memory cgroup (not root, or no cgroup v1)"


def parbench_cgroups() -> list[Path]:
    """The cgroups parbench made below this process's own (none once every run is over)."""
    return sorted(OWN_V1.glob("parbench-*")) if CGROUP_V1 else []


def pss(pid: int) -> int:
    """Bytes of the proportional set size of process `pid` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


def run_sampled(args: list[str], env: dict[str, str] | None = None,
                timeout: float = 300) -> tuple[subprocess.CompletedProcess, int]:
    """`python -m workloads ARGS` (`env` added to this process's), and the largest sum of the
    PSS of every process below the command's own: the run its supervisor encloses and what that
    starts, not the supervisor, which the budget leaves out."""
    proc = subprocess.Popen([sys.executable, "-m", "workloads", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    peak = 0

    def sample() -> None:
        nonlocal peak
        supervisor = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                below = supervisor.children(recursive=True)
            except psutil.Error:
                break
            peak = max(peak, sum(pss(p.pid) for p in below))
            time.sleep(SAMPLE_EVERY)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
        sampler.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak


def input_bytes(dataset: Path, workload: str) -> int:
    """The bytes of the CSV files `workload` reads in the dataset at `dataset`."""
    from workloads.data.dataset import Dataset

    inputs = Dataset.open(dataset).inputs(workload, "csv").values()
    return sum(os.path.getsize(path) for table in inputs for path in table.paths)
