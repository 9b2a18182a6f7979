"""Processes and state files: spawn daemons, record them, check them, stop them by PID."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from workloads.errors import ClusterError, ParbenchError, last_error_line
from workloads.settings import CLUSTER_MARKER as MARKER_VAR

LOOPBACK = "127.0.0.1"

# Popen objects of daemons started by this Python process, kept so they can be reaped (no zombies).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass
class Proc:
    """One daemon started by `up`: enough to find it again and to stop only it."""

    name: str
    pid: int
    create_time: float
    log: str
    cmd: list[str] = field(default_factory=list)


def start_time(pid: int) -> float | None:
    """Creation time of a live, non-zombie process, or None when there is none."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except psutil.Error:
        return None


def is_alive(proc: Proc) -> bool:
    """True when the recorded process still runs (and its PID was not reused)."""
    reap(proc.pid)
    created = start_time(proc.pid)
    return created is not None and abs(created - proc.create_time) < 0.05


def reap(pid: int) -> int | None:
    """Collect the exit status of a child of this process; None while it runs."""
    child = _CHILDREN.get(pid)
    if child is None:
        return None
    return child.poll()


def spawn(name: str, cmd: list[str], log: Path, env: dict[str, str], cwd: Path) -> Proc:
    """Start a daemon in its own session (so its process group can be stopped as a whole)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            child = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=env, cwd=cwd, start_new_session=True,
            )
        except OSError as exc:
            raise ParbenchError(f"cannot run {cmd[0]}: {exc.strerror}") from exc
    _CHILDREN[child.pid] = child
    created = start_time(child.pid) or time.time()
    return Proc(name=name, pid=child.pid, create_time=created, log=str(log), cmd=cmd)


def exit_code(proc: Proc) -> int | None:
    """Exit status of a daemon started by this process that has ended, else None."""
    return reap(proc.pid)


def last_line(path: str | Path) -> str:
    """The last error-like line of a log (else its last line; "" when there is none)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return last_error_line(text) if text.strip() else ""


def port_free(port: int, host: str = LOOPBACK) -> bool:
    """True when a server could listen on host:port (SO_REUSEADDR, like the daemons)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port(consecutive: int = 1, exclude: tuple[int, ...] = ()) -> int:
    """A free port on 127.0.0.1 (not in `exclude`), with the next `consecutive - 1` free too."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = sock.getsockname()[1]
        wanted = range(port, port + consecutive)
        if wanted[-1] < 65536 and not set(wanted) & set(exclude) and all(map(port_free, wanted)):
            return port
    raise ClusterError(f"no {consecutive} free consecutive ports on {LOOPBACK}")


def port_answers(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _marked(marker: str) -> list[int]:
    """PIDs of processes that inherited this cluster's marker (orphans of its daemons)."""
    if not marker:
        return []
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get(MARKER_VAR) == marker and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
    return found


def _group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


def _own_groups(procs: list[Proc]) -> list[int]:
    """Process groups we started whose leader is ours or gone (never a reused PID's group)."""
    groups = []
    for proc in procs:
        created = start_time(proc.pid)
        if created is None or is_alive(proc):
            groups.append(proc.pid)
    return groups


def _signal_all(groups: list[int], pids: list[int], sig: int) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _wait_gone(groups: list[int], pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        for pid in list(_CHILDREN):
            reap(pid)
        alive = [g for g in groups if _group_alive(g)] + [p for p in pids if start_time(p)]
        if not alive:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def stop(procs: list[Proc], marker: str, grace: float = 10.0) -> None:
    """SIGTERM every recorded daemon's group (last started first), wait, then SIGKILL."""
    ordered = list(reversed(procs))
    groups = _own_groups(ordered)
    pids = [p for p in _marked(marker) if p not in groups]
    _signal_all(groups, pids, signal.SIGTERM)
    if not _wait_gone(groups, pids, grace):
        pids = sorted(set(pids) | set(_marked(marker)))
        _signal_all(groups, pids, signal.SIGKILL)
        _wait_gone(groups, pids, 5.0)
    for proc in procs:
        child = _CHILDREN.pop(proc.pid, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1.0)


@dataclass
class ClusterInfo:
    """A running (or starting) cluster as recorded in its state file."""

    kind: str
    state_dir: str
    workers: int
    address: str = ""
    env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    processes: list[Proc] = field(default_factory=list)
    marker: str = ""
    ready: bool = False
    up_seconds: float = 0.0

    @property
    def folder(self) -> Path:
        """Where this cluster keeps its logs, config and scratch files."""
        return Path(self.state_dir) / self.kind

    @property
    def state_file(self) -> Path:
        return Path(self.state_dir) / f"{self.kind}.json"

    @property
    def capacity(self) -> str:
        """What --workers means for this kind, in words."""
        n, s = self.workers, "s" * (self.workers != 1)
        units = {"dask": f"{n} worker{s}", "spark": f"1 worker, {n} core{s}"}
        return units.get(self.kind, f"1 node, {n} CPU{s}")

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def exports(self) -> list[str]:
        """Shell lines that point clients at this cluster."""
        return [f"export {key}={value}" for key, value in self.env.items()]

    def save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(self.state_file)

    @classmethod
    def load(cls, kind: str, state_dir: Path) -> ClusterInfo | None:
        path = Path(state_dir) / f"{kind}.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ClusterError(f"{kind}: unreadable state file {path}: {exc}") from exc
        data["processes"] = [Proc(**p) for p in data.get("processes", [])]
        return cls(**data)


def _check_alive(info: ClusterInfo) -> None:
    for proc in info.processes:
        code = exit_code(proc)
        if code is not None or not is_alive(proc):
            how = "exited" if code is None else f"exited with status {code}"
            detail = last_line(proc.log)
            tail = f": {detail}" if detail else ""
            raise ClusterError(f"{info.kind}: {proc.name} {how}; log {proc.log}{tail}")


def wait_until(info: ClusterInfo, probe: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `probe` until it holds; fail fast if a daemon dies, clearly on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        _check_alive(info)
        if probe():
            return
        if time.monotonic() >= deadline:
            logs = ", ".join(p.log for p in info.processes)
            last = last_line(info.processes[-1].log) if info.processes else ""
            raise ClusterError(
                f"{info.kind}: not ready after {timeout:g} s ({what}); logs: {logs}"
                + (f"; {info.processes[-1].name}: {last}" if last else "")
            )
        time.sleep(0.1)
