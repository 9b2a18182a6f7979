"""The asv suite: `asv check`, a smoke run of every engine, and a wrong engine failing loudly."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import asv_args

from reports.load import load_machine
from reports.model import FAILED, OK, PEAK_MEMORY, SKIPPED, STARTUP, Cell
from reports.sidecar import suite_name
from workloads import engines, spec

ROOT = Path(__file__).resolve().parents[1]
ASV = [sys.executable, "-m", "asv"]
MACHINE = "parbench-test"


def asv_env(tmp: Path, data: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an asv run under `tmp`: a private HOME, `data`, scale 0.01."""
    return {**os.environ, "HOME": str(tmp), "PARBENCH_DATA": str(data),
            "PARBENCH_SCALES": "0.01", "PARBENCH_WORKERS": "1 2", **(env or {})}


def asv(tmp: Path, data: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 2700) -> subprocess.CompletedProcess:
    """Run asv on this checkout with results kept under `tmp` (never the user's .asv)."""
    return subprocess.run(asv_args(tmp, *args), cwd=tmp, env=asv_env(tmp, data, env),
                          capture_output=True, text=True, timeout=timeout)


def quick_run(tmp: Path, data: Path, bench: str | None = None,
              env: dict[str, str] | None = None) -> list[str]:
    """`asv machine` for MACHINE under `tmp`, then the arguments of `asv run --quick` on this
    commit (of the benchmarks matching `bench`)."""
    asv(tmp, data, "machine", "--yes", "--machine", MACHINE, env=env).check_returncode()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    return ["run", "--python=same", "--quick", "--show-stderr", "--machine", MACHINE,
            "--set-commit-hash", head, *(["-b", bench] if bench else [])]


def run_suite(tmp: Path, data: Path, bench: str | None = None,
              env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, list[Cell]]:
    """`asv run --quick` on this commit; the process and every stored result (as the report
    reads them)."""
    proc = asv(tmp, data, *quick_run(tmp, data, bench, env), env=env)
    return proc, load_machine(tmp / "results", MACHINE).cells


def cells_of(cells: list[Cell], engine: str, metric: str) -> dict[int | None, Cell]:
    return {c.workers: c for c in cells if c.engine == engine and c.metric == metric}


def test_asv_check(tmp_path, data_dir):
    proc = asv(tmp_path, data_dir, "check", "--python=same")
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: Engines whose every process starts seconds of JVM or cluster: in the smoke run only their
#: join (two inputs), start-up and peak memory; test_engines.py checks all their workloads.
SLOW_START = ("spark", "ray", "dask-distributed")
#: The one engine whose every benchmark goes through asv here (the methods are made alike from
#: the spec); the other fast engines run the join and their start-up.
EVERY_WORKLOAD = "polars"


@pytest.mark.timeout(1200)  # about 35 asv processes, each starting its engine
def test_smoke_every_engine(tmp_path, data_dir):
    """The suite on scale 0.01 and one worker, one repeat: every combination run checks out."""
    slow = "|".join(suite_name(n) for n in SLOW_START)
    every = suite_name(EVERY_WORKLOAD)
    bench = (rf"^(bench_datagen|bench_engines\.{every}\.|"
             rf"bench_engines\.(?!({slow}|{every})\.)\w+\.(time_top_scorers|track_startup)|"
             rf"bench_engines\.({slow})\.(time_top_scorers|track_))")
    proc, cells = run_suite(tmp_path, data_dir, bench=bench, env={"PARBENCH_WORKERS": "1"})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for name in engines.names():
        metrics = ((*spec.NAMES, STARTUP, PEAK_MEMORY) if name == EVERY_WORKLOAD else
                   ("top_scorers", STARTUP, PEAK_MEMORY) if name in SLOW_START else
                   ("top_scorers", STARTUP))
        for metric in metrics:
            got = cells_of(cells, name, metric)
            assert got[1].status == OK and got[1].value > 0, (name, metric, got)
    for workers, cell in cells_of(cells, "spark", PEAK_MEMORY).items():
        assert cell.value > 200e6, f"spark, {workers} worker(s): JVM not counted ({cell.value})"
    for workers, cell in cells_of(cells, "dask-distributed", PEAK_MEMORY).items():
        assert cell.value > 150e6 * (1 + workers), f"dask workers not counted ({cell.value})"
    assert [c.status for c in cells if c.suite == "datagen"] == [OK, OK]


