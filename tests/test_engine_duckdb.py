"""DuckDB engine specifics: its threads are the workers, its configuration is locked and writes
nothing outside a private folder, a signal interrupts a query at once, errors name files.

The generic answers, missing files, glob characters in paths and `str.split()` words are checked
for every engine in test_engines.py and test_bad_input.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import duckdb
import psutil
import pytest

from workloads.data.dataset import Input
from workloads.engines import duckdb as duckdb_engine
from workloads.engines.duckdb import DuckDBEngine
from workloads.runtime import limits
from workloads.runtime.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
#: A query that runs for seconds: what an interrupt must stop at once.
LONG = "SELECT sum(hash(range)) FROM range(100_000_000_000)"
needs_proc = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux only")



@pytest.fixture
def started(request: pytest.FixtureRequest):
    """A started engine of `request.param` workers (1 without a parameter), stopped after."""
    engine = DuckDBEngine(getattr(request, "param", 1))
    engine.start()
    yield engine
    engine.stop()


# --------------------------------------------------------------------------- workers, settings


def in_fresh_process(code: str) -> None:
    """Run `code` in a fresh interpreter (nothing else of this session's engines runs threads or
    holds sockets there); its assertion error is this test's."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]


@needs_proc
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_workers_are_its_threads(workers):
    """N workers: `threads` is N, and the engine adds N threads to the process (its client
    thread and N - 1 of DuckDB's), no asynchronous I/O threads."""
    in_fresh_process(f"""
import os
from workloads.engines.duckdb import DuckDBEngine
threads = lambda: len(os.listdir("/proc/self/task"))
before = threads()
with DuckDBEngine({workers}) as engine:
    engine._fetch("SELECT count(*) FROM range({10**7}) GROUP BY range % 7")
    got = engine._fetch("SELECT current_setting('threads'), current_setting('async_threads')")
    assert got == [({workers}, 0)], got
    assert threads() - before == {workers}, (threads(), before)
assert threads() == before, (threads(), before)
""")


def test_configuration_is_set_and_locked(monkeypatch):
    monkeypatch.setattr(limits, "engine_memory", lambda **_: 123 * 2**20)
    with DuckDBEngine(1) as engine:
        (memory, temp, install, load), = engine._fetch(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
            "current_setting('autoinstall_known_extensions'), "
            "current_setting('autoload_known_extensions')")
        assert memory == "123.0 MiB" and (install, load) == (False, False)
        assert Path(temp).parent == Path(tempfile.gettempdir())
        assert Path(temp).name.startswith("parbench-duckdb.") and Path(temp).is_dir()
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            engine._fetch("SET threads = 4")
    assert not Path(temp).exists()


def test_it_listens_on_no_port(dataset):
    paths = dataset("0.01").path
    in_fresh_process(f"""
import psutil
from workloads.data.dataset import Dataset
from workloads.engines.duckdb import DuckDBEngine
with DuckDBEngine(2) as engine:
    engine.run("top_scorers", Dataset.open({str(paths)!r}))
    assert psutil.Process().net_connections(kind="inet") == []
""")


def test_memory_limit_is_a_share_of_the_free_memory():
    free = psutil.virtual_memory().available
    assert 0.5 * free < limits.engine_memory() < free


def test_spills_go_to_its_private_folder(monkeypatch, started):
    """Under a small memory limit a big temporary table spills to the engine's folder, which
    `stop` removes."""
    monkeypatch.setattr(limits, "engine_memory", lambda **_: 64 * 2**20)
    started.stop()
    started.start()
    started._fetch("CREATE TEMP TABLE big AS SELECT range AS i, md5(range::VARCHAR) AS s "
                   "FROM range(2_000_000)")
    spilled = [Path(p) for p, in started._fetch("SELECT path FROM duckdb_temporary_files()")]
    assert spilled and all(p.parent == started._temp for p in spilled)
    temp = started._temp
    started.stop()
    assert not temp.exists()


def test_a_run_writes_no_file_anywhere(dataset, tmp_path):
    """Nothing in the working directory (DuckDB's default `.tmp`), the home folder (extensions,
    secrets) or the temporary folder once the run is over."""
    work, home, tmp = (tmp_path / d for d in ("work", "home", "tmp"))
    for d in (work, home, tmp):
        d.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    for workload in ("team_ratings", "unbeaten_streaks", "wordcount"):
        proc = subprocess.run([sys.executable, "-m", "workloads", "run", workload, "--engine",
                               "duckdb", "--workers", "2", "--data",
                               str(dataset("0.01").path)], cwd=work, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert [list(d.iterdir()) for d in (work, home, tmp)] == [[], [], []]


# --------------------------------------------------------------------------- interrupts


#: Seconds an interrupted query may take to end. LONG runs for minutes; ending takes DuckDB a
#: few milliseconds, so this is far more than three times that, even on a loaded machine.
INTERRUPT_WITHIN = 5.0
#: CPU seconds the threads other than the caller's use, once the query is submitted and the
#: caller waits for it, that show the query runs inside DuckDB: entering it takes about a
#: millisecond, and no other thread works meanwhile (the test turns garbage collection off).
RUNNING_CPU = 0.1


def _stack(ident: int | None) -> Iterator[FrameType]:
    """The frames of thread `ident`, innermost first."""
    frame = sys._current_frames().get(ident) if ident is not None else None
    while frame is not None:
        yield frame
        frame = frame.f_back


def _threads_cpu(skip: set[int | None]) -> float:
    """CPU seconds of this process's threads, less those of native ids `skip`."""
    return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id not in skip)


