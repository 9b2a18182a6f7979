"""Every registered engine, marked: its workload methods first touch the file named by
$MIDRUN_MARK, then run the real engine's code, again and again until a signal ends the run (a
fast engine is still mid-run whenever the signal comes). Registered through the `engines` setting by
test_interrupts (`marked-<name>=tests/midrun_engine.py:<Suite>`), so that a signal can be sent
once a run is known to be in flight."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from reports.sidecar import engine_of_suite
from workloads import engines, spec


def _marking(method: Any) -> Any:
    @functools.wraps(method)
    def marked(self: Any, **inputs: Any) -> Any:
        Path(os.environ["MIDRUN_MARK"]).touch()
        while True:
            method(self, **inputs)

    return marked


def __getattr__(suite: str) -> type:
    """The engine whose benchmark class is `suite` (DaskThreads), with marking methods."""
    base = engines.engine_class(engine_of_suite(suite, engines.names()))
    methods = {w: _marking(getattr(base, w)) for w in spec.NAMES}
    return type(f"Marked{suite}", (base,), {**methods, "name": f"marked-{base.name}"})
