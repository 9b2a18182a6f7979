"""`up`, `down`, `status` and `running`: the cluster lifecycle shared by every kind.

Every request is checked before anything is written or started; a cluster's daemons are recorded
in its state file as each one starts; an interrupted `up` or `down` stops all of them and
removes the state; a folder is only ever deleted when `up` made it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import math
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

from workloads.runtime import limits, scratch
from workloads.runtime.errors import ClusterError, ParbenchError
from workloads.runtime.settings import Settings
from workloads.runtime.signals import HeldSignals

from ._hosts import MAX_HOSTS, Network, can_make, link_bits
from ._procs import (
    LOOPBACK,
    MARKER_VAR,
    OWNER_FILE,
    ClusterInfo,
    is_alive,
    owned,
    port_answers,
    port_free,
    spawn,
    stop,
    wait_until,
)

KINDS = ("dask", "spark", "slurm", "ray")
#: The command line, for messages that say what to run.
COMMAND = "python -m workloads cluster"
#: Processes one cluster worker is at most (a dask worker: its nanny and itself), for the bound
#: on `--workers` (`limits.machine_bound`).
PROCESSES_PER_WORKER = 2
#: The longest `--timeout` (seconds).
MAX_TIMEOUT = 86400.0


class Backend(Protocol):
    """What each cluster kind provides (see _dask, _spark, _slurm, _ray)."""

    default_timeout: float
    #: Whether the kind has a web port (`--web-port`), and can listen elsewhere (`--host`).
    has_web_port: bool
    any_host: bool
    #: Consecutive ports from `--port` on that the kind uses.
    port_span: int

    def check(self) -> None: ...
    def ports(self, port: int | None, web_port: int | None, host: str) -> dict[str, int]: ...
    def launch(self, info: ClusterInfo, launcher: Launcher) -> None: ...
    def ready(self, info: ClusterInfo) -> bool: ...
    def before_stop(self, info: ClusterInfo) -> None: ...
    def probe_port(self, info: ClusterInfo) -> int: ...
    def close(self) -> None: ...


def backend(kind: str) -> Backend:
    """The implementation of one cluster kind (imported lazily: no dask/pyspark needed)."""
    if kind == "dask":
        from ._dask import DaskBackend

        return DaskBackend()
    if kind == "spark":
        from ._spark import SparkBackend

        return SparkBackend()
    if kind == "slurm":
        from ._slurm import SlurmBackend

        return SlurmBackend()
    if kind == "ray":
        from ._ray import RayBackend

        return RayBackend()
    raise ParbenchError(f"unknown cluster kind {kind!r} (choose one of: {', '.join(KINDS)})")


# --------------------------------------------------------------------------- checking a request


@dataclass(frozen=True)
class Request:
    """What `up` was asked for, checked; None: the kind's default (0 for a port: any free)."""

    kind: str
    workers: int | None = None
    port: int | None = None
    web_port: int | None = None
    timeout: float | None = None
    host: str = LOOPBACK
    #: Emulated hosts (`--hosts`; None: this machine only) and their links' rate ("": unshaped).
    hosts: int | None = None
    link: str = ""


def worker_limit() -> limits.Bound:
    """The most workers `up` starts on this machine, and the constraint that sets it: 0 when
    not one more fits (a cluster's workers are new processes)."""
    return limits.machine_bound(PROCESSES_PER_WORKER, least=0)


def _check_workers(kind: str, workers: int | None) -> None:
    if workers is None:
        return
    if workers < 1:
        raise ParbenchError(f"{kind}: --workers must be at least 1 (got {workers})")
    bound = worker_limit()
    if workers > bound.workers:
        raise ParbenchError(f"{kind}: --workers {workers} is more than this machine can run: "
                            f"at most {bound.workers} ({bound.reason})")


def _check_port(kind: str, flag: str, port: int | None, span: int = 1) -> None:
    if port is None:
        return
    top = 65536 - span
    if not 0 <= port <= top:
        also = " (the next port is used too)" if span > 1 else ""
        raise ParbenchError(f"{kind}: {flag} {port} is not a port: give 1-{top}{also}, or 0 for "
                            "any free port")
    if 0 < port < 1024 and os.geteuid() != 0:
        raise ParbenchError(f"{kind}: {flag} {port} is below 1024, which only root may use; "
                            "pick a port above 1023, or 0 for any free port")


