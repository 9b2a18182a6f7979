"""The one CLI wrapper under Ctrl-C and SIGTERM: one line whatever the libraries write to stderr
while they are torn down, and an end within STOP_GRACE when the unwinding hangs."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from workloads.runtime.errors import EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_TERMINATED

ROOT = Path(__file__).resolve().parents[1]

#: A command whose `finally` writes to stderr as native code does (fd 2) and as Python does,
#: or hangs; it starts a child first and prints the child's PID once it is ready.
COMMAND = textwrap.dedent("""
    import os, subprocess, sys, time
    from workloads.runtime import console
    console.STOP_GRACE = 1.0
    def main():
        child = None
        try:
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(child.pid, flush=True)
            time.sleep(120)
        finally:
            os.write(2, b"[E 123] core_worker.cc: failed to push error to driver\\n")
            sys.stderr.write("Traceback (most recent call last): noise\\n")
            if sys.argv[1] == "hang":
                time.sleep(120)
            if child is not None:
                child.kill()
        return 0
    sys.exit(console.run("noisy", main))
""")


def interrupt(mode: str, sig: int) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run COMMAND, signal it once its child runs; the result, seconds to end, the child's PID."""
    proc = subprocess.Popen([sys.executable, "-c", COMMAND, mode], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child = int(proc.stdout.readline())
    proc.send_signal(sig)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), \
        time.monotonic() - t0, child


STATUS = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED,
          signal.SIGHUP: EXIT_HANGUP}


@pytest.mark.parametrize("sig", list(STATUS))
def test_interrupt_mutes_what_libraries_write_to_stderr(sig):
    done, _, _ = interrupt("noisy", sig)
    assert done.returncode == STATUS[sig]
    assert done.stderr == "noisy: interrupted\n"


#: A command whose clean-up takes a while (it writes a mark when done), then exits; it prints
#: "ready" once it runs, and "unwinding" once its clean-up has begun.
SLOW_CLEANUP = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from workloads.runtime import console
    def main():
        try:
            print("ready", flush=True)
            time.sleep(120)
        finally:
            print("unwinding", flush=True)
            time.sleep(1.0)
            Path(sys.argv[1]).write_text("clean")
        return 0
    sys.exit(console.run("slow", main))
""")


@pytest.mark.parametrize(("first", "second"), [(signal.SIGINT, signal.SIGINT),
                                               (signal.SIGTERM, signal.SIGINT),
                                               (signal.SIGHUP, signal.SIGTERM)])
def test_a_second_signal_does_not_cut_the_clean_up_short(tmp_path, first, second):
    mark = tmp_path / "mark"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_CLEANUP, str(mark)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(first)
    assert proc.stdout.readline() == "unwinding\n"  # the clean-up has begun: now the second
    proc.send_signal(second)
    proc.send_signal(second)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == STATUS[first], err
    assert err == "slow: interrupted\n"
    assert mark.read_text() == "clean"


def test_hung_unwinding_ends_within_the_grace_with_its_processes():
    done, took, child = interrupt("hang", signal.SIGINT)
    assert done.returncode == EXIT_INTERRUPTED and done.stderr == "noisy: interrupted\n"
    assert took < 10, f"took {took:.1f} s with a 1 s grace"
    assert not psutil.pid_exists(child) or \
        psutil.Process(child).status() == psutil.STATUS_ZOMBIE
