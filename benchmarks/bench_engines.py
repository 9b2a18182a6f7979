"""Time and check every engine × workload × workers × scale; start-up time and peak memory.

One class per registered engine (`asv run -b Spark`), generated from the registry. Each
combination runs in a fresh process: the engine starts once there (`setup` is cheap after that),
each `time_` method times one workload, and `teardown` checks the answer against the manifest
once, outside the timed call, so a wrong answer fails that combination loudly.
"""

from __future__ import annotations

from typing import Any

from workloads import engines, spec
from workloads.peakmem import measure

from .common import SCALES, SETTINGS, STARTUP, WORKERS, dataset, engine


class _EngineSuite:
    engine_name: str
    param_names = ["workers", "scale"]
    params = [WORKERS, SCALES]
    timeout = 1800
    number = 1
    rounds = 1
    # After one warm-up call: at least 3 samples, at most 5, no new one after 10 s.
    repeat = (3, 5, 10.0)
    _checked: set[tuple] = set()

    def setup(self, workers: int, scale: str) -> None:
        self.data = dataset(scale)
        self.engine = engine(self.engine_name, workers)
        self.answer: tuple[str, Any] | None = None

    def teardown(self, workers: int, scale: str) -> None:
        answer = getattr(self, "answer", None)
        key = (self.engine_name, workers, scale, answer and answer[0])
        if answer is not None and key not in self._checked:
            self._checked.add(key)
            spec.get(answer[0]).check(self.data.answer(answer[0]), answer[1])

    def _run(self, workload: str) -> None:
        self.answer = (workload, self.engine.run(workload, self.data, SETTINGS.format))

    def time_wordcount(self, workers: int, scale: str) -> None:
        self._run("wordcount")

    def time_mean_home_score(self, workers: int, scale: str) -> None:
        self._run("mean_home_score")

    def time_home_advantage(self, workers: int, scale: str) -> None:
        self._run("home_advantage")

    def time_team_records(self, workers: int, scale: str) -> None:
        self._run("team_records")

    def time_team_ratings(self, workers: int, scale: str) -> None:
        self._run("team_ratings")

    def track_startup(self, workers: int, scale: str) -> float:
        return STARTUP[(self.engine_name, workers)]

    track_startup.unit = "seconds"  # type: ignore[attr-defined]

    def track_peak_memory(self, workers: int, scale: str) -> int:
        """Peak RSS of the whole process tree (driver, JVM, workers) over all five workloads."""
        peak = 0
        for w in spec.WORKLOADS_BY_NAME.values():
            answer, used = measure(lambda w=w: self.engine.run(w.name, self.data, SETTINGS.format))
            w.check(self.data.answer(w.name), answer)
            peak = max(peak, used)
        return peak

    track_peak_memory.unit = "bytes"  # type: ignore[attr-defined]


def class_name(engine_name: str) -> str:
    """dask-threads → DaskThreads."""
    return "".join(part.capitalize() for part in engine_name.split("-"))


for _name in engines.names():
    globals()[class_name(_name)] = type(class_name(_name), (_EngineSuite,),
                                        {"engine_name": _name, "__module__": __name__})
