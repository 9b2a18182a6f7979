"""Every parallel engine × every workload × workers 1 and 2 against the manifests' answers, word
tokens exactly `str.split()`'s on every engine, and the engine contract: every registered engine
implements every workload of the spec."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pyarrow
import pytest

from workloads import engines, spec
from workloads.data.dataset import Input
from workloads.engines.base import missing_workloads
from workloads.engines.batch.engine import job_env
from workloads.runtime.errors import DataError, ParbenchError
from workloads.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
#: The registered engines that run on more than one worker.
PARALLEL = [name for name in engines.names() if engines.implementation(name).max_workers != 1]
COMBOS = [(name, workers) for name in PARALLEL for workers in (1, 2)]


@pytest.mark.parametrize("name", engines.names())
def test_engine_implements_every_workload(name):
    cls = engines.implementation(name)
    assert not missing_workloads(cls), f"{name} lacks {missing_workloads(cls)}"
    for w in spec.WORKLOADS:  # the method takes the workload's inputs by kind
        params = list(inspect.signature(getattr(cls, w.name)).parameters)
        assert params[1:] == list(w.inputs), (name, w.name, params)


def test_an_engine_missing_a_workload_is_refused_by_name():
    plugin = f"{Path(__file__).with_name('wrong_engine.py')}:IncompleteEngine"
    settings = Settings(engines={"incomplete": plugin})
    missing = ", ".join(n for n in spec.NAMES if n != "wordcount")
    with pytest.raises(ParbenchError, match=f"engine 'incomplete' does not implement {missing}"):
        engines.engine_class("incomplete", settings)


@pytest.mark.parametrize("scale", ["tutorial", "0.1"])
@pytest.mark.parametrize("workload", list(spec.NAMES))
@pytest.mark.parametrize(("name", "workers"), COMBOS)
def test_equals_manifest(name, workers, workload, scale, engine, dataset):
    ds = dataset(scale)
    spec.get(workload).check(ds.answer(workload), engine(name, workers).run(workload, ds))


#: Texts whose words every engine must split exactly as `str.split()` does.
SPLIT_TEXTS = {
    "novel": lambda: [(ROOT / "datagen/tutorial/a_tale_of_two_cities_pg98.txt").read_text(
        encoding="utf-8")],
    # every code point of the Basic Multilingual Plane between two letters, one per word
    "every code point": lambda: ["".join(f"a{chr(i)}b " for i in range(0x10000)
                                         if not 0xD800 <= i < 0xE000)],
    "whitespace": lambda: [
        "  leading and\ttabs  ", "crlf line\r\nnext\r\n", "nbsp\u00a0em\u2003space\u2028x", "",
        "no final newline", "Case case CASE, punctuation! kept.", "\x1cfs\x85nel\u3000",
        "\n\n  \n", "zero\u200bwidth is no space; Curaçao ünïcödé", "ideographic\u3000space"],
}


@pytest.mark.parametrize("case", list(SPLIT_TEXTS))
@pytest.mark.parametrize("name", engines.names())
def test_wordcount_is_str_split(name, case, engine, tmp_path):
    texts = SPLIT_TEXTS[case]()
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"part-{i:05d}.txt"
        path.write_bytes(text.encode("utf-8"))
        paths.append(str(path))
    expected = Counter(word for text in texts for word in text.split())
    workers = 1 if engines.implementation(name).max_workers == 1 else 2
    text_input = {"text": Input("text", tuple(paths), "txt")}
    assert engine(name, workers).run_inputs("wordcount", text_input) == expected


@pytest.mark.parametrize("workload", ["team_records", "team_ratings"])
@pytest.mark.parametrize("name", PARALLEL)
def test_parquet_equals_manifest(name, workload, engine, dataset):
    ds = dataset("0.1")
    spec.get(workload).check(ds.answer(workload), engine(name, 2).run(workload, ds, "parquet"))


@pytest.mark.parametrize("data", ["text", "matches"])
@pytest.mark.parametrize("name", PARALLEL)
def test_missing_file_is_named(name, data, engine, dataset, tmp_path):
    inp = dataset("0.01").input(data)
    gone = str(tmp_path / f"part-99999{os.path.splitext(inp.paths[0])[1]}")
    workload = "wordcount" if data == "text" else "home_advantage"
    with pytest.raises(DataError, match="part-99999"):
        engine(name, 2).run_inputs(workload, {data: Input(data, (*inp.paths, gone), inp.fmt)})


@pytest.mark.parametrize("workers", [0, -1])
@pytest.mark.parametrize("name", PARALLEL)
def test_bad_workers(name, workers):
    with pytest.raises(ParbenchError, match="positive integer"):
        engines.create(name, workers)


#: multiprocessing's helpers, one per interpreter, started with its first spawned or
#: forkserver process and living until the interpreter exits.
INTERPRETER_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def children() -> set[int]:
    """Child processes, less multiprocessing's helpers (not the workers a fork server forks:
    they share its command line, but are its children, not ours)."""
    helpers = {p.pid for p in psutil.Process().children()
               if any(h in " ".join(_cmdline(p)) for h in INTERPRETER_HELPERS)}
    return {p.pid for p in psutil.Process().children(recursive=True)} - helpers


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


@pytest.mark.parametrize("name", PARALLEL)
def test_stop_leaves_no_child_process(name, dataset):
    before = children()
    e = engines.create(name, 2)
    e.start()
    e.run("team_records", dataset("0.01"))
    # workers that are threads start no process; batch jobs end with their run
    if not engines.implementation(name).in_process and name != "batch":
        assert children() - before, "the engine started no process?"
    e.stop()
    deadline = time.monotonic() + 10
    while (left := children() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, [psutil.Process(p).cmdline() for p in left if psutil.pid_exists(p)]


IN_PROCESS = [name for name in engines.names() if engines.implementation(name).in_process]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("name", IN_PROCESS)
def test_in_process_workers_are_cores(name, workers, engine):
    """Arrow's readers would use every core: an engine of N threads caps them at N."""
    for started in IN_PROCESS:  # the session's engines of this kind hold the cap: stop them
        engine.release(started)
    default = pyarrow.cpu_count()
    if workers > (engines.implementation(name).max_workers or workers):
        pytest.skip(f"{name} runs on one worker")
    with engines.create(name, workers):
        assert pyarrow.cpu_count() == workers
    assert pyarrow.cpu_count() == default


