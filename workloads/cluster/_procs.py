"""Processes and state files: spawn daemons, record them, check them, stop them by PID."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import psutil

from workloads.runtime.errors import ClusterError, ParbenchError, last_error_line
from workloads.runtime.net import LOOPBACK
from workloads.runtime.processes import is_running, start_time
from workloads.runtime.settings import CLUSTER_MARKER as MARKER_VAR

from ._hosts import Network

#: The largest state file read (they hold a few hundred bytes per process).
MAX_STATE_BYTES = 2**20

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


def is_alive(proc: Proc) -> bool:
    """True when the recorded process still runs (and its PID was not reused)."""
    reap(proc.pid)
    return is_running(proc.pid, proc.create_time)


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


def free_port(consecutive: int = 1, exclude: tuple[int | None, ...] = (),
              host: str = LOOPBACK) -> int:
    """A free port on `host` (not in `exclude`), with the next `consecutive - 1` free too."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        wanted = range(port, port + consecutive)
        if (wanted[-1] < 65536 and not set(wanted) & set(exclude)
                and all(port_free(p, host) for p in wanted)):
            return port
    raise ClusterError(f"no {consecutive} free consecutive ports on {host}")


def choose_ports(asked: dict[str, int | None], defaults: dict[str, int], host: str,
                 kind: str) -> dict[str, int]:
    """Each role's port: as asked, else its default; 0 for either: a free port on `host` that no
    other role has. ParbenchError when two roles would share one."""
    chosen = {role: defaults[role] if port is None else port for role, port in asked.items()}
    taken = [port for port in chosen.values() if port]
    if len(set(taken)) < len(taken):
        raise ParbenchError(f"{kind}: {' and '.join(chosen)} would both use port "
                            f"{max(taken, key=taken.count)}; give --port and --web-port")
    for role, port in chosen.items():
        if not port:
            chosen[role] = free_port(exclude=tuple(chosen.values()), host=host)
    return chosen


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
    """The process groups of recorded daemons that still run (PID and start time match). A group
    whose leader is gone cannot be told from someone else's: its members that are ours carry the
    cluster's marker and are stopped by it."""
    return [proc.pid for proc in procs if is_alive(proc)]


def _signal_all(groups: list[int], pids: list[int], sig: int) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _wait_gone(groups: list[int], pids: list[int], timeout: float,
               hurry: Callable[[], bool] = lambda: False) -> bool:
    """Wait until the groups and processes are gone: False after `timeout` or once `hurry()`."""
    deadline = time.monotonic() + timeout
    while True:
        for pid in list(_CHILDREN):
            reap(pid)
        alive = [g for g in groups if _group_alive(g)] + [p for p in pids if start_time(p)]
        if not alive:
            return True
        if time.monotonic() >= deadline or hurry():
            return False
        time.sleep(0.1)


def stop(procs: list[Proc], marker: str, grace: float = 10.0,
         hurry: Callable[[], bool] = lambda: False) -> None:
    """SIGTERM every recorded daemon's group (last started first), wait, then SIGKILL; at once
    once `hurry()` holds (the user interrupted)."""
    ordered = list(reversed(procs))
    groups = _own_groups(ordered)
    pids = [p for p in _marked(marker) if p not in groups]
    _signal_all(groups, pids, signal.SIGTERM)
    if not _wait_gone(groups, pids, grace, hurry):
        pids = sorted(set(pids) | set(_marked(marker)))
        _signal_all(groups, pids, signal.SIGKILL)
        _wait_gone(groups, pids, 5.0)
    for proc in procs:
        child = _CHILDREN.pop(proc.pid, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1.0)


#: A file in every cluster folder `up` made: only such a folder is ever deleted.
OWNER_FILE = ".parbench-cluster"


