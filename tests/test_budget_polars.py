"""Polars within a memory budget: the workloads whose plans hold a whole input (the sort by key,
the join, the rating passes) run out of core, one part of their input at a time, and give the
manifest's answers with data four times the budget, the run's processes never more than 5% above
it."""

from __future__ import annotations

from dataclasses import replace

import psutil
import pytest
from budget_runs import MiB, input_bytes, run_sampled

from workloads import spec
from workloads.engines.polars import engine as polars_engine
from workloads.runtime.settings import Settings

#: The budget of the large runs, a quarter of their input (conftest's `four_times_256mib`).
BUDGET = 256 * MiB
#: The workloads split into parts under a budget; `team_ratings` reads its coded file per pass.
SPLIT = ("unbeaten_streaks", "top_scorers")


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("workload", ["team_records", *SPLIT])
def test_answers_at_four_times_the_budget(four_times_256mib, tmp_path, workload):
    assert input_bytes(four_times_256mib, workload) >= 4 * BUDGET
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    proc, peak = run_sampled(["run", workload, "--engine", "polars", "--workers", "2", "--data",
                              str(four_times_256mib), "--memory", f"{BUDGET // MiB}MiB"],
                             env={"TMPDIR": str(tmp_path)}, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "check: ok" in proc.stdout
    assert 0 < peak <= 1.05 * BUDGET, f"peak {peak / MiB:.0f} MiB"
    assert list(tmp_path.iterdir()) == []
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


@pytest.mark.parametrize("workload", [*SPLIT, "team_ratings"])
def test_out_of_core_forms_give_the_answers(dataset, monkeypatch, workload):
    """With 1 MiB to fill, the sort and the join split scale 1 into 7 parts (a few teams, or a
    few thousand matches, each): the answers are the manifest's, and the engine's folder is empty
    after each run and gone after `stop`."""
    monkeypatch.setattr(polars_engine.limits, "engine_memory", lambda **kw: MiB)
    ds = dataset("1")
    settings = replace(Settings.from_env(), memory=BUDGET)
    with polars_engine.PolarsEngine(2, settings) as e:
        budget = e.budget()
        assert budget is not None and budget.memory == MiB
        for _ in range(2):
            spec.get(workload).check(ds.answer(workload), e.run(workload, ds))
            assert list(budget.folder.iterdir()) == []
    assert not budget.folder.exists()


def test_no_budget_no_parts(dataset):
    with polars_engine.PolarsEngine(1, replace(Settings.from_env(), memory=None)) as e:
        assert e.budget() is None
        spec.get("unbeaten_streaks").check(dataset("0.1").answer("unbeaten_streaks"),
                                           e.run("unbeaten_streaks", dataset("0.1")))
