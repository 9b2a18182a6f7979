"""One command-line style for every CLI of the project.

A usage error or any `ParbenchError` is one line, `PROG: error: MESSAGE`, and the error's exit
status; Ctrl-C (SIGINT) and SIGTERM stop the command with one line and status 130 or 143, after
the `finally` blocks and context managers on the way out have released what the command started.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from typing import NoReturn

import psutil

from workloads.runtime import scratch, signals
from workloads.runtime.errors import (
    EXIT_FAILED,
    EXIT_HANGUP,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    AllocationFailed,
    ParbenchError,
)
from workloads.runtime.memory import allocation_error, allocation_failed, format_size


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are ParbenchErrors (one line, exit status 2)."""

    def error(self, message: str) -> NoReturn:
        raise ParbenchError(f"{message} (see {self.prog} --help)")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwind and clean up as for Ctrl-C."""


#: Seconds the unwinding after Ctrl-C or SIGTERM may take before the command ends anyway.
STOP_GRACE = 10.0
#: The running command's name and its line after an interrupt (for the watchdog).
_running: list[tuple[str, str]] = []
_watchdog: list[threading.Thread] = []
#: The signal that stopped the command (the first one: later ones do not interrupt the unwinding).
_stopped_by: list[int] = []
#: The command's own stderr while fd 2 is muted after an interrupt.
_stderr: list[int] = []


def _mute_stderr() -> None:
    """Point file descriptor 2 at /dev/null: native code torn down mid-task (Ray's core worker,
    the JVM's gateway) writes its errors there directly, past Python's logging. `report` writes
    to the saved original."""
    if _stderr:
        return
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    _stderr.append(os.dup(2))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _unmute_stderr() -> None:
    if _stderr:
        os.dup2(_stderr[0], 2)
        os.close(_stderr.pop())


def abandon(wait: float) -> None:
    """With no time left to stop the engines: kill this process's descendants (waiting at most
    `wait` s for them to go), then remove its temporary files. Killed first: a process still
    running could write into a folder just removed."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=wait)
    scratch.remove_all()


def _end_anyway(code: int) -> None:
    """If the unwinding hangs (a framework interrupted while it held a lock of its own), end
    the command's processes, remove its temporary files, say so and exit."""
    time.sleep(STOP_GRACE)
    abandon(wait=2)
    if _running:
        report(*_running[-1])
    os._exit(code)


def exit_status(signum: int) -> int:
    """The exit status of a command stopped by `signum`, as a shell gives it: 128 + the signal."""
    return {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED,
            signal.SIGHUP: EXIT_HANGUP}.get(signal.Signals(signum), 128 + signum)


def _stop(signum: int, frame: object) -> None:
    """Ctrl-C, SIGTERM or SIGHUP: unwind, so that every `finally` on the way out releases what
    it started; what the libraries log, warn or write to stderr while they are torn down
    mid-task is noise, and the command's one line says what happened. A watchdog ends the
    command if that takes longer than STOP_GRACE. A second signal while it unwinds is noted
    and changes nothing: raising again would cut the clean-up short."""
    if _stopped_by:
        return
    _stopped_by.append(signum)
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    _mute_stderr()
    _watchdog.append(threading.Thread(target=_end_anyway, args=(exit_status(signum),),
                                      daemon=True))
    _watchdog[0].start()
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated


#: errno of a full disk, or a full quota.
FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: OSError) -> str:
    """One line for a full disk: where, and the way out."""
    where = exc.filename or tempfile.gettempdir()
    with contextlib.suppress(OSError):
        usage = shutil.disk_usage(where if os.path.isdir(where) else os.path.dirname(where))
        where = f"{where} ({format_size(usage.free)} free of {format_size(usage.total)})"
    return (f"no space left on the device of {where}: free some, or set TMPDIR to a folder on a "
            f"disk with room (temporary files go to {tempfile.gettempdir()})")


def report(prog: str, message: str) -> None:
    """Print one line on stderr, as every CLI of the project does."""
    line = f"{prog}: {message}\n"
    if _stderr:
        os.write(_stderr[0], line.encode())
    else:
        print(line, end="", file=sys.stderr, flush=True)


def run(prog: str, main: Callable[[], int], interrupted: str = "interrupted") -> int:
    """Run a CLI's `main`; its exit status, or the status and one line of the error that
    stopped it (`interrupted` is the line printed after Ctrl-C or SIGTERM)."""
    try:
        with signals.kept(_stop):
            _running.append((prog, interrupted))
            try:
                # Quietly: a command's stderr is its one line (what was removed is logged).
                for left in scratch.sweep():
                    logging.getLogger(__name__).info("removed %s, left by a run that died", left)
                return main()
            except ParbenchError as exc:
                report(prog, f"error: {exc}")
                return exc.exit_code
            except OSError as exc:
                if exc.errno not in FULL:
                    raise
                report(prog, f"error: {disk_full(exc)}")
                return EXIT_FAILED
            except (MemoryError, ImportError) as exc:
                if not allocation_error(exc):
                    raise
                report(prog, f"error: {allocation_failed()}")
                return AllocationFailed.exit_code
            except KeyboardInterrupt:
                report(prog, interrupted)
                return exit_status(_stopped_by[0] if _stopped_by else signal.SIGINT)
            finally:
                _running.pop()
                _unmute_stderr()
    finally:
        if _stopped_by and signals.in_main_thread():
            # The process is ending: a further signal must not end it by the default action
            # halfway through what runs at exit (temporary files, engines' atexit hooks).
            for sig in signals.INTERRUPTS:
                signal.signal(sig, signal.SIG_IGN)
