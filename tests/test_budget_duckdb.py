"""DuckDB under a memory budget: the out-of-core forms of `unbeaten_streaks` and `top_scorers`
give the spec's answers (ties, own goals, unknown scorers and teams, runs across the batches of a
streamed result), and with real limits DuckDB answers every workload it reads matches for at 4×
a 256 MiB budget, its peak, sampled here from /proc, within 5 % of the budget."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from budget_runs import (
    CGROUP_V1,
    NO_CGROUP,
    OWN_V1,
    MiB,
    input_bytes,
    parbench_cgroups,
    run_sampled,
)
from keyed_inputs import DUPLICATE_KEY_ANSWER, duplicate_key_inputs
from test_hand_worked import EXPECTED, hand_dataset  # noqa: F401 - a fixture

from workloads import spec
from workloads.data import frames
from workloads.data.dataset import Input
from workloads.engines import duckdb as duckdb_engine
from workloads.engines.duckdb import DuckDBEngine
from workloads.layout import CSV_COLUMNS, GOAL_COLUMNS
from workloads.runtime.settings import Settings

#: A budget that switches the engine to its out-of-core forms and bounds nothing here: the
#: engine sizes DuckDB from the host's free memory, as without one.
ANY_BUDGET = 2**46
BUDGET = 256 * MiB
#: The input each workload reads must be at least this many times the budget.
RATIO = 4


@pytest.fixture(scope="module")
def budgeted() -> DuckDBEngine:
    engine = DuckDBEngine(2, Settings(memory=ANY_BUDGET))
    engine.start()
    yield engine
    engine.stop()


# --------------------------------------------------------------------------- the forms' answers


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_out_of_core_forms_give_the_hand_values(budgeted, hand_dataset, fmt):  # noqa: F811
    """Same-date ties in a team's order, scorer ties broken by code point, own goals, `NA`
    scorers and a goal with no match."""
    for workload in ("unbeaten_streaks", "top_scorers"):
        spec.get(workload).check(EXPECTED[workload], budgeted.run(workload, hand_dataset, fmt))


def test_a_key_twice_and_a_team_no_match_has(budgeted, tmp_path):
    """A match key twice counts its goals once per match row; a goal of a team that plays no
    match (not in the team ENUM) joins nothing instead of failing the cast."""
    inputs = duplicate_key_inputs(tmp_path)
    spec.get("top_scorers").check(DUPLICATE_KEY_ANSWER,
                                  budgeted.run_inputs("top_scorers", inputs))
    goals = Path(inputs["goals"].paths[0])
    goals.write_text(goals.read_text() + "2001-01-02,C,Nowhere,C,Zoe,6,FALSE,FALSE\n")
    spec.get("top_scorers").check(DUPLICATE_KEY_ANSWER,
                                  budgeted.run_inputs("top_scorers", inputs))


def test_runs_go_on_across_batches():
    """`StreamedRuns` over the sorted sides cut into batches anywhere (one row, a run's middle,
    a team's edge) gives `longest_runs` of the whole."""
    rng = np.random.default_rng(7)
    n, names = 400, ["A", "B", "C", "D", "E"]
    sides = pd.DataFrame({"team": rng.choice(names[:4], n), "date": rng.integers(0, 50, n),
                          "match_id": rng.permutation(n),
                          "unbeaten": rng.random(n) < 0.8})
    whole = frames.longest_runs(sides).to_dict()
    ordered = sides.sort_values(["team", *spec.STREAK_ORDER])
    codes = ordered["team"].map(names.index).to_numpy()
    unbeaten = ordered["unbeaten"].to_numpy()
    for _ in range(20):
        cuts = np.sort(rng.choice(np.arange(1, n), rng.integers(1, 60), replace=False))
        runs = frames.StreamedRuns()
        for team, won in zip(np.split(codes, cuts), np.split(unbeaten, cuts), strict=True):
            runs.add(team, names, won)
        assert runs.best == whole


def test_streamed_in_small_batches(budgeted, dataset, monkeypatch):
    """Through DuckDB, batches of a few thousand rows: many runs and teams cross them."""
    monkeypatch.setattr(duckdb_engine, "STREAM_ROWS", 1000)
    ds = dataset("1")
    spec.get("unbeaten_streaks").check(ds.answer("unbeaten_streaks"),
                                       budgeted.run("unbeaten_streaks", ds))


def test_the_team_type_only_under_a_budget_and_dropped(tmp_path, monkeypatch):
    """The ENUMs (and the table of goals joined) are made for the out-of-core forms only, and
    dropped once they end."""
    matches = tmp_path / "matches.csv"
    matches.write_text("\n".join([",".join(CSV_COLUMNS), "0,2001-01-01,A,B,2,0,Cup,X,Y,False",
                                  "1,2001-01-02,B,A,1,1,Cup,X,Y,False"]) + "\n")
    goals = tmp_path / "goals.csv"
    goals.write_text("\n".join([",".join(GOAL_COLUMNS),
                                "2001-01-01,A,B,A,Ann,1,FALSE,FALSE"]) + "\n")
    inputs = {"goals": Input("goals", (str(goals),), "csv"),
              "matches": Input("matches", (str(matches),), "csv")}
    made = []
    enums = DuckDBEngine._enums
    monkeypatch.setattr(DuckDBEngine, "_enums",
                        lambda self, m: made.append(m) or enums(self, m))
    for budget in (None, ANY_BUDGET):
        with DuckDBEngine(1, Settings(memory=budget)) as engine:
            assert engine.run_inputs("unbeaten_streaks", {"matches": inputs["matches"]}) == {
                "A": 2, "B": 1}
            assert engine.run_inputs("top_scorers", inputs) == {"Cup": ("Ann", 1)}
            assert engine._fetch("SELECT * FROM duckdb_types() WHERE NOT internal") == []
            assert engine._fetch("SELECT * FROM duckdb_tables()") == []
        assert len(made) == (0 if budget is None else 2)


# --------------------------------------------------------------------------- real limits


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not CGROUP_V1, reason=NO_CGROUP)
@pytest.mark.parametrize("workload", ["team_records", "unbeaten_streaks", "top_scorers"])
def test_four_times_the_budget(four_times_256mib, workload, tmp_path):
    """2 workers in a 256 MiB cgroup, the input 4× that or more: the manifest's answer, the peak
    within 5 % of the budget, nothing left behind."""
    assert input_bytes(four_times_256mib, workload) >= RATIO * BUDGET
    proc, peak = run_sampled(
        ["run", workload, "--engine", "duckdb", "--workers", "2", "--data",
         str(four_times_256mib), "--memory", "256MiB"], {"TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "check: ok" in proc.stdout
    assert 0 < peak <= 1.05 * BUDGET, f"peak {peak / MiB:.0f} MiB"
    assert list(tmp_path.iterdir()) == []
    assert parbench_cgroups() == []


@pytest.mark.skipif(not CGROUP_V1, reason=NO_CGROUP)
def test_files_read_and_cached_count_as_free(tmp_path):
    """A run's sha256 check reads its inputs inside its cgroup, whose limit they then fill as
    file cache, active once read twice: the memory parbench sizes DuckDB from still counts that
    cache as free (the kernel takes it back on demand). In a 256 MiB cgroup made here, a
    150 MiB file read twice."""
    data = tmp_path / "input.bin"
    data.write_bytes(os.urandom(150 * MiB))
    folder = OWN_V1 / f"test-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    try:
        (folder / "memory.limit_in_bytes").write_text(str(BUDGET))
        code = f"""
import hashlib, os
from workloads.runtime import memory
fd = os.open({str(data)!r}, os.O_RDONLY)
os.fsync(fd)  # written, then out of the page cache: reading it charges this cgroup
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
for _ in range(2):
    with open({str(data)!r}, "rb") as f:
        while chunk := f.read(1 << 20):
            hashlib.sha256(chunk)
print(memory.cgroup_room())
"""
        room = int(subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            preexec_fn=lambda: (folder / "cgroup.procs").write_text("0")).stdout)
        assert room > BUDGET // 2, f"room {room / MiB:.0f} MiB"
    finally:
        folder.rmdir()
