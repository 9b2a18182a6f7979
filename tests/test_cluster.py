"""Real clusters on 127.0.0.1 (Dask, Spark standalone, Slurm, Ray): up, use, status, down, and
what a hostile user does to them: bad input, interrupts, concurrent commands, stale or forged state.
No mocks: every daemon is real, every signal is sent to a real process group."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from conftest import process_tree, require, require_slurm
from servers import closed_port

from workloads import cluster, probes
from workloads.cluster._procs import port_free
from workloads.runtime import limits
from workloads.runtime.errors import ParbenchError
from workloads.runtime.net import LOOPBACK

LOOPBACKS = {LOOPBACK, f"::ffff:{LOOPBACK}"}  # Java's IPv4 sockets show as IPv4-mapped IPv6
CLI = ("workloads", "cluster")


# --------------------------------------------------------------------------- helpers


def _survivors(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def _marked(marker: str) -> list[int]:
    """Live processes that carry a cluster's marker in their environment."""
    found = []
    for proc in psutil.process_iter():
        try:
            if (proc.environ().get("PARBENCH_CLUSTER_ID") == marker
                    and proc.status() != psutil.STATUS_ZOMBIE):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def _assert_down(kind: str, state: Path, info: cluster.ClusterInfo) -> None:
    procs = process_tree(info.pids)
    assert cluster.down(kind, state)
    assert _survivors(procs) == []
    assert all(port_free(port) for port in info.ports.values())
    assert not (state / f"{kind}.json").exists() and not (state / kind).exists()
    assert not cluster.status(kind, state)[0].running


def _spark_usable() -> None:
    pytest.importorskip("pyspark")
    require("Java", bool(shutil.which("java") or os.environ.get("JAVA_HOME")),
            ".ci/install-java.sh (as root)")


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# --------------------------------------------------------------------------- clusters (module)


def _cluster(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.ClusterInfo]:
    """A 2-worker cluster for the module; its `down` is checked to leave nothing behind."""
    state = tmp_path_factory.mktemp(f"{kind}-state")
    web = {"web_port": 0} if kind in ("dask", "spark") else {}
    info = cluster.up(kind, 2, state, port=0, **web)
    try:
        yield info
    finally:
        _assert_down(kind, state, info)


@pytest.fixture(scope="module")
def dask_up(tmp_path_factory):
    pytest.importorskip("distributed")
    yield from _cluster("dask", tmp_path_factory)


@pytest.fixture(scope="module")
def spark_up(tmp_path_factory):
    _spark_usable()
    yield from _cluster("spark", tmp_path_factory)


@pytest.fixture(scope="module")
def slurm_up(tmp_path_factory):
    require_slurm()
    yield from _cluster("slurm", tmp_path_factory)


@pytest.fixture(scope="module")
def ray_up(tmp_path_factory):
    pytest.importorskip("ray")
    yield from _cluster("ray", tmp_path_factory)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    """A private state folder; every cluster recorded in it is stopped, even if the test fails."""
    folder = tmp_path / "state"
    try:
        yield folder
    finally:
        errors = []
        for kind in cluster.KINDS:
            try:
                cluster.down(kind, folder)
            except Exception as exc:  # stop the other kinds first, then report
                errors.append(exc)
        if errors:
            raise errors[0]


# --------------------------------------------------------------------------- using them


