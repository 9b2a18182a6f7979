"""The engine lifecycle every framework implements: start with N workers, run, stop."""

from __future__ import annotations

import functools
from abc import ABC
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workloads import spec
from workloads.dataset import Dataset, Input
from workloads.spec import ParbenchError


@functools.cache
def _arrow_default_threads() -> int:
    """Arrow's thread count before any engine capped it (the first call comes first)."""
    import pyarrow

    return pyarrow.cpu_count()


def cap_arrow_threads(n: int | None) -> None:
    """Cap Arrow's CPU thread pool at `n` threads (None: back to Arrow's default). Arrow otherwise
    reads with every core, whatever the engine's worker count."""
    import pyarrow

    default = _arrow_default_threads()
    pyarrow.set_cpu_count(n or default)


class EngineUnavailable(ParbenchError):
    """The framework an engine needs is not installed or cannot run here."""


@dataclass(frozen=True)
class Availability:
    """Whether an engine can run here, why not, and the versions it found."""

    ok: bool
    reason: str = ""
    versions: dict[str, str] = field(default_factory=dict)


class Engine(ABC):
    """One framework's implementation of every workload in `workloads.spec`.

    Subclasses define one method per workload, named as in the spec, taking the `Input` (file
    paths and format) and returning the answer in the spec's form. `start` builds whatever the
    framework needs (a pool, a session, a client); `stop` releases it and every child process.
    """

    name: ClassVar[str]
    #: Largest meaningful worker count (1 for single-process engines), None for no limit.
    max_workers: ClassVar[int | None] = None
    #: True where the workers are threads of this process: `start` then caps Arrow's thread pool
    #: (pyarrow's and pandas' CSV/Parquet readers) at `workers`, so N workers use N cores.
    in_process: ClassVar[bool] = False

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ParbenchError(f"workers must be a positive integer, got {workers!r}")
        if self.max_workers is not None and workers > self.max_workers:
            raise ParbenchError(f"engine {self.name!r} runs on at most {self.max_workers} "
                                f"worker(s), got {workers}")
        self.workers = workers
        self.started = False

    @classmethod
    def availability(cls) -> Availability:
        """Whether this engine's framework is usable here (override to probe)."""
        return Availability(True)

    def start(self) -> None:
        if self.in_process:
            cap_arrow_threads(self.workers)
        self.started = True

    def stop(self) -> None:
        if self.in_process and self.started:
            cap_arrow_threads(None)
        self.started = False

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self, workload: str, dataset: Dataset, fmt: str = "csv") -> Any:
        """Run `workload` on `dataset` (matches read as `fmt`) and return its answer."""
        w = spec.get(workload)
        return self.run_input(w.name, dataset.input(w.data, fmt))

    def run_input(self, workload: str, inp: Input) -> Any:
        """Run `workload` on explicit input files."""
        if not self.started:
            self.start()
        method = getattr(self, workload, None)
        if method is None:
            raise NotImplementedError(f"engine {self.name!r} does not implement {workload!r}")
        return method(inp)
