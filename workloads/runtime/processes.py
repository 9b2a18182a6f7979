"""Processes found again by PID and start time, and stopped only while both still match.

A PID is reused once its process has ended: a recorded (PID, start time) pair names one process,
and a check of both before each signal keeps another user's (or a later run's) process safe.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Mapping

import psutil

#: Seconds by which two readings of one process's start time may differ (psutil derives it
#: from the boot time and clock ticks).
SAME_START = 0.05
#: Seconds to wait for killed processes to go.
KILL_WAIT = 5.0


def start_time(pid: int) -> float | None:
    """Creation time of a live, non-zombie process, or None when there is none."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except psutil.Error:
        return None


def running(procs: Mapping[int, float]) -> list[psutil.Process]:
    """The processes of `procs` (PID -> start time) that still run, each only if its PID still
    belongs to the process that was recorded (zombies have ended)."""
    found = []
    for pid, created in procs.items():
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if (abs(proc.create_time() - created) < SAME_START
                    and proc.status() != psutil.STATUS_ZOMBIE):
                found.append(proc)
    return found


def is_running(pid: int, created: float) -> bool:
    """Whether the process recorded as (`pid`, `created`) still runs."""
    return bool(running({pid: created}))


def end(procs: Mapping[int, float], grace: float) -> None:
    """Wait up to `grace` s for the processes (PID -> start time) to end, then SIGKILL those
    left, each only if its PID still belongs to the process that was recorded."""
    deadline = time.monotonic() + grace
    while (left := running(procs)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=KILL_WAIT)


def how_ended(status: int) -> str:
    """How a process ended, in words that follow its name, from its exit status as `subprocess`
    and `multiprocessing` give it (negative: the signal that killed it): "was killed by SIGKILL
    (...)", "exited with status 1". SIGKILL is what the kernel's out-of-memory killer sends,
    and the likeliest sender of it to a process nobody stopped."""
    if status >= 0:
        return f"exited with status {status}"
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = f"signal {-status}"
    if -status == signal.SIGKILL:
        return f"was killed by {name} (the kernel's out-of-memory killer sends it, or kill -9)"
    return f"was killed by {name}"
