"""Ray engine specifics: str.split's words, N workers = N one-core processes, nothing left after
stop, the object store's size, and a wrong cluster address as one line.

The generic answers are checked by test_engines.py; clusters started by `cluster up ray` are in
test_scale_out.py and test_cluster.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import psutil
import pytest

from workloads import engines
from workloads.data.dataset import Input
from workloads.engines import ray as ray_engine

ROOT = Path(__file__).resolve().parents[1]


def ray_workers(pids: list[int]) -> list[psutil.Process]:
    """Ray's worker processes below `pids` (their title is `ray::<task>` or `ray::IDLE`; Ray's
    agents are `ray::…Agent`)."""
    found = []
    for pid in pids:
        for proc in psutil.Process(pid).children(recursive=True):
            try:
                title = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if title.startswith("ray::") and not title.split()[0].endswith("Agent"):
                found.append(proc)
    return found


def test_wordcount_splits_on_every_python_whitespace_and_nothing_else(engine, tmp_path):
    """Every code point of the Basic Multilingual Plane between two letters, one per word."""
    chars = (chr(i) for i in range(0x10000) if not 0xD800 <= i < 0xE000)
    text = "".join(f"a{c}b " for c in chars)
    path = tmp_path / "part-00000.txt"
    path.write_text(text, encoding="utf-8")
    text_input = {"text": Input("text", (str(path),), "txt")}
    assert engine("ray", 2).run_inputs("wordcount", text_input) == Counter(text.split())


def test_wordcount_splits_as_str_split(engine, tmp_path):
    texts = ["  leading and\ttabs  ", "crlf line\r\nnext\r\n", "nbsp\u00a0em\u2003space\u2028x",
             "", "no final newline", "Case case CASE, punctuation! kept.", "\x1cfs\x85nel\u3000",
             "\n\n  \n", "zero\u200bwidth is no space; Curaçao ünïcödé"]
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"part-{i:05d}.txt"
        path.write_bytes(text.encode("utf-8"))
        paths.append(str(path))
    text_input = {"text": Input("text", tuple(paths), "txt")}
    expected = Counter(" ".join(texts).split())
    assert engine("ray", 2).run_inputs("wordcount", text_input) == expected


def test_wordcount_of_the_tutorial_novel(engine):
    novel = ROOT / "datagen" / "tutorial" / "a_tale_of_two_cities_pg98.txt"
    expected = Counter(novel.read_text(encoding="utf-8").split())
    assert engine("ray", 2).run_inputs("wordcount", {"text": Input("text", (str(novel),),
                                                                   "txt")}) == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_are_single_threaded_processes(workers, engine, dataset):
    """N workers: N Ray worker processes (none of them this one) run every task, each with one
    thread for Arrow (and OpenMP, which Ray sets per task), after a whole multi-pass run."""
    import pyarrow
    import ray

    e = engine("ray", workers)
    e.run("team_ratings", dataset("0.1"))
    procs = ray_workers([os.getpid()])
    assert {p.pid for p in procs} == e.worker_pids and len(procs) == workers
    assert os.getpid() not in e.worker_pids
    probe = ray.remote(lambda: (os.getpid(), pyarrow.cpu_count())).options(**e.task_options)
    pids, threads = zip(*e.get([probe.remote() for _ in range(4 * workers)]), strict=True)
    assert set(pids) <= e.worker_pids and set(threads) == {1}


def test_stop_leaves_no_process_and_no_session_folder(engine, dataset, monkeypatch):
    """Nothing of Ray is left after stop: no process, no session folder, no token file (Ray
    would write ~/.ray/auth_token for a new local cluster)."""
    token = Path.home() / ".ray" / "auth_token"
    had_token = token.exists()
    tmp = Path(tempfile.mkdtemp(dir="/tmp"))  # short: Ray's socket paths fit beneath it
    monkeypatch.setattr("tempfile.tempdir", str(tmp))
    engine.release("ray")  # one Ray per process: starting this one would stop the session's
    others = {p.pid for p in psutil.Process().children(recursive=True)}  # other engines'
    e = engines.create("ray", 2)
    e.start()
    session = e._session
    assert session is not None and session.parent == tmp
    e.run("wordcount", dataset("0.01"))
    started = [p for p in psutil.Process().children(recursive=True) if p.pid not in others]
    assert ray_workers([os.getpid()]) and ray_engine.using(session)
    e.stop()
    assert [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert all(psutil.pid_exists(pid) for pid in others), "another engine's process was ended"
    assert not ray_engine.using(session) and list(tmp.iterdir()) == []
    assert token.exists() == had_token
    tmp.rmdir()


def test_a_long_temporary_folder_puts_the_session_in_tmp(tmp_path, monkeypatch):
    """Ray's socket paths must fit in 107 bytes: a deep TMPDIR moves the session to /tmp."""
    deep = tmp_path / ("d" * 60)
    deep.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(deep))
    folder = ray_engine.session_folder()
    try:
        assert folder.parent == Path("/tmp") and folder.name.startswith("parbench-ray.")
    finally:
        ray_engine.scratch.remove(folder)


