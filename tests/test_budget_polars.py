"""Polars within a memory budget: the workloads whose plans hold a whole input (the sort by key,
the join, the rating passes) run out of core, one part of their input at a time, and give the
manifest's answers with data four times the budget, the run's processes never more than 5% above
it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from tests.conftest import run_cli
from workloads import spec
from workloads.engines.polars import engine as polars_engine
from workloads.runtime.settings import Settings

MiB = 2**20
#: The budget of the large runs, and the data: scale 300 has 1.09 GB of match CSV (4.07 times
#: 256 MiB) and 0.86 GB of goals.
BUDGET = 256 * MiB
SCALE = "300"
#: The workloads split into parts under a budget; `team_ratings` reads its coded file per pass.
SPLIT = ("unbeaten_streaks", "top_scorers")


@pytest.fixture(scope="module")
def four_times(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Scale 300 in CSV, removed after the module: pytest keeps its last sessions' folders, and
    this one holds 2.2 GB."""
    out = tmp_path_factory.mktemp("budget-polars")
    run_cli("datagen", "--scale", SCALE, "--formats", "csv", "--out", str(out), check=True,
            timeout=600)
    yield out / f"scale-{SCALE}"
    shutil.rmtree(out, ignore_errors=True)


def input_bytes(dataset: Path, workload: str) -> int:
    from workloads.data.dataset import Dataset

    inputs = Dataset.open(dataset).inputs(workload, "csv").values()
    return sum(os.path.getsize(path) for table in inputs for path in table.paths)


def run_sampled(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, int]:
    """`python -m workloads run ARGS`, and the largest sum of the proportional set sizes (a
    shared page counted once) of the processes under it, sampled here every 20 ms: the enclosed
    run and what it starts, not the process that supervises it, which the budget leaves out."""
    proc = subprocess.Popen([sys.executable, "-m", "workloads", "run", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **env})
    peak, done = [0], threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            total = 0
            try:
                tree = root.children(recursive=True)
            except psutil.Error:
                tree = []
            for process in tree:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_full_info().pss
            peak[0] = max(peak[0], total)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=240)
    finally:
        proc.kill()
        done.set()
        sampler.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak[0]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("workload", ["team_records", *SPLIT])
def test_answers_at_four_times_the_budget(four_times, tmp_path, workload):
    assert input_bytes(four_times, workload) >= 4 * BUDGET
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    proc, peak = run_sampled([workload, "--engine", "polars", "--workers", "2", "--data",
                              str(four_times), "--memory", f"{BUDGET // MiB}MiB"],
                             env={"TMPDIR": str(tmp_path)})
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
