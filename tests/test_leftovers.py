"""What a run killed outright (SIGKILL, the out-of-memory killer) leaves in the temporary folder,
the next command removes (quietly); what a live process owns stays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def b36(n: int) -> str:
    """A PID as temporary names carry it (base 36)."""
    return np.base_repr(n, 36).lower()


@pytest.mark.parametrize("command", [["workloads", "settings"], ["datagen", "--help"]])
def test_the_next_command_removes_what_a_killed_run_left(tmp_path, command):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    left = tmp_path / f"parbench-duckdb.{b36(int(dead))}-k2j4"
    (left / "spill").mkdir(parents=True)
    (left / "spill" / "block.tmp").write_bytes(b"x" * 100)
    left_file = tmp_path / f"parbench-spark.{b36(int(dead))}-q9z1.zip"
    left_file.write_bytes(b"zip")
    mine = tmp_path / f"parbench-ray.{b36(os.getpid())}-live"  # this test process: alive
    mine.mkdir()
    other = tmp_path / "someone-elses"
    other.mkdir()
    proc = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert not left.exists() and not left_file.exists()
    assert mine.exists() and other.exists()
    assert proc.stderr == ""  # quietly: a command's stderr is its own one line
