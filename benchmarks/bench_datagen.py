"""Data generation itself: time to generate scale 1 with one worker and with all cores."""

from __future__ import annotations

import contextlib
import io

from datagen.cli import main as datagen
from workloads.runtime import limits, scratch

from . import outcomes

CORES = limits.default_workers()  # datagen's default worker count


@outcomes.recorded
class Datagen:
    param_names = ["workers", "scale"]
    params = [sorted({1, CORES}), ["1"]]
    number = 1
    rounds = 1
    repeat = (3, 5, 30.0)
    timeout = 600

    def setup(self, workers: int, scale: str) -> None:
        self.out = scratch.folder("datagen")

    def teardown(self, workers: int, scale: str) -> None:
        scratch.remove(self.out)

    def time_generate(self, workers: int, scale: str) -> None:
        with contextlib.redirect_stderr(io.StringIO()):
            status = datagen(["--scale", scale, "--out", str(self.out), "--workers", str(workers),
                              "--force"])
        if status != 0:
            raise RuntimeError(f"datagen --scale {scale} --workers {workers} exited {status}")
