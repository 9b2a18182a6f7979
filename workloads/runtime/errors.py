"""The errors a user can fix, and how a command line reports them: one line, a known exit status.

Every CLI of the project (`python -m workloads`, `... cluster`, `python -m datagen`,
`python -m reports`) prints a `ParbenchError` as `PROG: error: MESSAGE` and exits with its
`exit_code`; the subclasses say what went wrong where a caller needs to tell them apart.
"""

from __future__ import annotations

#: Exit statuses shared by every command line.
EXIT_FAILED = 1  # the command ran and something it ran failed (a wrong answer, a cluster)
EXIT_USAGE = 2  # bad input: arguments, settings, data
EXIT_OUT_OF_MEMORY = 3  # the run went over its memory budget and was ended
EXIT_HANGUP = 129  # 128 + SIGHUP: the terminal or SSH session closed
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM

#: Words that mark a log line as the one that says what went wrong.
ERROR_WORDS = ("ERROR", "Error", "Exception", "error", "fatal", "FATAL")


class ParbenchError(Exception):
    """Something the user can fix; the message says what is wrong and how to fix it."""

    exit_code = EXIT_USAGE


class DataError(ParbenchError):
    """A data file is missing or holds a malformed row (the message names file and line)."""


class DatasetError(ParbenchError):
    """A dataset is missing, incomplete or altered."""


class EngineUnavailable(ParbenchError):
    """The framework an engine needs is not installed or cannot run here."""


class AnswerMismatch(ParbenchError):
    """An engine's answer differs from the expected one."""

    exit_code = EXIT_FAILED


class JobFailed(ParbenchError):
    """A job an engine ran failed (a batch array task, say); no partial answer is reported."""


class OutOfMemory(ParbenchError):
    """A run went over its memory budget; its processes were ended (the message gives the
    budget and the peak)."""

    exit_code = EXIT_OUT_OF_MEMORY


class AllocationFailed(ParbenchError):
    """An allocation failed, most often under an address-space limit (`ulimit -v`), where a
    process gets no more however much memory is free (the message names the limit); as Python's
    MemoryError is reported."""

    exit_code = EXIT_FAILED


class ClusterError(ParbenchError):
    """A cluster failed to start or stop."""

    exit_code = EXIT_FAILED


def first_line(error: BaseException | str) -> str:
    """The first line of an error's message that holds text, for one-line messages; an
    exception without one gives its type's name (DuckDB's and Ray's may be empty), a text ""."""
    text = str(error).strip()
    if text:
        return text.splitlines()[0]
    return "" if isinstance(error, str) else type(error).__name__


def last_error_line(text: str, limit: int = 240) -> str:
    """The last line of `text` that looks like an error (else its last line), for one-line
    messages about a log; Java stack frames ("at ...") are skipped."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("at ")]
    errors = [ln for ln in lines if any(word in ln for word in ERROR_WORDS)]
    return (errors or lines or ["(no output)"])[-1][:limit]