def _check_host(kind: str, host: str | None, impl: Backend) -> str:
    """`--host`: an IPv4 address of this machine (one interface, never the wildcard)."""
    if host is None or host == LOOPBACK:
        return LOOPBACK
    if not impl.any_host:
        raise ParbenchError(f"{kind}: --host is not supported: it listens on {LOOPBACK} only")
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        raise ParbenchError(f"{kind}: --host {host!r} is not an IPv4 address "
                            "(e.g. 192.168.1.10)") from None
    if address.is_unspecified:
        raise ParbenchError(f"{kind}: --host {host} would listen on every interface; give one "
                            "address of this machine")
    mine = {a.address for addrs in psutil.net_if_addrs().values() for a in addrs
            if a.family == socket.AF_INET}
    if not (address.is_loopback or host in mine):
        raise ParbenchError(f"{kind}: --host {host} is not an address of this machine "
                            f"(it has: {', '.join(sorted(mine))})")
    return host


def _check_hosts(kind: str, hosts: int | None, link: str | None, workers: int | None,
                 host: str | None) -> None:
    """`--hosts N [--link RATE]`: at least a scheduler's host and a worker's, made as root."""
    if hosts is None:
        if link is not None:
            raise ParbenchError(f"{kind}: --link shapes the links between emulated hosts; give "
                                "--hosts N too")
        return
    if not 2 <= hosts <= MAX_HOSTS:
        raise ParbenchError(f"{kind}: --hosts must be 2 to {MAX_HOSTS} (the first runs the "
                            f"scheduler, each other one a worker; got {hosts})")
    for flag, given in (("--workers", workers), ("--host", host)):
        if given is not None:
            raise ParbenchError(f"{kind}: {flag} does not go with --hosts: each worker host runs "
                                "one worker on its share of the cores, at its own address")
    if link is not None:
        link_bits(link)
    reason = can_make()
    if reason:
        raise ParbenchError(f"{kind}: {reason}")


def check_request(kind: str, workers: int | None = None, port: int | None = None,
                  web_port: int | None = None, timeout: float | None = None,
                  host: str | None = None, hosts: int | None = None,
                  link: str | None = None) -> tuple[Request, Backend]:
    """The checked request and its kind's backend; ParbenchError, in one line, for bad input."""
    impl = backend(kind)
    _check_hosts(kind, hosts, link, workers, host)
    _check_workers(kind, workers)
    _check_port(kind, "--port", port, impl.port_span)
    if web_port is not None and not impl.has_web_port:
        raise ParbenchError(f"{kind}: --web-port does not apply (it has no web server)")
    _check_port(kind, "--web-port", web_port)
    if port and port == web_port:
        raise ParbenchError(f"{kind}: --port and --web-port are both {port}; give two ports")
    if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise ParbenchError(f"{kind}: --timeout must be a number of seconds above 0 and at most "
                            f"{MAX_TIMEOUT:g} (got {timeout})")
    host = _check_host(kind, host, impl)
    return Request(kind, workers, port, web_port, timeout, host, hosts, link or ""), impl


# --------------------------------------------------------------------------- the state folder


def state_root(state_dir: str | os.PathLike[str] | None = None) -> Path:
    """`state_dir`, else the `cluster_state` setting; ParbenchError unless it is a folder that
    can be written (or created)."""
    raw = Settings.from_env().cluster_state if state_dir is None else state_dir
    if not str(raw).strip():
        raise ParbenchError("--state is empty: give a folder")
    root = Path(raw).expanduser().absolute()
    try:
        existing = next(p for p in (root, *root.parents) if p.exists() or p.is_symlink())
    except OSError as exc:
        raise ParbenchError(f"state folder {root}: cannot look into it ({exc.strerror})") from None
    if not existing.exists():
        raise ParbenchError(f"state folder {root}: {existing} is a link to {os.readlink(existing)},"
                            " which does not exist")
    if not existing.is_dir():
        raise ParbenchError(f"state folder {root}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParbenchError(f"state folder {root}: {existing} is not writable; give a folder you "
                            "can write")
    return root


