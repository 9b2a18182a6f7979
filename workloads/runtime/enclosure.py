"""A memory budget enforced on a whole process tree: a cgroup of its own where one can be made,
else a watchdog that samples the tree.

- cgroup v1 (the `memory` controller): `memory.limit_in_bytes` (and `memsw`, so no swap), and
  the kernel's OOM killer disabled for the group: a process that reaches the limit waits
  instead of being killed, the enclosure sees `under_oom`, kills the whole group and says so.
- cgroup v2 (as root, or in a folder delegated by systemd): `memory.max`, `memory.swap.max` 0,
  `memory.oom.group` 1 (the kernel's killer takes the whole group, never another process),
  `memory.events` tells that it did.
- elsewhere, a watchdog: the proportional set size (PSS: a shared page counted once, split
  among the processes that map it) of the tree, summed every `SAMPLE_SECONDS`; past the budget
  the tree is killed.

Whichever it is, the result is the same: the processes are gone, their cgroup removed, and
`peak` says how much the tree held at most.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from workloads.runtime import memory, scratch, signals
from workloads.runtime.errors import ParbenchError

#: How often the watchdog sums the tree's memory.
SAMPLE_SECONDS = 0.05
#: Seconds to wait for a killed group to empty before its folder is removed.
EMPTY_WAIT = 10.0


def _alive(process: psutil.Process) -> bool:
    """Running, not a zombie waiting to be reaped."""
    with contextlib.suppress(psutil.Error):
        return process.status() != psutil.STATUS_ZOMBIE
    return False


class Enclosure:
    """Processes under one memory budget; `enter` is called in a child before it runs."""

    kind = "watchdog"

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.root: int | None = None
        self._peak = 0

    # -- the tree
    def enter(self) -> None:
        """In the child, before exec: join the enclosure (nothing for the watchdog)."""

    def adopt(self, pid: int) -> None:
        """The tree's root process, once started."""
        self.root = pid

    def pids(self) -> list[int]:
        if self.root is None:
            return []
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.root)
            tree = [root, *root.children(recursive=True)]
            return [p.pid for p in tree if _alive(p)]
        return []

    # -- memory
    def usage(self) -> int:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                info = psutil.Process(pid).memory_full_info()
                total += getattr(info, "pss", info.rss)
        return total

    def out_of_memory(self) -> bool:
        used = self.usage()
        self._peak = max(self._peak, used)
        return used > self.budget

    def peak(self) -> int:
        return self._peak

    def describe(self) -> dict[str, object]:
        """What `rebuild` needs to watch this enclosure from another process."""
        return {"kind": self.kind, "budget": self.budget, "root": self.root,
                "folder": str(getattr(self, "folder", ""))}

    # -- the end
    def kill(self) -> None:
        """Kill every process of the enclosure, until none is left."""
        deadline = time.monotonic() + EMPTY_WAIT
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self) -> None:
        """Release what the enclosure made (a cgroup folder)."""


class _Cgroup(Enclosure):
    """A cgroup folder made for the run, removed by `remove`."""

    procs = "cgroup.procs"

    def __init__(self, budget: int, folder: Path) -> None:
        super().__init__(budget)
        self.folder = folder

    def enter(self) -> None:
        (self.folder / self.procs).write_text("0")

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.folder / self.procs).read_text().split()]
        except (OSError, ValueError):
            return []

    def _read(self, name: str) -> str:
        try:
            return (self.folder / name).read_text()
        except OSError:
            return ""

    def _write(self, name: str, value: str) -> bool:
        try:
            (self.folder / name).write_text(value)
            return True
        except OSError:
            return False

    def remove(self) -> None:
        self.kill()
        deadline = time.monotonic() + EMPTY_WAIT
        while self.folder.exists():
            try:
                self.folder.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)


    @classmethod
    def make(cls, budget: int, parent: Path) -> _Cgroup:
        """A new cgroup under `parent` with the budget as its limit (removed if that fails)."""
        made = cls(budget, parent / f"{scratch.PREFIX}{uuid.uuid4().hex[:12]}")
        made.folder.mkdir()
        try:
            made.limit()
        except OSError:
            made.remove()
            raise
        return made

    def limit(self) -> None:
        """Write the budget into the cgroup's controls (the version's own)."""
        raise NotImplementedError


