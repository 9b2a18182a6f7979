"""Resources running out end in one line naming the resource and the way out: a full disk under
TMPDIR (a real, small tmpfs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_tmp(tmp_path: Path):
    """A 512 KiB tmpfs: as root (mount), else the test is skipped saying so."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    folder = tmp_path / "tiny"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.slow
def test_a_full_temporary_disk_is_one_line_and_nothing_is_left(tiny_tmp, data_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "workloads", "run", "wordcount", "--engine", "mapreduce",
         "--workers", "2", "--data", str(data_dir / "scale-1")], cwd=ROOT, capture_output=True,
        text=True, timeout=120, env={**os.environ, "TMPDIR": str(tiny_tmp)})
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "no space left on the device of" in proc.stderr and "TMPDIR" in proc.stderr
    assert str(tiny_tmp) in proc.stderr
    assert list(tiny_tmp.iterdir()) == []

