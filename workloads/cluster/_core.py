"""`up`, `down`, `status` and `running`: the cluster lifecycle shared by every kind."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from workloads.errors import ParbenchError
from workloads.settings import Settings

from ._procs import (
    MARKER_VAR,
    ClusterInfo,
    is_alive,
    port_answers,
    port_free,
    spawn,
    stop,
    wait_until,
)

KINDS = ("dask", "spark", "slurm")


class Backend(Protocol):
    """What each cluster kind provides (see _dask, _spark, _slurm)."""

    default_timeout: float

    def check(self) -> None: ...
    def default_workers(self) -> int: ...
    def ports(self, port: int | None, web_port: int | None) -> dict[str, int]: ...
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
    raise ParbenchError(f"unknown cluster kind {kind!r} (choose one of: {', '.join(KINDS)})")


def state_root(state_dir: str | os.PathLike[str] | None = None) -> Path:
    """`state_dir`, else the `cluster_state` setting."""
    return Path(state_dir or Settings.from_env().cluster_state).absolute()


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class Launcher:
    """Starts a cluster's daemons and records each one in the state file at once."""

    def __init__(self, info: ClusterInfo, timeout: float) -> None:
        self.info = info
        self.timeout = timeout

    def env(self, **extra: str) -> dict[str, str]:
        """The caller's environment plus the cluster marker and `extra`."""
        return {**os.environ, MARKER_VAR: self.info.marker, **extra}

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log = self.info.folder / f"{name}.log"
        self.info.processes.append(spawn(name, cmd, log, env, self.info.folder))
        self.info.save()


def _healthy(info: ClusterInfo, impl: Backend) -> bool:
    return all(is_alive(p) for p in info.processes) and port_answers(impl.probe_port(info))


def _forget(info: ClusterInfo, impl: Backend, keep_folder: bool = False) -> None:
    """Stop every daemon of `info` and remove its state (the folder too unless keep_folder)."""
    with contextlib.suppress(Exception):
        if all(is_alive(p) for p in info.processes):
            impl.before_stop(info)
    stop(info.processes, info.marker)
    info.state_file.unlink(missing_ok=True)
    if not keep_folder:
        _remove(info.folder)


def _remove(folder: Path) -> None:
    """Delete a cluster's folder and what its symlinks point to (a munge socket folder in /tmp)."""
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if entry.is_symlink() and entry.resolve().name.startswith("parbench-"):
                shutil.rmtree(entry.resolve(), ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


def _check_ports(kind: str, ports: dict[str, int]) -> None:
    for role, port in ports.items():
        if not port_free(port):
            flag = "--web-port" if role == "web" else "--port"
            raise ParbenchError(
                f"{kind}: port {port} ({role}) on 127.0.0.1 is busy; stop what uses it or pick"
                f" another with {flag} (0: any free port)"
            )


def _validate(kind: str, workers: int | None) -> Backend:
    impl = backend(kind)
    if workers is not None and workers < 1:
        raise ParbenchError(f"{kind}: --workers must be at least 1 (got {workers})")
    return impl


def _start(info: ClusterInfo, impl: Backend, timeout: float) -> None:
    _remove(info.folder)
    info.folder.mkdir(parents=True)
    began = time.monotonic()
    try:
        impl.launch(info, Launcher(info, timeout))
        wait_until(info, lambda: impl.ready(info), timeout, "waiting for workers")
    except BaseException:
        _forget(info, impl, keep_folder=True)
        raise
    finally:
        impl.close()
    info.ready = True
    info.up_seconds = round(time.monotonic() - began, 2)
    info.save()


def start_cluster(
    kind: str,
    workers: int | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    web_port: int | None = None,
    timeout: float | None = None,
) -> tuple[ClusterInfo, bool]:
    """Start a cluster unless it already runs; returns (info, whether it was already running)."""
    impl = _validate(kind, workers)
    root = state_root(state_dir)
    with _locked(root):
        existing = ClusterInfo.load(kind, root)
        if existing is not None:
            if existing.ready and _healthy(existing, impl):
                return existing, True
            _forget(existing, impl)
        impl.check()
        ports = impl.ports(port, web_port)
        _check_ports(kind, ports)
        workers = workers or impl.default_workers()
        info = ClusterInfo(kind, str(root), workers, ports=ports, marker=uuid.uuid4().hex)
        _start(info, impl, timeout or impl.default_timeout)
        return info, False


def up(
    kind: str,
    workers: int | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    web_port: int | None = None,
    timeout: float | None = None,
) -> ClusterInfo:
    """Start a `kind` cluster on 127.0.0.1 (or find it running) and return where it is.

    `workers`: dask worker processes, spark worker cores or slurm CPUs (default: all cores).
    `port`/`web_port` (spark master UI): 0 picks free ports. `timeout`: seconds to get ready.
    Raises ParbenchError (bad input, missing program, busy port) or ClusterError (start failed).
    """
    options = {"port": port, "web_port": web_port, "timeout": timeout}
    return start_cluster(kind, workers, state_dir, **options)[0]


def down(kind: str, state_dir: str | os.PathLike[str] | None = None) -> bool:
    """Stop a cluster and remove its state; False when it was not running."""
    impl = _validate(kind, None)
    root = state_root(state_dir)
    if not (root / f"{kind}.json").exists() and not (root / kind).exists():
        return False
    with _locked(root):
        info = ClusterInfo.load(kind, root)
        if info is None:  # only the logs of a failed `up` are left
            _remove(root / kind)
            return False
        _forget(info, impl)
        return True


@dataclass
class ClusterStatus:
    """What `status` found for one cluster kind."""

    kind: str
    running: bool
    line: str
    info: ClusterInfo | None = None


def _status_one(kind: str, root: Path) -> ClusterStatus:
    impl = backend(kind)
    info = ClusterInfo.load(kind, root)
    if info is None:
        return ClusterStatus(kind, False, f"{kind}: not running")
    alive = sum(is_alive(p) for p in info.processes)
    answers = port_answers(impl.probe_port(info))
    where = f"{info.address} ({info.capacity}, {alive}/{len(info.processes)} processes alive"
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
) -> Iterator[ClusterInfo]:
    """Run a cluster (arguments as for `up`) during a `with` block; stopped even on error.

    A cluster that was already running before the block is left running.
    """
    options = {"port": port, "web_port": web_port, "timeout": timeout}
    info, already = start_cluster(kind, workers, state_dir, **options)
    try:
        yield info
    finally:
        if not already:
            down(kind, info.state_dir)
