"""Peak resident memory of a whole process tree: this process, its JVM and its worker processes.

asv's `peakmem_` sees only the benchmark's own process; engines run much of their work in child
processes (a Spark JVM, Dask workers, process pools), so we sample the sum of RSS over the tree.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psutil

T = TypeVar("T")


def tree_rss(root: psutil.Process) -> int:
    """Sum of RSS of `root` and all its descendants right now (bytes)."""
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return total


class PeakTreeMemory:
    """Context manager sampling the tree's RSS every `interval` seconds; `.peak` in bytes."""

    def __init__(self, interval: float = 0.02, pid: int | None = None) -> None:
        self.interval = interval
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, tree_rss(self.root))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakTreeMemory:
        self.peak = tree_rss(self.root)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.root))


def measure(fn: Callable[[], T], interval: float = 0.02) -> tuple[T, int]:
    """Run `fn` and return its result and the tree's peak RSS in bytes."""
    with PeakTreeMemory(interval) as sampler:
        result = fn()
    return result, sampler.peak