class CgroupV1(_Cgroup):
    kind = "cgroup v1"

    def limit(self) -> None:
        (self.folder / "memory.limit_in_bytes").write_text(str(self.budget))
        self._write("memory.memsw.limit_in_bytes", str(self.budget))  # absent without swap
        self._write("memory.swappiness", "0")
        self._write("memory.move_charge_at_immigrate", "3")  # a joining process brings its pages
        (self.folder / "memory.oom_control").write_text("1")

    def usage(self) -> int:
        return int(self._read("memory.usage_in_bytes") or 0)

    def out_of_memory(self) -> bool:
        state = memory.keyed(self._read("memory.oom_control"))
        return state.get("under_oom") == "1" or int(state.get("oom_kill", "0")) > 0

    def peak(self) -> int:
        return int(self._read("memory.max_usage_in_bytes") or 0)


class CgroupV2(_Cgroup):
    kind = "cgroup v2"

    def limit(self) -> None:
        (self.folder / "memory.max").write_text(str(self.budget))
        self._write("memory.swap.max", "0")
        self._write("memory.oom.group", "1")

    def usage(self) -> int:
        used = int(self._read("memory.current") or 0)
        self._peak = max(self._peak, used)
        return used

    def out_of_memory(self) -> bool:
        self.usage()
        events = memory.keyed(self._read("memory.events"))
        return int(events.get("oom_kill", "0")) > 0 or int(events.get("oom_group_kill", "0")) > 0

    def peak(self) -> int:
        recorded = self._read("memory.peak").strip()
        return max(self._peak, int(recorded) if recorded.isdigit() else 0)

    def kill(self) -> None:
        self._write("cgroup.kill", "1")  # Linux 5.14+: the whole group at once
        super().kill()


def _v1_parent() -> Path | None:
    """Where a v1 memory cgroup can be made: the process's own memory cgroup, if writable."""
    for folder in memory.own_cgroup_dirs():
        if (folder / "memory.limit_in_bytes").exists() and os.access(folder, os.W_OK):
            return folder
    return None


def _v2_parent() -> Path | None:
    """Where a v2 cgroup with the memory controller can be made: the nearest folder of the
    process's own cgroup or its ancestors that hands the controller to its children and that
    this user may write (the root as root; a systemd-delegated folder otherwise)."""
    for folder in memory.own_cgroup_dirs():
        controls = folder / "cgroup.subtree_control"
        if not controls.exists() or not os.access(folder, os.W_OK):
            continue
        with contextlib.suppress(OSError):
            if "memory" in controls.read_text().split():
                return folder
    return None


def make(budget: int, kind: str = "auto") -> Enclosure:
    """An enclosure for `budget` bytes: `kind` "auto" (a cgroup if one can be made, v2 first,
    else the watchdog), "cgroup" (a cgroup or an error) or "watchdog"."""
    if kind in ("auto", "cgroup"):
        for find, cls in ((_v2_parent, CgroupV2), (_v1_parent, CgroupV1)):
            parent = find()
            if parent is None:
                continue
            with contextlib.suppress(OSError):
                return cls.make(budget, parent)
        if kind == "cgroup":
            raise ParbenchError("no memory cgroup can be made here (not root, and no cgroup "
                                "delegated to this user): set the memory enforcement to auto "
                                "or watchdog (see `python -m workloads settings`)")
    return Enclosure(budget)


@dataclass(frozen=True)
class Ended:
    """How an enclosed command ended: its exit status, or out of memory, with the peak."""

    code: int
    out_of_memory: bool
    peak: int
    kind: str


