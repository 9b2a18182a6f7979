"""A framework's worker process killed from outside (by the kernel's out-of-memory killer, say)
mid-job: the run ends in one line within seconds, never a hang, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from test_interrupts import alive, big, marked  # noqa: F401 - `big` is a fixture

from tests.conftest import ROOT

#: Seconds the run may take to end once its worker is killed.
END_WITHIN = 30


@pytest.mark.slow
def test_a_killed_mapreduce_worker_ends_the_run_in_one_line(big, tmp_path):  # noqa: F811
    env, mark = marked("mapreduce", tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workloads", "run", "team_ratings", "--engine", "marked-mapreduce",
         "--workers", "2", "--data", str(big)], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
               if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2, [p.cmdline() for p in workers]
    started = psutil.Process(proc.pid).children(recursive=True)
    workers[0].send_signal(signal.SIGKILL)
    try:
        out, err = proc.communicate(timeout=END_WITHIN)
    finally:
        if proc.poll() is None:  # it hangs: end it for the tests after this one
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode not in (0, None) and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"worker process {workers[0].pid} ended mid-job" in err
    assert not alive(started)
    assert list(tmp_path.iterdir()) == []