def test_object_store_fits_shared_memory_or_is_a_file(monkeypatch, tmp_path):
    size, in_shm = ray_engine.object_store_bytes(available=2**30)
    assert in_shm and size == int(2**30 * ray_engine.OBJECT_STORE_SHARE)
    monkeypatch.setattr(ray_engine.shutil, "disk_usage",
                        lambda path: type("Usage", (), {"free": 64 * 2**20})())
    size, in_shm = ray_engine.object_store_bytes(available=2**30)
    assert not in_shm and size == int(2**30 * ray_engine.OBJECT_STORE_SHARE)


def test_unreachable_address_is_one_line(dataset):
    proc = subprocess.run(
        [sys.executable, "-m", "workloads", "run", "home_advantage", "--engine", "ray",
         "--data", str(dataset("0.01").path)], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PARBENCH_RAY_ADDRESS": "127.0.0.1:1"})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "127.0.0.1:1 ($PARBENCH_RAY_ADDRESS): connection refused" in proc.stderr


def test_an_engine_never_stopped_leaves_nothing_at_exit():
    """A process that exits with its engine running: Ray's processes and the session folder go
    (the engine stops at exit before Ray's and scratch's own exit hooks)."""
    tmp = Path(tempfile.mkdtemp(dir="/tmp"))
    code = ("from workloads import engines; e = engines.create('ray', 1); e.start(); "
            "import os; print(os.getpid())")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "TMPDIR": str(tmp)})
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert list(tmp.iterdir()) == []
        assert not ray_engine.using(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_hang_up_ends_rays_processes_with_a_driver_that_does_not_handle_it():
    """A driver that leaves SIGHUP to its default action (a script, not the command line, whose
    handler stops the engine) dies of a closed terminal's SIGHUP: Ray's processes, of its
    process group, must die of it too (Ray's agents do not end with the raylet)."""
    code = ("from workloads import engines; e = engines.create('ray', 1); e.start(); "
            "print('started', flush=True); import time; time.sleep(120)")
    tmp = Path(tempfile.mkdtemp(dir="/tmp"))
    driver = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              start_new_session=True, env={**os.environ, "TMPDIR": str(tmp)})
    ray_processes: list[psutil.Process] = []
    try:
        assert driver.stdout.readline() == "started\n"
        ray_processes = psutil.Process(driver.pid).children(recursive=True)
        os.killpg(driver.pid, signal.SIGHUP)
        assert driver.wait(timeout=30) == -signal.SIGHUP
        _, alive = psutil.wait_procs(ray_processes, timeout=10)
        assert not alive, [p.name() for p in alive]
    finally:
        for proc in [driver, *ray_processes]:
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                proc.kill()
        driver.wait()
        shutil.rmtree(tmp, ignore_errors=True)