#: Signals the supervisor passes on to the enclosed command (once: the command's own handler
#: unwinds it, and a second signal would cut its clean-up short).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def supervise(command: list[str], budget: int, kind: str = "auto",
              env: Mapping[str, str] | None = None) -> Ended:
    """Run `command` and every process it starts under `budget` bytes; end it all when it goes
    over. The command gets a private temporary folder (TMPDIR), removed afterwards with every
    process left in the enclosure. A signal to this process is passed on to the command, which
    ends on its own terms; the command runs in a process group of its own so that a terminal's
    Ctrl-C reaches it once, through here."""
    enclosure = make(budget, kind)
    tmp = scratch.folder("run")
    child: subprocess.Popen[bytes] | None = None
    forwarded: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if child is not None and not forwarded:
            forwarded.append(signum)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signum)

    out_of_memory = False
    with contextlib.ExitStack() as stack:
        stack.enter_context(signals.kept(forward, FORWARDED))
        stack.callback(scratch.remove, tmp)
        stack.callback(enclosure.remove)
        child = subprocess.Popen(command, env={**(env or os.environ), "TMPDIR": str(tmp)},
                                 preexec_fn=enclosure.enter, process_group=0)
        stack.callback(child.wait)
        stack.callback(enclosure.kill)
        enclosure.adopt(child.pid)
        while child.poll() is None:
            if enclosure.out_of_memory():
                out_of_memory = True
                break
            time.sleep(SAMPLE_SECONDS)
        enclosure.kill()
        return Ended(child.wait(), out_of_memory, enclosure.peak(), enclosure.kind)


def rebuild(described: Mapping[str, object]) -> Enclosure:
    """The enclosure `describe` gave, to watch from another process."""
    budget, kind = int(described["budget"]), described["kind"]  # type: ignore[arg-type]
    made: Enclosure
    if kind in (CgroupV1.kind, CgroupV2.kind):
        cls = CgroupV1 if kind == CgroupV1.kind else CgroupV2
        made = cls(budget, Path(str(described["folder"])))
    else:
        made = Enclosure(budget)
    made.root = described.get("root")  # type: ignore[assignment]
    return made


#: Seconds the watcher waits for the process it watches to join its enclosure.
JOIN_WAIT = 10.0


def enclose_self(budget: int, kind: str = "auto",
                 on_oom: tuple[Path, Mapping[str, object]] | None = None) -> Enclosure:
    """Put this process, and every process it starts from now on, under `budget` bytes, watched
    from outside by a process of its own that outlives it: over the budget, the watcher kills
    the enclosure and appends `on_oom`'s record (with `budget`, `peak` and the reason added) as
    one JSON line to its file; once the enclosure is empty, it removes it and ends."""
    made = make(budget, kind)
    made.adopt(os.getpid())
    order = {**made.describe(), "on_oom": [str(on_oom[0]), dict(on_oom[1])] if on_oom else None}
    subprocess.run([sys.executable, "-m", __name__, json.dumps(order, default=str)],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    made.enter()
    return made


def oom_reason(budget: int, peak: int, kind: str) -> str:
    return (f"out of memory: over its budget of {memory.format_size(budget)} "
            f"(peak {memory.format_size(peak)}, {kind})")


def _append(path: Path, record: Mapping[str, object]) -> None:
    """One JSON line, in one write (other processes append to the same file)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())
        finally:
            os.close(fd)


def _watch(order: Mapping[str, object]) -> None:
    """The watcher of `enclose_self`, already detached from the process it watches."""
    made = rebuild(order)
    deadline = time.monotonic() + JOIN_WAIT
    while made.root not in made.pids() and time.monotonic() < deadline:
        time.sleep(SAMPLE_SECONDS)
    try:
        while made.pids():
            if made.out_of_memory():
                # Recorded first: whoever waits for the process may read the record once it ends.
                if order.get("on_oom"):
                    path, record = order["on_oom"]  # type: ignore[misc]
                    _append(Path(path), {**record, "t": time.time(), "budget": made.budget,
                                         "peak": made.peak(),
                                         "reason": oom_reason(made.budget, made.peak(),
                                                              made.kind)})
                made.kill()
                break
            time.sleep(SAMPLE_SECONDS)
    finally:
        made.remove()


def _detach() -> None:
    """Leave the caller's process tree and session (it may kill its descendants when it ends),
    with no terminal or pipe of its: the caller's `subprocess.run` returns at once."""
    if os.fork():
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


if __name__ == "__main__":
    _detach()
    _watch(json.loads(sys.argv[1]))
