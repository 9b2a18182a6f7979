"""Why a combination failed, was skipped or never finished: the benchmarks' sidecar to asv.

asv stores a failed combination as null and a skipped one as NaN, never the reason (it keeps no
stderr). So every benchmark process appends what it knows to JSON lines beside asv's results,
`<results_dir>/../parbench/outcomes/<host>.jsonl`:

* `start`: before the first `setup` of the process, with the class's `timeout` and `memory` (its
  budget). A process that asv kills at its timeout, or that crashes, leaves only this record;
* `ready`: `setup` is done; facts the class adds (`info`): data sizes, framework versions;
* `skip`: a `NotImplementedError` (in `setup` or the benchmark), with its message;
* `fail`: any other exception in `setup`, the benchmark or `teardown` (a wrong answer's mismatch
  message), as the exception's last line;
* `done`: the benchmark's first call returned (its time and answer are asv's and teardown's);
* `wire`: on a cluster spread over emulated hosts, after each sample (in `teardown`): `hosts`,
  `link`, `wire_bytes` (the bytes that crossed the links per timed call, the mean over the
  process's `calls` so far);
* `oom`: written by the watcher of a memory budget (`workloads.runtime.enclosure`) as it ends a
  process that went over it, with `budget` and `peak` in bytes.

Each record holds `v` (this format), `t` (Unix time), `event`, `env` and `commit` (`ASV_ENV_NAME`,
`ASV_COMMIT`: asv sets them only in environments it builds), `executable` (the Python that asv
started: an existing environment's name and its results' `python`), `host`, `pid`, `benchmark`
(asv's name of the class, `bench_engines.Spark`), `method` (`time_wordcount`, where known: from
asv's command line for `start`, from the benchmark for `skip` and `fail`), `params` (asv's repr
strings, as in its results files) and `reason` or the facts. asv tells benchmark processes
neither the machine nor, with `--python=same --set-commit-hash`, the commit or the environment,
so `reports.sidecar` ties a record to a stored result by benchmark, parameters and
time (a results file holds each benchmark's start and duration, and asv runs one benchmark at a
time per environment), and by environment or executable where recorded.

Stdlib and psutil only: asv may run this suite against an older commit's installed package.
Recording never fails a benchmark; outside an asv benchmark process nothing is written.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# The record format, its folder beside asv's results and the benchmark kinds: defined where the
# report reads them.
from reports.sidecar import BENCHMARK_PREFIXES, FORMAT, OUTCOMES_DIR, SIDECAR_DIR

#: Longest reason kept (a mismatch message names a few keys; tracebacks are not kept).
MAX_REASON = 1000

Info = Callable[..., Mapping[str, Any]]
#: Set on every wrapper: a subclass of a decorated class is not wrapped twice.
_MARK = "__parbench_outcomes__"


def results_dir(config: Path) -> Path:
    """asv's results folder from its config file (asv's default: `results` beside it)."""
    results = "results"
    try:
        text = config.read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("//")]
        results = json.loads("\n".join(lines)).get("results_dir", results)
    except (OSError, ValueError, AttributeError):
        pass
    return (config.parent / results).resolve()


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _is_asv(argv: list[str]) -> bool:
    """Whether a command line runs asv itself (`asv ...`, `python -m asv ...`)."""
    head = argv[:3]
    return (any(Path(a).name == "asv" or a.endswith("asv/__main__.py") for a in head)
            or any(a == "-m" and b == "asv" for a, b in zip(head, head[1:], strict=False)))


def asv_config() -> Path | None:
    """The config file of the asv run that started this benchmark process; None outside one.

    asv tells benchmark processes nothing about its config for `--python=same` (it sets
    ASV_CONF_DIR only in environments it builds), but asv works in its config's folder: the
    asv process among this process's ancestors (psutil, a base dependency) has it as its working
    folder, and its `--config` option names the file."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    conf_env = os.environ.get("ASV_CONF_DIR")
    if (argv0.parent.name, argv0.name) != ("asv", "benchmark.py") and not conf_env:
        return None
    try:
        import psutil

        proc = psutil.Process().parent()
        for _ in range(8):
            if proc is None:
                break
            argv = proc.cmdline()
            if _is_asv(argv):
                return Path(proc.cwd()) / Path(_option(argv, "--config") or "asv.conf.json").name
            proc = proc.parent()
    except Exception:  # psutil missing, or a process gone or not ours: fall back
        pass
    return Path(conf_env) / "asv.conf.json" if conf_env else None


@functools.cache
def _target() -> tuple[Path, dict[str, Any]] | None:
    """The sidecar file of this process and the fields every record shares; None outside asv."""
    config = asv_config()
    if config is None:
        return None
    host = socket.gethostname()
    return results_dir(config).parent / SIDECAR_DIR / OUTCOMES_DIR / f"{host}.jsonl", {
        "v": FORMAT, "env": os.environ.get("ASV_ENV_NAME"), "commit": os.environ.get("ASV_COMMIT"),
        "executable": sys.executable, "host": host}


def prepared(event: str, benchmark: str, params: tuple, **fields: Any
             ) -> tuple[Path, dict[str, Any]] | None:
    """The sidecar file and the record `write` would append now (None outside asv): for a
    record that another process writes for this one (a memory budget's watcher)."""
    target = _target()
    if target is None:
        return None
    path, common = target
    return path, {**common, "pid": os.getpid(), "t": time.time(), "event": event,
                  "benchmark": benchmark, "params": [repr(p) for p in params], **fields}