def test_dask_cli_up_status_down(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    from distributed import Client

    argv = ["--workers", "2", "--state", str(state), "--port", "0"]
    assert cluster.main(["up", "dask", *argv]) == 0
    info = cluster.ClusterInfo.load("dask", state)
    assert info is not None
    assert capsys.readouterr().out == f"export PARBENCH_DASK_ADDRESS={info.address}\n"

    with Client(info.address, timeout="10s") as client:
        assert len(client.nthreads()) == 2
        assert set(client.nthreads().values()) == {1}
        assert client.submit(sum, [1, 2, 3]).result() == 6

    assert cluster.main(["up", "dask", *argv]) == 0  # idempotent: same cluster, same PIDs
    assert "already running" in capsys.readouterr().err
    assert cluster.ClusterInfo.load("dask", state).pids == info.pids  # type: ignore[union-attr]
    assert cluster.main(["status", "dask", "--state", str(state)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"dask: running at {info.address}") and line.count("\n") == 1

    _assert_down("dask", state, info)


def test_ray_cli_up_status_down(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`up ray` prints the engine's address; `down` ends every process of the head's tree
    (GCS, raylet, workers, agents) and every process that carries the cluster's marker, and
    removes Ray's session folder (in /tmp when the state path is long)."""
    pytest.importorskip("ray")
    argv = ["--workers", "2", "--state", str(state), "--port", "0"]
    assert cluster.main(["up", "ray", *argv]) == 0
    info = cluster.ClusterInfo.load("ray", state)
    assert info is not None and info.capacity == "1 node, 2 CPUs"
    assert capsys.readouterr().out == f"export PARBENCH_RAY_ADDRESS={info.address}\n"
    probes.check_ray(info.address, 5.0)
    session = (state / "ray" / "run").resolve()
    assert any(p.name.startswith("session_") for p in session.iterdir())
    procs = process_tree(info.pids)
    names = " ".join(" ".join(p.cmdline()) for p in procs)
    assert "gcs_server" in names and "raylet" in names
    assert cluster.main(["status", "ray", "--state", str(state)]) == 0
    assert capsys.readouterr().out.startswith(f"ray: running at {info.address}")
    _assert_down("ray", state, info)
    assert _marked(info.marker) == [] and not session.exists()


def test_spark_standalone(spark_up) -> None:
    """A plain PySpark session on the cluster, with Python workers on its executor; in a process
    of its own (a session's JVM outlives `stop()` and would stay this process's gateway)."""
    assert spark_up.env == {"PARBENCH_SPARK_MASTER": spark_up.address}
    code = f"""
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master({spark_up.address!r}).appName("parbench-test-cluster")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.executor.memory", "512m").getOrCreate())
try:
    assert spark.range(100).count() == 100
    squares = spark.sparkContext.parallelize(range(10), 2).map(lambda x: x * x)
    assert squares.sum() == 285
finally:
    spark.stop()
"""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert cluster.status("spark", spark_up.state_dir)[0].running


def test_slurm_array_job(slurm_up, tmp_path: Path) -> None:
    env = {**os.environ, **slurm_up.env}
    out = tmp_path / "jobs"
    out.mkdir()
    subprocess.run(
        ["sbatch", "--wait", "--quiet", "--array=0-2", f"--chdir={out}", "--output=out_%a",
         "--wrap", "echo $SLURM_ARRAY_TASK_ID"],
        env=env, check=True, timeout=60,
    )
    assert {p.name: p.read_text().strip() for p in out.iterdir()} == {
        f"out_{i}": str(i) for i in range(3)
    }
    assert cluster.status("slurm", slurm_up.state_dir)[0].running


def _listeners(procs: list[psutil.Process]) -> set[tuple[str, int]]:
    pids = {p.pid for p in procs}
    return {(c.laddr.ip, c.laddr.port) for c in psutil.net_connections("inet")
            if c.status == psutil.CONN_LISTEN and c.pid in pids}


def test_everything_started_listens_on_loopback_only(dask_up, spark_up, slurm_up, ray_up,
                                                     engine, dataset, monkeypatch):
    """From the socket table: every listening socket of every cluster kind's process tree, and
    of this process's tree with the engines that start servers running (dask-distributed's
    LocalCluster, local Spark with its Python workers, a local Ray), is on 127.0.0.1."""
    monkeypatch.delenv("PARBENCH_DASK_ADDRESS", raising=False)
    monkeypatch.delenv("PARBENCH_SPARK_MASTER", raising=False)
    monkeypatch.delenv("PARBENCH_RAY_ADDRESS", raising=False)
    for name in ("spark", "dask-distributed", "ray"):
        engine.release(name)
    ds = dataset("0.01")
    for name in ("dask-distributed", "spark", "ray"):
        started = engine(name, 2)
        assert started.run("mean_home_score", ds)
    assert engine("dask-distributed", 2).cluster is not None, "a LocalCluster"
    assert engine("spark", 2).sc.master == "local[2]"
    assert engine("ray", 2)._session is not None, "a local Ray"
    slurm_names = set(probes.host_addresses(socket.gethostname()))
    for info, allowed in [(dask_up, LOOPBACKS), (spark_up, LOOPBACKS),
                          (slurm_up, LOOPBACKS | slurm_names), (ray_up, LOOPBACKS)]:
        found = _listeners(process_tree(info.pids))
        assert {port for _, port in found} >= set(info.ports.values()), info.kind
        assert {ip for ip, _ in found} <= allowed, (info.kind, found)
    here = _listeners(process_tree([os.getpid()]))
    assert len(here) >= 6, ("scheduler, workers, Spark's driver and Python workers, Ray's GCS "
                            "and raylet listen")
    assert {ip for ip, _ in here} <= LOOPBACKS, here


@pytest.mark.parametrize("kind", cluster.KINDS)
def test_up_with_other_settings_is_refused(kind, request, capsys):
    """`up` of a running cluster with another size (or port) is an error naming both; the
    cluster keeps running unchanged. Without options, `up` finds it."""
    info = request.getfixturevalue(f"{kind}_up")
    state = ["--state", info.state_dir]
    for flag, other in [("--workers", info.workers + 1), ("--port", closed_port())]:
        assert cluster.main(["up", kind, flag, str(other), *state]) == 2
        err = _one_line(capsys.readouterr().err)
        assert f"already running at {info.address}" in err and f"{flag} {other}" not in err
        assert f"not {other}" in err and f"cluster down {kind}" in err
    assert cluster.main(["up", kind, *state]) == 0
    assert "already running" in capsys.readouterr().err
    assert cluster.ClusterInfo.load(kind, Path(info.state_dir)).pids == info.pids


# --------------------------------------------------------------------------- bad input


def _bad_inputs(tmp: Path) -> list[list[str]]:
    file = tmp / "a-file"
    file.write_text("not a folder\n")
    (tmp / "dangling").symlink_to(tmp / "missing")
    (tmp / "to-file").symlink_to(file)
    (tmp / "to-null").symlink_to(os.devnull)
    fresh = ["--state", str(tmp / "new")]
    return [
        ["up", "dask", "--port", "99999", *fresh],
        ["up", "dask", "--port", "-1", *fresh],
        ["up", "dask", "--state", str(file)],
        ["up", "dask", "--state", str(file / "inside")],
        ["up", "dask", "--state", str(tmp / "dangling")],
        ["up", "dask", "--state", str(tmp / "to-file")],
        ["up", "dask", "--state", str(tmp / "to-null")],
        ["up", "dask", "--state", ""],
        ["up", "dask", "--workers", "0", *fresh],
        ["up", "dask", "--workers", "-3", *fresh],
        ["up", "dask", "--workers", "100000", *fresh],
        ["up", "dask", "--workers", "two", *fresh],
        *[["up", "dask", "--timeout", t, *fresh] for t in ("-1", "0", "nan", "inf", "1e9")],
        ["up", "spark", "--port", "7000", "--web-port", "7000", *fresh],
        ["up", "dask", "--port", "0", "--web-port", "99999", *fresh],
        ["up", "slurm", "--port", "65535", *fresh],
        ["up", "slurm", "--web-port", "8080", *fresh],
        ["up", "slurm", "--host", "198.51.100.7", *fresh],
        ["up", "ray", "--web-port", "8265", *fresh],
        ["up", "ray", "--host", "127.0.0.2", *fresh],
        ["up", "dask", "--host", "0.0.0.0", *fresh],
        ["up", "dask", "--host", "198.51.100.7", *fresh],
        ["up", "dask", "--host", "example.org", *fresh],
        ["up", "hadoop", *fresh],
        ["up", *fresh],
        ["down", "dask", "--workers", "3", *fresh],
        ["status", "dask", "--port", "0", *fresh],
        ["status", "hadoop", *fresh],
        ["launch", "dask", *fresh],
    ]


def test_bad_input_is_one_line_exit_2_nothing_started_or_written(tmp_path, capsys):
    before = set(tmp_path.iterdir())
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    for argv in _bad_inputs(tmp_path):
        assert cluster.main(argv) == 2, argv
        err = _one_line(capsys.readouterr().err)
        assert err.startswith("python -m workloads cluster: error: "), err
    assert not (tmp_path / "new").exists()
    assert set(tmp_path.iterdir()) - before == {tmp_path / n for n in
                                                ("a-file", "dangling", "to-file", "to-null")}
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= children
    with pytest.raises(ParbenchError, match="unknown cluster kind"):
        cluster.up("hadoop", 1, tmp_path / "new")


def test_worker_bound_names_the_machine_limit(tmp_path, capsys):
    bound = cluster.worker_limit()
    limit, why = bound.workers, bound.reason
    assert 1 <= limit <= limits.WORKERS_PER_CORE * limits.cores()
    for kind in cluster.KINDS:
        argv = ["up", kind, "--workers", str(limit + 1), "--state", str(tmp_path / "s")]
        assert cluster.main(argv) == 2
        assert f"at most {limit} ({why})" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "s").exists()


def test_worker_bound_follows_the_process_limit(tmp_path):
    """With `ulimit -u 1` the bound is 0 workers: refused before anything starts (never a fork
    storm: the limit is tested on a small number)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NPROC)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NPROC, (1, hard))

    proc = subprocess.run([sys.executable, "-m", *CLI, "up", "dask", "--workers", "2",
                           "--state", str(tmp_path / "s")], capture_output=True, text=True,
                          timeout=60, preexec_fn=limit)
    assert proc.returncode == 2
    assert "at most 0" in _one_line(proc.stderr) and "ulimit -u 1" in proc.stderr
    assert not (tmp_path / "s").exists()


def test_busy_port_is_one_line_exit_2(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        argv = ["up", "dask", "--workers", "1", "--state", str(state), "--port", str(port)]
        assert cluster.main(argv) == 2
    err = _one_line(capsys.readouterr().err)
    assert f"port {port}" in err and "busy" in err
    assert not state.exists()


def test_down_when_not_running_succeeds(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster.main(["down", "spark", "--state", str(state)]) == 0
    assert capsys.readouterr().out == "spark: not running\n"
    assert cluster.main(["down", "--state", str(state)]) == 0
    assert cluster.down("dask", state) is False
    assert cluster.main(["status", "--state", str(state)]) == 0
    assert capsys.readouterr().out.splitlines()[-len(cluster.KINDS):] == [
        f"{kind}: not running" for kind in cluster.KINDS
    ]
    assert not state.exists()


# --------------------------------------------------------------------------- forged state


def _forge(state: Path, kind: str, **fields: object) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    record = {"kind": kind, "state_dir": "/", "workers": 1, "address": "tcp://127.0.0.1:1",
              "ports": {"scheduler": closed_port()}, "marker": "forged", "ready": True,
              "processes": [], **fields}
    path = state / f"{kind}.json"
    path.write_text(json.dumps(record))
    return path


@pytest.fixture
def bystander() -> Iterator[psutil.Process]:
    """A process of someone else: `down` must never touch it."""
    proc = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        yield psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_stale_state_with_a_reused_pid_stops_nothing_else(state, bystander, capsys):
    """A state file whose PID now belongs to another process (its start time differs), and whose
    `state_dir` points elsewhere: status says unhealthy, down removes only the state."""
    own = state / "dask"
    own.mkdir(parents=True)
    (own / "keep.txt").write_text("a folder parbench did not make\n")
    _forge(state, "dask", processes=[{"name": "scheduler", "pid": bystander.pid,
                                      "create_time": bystander.create_time() - 1000,
                                      "log": "/dev/null"}])
    assert cluster.main(["status", "dask", "--state", str(state)]) == 1
    assert "unhealthy" in capsys.readouterr().out
    assert cluster.main(["down", "dask", "--state", str(state)]) == 0
    assert bystander.is_running() and bystander.status() != psutil.STATUS_ZOMBIE
    assert not (state / "dask.json").exists() and (own / "keep.txt").exists()


@pytest.mark.parametrize("record", [
    "{", "[]", '"text"', "null", json.dumps({"kind": "dask"}),
    json.dumps({"workers": 1, "processes": "x"}),
    json.dumps({"workers": 1, "processes": [{"name": "a", "pid": 0, "create_time": 1,
                                             "log": ""}]}),
    json.dumps({"workers": 1, "processes": [{"name": "a", "pid": -1, "create_time": 1,
                                             "log": ""}]}),
    json.dumps({"workers": 1, "processes": [{"name": "a", "pid": True, "create_time": 1,
                                             "log": ""}]}),
    json.dumps({"workers": 1, "processes": [{"name": "a", "pid": "12", "create_time": 1,
                                             "log": ""}]}),
    json.dumps({"workers": 1, "ports": {"scheduler": "x"}}),
    json.dumps({"workers": 1, "host": "0.0.0.0; rm -rf /"}),
    json.dumps({"workers": 1, "surprise": 1}),
])
def test_forged_state_file_is_one_line_and_kept(tmp_path, record, capsys):
    """Not JSON, or JSON that would make `down` signal PID 0 or -1 (every process): one line,
    exit 1, nothing signalled, the file left for the user to look at."""
    state = tmp_path / "state"
    state.mkdir()
    path = state / "dask.json"
    path.write_text(record)
    for argv in (["down", "dask"], ["up", "dask", "--port", "0"]):
        assert cluster.main([*argv, "--state", str(state)]) == 1
        assert "is not a state file" in _one_line(capsys.readouterr().err)
    assert cluster.main(["status", "dask", "--state", str(state)]) == 1
    assert "is not a state file" in capsys.readouterr().out
    assert path.read_text() == record


def test_links_in_the_state_folder_are_not_followed(tmp_path, capsys):
    """A lock file or state file that is a symlink to a file of someone else: never written."""
    state, victim = tmp_path / "state", tmp_path / "victim"
    victim.write_text("precious\n")
    state.mkdir()
    (state / ".dask.lock").symlink_to(victim)
    assert cluster.main(["up", "dask", "--port", "0", "--state", str(state)]) == 2
    assert ".dask.lock" in _one_line(capsys.readouterr().err)
    (state / ".dask.lock").unlink()
    (state / "dask.json").symlink_to(victim)
    assert cluster.main(["down", "dask", "--state", str(state)]) == 1
    assert "not a plain file" in _one_line(capsys.readouterr().err)
    assert victim.read_text() == "precious\n"


def test_a_folder_up_did_not_make_is_never_deleted(state, capsys):
    pytest.importorskip("distributed")
    mine = state / "dask"
    mine.mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work\n")
    assert cluster.main(["up", "dask", "--port", "0", "--state", str(state)]) == 2
    assert "was not made by" in _one_line(capsys.readouterr().err)
    assert (mine / "thesis.tex").exists() and not (state / "dask.json").exists()


# --------------------------------------------------------------------------- signals


def _cli(*argv: str) -> subprocess.Popen[str]:
    """The cluster command line in its own process group (as a shell runs a job)."""
    return subprocess.Popen([sys.executable, "-m", *CLI, *argv], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(what: Callable[[], object], timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.02)
    pytest.fail("timed out")


def _starting(path: Path) -> dict | None:
    """The state file's record once it lists a daemon and is not ready yet."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    assert not record["ready"], "the cluster became ready before the signal"
    return record if record["processes"] else None


def _paused_while_starting(proc: subprocess.Popen[str], path: Path, daemon: str = "") -> dict:
    """Pause the command (SIGSTOP) at a moment when its state file `path` lists a daemon (the
    one named `daemon`, if given) and is not ready; that record. Paused, the command cannot get
    ready before a signal comes."""

    def paused() -> dict | None:
        assert proc.poll() is None, f"the command ended before the signal: {proc.communicate()}"
        os.kill(proc.pid, signal.SIGSTOP)
        _wait_for(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_STOPPED)
        record = _starting(path)
        if record is None or daemon not in {"", *(p["name"] for p in record["processes"])}:
            os.kill(proc.pid, signal.SIGCONT)
            return None
        return record

    return _wait_for(paused)  # type: ignore[return-value]


def _pending(pid: int, sig: int) -> bool:
    """Whether `sig` was sent to process `pid` and waits, undelivered (the process is stopped)."""
    status = Path(f"/proc/{pid}/status").read_text()
    masks = [line.split()[1] for line in status.splitlines()
             if line.startswith(("SigPnd:", "ShdPnd:"))]
    return any(int(mask, 16) >> (sig - 1) & 1 for mask in masks)


def _interrupted(proc: subprocess.Popen[str], sig: int, held: int | None = None) -> str:
    """Send `sig` to the command's process group, waking it if paused; with `held`, the PID of
    a daemon stopped beforehand (it ignores the clean-up's SIGTERM, which holds the clean-up in
    its grace period), send `sig` again once that SIGTERM waits for it: while it cleans up. The
    command must end within seconds with 128 + sig and one line. Returns that line."""
    os.killpg(proc.pid, sig)
    os.killpg(proc.pid, signal.SIGCONT)  # the signal is delivered as the command goes on
    if held is not None:
        _wait_for(lambda: _pending(held, signal.SIGTERM))
        os.killpg(proc.pid, sig)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert out == ""
    return _one_line(err)


#: The daemon of each kind that a second signal's test stops: one whose absence the clean-up's
#: own requests (Slurm's job listing) do not wait for.
HELD_DAEMON = {"spark": "master", "slurm": "slurmd"}


@pytest.mark.parametrize(("kind", "sig", "twice"), [
    ("spark", signal.SIGINT, False),
    ("spark", signal.SIGTERM, True),
    ("slurm", signal.SIGINT, True),
])
def test_up_interrupted_while_starting_leaves_nothing(kind, sig, twice, state, capsys):
    """Ctrl-C or kill while daemons start: other commands on that cluster are refused meanwhile
    (naming the command at work); then everything stops, no state is left, one line, 128+sig.
    Twice: a second signal while the clean-up waits for a daemon only hurries it."""
    _spark_usable() if kind == "spark" else require_slurm()
    web = ["--web-port", "0"] if kind == "spark" else []
    proc = _cli("up", kind, "--workers", "1", "--port", "0", *web, "--state", str(state))
    daemon = HELD_DAEMON[kind] if twice else ""
    record = _paused_while_starting(proc, state / f"{kind}.json", daemon)
    for argv in (["up", kind, "--port", "0", *web], ["down", kind]):
        assert cluster.main([*argv, "--state", str(state)]) == 1
        assert f"(pid {proc.pid})" in _one_line(capsys.readouterr().err)
    held = next((p["pid"] for p in record["processes"] if p["name"] == daemon), None)
    if held is not None:
        os.kill(held, signal.SIGSTOP)
    assert _interrupted(proc, sig, held).endswith("interrupted\n")
    assert _marked(record["marker"]) == []
    assert [p.name for p in state.iterdir()] == [f".{kind}.lock"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_down_interrupted_kills_at_once_and_leaves_nothing(sig, state):
    """A worker that does not react to SIGTERM (stopped) holds `down` in its grace period; an
    interrupt then ends it within seconds: SIGKILL, no process, no state, one line, 128+sig."""
    pytest.importorskip("distributed")
    info = cluster.up("dask", 2, state, port=0)
    procs = process_tree(info.pids)
    for proc in process_tree(info.pids[-1:]):
        proc.suspend()
    down = _cli("down", "--state", str(state))
    scheduler = psutil.Process(info.pids[0])
    _wait_for(lambda: not _survivors([scheduler]))  # `down` is under way
    _interrupted(down, sig)
    assert _survivors(procs) == [] and _marked(info.marker) == []
    assert [p.name for p in state.iterdir()] == [".dask.lock"]



# --------------------------------------------------------------------------- over emulated hosts


def test_a_run_over_emulated_hosts_counts_the_bytes_over_the_wire(state: Path, dask_up,
                                                                  data_dir: Path) -> None:
    """`run --json` inside the driver's host of a 2-host Dask cluster counts the bytes that
    crossed the links during the run (within what the hosts sent around the whole command); the
    same run on a cluster on 127.0.0.1 counts none, even with the emulated cluster's state at
    hand."""
    why = cluster.can_make()
    if why:
        pytest.skip(why)
    info = cluster.up("dask", state_dir=state, hosts=2, link="100mbit")
    network = info.emulated()
    assert network is not None
    env = {**os.environ, "PARBENCH_STATE": str(state)}
    command = [sys.executable, "-m", "workloads", "run", "wordcount", "--engine",
               "dask-distributed", "--data", str(data_dir / "scale-0.1")]
    before = network.sent_bytes()
    proc = subprocess.run(["ip", "netns", "exec", network.driver.netns, *command, "--json"],
                          env={**env, **info.env}, capture_output=True, text=True, timeout=300)
    around = network.sent_bytes() - before
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["check"] == "ok" and (out["hosts"], out["link"]) == (2, "100mbit")
    assert 0 < out["wire_bytes"] <= around
    text = subprocess.run(["ip", "netns", "exec", network.driver.netns, *command],
                          env={**env, **info.env}, capture_output=True, text=True, timeout=300)
    assert text.returncode == 0, text.stderr
    assert re.search(r"^wire: [0-9.]+ MB over 2 hosts \(links 100mbit\)$", text.stdout, re.M)
    loopback = subprocess.run([*command, "--json"], env={**env, **dask_up.env},
                              capture_output=True, text=True, timeout=300)
    assert loopback.returncode == 0, loopback.stderr
    alone = json.loads(loopback.stdout)
    assert alone["check"] == "ok" and "wire_bytes" not in alone and "hosts" not in alone
