"""Memory sizes: a budget written by a user, and how much memory this process may really use.

The memory a process may use is the smaller of what the machine has available and what is left
under the limit of the cgroup it lives in (a container, a Slurm job, a systemd unit, or a
parbench memory budget): sizing from the machine alone gives a framework inside a 1 GiB container
a limit of the whole host, and the kernel kills it instead of letting it spill.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import resource
from pathlib import Path

import psutil

from workloads.runtime.errors import ParbenchError

#: Unit -> bytes. Binary units for the bare letters too (as Docker, Slurm and the JVM read them).
UNITS = {"": 1, "b": 1, "k": 2**10, "kib": 2**10, "kb": 10**3, "m": 2**20, "mib": 2**20,
         "mb": 10**6, "g": 2**30, "gib": 2**30, "gb": 10**9, "t": 2**40, "tib": 2**40,
         "tb": 10**12}
#: The smallest budget a run may get: an interpreter with pandas and Arrow loaded is about this.
MIN_BUDGET = 128 * 2**20
#: cgroup v1 writes this (the largest page-aligned 64-bit value) for "no limit".
_V1_UNLIMITED = 2**62

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str, what: str = "memory") -> int:
    """Bytes of a size such as `512MiB`, `2GiB`, `1.5G` or `800MB`; one line if it is not."""
    match = _SIZE.match(str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in UNITS:
        raise ParbenchError(f"{what}={text!r} is not a size: give a number and a unit, "
                            f"e.g. 512MiB or 2GiB")
    size = int(float(match.group(1)) * UNITS[unit])
    if size < MIN_BUDGET:
        raise ParbenchError(f"{what}={text!r} is below the smallest budget parbench runs in "
                            f"({format_size(MIN_BUDGET)}): give more")
    return size


def format_size(size: float) -> str:
    """`268435456` -> `256 MiB`, `1.5 GiB`."""
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(size) >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) or value >= 100 else \
                f"{value:.1f} {unit}"
    return f"{size:.0f} B"


def own_cgroup_dirs() -> list[Path]:
    """The memory cgroup folders this process lives in (v1's memory controller, v2's unified
    hierarchy), innermost first, ancestors after; those that can be read."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in own:
        hierarchy, _, path = line.partition(":")[2].partition(":")
        controllers = hierarchy.split(",")
        for mount in mounts:
            fields = mount.split()
            fstype = fields[fields.index("-") + 1] if "-" in fields else ""
            options = fields[-1].split(",")
            if (line.startswith("0::") and fstype == "cgroup2") or (
                    fstype == "cgroup" and "memory" in controllers and "memory" in options):
                root, point = fields[3], Path(fields[4])
                relative = Path(path).relative_to(root) if path.startswith(root) else None
                if relative is None:
                    continue
                here = point / relative
                while True:
                    found.append(here)
                    if here == point:
                        break
                    here = here.parent
    return found


def address_space_limit() -> int | None:
    """This process's address-space limit (`ulimit -v`) in bytes, which its children inherit;
    None when it has none."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


#: What the dynamic loader says of a library it could not map (no address space left).
MAP_FAILED = "failed to map segment from shared object"


def allocation_error(exc: BaseException) -> bool:
    """Whether `exc` says that an allocation failed: a MemoryError (NumPy's and Arrow's are
    subclasses), or an ImportError of a library the dynamic loader could not map."""
    return isinstance(exc, MemoryError) or (isinstance(exc, ImportError)
                                            and MAP_FAILED in str(exc))


def allocation_failed(what: str = "an allocation") -> str:
    """One line for an allocation (`what`) that failed: the limit in force, and the way out."""
    limit = address_space_limit()
    if limit is not None:
        return (f"out of memory: {what} failed under the address-space limit (ulimit -v) of "
                f"{limit // 2**20} MiB: raise it, or run with a memory budget (--memory) and an "
                f"engine that spills to disk")
    return (f"out of memory: {what} failed: give the run more memory, or run with a memory "
            f"budget (--memory) and an engine that spills to disk")


def keyed(text: str) -> dict[str, str]:
    """A cgroup file of `key value` lines (memory.stat, memory.events) as a mapping."""
    return dict(pair for line in text.splitlines() if len(pair := line.split()) == 2)


#: memory.stat's file cache the kernel reclaims before a cgroup runs out (files read, active or
#: not), and the part of it it cannot (pages mapped by the processes, or not yet written), for
#: cgroup v2 and v1.
_RECLAIMABLE = {"memory.max": (("active_file", "inactive_file"),
                               ("file_mapped", "file_dirty", "file_writeback")),
                "memory.limit_in_bytes": (("total_active_file", "total_inactive_file"),
                                          ("total_mapped_file", "total_dirty", "total_writeback"))}


def cgroup_room() -> int | None:
    """Bytes left under the tightest memory limit of the cgroups this process is in (limit
    minus what the cgroup uses now, its reclaimable file cache counted as free), or None where
    no limit applies."""
    rooms = []
    for folder in own_cgroup_dirs():
        for limit_file, usage_file in (("memory.max", "memory.current"),
                                       ("memory.limit_in_bytes", "memory.usage_in_bytes")):
            try:
                limit = (folder / limit_file).read_text().strip()
                usage = int((folder / usage_file).read_text())
                stat = keyed((folder / "memory.stat").read_text())
            except (OSError, ValueError):
                continue
            if limit != "max" and int(limit) < _V1_UNLIMITED:
                # Files read (a run's sha256 check reads all its inputs) stay cached and are
                # charged here, active or not, until the kernel takes them back on demand.
                cached, kept = (sum(int(stat.get(k, 0)) for k in keys)
                                for keys in _RECLAIMABLE[limit_file])
                rooms.append(max(0, int(limit) - usage + max(0, cached - kept)))
    return min(rooms) if rooms else None


def tree_usage() -> int:
    """Bytes this process and its descendants hold: their proportional set sizes (a page shared
    by several of them counted once), else their resident sizes."""
    total = 0
    me = psutil.Process()
    for process in (me, *me.children(recursive=True)):
        try:
            info = process.memory_full_info()
        except psutil.AccessDenied:
            info = process.memory_info()
        except psutil.Error:
            continue
        total += getattr(info, "pss", info.rss)
    return total


def available(budget: int | None = None) -> int:
    """Bytes this process may still fill: the machine's available memory, or less where a
    cgroup's limit leaves less, or where `budget` (for this process and its descendants, as a
    memory budget enforced by a watchdog counts them) leaves less."""
    room = cgroup_room()
    free = psutil.virtual_memory().available
    best = free if room is None else min(free, room)
    return best if budget is None else min(best, max(0, budget - tree_usage()))


#: Under a memory budget, allocators that give freed memory back to the system: Arrow's system
#: pool (its default, mimalloc, keeps what a task freed for reuse, and a worker that read a
#: piece of a file stays ~100 MiB larger), and glibc's malloc trimming its heap once 64 KiB are
#: free (as distributed sets for its workers).
FRUGAL_ALLOCATORS = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_TRIM_THRESHOLD_": "65536"}
#: mallopt's parameter for the trim threshold (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1


def frugal_allocators() -> None:
    """`FRUGAL_ALLOCATORS` for this process and every process it starts from now on (for the
    rest of its life: a run under a budget)."""
    os.environ.update(FRUGAL_ALLOCATORS)
    threshold = int(FRUGAL_ALLOCATORS["MALLOC_TRIM_THRESHOLD_"])
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its variable is enough
        ctypes.CDLL(None).mallopt(_M_TRIM_THRESHOLD, threshold)
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
