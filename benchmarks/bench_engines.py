"""Time and check every engine × workload × workers × scale; start-up time and peak memory.

One class per registered engine (`asv run -b Spark`), and in it one `time_<workload>` method per
workload of the spec, all generated from the registry and the spec. Each combination runs in a
fresh process: the engine starts once there (`setup` is cheap after that), the files a workload
reads are checked against their sha256 once before anything is timed, each `time_` method times
one workload, and `teardown` checks the answer against the manifest once, outside the timed call,
so a wrong answer fails that combination loudly. `outcomes` records why a combination failed,
was skipped or never finished, and the data sizes and versions, for the report. On a cluster
spread over emulated hosts (`make bench HOSTS=N`) it also records the hosts, their links' rate
and the bytes over the wire per timed call.

Start-up depends on the engine and its workers, not on the data: `track_startup` is measured per
worker count only. Peak memory is measured at the largest scale only, where it tells most.

asv starts every combination as a new Python process (it does not fork them from one that has
imported the suite), so importing this module imports no framework: a process imports only its
own engine's, in `setup`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.peakmem import measure
from reports.sidecar import WIRE_EVENT, suite_name
from workloads import engines, spec
from workloads.wire import Meter, network_fields, network_of

from . import outcomes
from .common import (
    SCALES,
    SETTINGS,
    STARTUP,
    VERSIONS,
    WORKERS,
    enclose,
    engine,
    input_sizes,
    outgrown,
    verified,
)


class _EngineSuite:
    engine_name: str
    param_names = ["workers", "scale"]
    params = [WORKERS, SCALES]
    timeout = SETTINGS.timeout
    memory = SETTINGS.memory  # the budget each process lives in (recorded with its outcome)
    number = 1
    rounds = 1
    # After one warm-up call: at least 3 samples, at most 5, no new one after 5 s.
    repeat = (3, 5, 5.0)
    _checked: set[tuple] = set()

    def setup(self, workers: int, scale: str | None = None) -> None:
        name = outcomes.class_name(self)
        enclose(name, (workers, scale) if scale is not None else (workers,))
        if scale is not None:
            outgrown(name, workers, scale)
        self.data = None if scale is None else verified(scale)
        self.engine = engine(self.engine_name, workers)
        self.answer: tuple[str, Any] | None = None
        self.calls = 0
        self.meter = _meter(self.engine_name, workers)
        if self.meter is not None:
            self.meter.start()

    def teardown(self, workers: int, scale: str | None = None) -> None:
        self._count_wire(workers, scale)
        answer = getattr(self, "answer", None)
        key = (self.engine_name, workers, scale, answer and answer[0])
        if answer is not None and key not in self._checked:
            self._checked.add(key)
            workload, value = answer
            spec.get(workload).check(self.data.answer(workload), value)

    def _run(self, workload: str) -> None:
        self.calls += 1
        self.answer = (workload, self.engine.run(workload, self.data, SETTINGS.format))

    def _count_wire(self, workers: int, scale: str | None) -> None:
        """On an emulated network, add the bytes over the wire and the calls since `setup` to
        this process's totals and record their mean per call: asv runs setup and teardown
        around every sample, and the meter is read there, outside the timed calls."""
        meter, answer = getattr(self, "meter", None), getattr(self, "answer", None)
        if meter is None or answer is None or not self.calls:
            return
        wire, method = meter.read(), _method(answer[0])
        sent, calls = _WIRE.get((method, workers, scale), (0, 0))
        sent, calls = sent + wire.bytes, calls + self.calls
        _WIRE[(method, workers, scale)] = (sent, calls)
        params = (workers, scale) if scale is not None else (workers,)
        outcomes.write(WIRE_EVENT, outcomes.class_name(self), params, method=method,
                       **{**wire.fields(), "wire_bytes": round(sent / calls)}, calls=calls)

    def track_startup(self, workers: int) -> float:
        return STARTUP[(self.engine_name, workers)]

    track_startup.unit = "seconds"  # type: ignore[attr-defined]
    track_startup.param_names = ["workers"]  # type: ignore[attr-defined]
    track_startup.params = [WORKERS]  # type: ignore[attr-defined]

    def track_peak_memory(self, workers: int, scale: str) -> int:
        """Peak RSS of the whole process tree (driver, JVM, workers) over every workload."""
        peak = 0
        for w in spec.WORKLOADS:
            answer, used = measure(lambda w=w: self.engine.run(w.name, self.data, SETTINGS.format))
            w.check(self.data.answer(w.name), answer)
            peak = max(peak, used)
        return peak

    track_peak_memory.unit = "bytes"  # type: ignore[attr-defined]
    track_peak_memory.params = [WORKERS, SCALES[-1:]]  # type: ignore[attr-defined]


#: Bytes over the wire and timed calls so far in this process, per (method, workers, scale).
_WIRE: dict[tuple[str, int, str | None], tuple[int, int]] = {}
#: This process's meter of each engine and worker count (None: not on an emulated network).
_METERS: dict[tuple[str, int], Meter | None] = {}


def _meter(name: str, workers: int) -> Meter | None:
    """The meter of the bytes the started engine's cluster sends, when it spans emulated hosts."""
    if (name, workers) not in _METERS:
        network = network_of(engine(name, workers))
        _METERS[(name, workers)] = Meter(network) if network is not None else None
    return _METERS[(name, workers)]


def _method(workload: str) -> str:
    """The benchmark method that times `workload`."""
    return f"time_{workload}"


def _timer(workload: spec.Workload) -> Callable[[_EngineSuite, int, str], None]:
    def time_workload(self: _EngineSuite, workers: int, scale: str) -> None:
        self._run(workload.name)

    time_workload.__name__ = time_workload.__qualname__ = _method(workload.name)
    time_workload.__doc__ = f"Seconds to compute {workload.name}: {workload.answer}."
    return time_workload


for _workload in spec.WORKLOADS:
    setattr(_EngineSuite, _method(_workload.name), _timer(_workload))


def _facts(self: _EngineSuite, workers: int, scale: str | None = None) -> dict[str, Any]:
    """What the report shows beside this process's times: data sizes, format, versions."""
    sizes = {} if self.data is None else input_sizes(self.data, SETTINGS.format)
    meter = _meter(self.engine_name, workers)
    return {"format": SETTINGS.format, "data": sizes,
            "versions": VERSIONS.get(self.engine_name, {}), "memory": SETTINGS.memory,
            "spans_hosts": type(self.engine).spans_hosts,
            **(network_fields(meter.network) if meter is not None else {})}


outcomes.recorded(_EngineSuite, info=_facts)

for _name in engines.names(SETTINGS):
    globals()[suite_name(_name)] = type(
        suite_name(_name), (_EngineSuite,), {"engine_name": _name, "__module__": __name__})
