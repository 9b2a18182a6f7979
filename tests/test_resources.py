"""Resources running out end in one line naming the resource and the way out: a full disk under
TMPDIR (a real, small tmpfs), an address-space limit (a real `ulimit -v`)."""

from __future__ import annotations

import os
import resource
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



#: An address-space limit (`ulimit -v`) under which the command line and Polars' library fit,
#: but not Polars' threads and arenas with a query running (it needs some 1.4 GiB on 2 workers).
POLARS_TOO_LITTLE = 768 * 2**20


def test_polars_under_an_address_space_limit_is_one_line(data_dir, tmp_path):
    """Polars cannot fail an allocation: Rust aborts the process that makes it (status 134,
    "memory allocation of N bytes failed"). Under `ulimit -v` its queries run in a process of
    the engine's own, and the command ends in one line naming it, the limit and the way out;
    no core file, nothing left in TMPDIR."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (POLARS_TOO_LITTLE, POLARS_TOO_LITTLE))
        # core files allowed (where they may be), so that one would be found
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))

    proc = subprocess.run(
        [sys.executable, "-m", "workloads", "run", "team_ratings", "--engine", "polars",
         "--workers", "2", "--data", str(data_dir / "scale-1")], cwd=tmp_path,
        capture_output=True, text=True, timeout=120, preexec_fn=limited,
        env={**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert ("error: out of memory: an allocation of the Polars engine's process failed under "
            "the address-space limit (ulimit -v) of 768 MiB: raise it, or run with a memory "
            "budget (--memory)") in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"], "a core file?"
    assert list(tmp.iterdir()) == []
