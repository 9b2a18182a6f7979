"""One command-line style for every CLI of the project.

A usage error or any `ParbenchError` is one line, `PROG: error: MESSAGE`, and the error's exit
status; Ctrl-C (SIGINT) and SIGTERM stop the command with one line and status 130 or 143, after
the `finally` blocks and context managers on the way out have released what the command started.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from typing import NoReturn

from workloads.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, ParbenchError


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are ParbenchErrors (one line, exit status 2)."""

    def error(self, message: str) -> NoReturn:
        raise ParbenchError(f"{message} (see {self.prog} --help)")


class Terminated(KeyboardInterrupt):
    """SIGTERM: unwind and clean up as for Ctrl-C."""


def _stop(signum: int, frame: object) -> NoReturn:
    """Ctrl-C or SIGTERM: unwind, so that every `finally` on the way out releases what it
    started; what the libraries log or warn while they are torn down mid-task is noise, and
    the command's one line says what happened."""
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def report(prog: str, message: str) -> None:
    """Print one line on stderr, as every CLI of the project does."""
    print(f"{prog}: {message}", file=sys.stderr, flush=True)


def run(prog: str, main: Callable[[], int], interrupted: str = "interrupted") -> int:
    """Run a CLI's `main`; its exit status, or the status and one line of the error that
    stopped it (`interrupted` is the line printed after Ctrl-C or SIGTERM)."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)
                } if in_main else {}
    try:
        return main()
    except ParbenchError as exc:
        report(prog, f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        report(prog, interrupted)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
