"""A memory budget for a run (`--memory`, PARBENCH_MEMORY): enforced by a real cgroup where one
can be made, else by the watchdog; over it, the run ends in its one line and exit status 3 with
nothing left behind, and the processes beside it live on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from budget_runs import CGROUP_V1, NO_CGROUP, OWN_V1, MiB, input_bytes, parbench_cgroups

from tests.conftest import run_cli

#: Every test here starts runs of scale 40 or more under real cgroups: the slow tier.
pytestmark = pytest.mark.slow
#: Its 140 MB of match CSV are more than pandas can group within 128 MiB.
SCALE = "40"


@pytest.fixture(scope="module")
def scale40(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("budget")
    run_cli("datagen", "--scale", SCALE, "--formats", "csv", "--out", str(out), check=True)
    return out / f"scale-{SCALE}"


def enforcements() -> list:
    return [pytest.param("cgroup", marks=pytest.mark.skipif(
                not CGROUP_V1, reason=NO_CGROUP)),
            "watchdog"]


@pytest.mark.parametrize("enforcement", enforcements())
def test_over_budget_is_one_line_exit_3_and_nothing_left(four_times_256mib, tmp_path,
                                                         enforcement):
    """pandas on 4× its budget: out of memory within a minute, in one line, nothing left, and
    the process beside it untouched."""
    assert input_bytes(four_times_256mib, "team_records") >= 4 * 256 * MiB
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    beside = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        t0 = time.monotonic()
        proc = run_cli("workloads", "run", "team_records", "--engine", "pandas", "--data",
                       str(four_times_256mib), "--memory", "256MiB", timeout=120,
                       env={"TMPDIR": str(tmp), "PARBENCH_MEMORY_ENFORCEMENT": enforcement})
        assert time.monotonic() - t0 < 60
        assert proc.returncode == 3, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert "out of memory" in lines[0] and "256 MiB" in lines[0] and "peak" in lines[0]
        assert enforcement in lines[0]
        assert proc.stdout == ""
        assert beside.poll() is None, "the process beside the run was killed"
        left = {p.pid for p in psutil.Process().children(recursive=True)} - before
        assert not left
        assert list(tmp.iterdir()) == []
        assert parbench_cgroups() == []
    finally:
        beside.kill()
        beside.wait()


@pytest.mark.parametrize("enforcement", enforcements())
def test_within_budget_the_answer_is_checked(scale40, tmp_path, enforcement):
    proc = run_cli("workloads", "run", "team_records", "--engine", "duckdb", "--data",
                   str(scale40), "--memory", "1GiB", timeout=120,
                   env={"TMPDIR": str(tmp_path), "PARBENCH_MEMORY_ENFORCEMENT": enforcement})
    assert proc.returncode == 0, proc.stderr
    assert "check: ok" in proc.stdout
    assert list(tmp_path.iterdir()) == []
    assert parbench_cgroups() == []


@pytest.mark.parametrize(("value", "needle"), [
    ("12XB", "is not a size"), ("lots", "is not a size"), ("1MiB", "below the smallest budget")])
def test_bad_budget_is_one_line(data_dir, value, needle):
    proc = run_cli("workloads", "run", "wordcount", "--data", str(data_dir / "scale-1"),
                   "--memory", value)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and needle in proc.stderr
    env_proc = run_cli("workloads", "run", "wordcount", "--data", str(data_dir / "scale-1"),
                       env={"PARBENCH_MEMORY": value})
    assert env_proc.returncode == 2 and "PARBENCH_MEMORY" in env_proc.stderr
    assert env_proc.stderr.count("\n") == 1


def test_budget_from_the_setting_is_enforced(scale40):
    proc = run_cli("workloads", "run", "team_records", "--engine", "pandas", "--data",
                   str(scale40), env={"PARBENCH_MEMORY": "128MiB"}, timeout=120)
    assert proc.returncode == 3 and "out of memory" in proc.stderr


def test_ctrl_c_reaches_the_enclosed_run_once(scale40, tmp_path):
    """SIGINT to the supervising process: the run unwinds (its own one line), exit 130."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workloads", "run", "team_ratings", "--data", str(scale40),
         "--memory", "1GiB"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)})
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    while not parent.children() and time.monotonic() < deadline:  # the enclosed run started
        time.sleep(0.05)
    time.sleep(1.0)  # well into its imports or its work: either must end in the one line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["python -m workloads: interrupted"]
    assert list(tmp_path.iterdir()) == []
    assert parbench_cgroups() == []