def signal_once_running(engine: DuckDBEngine, sent: dict[str, float]) -> None:
    """From another thread, send this process SIGINT once the engine's client thread runs a
    query of `_fetch` while the calling (main) thread waits for it in `_run`, and the other threads
    have used RUNNING_CPU since; record when in `sent`. After a minute without, send it anyway
    (the test then fails instead of waiting for LONG to end)."""
    fetch, run = DuckDBEngine._fetch.__code__, DuckDBEngine._run.__code__
    client = engine._client.submit(threading.get_ident).result()
    caller = threading.main_thread()

    def under_way() -> bool:
        waits = any(f.f_code.co_name == "result" and f.f_back is not None
                    and f.f_back.f_code is run for f in _stack(caller.ident))
        return waits and any(f.f_code in fetch.co_consts for f in _stack(client))

    def wait_then_signal() -> None:
        deadline = time.monotonic() + 60
        skip = {caller.native_id, threading.get_native_id()}
        while not under_way() and time.monotonic() < deadline:
            time.sleep(0.01)
        begin = _threads_cpu(skip)
        while _threads_cpu(skip) - begin < RUNNING_CPU and time.monotonic() < deadline:
            time.sleep(0.01)
        sent["ran"] = time.monotonic() < deadline
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=wait_then_signal, daemon=True).start()


#: Run in a fresh interpreter: once Polars has run a query in a process, the SIGINT handler it
#: installs in place of Python's (with SA_RESTART) no longer wakes a caller blocked in
#: `future.result()`, and this session runs Polars.
INTERRUPTED = f"""
import gc, sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_engine_duckdb import INTERRUPT_WITHIN, LONG, signal_once_running
from workloads.engines.duckdb import DuckDBEngine
with DuckDBEngine(2) as engine:
    sent = {{}}
    gc.disable()
    signal_once_running(engine, sent)
    try:
        engine._fetch(LONG)
        raise AssertionError("the query ended without the interrupt")
    except KeyboardInterrupt:
        ended = time.monotonic()
    gc.enable()
    assert sent["ran"], "the query did not run within a minute"
    assert ended - sent["at"] < INTERRUPT_WITHIN, ended - sent["at"]
    assert engine._fetch("SELECT 42") == [(42,)]
"""


def test_an_interrupt_ends_the_query_at_once():
    """Ctrl-C (a real SIGINT: it wakes the waiting caller), sent once the query runs, ends it
    within seconds; the connection answers the next query."""
    in_fresh_process(INTERRUPTED)


# --------------------------------------------------------------------------- inputs


def test_glob_characters_are_escaped():
    assert duckdb_engine.literal(["/d/ds[1]/a*b?{c}.csv"]) == ["/d/ds[[]1]/a[*]b[?][{]c}.csv"]


def test_whitespace_above_the_bmp_would_be_missed():
    """The word separators are built from the BMP: no code point above it is whitespace."""
    assert not any(chr(c).isspace() for c in range(0x10000, sys.maxunicode + 1))


def damaged_matches(dataset, tmp_path: Path, line: int, edit) -> Input:
    """The scale-0.01 match CSV files copied to tmp_path, `line` of the first one edited."""
    paths = []
    for src in dataset("0.01").input("matches").paths:
        paths.append(shutil.copy(src, tmp_path))
    first = Path(paths[0])
    lines = first.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = edit(lines[line - 1])
    first.write_text("".join(lines), encoding="utf-8")
    return Input("matches", tuple(paths), "csv")


@pytest.mark.parametrize(("workload", "edit"), [
    ("team_records", lambda line: ",".join([*line.split(",")[:4], "two", *line.split(",")[5:]])),
    ("home_advantage", lambda line: line.rstrip("\n").rsplit(",", 1)[0] + ",Maybe\n"),
    ("mean_home_score", lambda line: line.rsplit(",", 2)[0] + "\n"),
])
def test_an_unparsable_row_names_file_and_line(workload, edit, dataset, tmp_path, started):
    matches = damaged_matches(dataset, tmp_path, 4, edit)
    with pytest.raises(DataError, match=f"{matches.paths[0]}:4: malformed row"):
        started.run_inputs(workload, {"matches": matches})


def test_a_corrupt_parquet_file_is_named(dataset, tmp_path, started):
    src = dataset("0.01").input("matches", "parquet")
    bad = tmp_path / "part-00099.parquet"
    bad.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(DataError, match="part-00099.parquet"):
        started.run_inputs("team_records", {"matches": Input("matches", (*src.paths, str(bad)),
                                                             "parquet")})