def test_wrong_engine_fails_loudly_others_run(tmp_path, data_dir):
    env = {"PARBENCH_ENGINES": f"wrong={ROOT / 'tests' / 'wrong_engine.py'}:WrongEngine"}
    proc, cells = run_suite(tmp_path, data_dir, bench=r"(Wrong|Pandas)\.time_home_adv",
                            env=env)
    out = proc.stdout + proc.stderr
    assert "home_advantage: expected" in out, out[-4000:]
    assert cells_of(cells, "wrong", "home_advantage")[1].status == FAILED
    assert cells_of(cells, "wrong", "home_advantage")[2].status == FAILED
    pandas = cells_of(cells, "pandas", "home_advantage")
    assert pandas[1].status == OK
    assert pandas[2].status == SKIPPED  # a one-worker engine skips larger worker counts


def test_altered_data_fails_before_timing(tmp_path, data_dir):
    """One byte of one match file changed (its size kept): the benchmark fails on the sha256
    check, before anything is timed, naming the file and the datagen command."""
    data = tmp_path / "data"
    shutil.copytree(data_dir / "scale-0.01", data / "scale-0.01")
    part = data / "scale-0.01" / "matches" / "part-00001.csv"
    raw = bytearray(part.read_bytes())
    raw[-3] = ord(chr(raw[-3]).swapcase())  # "True" becomes "TrUe", "False" "FalSe"
    part.write_bytes(bytes(raw))
    proc, cells = run_suite(tmp_path, data, bench=r"Pandas\.time_mean_home_score",
                            env={"PARBENCH_WORKERS": "1"})
    out = proc.stdout + proc.stderr
    assert "part-00001.csv no longer matches its sha256" in out, out[-4000:]
    assert cells_of(cells, "pandas", "mean_home_score")[1].status == FAILED


def test_progress_counts_every_benchmark_module():
    """The runner counts the combinations of every module of benchmarks/ that holds an asv
    benchmark (a class with a method of asv's prefixes), and of no other."""
    from benchmarks import progress
    from reports.sidecar import BENCHMARK_PREFIXES

    with_benchmarks = set()
    for path in (ROOT / "benchmarks").glob("*.py"):
        module = importlib.import_module(f"benchmarks.{path.stem}")
        if any(isinstance(cls, type) and cls.__module__ == module.__name__
               and any(a.startswith(BENCHMARK_PREFIXES) for a in dir(cls))
               for cls in vars(module).values()):
            with_benchmarks.add(module.__name__)
    assert set(progress.SUITE) == with_benchmarks
    assert {name.split(".")[0] for name in progress.combinations([])} == \
        {m.removeprefix("benchmarks.") for m in with_benchmarks}


def test_live_progress_counts_every_combination(tmp_path, data_dir):
    """`make bench`'s runner: a line per combination (k of N, benchmark, parameters) and the
    final counts, which match what asv stored (one ok, one skipped: pandas has one worker)."""
    command = asv_args(tmp_path, *quick_run(tmp_path, data_dir, r"Pandas\.time_home_advantage"))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.progress", "--machine", MACHINE,
                           "--results", str(tmp_path / "results"), "--", *command],
                          cwd=tmp_path, env=asv_env(tmp_path, data_dir, {"PYTHONPATH": str(ROOT)}),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    assert "asv: 2 combinations to run" in lines, proc.stderr
    name = "bench_engines.Pandas.time_home_advantage"
    assert any(ln.startswith("[1/2] 0 min") and ln.endswith(f"{name} (1, '0.01')")
               for ln in lines), proc.stderr
    assert any(ln.startswith("[2/2]") and "left" in ln and ln.endswith(f"{name} (2, '0.01')")
               for ln in lines), proc.stderr
    assert lines[-1].endswith("in all; 1 ok, 0 failed or timed out, 1 skipped"), proc.stderr
    cells = load_machine(tmp_path / "results", MACHINE).cells
    assert sorted(c.status for c in cells) == sorted([OK, SKIPPED])