@pytest.mark.skipif(not CGROUP_V1, reason=NO_CGROUP)
def test_sizes_come_from_the_cgroup_limit_not_the_host():
    """In a 300 MiB cgroup made here (by hand, not by parbench), the memory parbench sizes
    from is at most 300 MiB, although the host has far more available."""
    folder = OWN_V1 / f"test-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    try:
        (folder / "memory.limit_in_bytes").write_text(str(300 * MiB))
        code = ("from workloads.runtime import limits, memory; "
                "print(memory.available(), limits.engine_memory())")
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            preexec_fn=lambda: (folder / "cgroup.procs").write_text("0")).stdout.split()
        assert psutil.virtual_memory().available > 1024 * MiB
        assert 0 < int(out[0]) <= 300 * MiB
        assert 0 < int(out[1]) <= 300 * MiB
    finally:
        folder.rmdir()


@pytest.mark.timeout(600)
def test_asv_records_out_of_memory_with_budget_and_peak(scale40, tmp_path):
    """Under PARBENCH_MEMORY an asv benchmark process lives in the budget: pandas goes over it
    and the report says so with the budget and the peak; DuckDB, sized from it, finishes."""
    from test_benchmarks import cells_of, run_suite

    from reports.model import OK, OUT_OF_MEMORY

    proc, cells = run_suite(
        tmp_path, scale40.parent, bench=r"^bench_engines\.(Pandas|Duckdb)\.time_team_records",
        env={"PARBENCH_SCALES": SCALE, "PARBENCH_WORKERS": "1", "PARBENCH_MEMORY": "128MiB"})
    pandas = cells_of(cells, "pandas", "team_records")[1]
    assert pandas.status == OUT_OF_MEMORY, (pandas, proc.stdout[-3000:])
    assert "128 MiB" in pandas.reason and "peak" in pandas.reason
    assert cells_of(cells, "duckdb", "team_records")[1].status == OK
    assert parbench_cgroups() == []


@pytest.mark.timeout(900)
def test_report_by_ratio_of_input_to_memory(scale40, tmp_path):
    """Runs under a budget: the report's section gives every engine's outcome per ratio, the
    largest ratio each completed, and the engine to use at the largest ratio."""
    from test_benchmarks import MACHINE, run_suite

    from reports import memory
    from reports.load import load_machine
    from reports.model import OK, OUT_OF_MEMORY, SKIPPED

    run_cli("datagen", "--scale", "1", "48", "--formats", "csv", "--out", str(scale40.parent),
            check=True)
    proc, _ = run_suite(
        tmp_path, scale40.parent,
        bench=r"^bench_engines\.(Pandas|Duckdb|DaskDistributed)\.time_team_records",
        env={"PARBENCH_SCALES": f"1 {SCALE} 48", "PARBENCH_WORKERS": "1",
             "PARBENCH_MEMORY": "128MiB"})
    m = load_machine(tmp_path / "results", MACHINE)
    (section,) = memory.sections(m.cells)
    matches_bytes = sum(p.stat().st_size for p in (scale40 / "matches").glob("*.csv"))
    assert section.workload == "team_records" and section.budget == 128 * MiB
    assert section.ratios[1] == pytest.approx(matches_bytes / (128 * MiB))
    rows = {r.engine: r for r in section.rows}
    assert rows["pandas"].outcomes[section.ratios[1]].status == OUT_OF_MEMORY, proc.stdout[-3000:]
    # Out of memory at scale 40: scale 48 is not run, and says why.
    beyond = rows["pandas"].outcomes[section.ratios[2]]
    assert (beyond.status, beyond.reason) == (SKIPPED, f"out of memory already at scale {SCALE}")
    assert rows["duckdb"].outcomes[section.ratios[2]].status == OK
    assert rows["duckdb"].largest == section.ratios[2]
    assert section.pick is not None and section.pick.status == OK
    proc = run_cli("reports", "--results", str(tmp_path / "results"), "--machine", MACHINE,
                   "--out", str(tmp_path / "html"))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "html" / "index.html").read_text()
    assert "When the data outgrows memory" in page and "OUT OF MEMORY" in page
    assert "fastest engine that can span hosts" in page
