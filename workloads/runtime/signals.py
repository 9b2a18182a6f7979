"""Signal handlers for a while: this process's SIGINT and SIGTERM handlers set for a block and
put back after it, or held off during a step that must not be cut short.

Python runs handlers in the main thread only, and only the main thread may set them: outside it
these helpers change nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

#: The signals that interrupt a command (Ctrl-C, kill, a closed terminal or SSH session).
INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: What `signal.signal` takes and `signal.getsignal` gives (None: a handler not set by Python).
Handler = Callable[[int, FrameType | None], Any] | int | None


def in_main_thread() -> bool:
    """Whether this is the thread that may set handlers (and runs them)."""
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def kept(handler: Handler = None, signals: tuple[int, ...] = INTERRUPTS
         ) -> Iterator[dict[int, Handler]]:
    """`handler` for `signals` while the block runs (none given: they stay), and after it each
    signal's handler from before, whatever the block (or a framework it called) set. Yields the
    handlers from before; {} outside the main thread, where nothing is set."""
    if not in_main_thread():
        yield {}
        return
    previous = {sig: signal.getsignal(sig) for sig in signals}
    try:
        if handler is not None:
            for sig in signals:
                signal.signal(sig, handler)
        yield previous
    finally:
        for sig, before in previous.items():
            signal.signal(sig, signal.SIG_DFL if before is None else before)


class HeldSignals:
    """`with HeldSignals() as held:` notes SIGINT and SIGTERM in `held.caught` instead of
    letting them interrupt, and delivers them when the block ends: for steps that must not be
    cut short (starting a daemon and recording it, stopping daemons and removing their state).
    Outside the main thread it holds nothing."""

    def __init__(self) -> None:
        self.caught: list[int] = []
        self._kept = contextlib.ExitStack()

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.caught.append(signum)

    def __enter__(self) -> HeldSignals:
        self._kept.enter_context(kept(self._note))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._kept.close()
        for sig in dict.fromkeys(self.caught):
            signal.raise_signal(sig)  # now handled as it would have been (KeyboardInterrupt)