def _make_root(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParbenchError(f"state folder {root}: cannot create it ({exc.strerror})") from None


def _lock_file(root: Path, kind: str) -> Path:
    return root / f".{kind}.lock"


def _held_by_other(fd: int, root: Path, kind: str, mode: int) -> ClusterError | None:
    """None once `fd`'s lock is taken in `mode`; else the error that names who holds it."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        pid, _, action = os.pread(fd, 200, 0).decode(errors="replace").strip().partition(" ")
        return ClusterError(
            f"{kind}: another `{COMMAND} {action or '?'}` (pid {pid or '?'}) is at work on "
            f"{root}; wait for it to end, or stop it (kill {pid or 'it'})")
    return None


def _check_not_busy(root: Path, kind: str) -> None:
    """ClusterError if another command holds `kind`'s lock (a look that writes nothing)."""
    try:
        fd = os.open(_lock_file(root, kind), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return
    try:
        error = _held_by_other(fd, root, kind, fcntl.LOCK_SH)
    finally:
        os.close(fd)
    if error:
        raise error


@contextlib.contextmanager
def _locked(root: Path, kind: str, action: str) -> Iterator[None]:
    """Hold `kind`'s lock in `root`; ClusterError at once if another command holds it."""
    _make_root(root)
    path = _lock_file(root, kind)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise ParbenchError(f"state folder {root}: cannot write {path.name} there "
                            f"({exc.strerror})") from None
    try:
        error = _held_by_other(fd, root, kind, fcntl.LOCK_EX)
        if error:
            raise error
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {action}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _remove(folder: Path) -> None:
    """Delete a cluster folder `up` made, with the /tmp folder its `run` link points to (the
    socket folder of a long state path: munge's, Ray's); any other folder is left alone."""
    if not owned(folder):
        return
    run = folder / "run"
    if run.is_symlink():
        target = run.resolve()
        temporary = {Path(tempfile.gettempdir()).resolve(), Path("/tmp").resolve()}
        if target.parent in temporary and scratch.is_made_here(target):
            shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


def _claim(folder: Path) -> None:
    """Make `folder` afresh for a new cluster: a previous attempt's is removed, anything else
    in the way is an error."""
    if folder.exists() or folder.is_symlink():
        if not owned(folder):
            raise ParbenchError(f"{folder} exists and was not made by `{COMMAND} up`; move it "
                                "away or give another --state folder")
        _remove(folder)
    try:
        folder.mkdir()
        (folder / OWNER_FILE).write_text(f"made by `{COMMAND} up`; deleted by `{COMMAND} down`\n")
    except OSError as exc:
        raise ParbenchError(f"cannot make {folder} ({exc.strerror})") from None


# --------------------------------------------------------------------------- lifecycle


class Launcher:
    """Starts a cluster's daemons and records each one in the state file at once."""

    def __init__(self, info: ClusterInfo, timeout: float) -> None:
        self.info = info
        self.timeout = timeout

    def env(self, **extra: str) -> dict[str, str]:
        """The caller's environment plus the cluster marker and `extra`."""
        return {**os.environ, MARKER_VAR: self.info.marker, **extra}

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        """Start one daemon; an interrupt waits until it is recorded (never an orphan)."""
        log = self.info.folder / f"{name}.log"
        with HeldSignals():
            self.info.processes.append(spawn(name, cmd, log, env, self.info.folder))
            self.info.save()


def _healthy(info: ClusterInfo, impl: Backend) -> bool:
    return (all(is_alive(p) for p in info.processes)
            and port_answers(impl.probe_port(info), info.host))


def _forget(info: ClusterInfo, impl: Backend, keep_folder: bool = False) -> None:
    """Stop every daemon of `info` and remove its state (the folder too unless keep_folder).

    Not cut short by an interrupt: one only hurries it (SIGKILL instead of waiting)."""
    with HeldSignals() as held:
        with contextlib.suppress(Exception):
            if info.processes and all(is_alive(p) for p in info.processes):
                impl.before_stop(info)
        stop(info.processes, info.marker, hurry=lambda: bool(held.caught))
        network = info.emulated()
        if network is not None:
            network.destroy()
        info.state_file.unlink(missing_ok=True)
        if not keep_folder:
            _remove(info.folder)


def _check_ports(req: Request, ports: dict[str, int]) -> None:
    for role, port in ports.items():
        if not port_free(port, req.host):
            flag = "--web-port" if role == "web" else "--port"
            raise ParbenchError(
                f"{req.kind}: port {port} ({role}) on {req.host} is busy; stop what uses it or "
                f"pick another with {flag} (0: any free port)")


def _reuse(info: ClusterInfo, req: Request, impl: Backend) -> ClusterInfo:
    """The running cluster, when it is what `req` asks for; else ParbenchError naming both."""
    asked = {"--workers": (req.workers, info.workers),
             "--port": (req.port, impl.probe_port(info)),
             "--web-port": (req.web_port, info.ports.get("web")),
             "--host": (None if req.hosts else req.host, info.host),
             "--hosts": (req.hosts, len(info.network.get("hosts", [])) or None),
             "--link": (req.link or None, info.network.get("link") or None)}
    for flag, (wanted, running) in asked.items():
        if wanted not in (None, 0) and wanted != running:
            raise ParbenchError(
                f"{req.kind}: already running at {info.address} with {flag} {running}, not "
                f"{wanted}; stop it first (`{COMMAND} down {req.kind}`) or leave out {flag} to "
                "use it")
    return info


def _start(info: ClusterInfo, impl: Backend, timeout: float) -> None:
    """Launch and wait until ready; on failure stop everything (the logs stay for the error
    message to point at), on an interrupt remove everything."""
    began = time.monotonic()
    try:
        _claim(info.folder)
        network = info.emulated()
        if network is not None:
            info.save()  # first: an interrupt from here on finds the network by its names
            network.create()
        impl.launch(info, Launcher(info, timeout))
        wait_until(info, lambda: impl.ready(info), timeout, "waiting for workers")
        with HeldSignals():  # an interrupt now is delivered inside the try: all or nothing
            info.ready = True
            info.up_seconds = round(time.monotonic() - began, 2)
            info.save()
    except BaseException as exc:
        _forget(info, impl, keep_folder=not isinstance(exc, KeyboardInterrupt))
        if isinstance(exc, OSError):  # writing the state or a log failed: disk full, say
            raise ClusterError(f"{info.kind}: cannot start: {exc}") from exc
        raise
    finally:
        impl.close()


def start(req: Request, impl: Backend,
          state_dir: str | os.PathLike[str] | None = None) -> tuple[ClusterInfo, bool]:
    """Start the requested cluster unless it runs; (info, whether it was already running)."""
    root = state_root(state_dir)
    existing = ClusterInfo.load(req.kind, root)
    if existing is not None and existing.ready and _healthy(existing, impl):
        return _reuse(existing, req, impl), True
    _check_not_busy(root, req.kind)
    impl.check()
    network = Network.plan(req.hosts, req.link) if req.hosts else None
    if network is None:
        workers = req.workers or limits.default_workers(PROCESSES_PER_WORKER)
        ports = impl.ports(req.port, req.web_port, req.host)
        _check_ports(req, ports)
        host = req.host
    else:  # ports in namespaces of their own: any free on loopback is free there too
        workers = sum(len(h.cores) for h in network.hosts[1:])
        ports = impl.ports(req.port, req.web_port, LOOPBACK)
        host = network.hosts[0].address
    with _locked(root, req.kind, "up"):
        existing = ClusterInfo.load(req.kind, root)
        if existing is not None:
            if existing.ready and _healthy(existing, impl):  # started meanwhile
                return _reuse(existing, req, impl), True
            _forget(existing, impl)
        info = ClusterInfo(req.kind, str(root), workers, ports=ports, marker=uuid.uuid4().hex,
                           host=host, network=network.to_dict() if network else {})
        _start(info, impl, req.timeout or impl.default_timeout)
        return info, False


def start_cluster(
    kind: str,
    workers: int | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    web_port: int | None = None,
    timeout: float | None = None,
    host: str | None = None,
    hosts: int | None = None,
    link: str | None = None,
) -> tuple[ClusterInfo, bool]:
    """Start a cluster unless it already runs; returns (info, whether it was already running).

    Arguments as for `up`."""
    req, impl = check_request(kind, workers, port, web_port, timeout, host, hosts, link)
    return start(req, impl, state_dir)


def up(
    kind: str,
    workers: int | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    web_port: int | None = None,
    timeout: float | None = None,
    host: str | None = None,
    hosts: int | None = None,
    link: str | None = None,
) -> ClusterInfo:
    """Start a `kind` cluster (or find it running, as asked) and return where it is.

    `workers`: dask worker processes, spark worker cores, slurm or ray CPUs (default: all
    cores).
    `port`/`web_port` (scheduler or master web server): 0 picks free ports. `timeout`: seconds
    to get ready. `host`: the IPv4 address to listen on (default 127.0.0.1; not for slurm).
    `hosts`: spread over that many emulated hosts (the first the scheduler's, each other one a
    worker's; root only), their links shaped to `link` (e.g. "100mbit"; default unshaped).
    Raises ParbenchError (bad input, missing program, busy port, a running cluster of another
    size) or ClusterError (start failed, another command at work).
    """
    options = {"port": port, "web_port": web_port, "timeout": timeout, "host": host,
               "hosts": hosts, "link": link}
    return start_cluster(kind, workers, state_dir, **options)[0]


def down(kind: str, state_dir: str | os.PathLike[str] | None = None) -> bool:
    """Stop a cluster and remove its state; False when it was not running."""
    impl = backend(kind)
    root = state_root(state_dir)
    state_file = root / f"{kind}.json"
    if not (state_file.exists() or state_file.is_symlink() or owned(root / kind)):
        return False
    with _locked(root, kind, "down"):
        info = ClusterInfo.load(kind, root)
        if info is None:  # only the logs of a failed `up` are left
            _remove(root / kind)
            return False
        _forget(info, impl)
        return True


def emulated(kind: str, state_dir: str | os.PathLike[str] | None = None) -> Network | None:
    """The emulated hosts of the `kind` cluster recorded in the state folder; None when it runs
    on one machine, or no such cluster is recorded."""
    try:
        info = ClusterInfo.load(kind, state_root(state_dir))
    except ParbenchError:
        return None
    return None if info is None else info.emulated()


@dataclass
class ClusterStatus:
    """What `status` found for one cluster kind."""

    kind: str
    running: bool
    line: str
    info: ClusterInfo | None = None


def _status_one(kind: str, root: Path) -> ClusterStatus:
    impl = backend(kind)
    try:
        info = ClusterInfo.load(kind, root)
    except ClusterError as exc:
        return ClusterStatus(kind, False, str(exc))
    if info is None:
        return ClusterStatus(kind, False, f"{kind}: not running")
    alive = sum(is_alive(p) for p in info.processes)
    answers = port_answers(impl.probe_port(info), info.host)
    where = f"{info.address} ({info.capacity}, {alive}/{len(info.processes)} processes alive"
    network = info.emulated()
    if network is not None:
        where = f"{where}; {network.describe()}"
    if info.ready and answers and alive == len(info.processes):
        return ClusterStatus(kind, True, f"{kind}: running at {where}, state {root})", info)
    port = "port answers" if answers else "port closed"
    if not info.ready:
        return ClusterStatus(kind, False, f"{kind}: starting at {where}, {port})", info)
    return ClusterStatus(kind, False, f"{kind}: unhealthy at {where}, {port}); run down", info)


def status(
    kind: str | None = None, state_dir: str | os.PathLike[str] | None = None
) -> list[ClusterStatus]:
    """One ClusterStatus per kind (or just `kind`): are its PIDs alive and does its port answer?"""
    kinds = [kind] if kind else list(KINDS)
    for name in kinds:
        backend(name)
    root = state_root(state_dir)
    return [_status_one(name, root) for name in kinds]


@contextlib.contextmanager
def running(
    kind: str,
    workers: int | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    web_port: int | None = None,
    timeout: float | None = None,
    host: str | None = None,
    hosts: int | None = None,
    link: str | None = None,
) -> Iterator[ClusterInfo]:
    """Run a cluster (arguments as for `up`) during a `with` block; stopped even on error.

    A cluster that was already running before the block is left running.
    """
    options = {"port": port, "web_port": web_port, "timeout": timeout, "host": host,
               "hosts": hosts, "link": link}
    info, already = start_cluster(kind, workers, state_dir, **options)
    try:
        yield info
    finally:
        if not already:
            down(kind, info.state_dir)
