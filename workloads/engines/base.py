"""The contract every engine meets: start with N workers, run each workload of the spec, stop.

An engine is a subclass of `Engine` that

* defines one method per workload of `workloads.spec`, named as the workload, taking the
  workload's inputs as keyword arguments named by kind (`wordcount(self, text)`,
  `team_records(self, matches)`) and returning the answer in the spec's form. These methods are
  abstract here (generated from the spec): an engine that lacks one cannot be created, and the
  test suite names the engine and the workload;
* builds what its framework needs in `start` (a pool, a session, a client) and releases it in
  `stop`, which leaves no process, file or listener behind; `start` after `stop` starts afresh;
* says in `availability` whether its framework can run here, why not, and its versions;
* sets `name` (its registry name) and `max_workers` (1 for single-process engines).

`Engine.run` picks a workload's inputs from a dataset and calls its method.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workloads import spec
from workloads.data.dataset import Dataset, Inputs
from workloads.runtime import limits, signals
from workloads.runtime.errors import ParbenchError
from workloads.runtime.settings import Settings


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


def init_worker_process(ignore_sigterm: bool = False, threads: int = 1) -> None:
    """Initializer of an engine's pool processes: a terminal's Ctrl-C (and, with
    `ignore_sigterm`, its SIGTERM) reaches the whole process group, but is the parent's to handle:
    it stops the pool and cleans up. Otherwise SIGTERM ends the process at once and quietly (Arrow
    would turn it into an exception and a traceback mid-read). Arrow gets `threads` threads: one
    worker, one core, unless the process holds a pool of `threads` workers."""
    import pyarrow

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal: the parent's, as Ctrl-C
    # not the CLI's handler, which fork passes on
    signal.signal(signal.SIGTERM, signal.SIG_IGN if ignore_sigterm else signal.SIG_DFL)
    pyarrow.enable_signal_handlers(False)
    cap_arrow_threads(threads)


@contextlib.contextmanager
def children_ignore_interrupts(ignored: tuple[int, ...] = (signal.SIGINT, signal.SIGHUP)
                               ) -> Iterator[None]:
    """Processes started inside this block ignore Ctrl-C and a closed terminal (an ignored
    signal stays ignored across exec): the terminal's SIGINT or SIGHUP reaches the whole process
    group, and only this process should act on it, by stopping them. While the block runs, this
    process ignores them too."""
    with signals.kept(signal.SIG_IGN, ignored):
        yield


@dataclass(frozen=True)
class Availability:
    """Whether an engine can run here, why not, and the versions it found."""

    ok: bool
    reason: str = ""
    versions: dict[str, str] = field(default_factory=dict)


class Engine(abc.ABC):
    """One framework's implementation of every workload in `workloads.spec` (see the module)."""

    name: ClassVar[str]
    #: Largest meaningful worker count (1 for single-process engines), None for no limit.
    max_workers: ClassVar[int | None] = None
    #: True where the workers are threads of this process: `start` then caps Arrow's thread pool
    #: (pyarrow's and pandas' CSV/Parquet readers) at `workers`, so N workers use N cores.
    in_process: ClassVar[bool] = False
    #: Processes each worker is on this machine (0: a thread), for the bound on workers.
    processes_per_worker: ClassVar[int] = 0
    #: True where the engine's workers can be on other hosts (a cluster it connects to): the
    #: report compares the fastest of these with the fastest engine at every size.
    spans_hosts: ClassVar[bool] = False
    #: The `cluster up` kind it runs on when given a cluster's address (None: none).
    cluster_kind: ClassVar[str | None] = None

    def __init__(self, workers: int = 1, settings: Settings | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ParbenchError(f"workers must be a positive integer, got {workers!r}")
        if self.max_workers is not None and workers > self.max_workers:
            raise ParbenchError(f"engine {self.name!r} runs on at most {self.max_workers} "
                                f"worker(s), got {workers}")
        self.workers = workers
        self.settings = settings or Settings.from_env()
        if self.on_this_machine:
            limits.check_workers(f"engine {self.name!r}", workers, self.settings.max_workers,
                                 self.processes_per_worker)
        self.started = False

    @property
    def on_this_machine(self) -> bool:
        """Whether the workers run here (not on a cluster whose own size bounds them)."""
        return True

    def cluster_hosts(self) -> list[str]:
        """The hosts named by the cluster address it is given (scheduler, master or head): where
        its `cluster_kind` cluster runs; [] when it runs its own workers. EngineUnavailable for
        an address that is not one."""
        return []

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        """Whether this engine's framework is usable here with `settings` (override to probe)."""
        return Availability(True)

    def start(self) -> None:
        if self.in_process:
            cap_arrow_threads(self.workers)
        self.started = True

    def halting(self) -> None:
        """Called from a signal handler just before this engine's processes are killed, with
        no time to stop it: keep it from starting new ones. Nothing by default."""
        return None

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
        """Run `workload` on `dataset` (tables read as `fmt`) and return its answer."""
        return self.run_inputs(workload, dataset.inputs(workload, fmt))

    def run_inputs(self, workload: str, inputs: Inputs) -> Any:
        """Run `workload` on explicit input files, given by kind."""
        if not self.started:
            self.start()
        return getattr(self, spec.get(workload).name)(**inputs)


def _abstract_workload(workload: spec.Workload) -> Callable[..., Any]:
    def method(self: Engine, **inputs: Any) -> Any:
        raise NotImplementedError(f"engine {self.name!r} does not implement {workload.name!r}")

    method.__name__ = method.__qualname__ = workload.name
    method.__doc__ = f"{workload.answer}; inputs: {', '.join(workload.inputs)}."
    return abc.abstractmethod(method)


for _workload in spec.WORKLOADS:
    setattr(Engine, _workload.name, _abstract_workload(_workload))
abc.update_abstractmethods(Engine)


def missing_workloads(cls: type[Engine]) -> list[str]:
    """The workloads of the spec that engine class `cls` does not implement."""
    return [w for w in spec.NAMES if w in getattr(cls, "__abstractmethods__", ())]