def test_batch_job_is_one_core():
    probe = [sys.executable, "-c", "import pyarrow; print(pyarrow.cpu_count())"]
    out = subprocess.run(probe, env=job_env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_engine_processes_import_this_checkout(tmp_path, monkeypatch):
    """A batch job (and the Polars process, which puts the same `CODE_ROOT` on its path)
    imports the `workloads` of this checkout, even started elsewhere without a PYTHONPATH."""
    monkeypatch.delenv("PYTHONPATH", raising=False)
    probe = [sys.executable, "-c", "import workloads; print(workloads.__file__)"]
    out = subprocess.run(probe, env=job_env(), cwd=tmp_path, capture_output=True, text=True,
                         check=True)
    assert Path(out.stdout.strip()) == ROOT / "workloads" / "__init__.py"


def test_spark_ships_every_module_of_workloads_and_nothing_else():
    """What a Spark cluster's executors get (--py-files): every module of `workloads`, by its
    import path, and no other package."""
    pytest.importorskip("pyspark")
    import zipfile

    from workloads.engines.spark import engine as spark
    from workloads.runtime import scratch

    shipped = spark._code_zip()
    try:
        with zipfile.ZipFile(shipped) as z:
            names = set(z.namelist())
    finally:
        scratch.remove(shipped)
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "workloads").rglob("*.py")}
    assert names == expected
    assert "workloads/engines/spark/engine.py" in names