def owned(folder: Path) -> bool:
    """Whether `folder` is a cluster folder made by `up` (a real folder holding OWNER_FILE)."""
    return not folder.is_symlink() and (folder / OWNER_FILE).is_file()


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
    host: str = LOOPBACK
    #: The emulated hosts it spans (`--hosts`, see _hosts.Network.to_dict); {} on one machine.
    network: dict[str, Any] = field(default_factory=dict)

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
        if self.network:
            hosts = len(self.network["hosts"])
            return f"{hosts} hosts, {n} worker core{s}, links {self.network['link'] or 'unshaped'}"
        units = {"dask": f"{n} worker{s}", "spark": f"1 worker, {n} core{s}"}
        return units.get(self.kind, f"1 node, {n} CPU{s}")

    def emulated(self) -> Network | None:
        """The emulated network it spans, None on one machine (ValueError for a bad record)."""
        return Network.from_dict(self.network) if self.network else None

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def exports(self) -> list[str]:
        """Shell lines that point clients at this cluster."""
        return [f"export {key}={value}" for key, value in self.env.items()]

    def save(self) -> None:
        """Write the state file atomically: a new file renamed over it (never through a link)."""
        fd, tmp = tempfile.mkstemp(prefix=f".{self.kind}.", suffix=".tmp", dir=self.state_dir)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps(asdict(self), indent=2) + "\n")
            os.replace(tmp, self.state_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, kind: str, state_dir: Path) -> ClusterInfo | None:
        """The recorded cluster, None when there is none; ClusterError for a file that is not a
        state file `up` wrote (its kind and folder come from where it lies, never from it)."""
        path = Path(state_dir) / f"{kind}.json"
        if not (path.exists() or path.is_symlink()):
            return None
        try:
            if path.is_symlink() or not path.is_file():
                raise ValueError("not a plain file")
            with open(path, "rb") as handle:
                text = handle.read(MAX_STATE_BYTES + 1)
            if len(text) > MAX_STATE_BYTES:
                raise ValueError("too large")
            info = cls._from_json(json.loads(text), kind, Path(state_dir))
        except (OSError, ValueError, TypeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ClusterError(
                f"{kind}: {path} is not a state file of a cluster parbench started ({reason});"
                f" check that nothing of that cluster runs, then delete the file") from None
        return info

    @classmethod
    def _from_json(cls, data: Any, kind: str, state_dir: Path) -> ClusterInfo:
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        processes = data.pop("processes", [])
        if not isinstance(processes, list) or not all(isinstance(p, dict) for p in processes):
            raise ValueError("'processes' is not a list of objects")
        data.update(kind=kind, state_dir=str(state_dir))
        info = cls(**data, processes=[Proc(**p) for p in processes])
        info._check_types()
        return info

    def _check_types(self) -> None:
        """ValueError unless every field has its type, and every PID could be a daemon's."""
        simple = {f.name: f.type for f in fields(self) if f.type in ("str", "int", "bool")}
        types = {"str": str, "int": int, "bool": bool}
        for name, kind in simple.items():
            if type(getattr(self, name)) is not types[kind]:
                raise ValueError(f"{name!r} is not a {kind}")
        if not isinstance(self.up_seconds, (int, float)):
            raise ValueError("'up_seconds' is not a number")
        if not all(type(v) is int and 0 < v < 65536 for v in self.ports.values()):
            raise ValueError("'ports' holds something other than ports")
        if not all(isinstance(v, str) for v in self.env.values()):
            raise ValueError("'env' holds something other than text")
        ipaddress.IPv4Address(self.host)
        if not isinstance(self.network, dict):
            raise ValueError("'network' is not an object")
        self.emulated()
        for proc in self.processes:
            if type(proc.pid) is not int or proc.pid <= 1 or proc.pid == os.getpid():
                raise ValueError(f"{proc.pid!r} is not the process id of a daemon")
            if not isinstance(proc.create_time, (int, float)) or not isinstance(proc.log, str):
                raise ValueError(f"process {proc.pid} has no start time or log")


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