def write(event: str, benchmark: str, params: tuple, **fields: Any) -> None:
    """Append one record (one `write` of one line, so concurrent writers do not interleave)."""
    target = prepared(event, benchmark, params, **fields)
    if target is None:
        return
    path, record = target
    line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        print(f"parbench: cannot record {event} in {path}: {exc}", file=sys.stderr)


def reason(exc: BaseException) -> str:
    """An exception as its traceback's last line says it, without the module:
    `AnswerMismatch: home_advantage: expected 761, got 762`; a skip (NotImplementedError) as
    its message alone."""
    message = str(exc).strip()
    if isinstance(exc, NotImplementedError) and message:
        return message[:MAX_REASON]
    return (f"{type(exc).__name__}: {message}" if message else type(exc).__name__)[:MAX_REASON]


def class_name(obj: object) -> str:
    """asv's name of a benchmark class: its module below the benchmark package, and the class."""
    cls = type(obj)
    module = cls.__module__.split(".", 1)[-1]
    return f"{module}.{cls.__name__}"


def asv_method() -> str | None:
    """The benchmark method asv started this process for, from its command line
    (`benchmark.py run DIR bench_engines.Spark.time_wordcount-3 ...`); None elsewhere."""
    argv = sys.argv
    if len(argv) > 3 and Path(argv[0]).name == "benchmark.py" and argv[1] == "run":
        return argv[3].rpartition("-")[0].rpartition(".")[2] or None
    return None


#: (class, params) whose `start` this process has written: asv calls setup before every sample.
_STARTED: set[tuple[str, tuple]] = set()


def _wrap_setup(setup: Callable[..., None] | None, info: Info | None) -> Callable[..., None]:
    def wrapper(self: Any, *params: Any) -> None:
        name = class_name(self)
        first = (name, params) not in _STARTED
        if first:
            _STARTED.add((name, params))
            write("start", name, params, method=asv_method(),
                  timeout=getattr(self, "timeout", None), memory=getattr(self, "memory", None))
        try:
            if setup is not None:
                setup(self, *params)
        except NotImplementedError as exc:
            write("skip", name, params, reason=reason(exc))
            raise
        except Exception as exc:
            write("fail", name, params, reason=reason(exc), where="setup")
            raise
        if first:
            facts: dict[str, Any] = {"python": platform.python_version()}
            if info is not None:
                try:
                    facts.update(info(self, *params))
                except Exception as exc:
                    facts["info_error"] = reason(exc)
            write("ready", name, params, **facts)

    if setup is not None:
        functools.update_wrapper(wrapper, setup)
    wrapper.__name__ = wrapper.__qualname__ = "setup"
    return wrapper


def _wrap_teardown(teardown: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(teardown)
    def wrapper(self: Any, *params: Any) -> None:
        try:
            teardown(self, *params)
        except Exception as exc:
            write("fail", class_name(self), params, method=getattr(self, "_outcome_method", None),
                  reason=reason(exc), where="teardown")
            raise

    return wrapper


def _wrap_benchmark(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *params: Any) -> Any:
        self._outcome_method = name
        try:
            result = method(self, *params)
        except NotImplementedError as exc:
            write("skip", class_name(self), params, method=name, reason=reason(exc))
            raise
        except Exception as exc:
            write("fail", class_name(self), params, method=name, reason=reason(exc),
                  where="benchmark")
            raise
        if (class_name(self), name, params) not in _DONE:
            _DONE.add((class_name(self), name, params))
            write("done", class_name(self), params, method=name)
        return result

    return wrapper


#: (class, method, params) whose first call returned: `done` is written once per process.
_DONE: set[tuple[str, str, tuple]] = set()


def records() -> list[dict[str, Any]]:
    """The records of this process's sidecar file so far (none outside asv)."""
    target = _target()
    if target is None:
        return []
    try:
        lines = target[0].read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


def _mark(klass: type, attr: str, wrapper: Callable[..., Any]) -> None:
    setattr(wrapper, _MARK, True)
    setattr(klass, attr, wrapper)


def recorded(cls: type | None = None, *, info: Info | None = None) -> Any:
    """Class decorator: record the outcome of every benchmark of `cls` (and its subclasses).

    `info(self, *params)` returns facts for the `ready` record (e.g. the sizes of the data read).
    Wrappers keep each method's attributes (`unit`, `timeout`) and, through `__wrapped__`, its
    source, from which asv derives the benchmark's version.
    """

    def decorate(klass: type) -> type:
        setup = getattr(klass, "setup", None)
        if not hasattr(setup, _MARK):
            _mark(klass, "setup", _wrap_setup(setup, info))
        teardown = getattr(klass, "teardown", None)
        if teardown is not None and not hasattr(teardown, _MARK):
            _mark(klass, "teardown", _wrap_teardown(teardown))
        for attr in dir(klass):
            method = getattr(klass, attr)
            if (attr.startswith(BENCHMARK_PREFIXES) and callable(method)
                    and not hasattr(method, _MARK)):
                _mark(klass, attr, _wrap_benchmark(attr, method))
        return klass

    return decorate if cls is None else decorate(cls)
