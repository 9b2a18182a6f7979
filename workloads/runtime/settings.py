"""Every knob parbench reads from the environment, in one typed place.

`Settings.from_env()` is the only reader of `PARBENCH_*` variables: the CLIs and the benchmarks
call it once and hand the engines, datasets, clusters and plugins what they need.
`python -m workloads settings` prints the effective values and where each came from.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from workloads.layout import FORMATS
from workloads.runtime.errors import ParbenchError
from workloads.runtime.limits import WORKERS_PER_CORE, cores, worker_counts
from workloads.runtime.memory import parse_size

#: Set in the environment of every daemon a `cluster up` starts, so that orphans are found.
CLUSTER_MARKER = "PARBENCH_CLUSTER_ID"
#: Default folders, relative to the working directory (or the project, for the benchmarks).
DEFAULT_DATA = "data"
DEFAULT_CLUSTER_STATE = ".parbench/cluster"
BATCH_BACKENDS = ("local", "slurm")
#: How a memory budget is enforced (`workloads.runtime.enclosure.make`).
ENFORCEMENTS = ("auto", "cgroup", "watchdog")


def _words(text: str) -> list[str]:
    return text.replace(",", " ").split()


def _workers(text: str, var: str) -> tuple[int, ...]:
    try:
        counts = sorted({int(t) for t in _words(text)})
    except ValueError:
        counts = [0]
    if not counts or counts[0] < 1:
        raise ParbenchError(f"{var}={text!r}: give positive integers, e.g. '1 2 4'")
    return tuple(counts)


def _positive(text: str, var: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ParbenchError(f"{var}={text!r}: give a positive integer")
    return value


def _scales(text: str, var: str) -> tuple[str, ...]:
    scales = tuple(_words(text))
    for s in scales:
        try:
            ok = 0 < float(s) < math.inf
        except ValueError:
            ok = False
        if not ok:
            raise ParbenchError(f"{var}={text!r}: give positive, finite scales, e.g. '1 10'")
    return scales


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(text: str, var: str) -> str:
        if text not in choices:
            raise ParbenchError(f"{var}={text!r}: choose {' or '.join(choices)}")
        return text

    return parse


def _plugins(text: str, var: str) -> dict[str, str]:
    """`name=module:Class,name2=/path/to/file.py:Class`."""
    found = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        name, sep, target = item.partition("=")
        if not sep or ":" not in target or not name.strip():
            raise ParbenchError(f"{var}: {item!r} is not name=module:Class")
        found[name.strip()] = target.strip()
    return found


def _seconds(text: str, var: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise ParbenchError(f"{var}={text!r}: give a positive number of seconds, e.g. 600")
    return value


def _size(text: str, var: str) -> int:
    return parse_size(text, var)


def _text(text: str, var: str) -> str:
    return text


def _path(text: str, var: str) -> Path:
    return Path(text).expanduser().absolute()


def _folder(text: str, var: str) -> Path:
    """A folder parbench reads and writes datasets in: not a file, not the file system's root."""
    path = _path(text, var)
    if path.exists() and not path.is_dir():
        raise ParbenchError(f"{var}={text!r} is a file, not a folder: give the folder that "
                            f"holds (or will hold) the datasets")
    if path == Path(path.anchor):
        raise ParbenchError(f"{var}={text!r} is the root of the file system: give a folder of "
                            f"its own for the datasets, e.g. ./data")
    return path


def _setting(env: str, parse: Callable[[str, str], Any], help: str) -> dict[str, Any]:
    return {"env": env, "parse": parse, "help": help}


def _check_worker_counts(counts: tuple[int, ...], max_workers: int | None) -> None:
    """The benchmark's worker counts within what this machine runs (threads' bound: an engine
    whose workers are processes is held to its own, smaller one when it starts)."""
    bound = max_workers or WORKERS_PER_CORE * cores()
    if max(counts) > bound:
        why = ("the max_workers setting" if max_workers
               else f"{WORKERS_PER_CORE} per core, {cores()} cores")
        raise ParbenchError(f"PARBENCH_WORKERS: {max(counts)} workers is more than this machine "
                            f"runs: at most {bound} ({why}); ask for fewer")


@dataclass(frozen=True)
class Settings:
    """parbench's environment: data location, benchmark grid, engines, cluster addresses."""

    data: Path = field(default=Path(DEFAULT_DATA), metadata=_setting(
        "PARBENCH_DATA", _folder, "folder holding the datasets (scale-N, tutorial)"))
    scales: tuple[str, ...] | None = field(default=None, metadata=_setting(
        "PARBENCH_SCALES", _scales, "benchmark scales; default: the datasets present"))
    workers: tuple[int, ...] = field(default=(1,), metadata=_setting(
        "PARBENCH_WORKERS", _workers, "benchmark worker counts; default: 1, 2, 4, … and the cores"))
    max_workers: int | None = field(default=None, metadata=_setting(
        "PARBENCH_MAX_WORKERS", _positive, "the most workers an engine or the generator may run "
        "here; default: derived from the cores, free memory and process limit"))
    format: str = field(default="csv", metadata=_setting(
        "PARBENCH_FORMAT", _choice(FORMATS), "format the benchmarks read tables in"))
    engines: Mapping[str, str] = field(default_factory=dict, metadata=_setting(
        "PARBENCH_ENGINES", _plugins, "out-of-tree engines: name=module:Class,..."))
    dask_address: str | None = field(default=None, metadata=_setting(
        "PARBENCH_DASK_ADDRESS", _text, "an existing Dask scheduler for dask-distributed"))
    spark_master: str | None = field(default=None, metadata=_setting(
        "PARBENCH_SPARK_MASTER", _text, "a Spark master URL; default: local[workers]"))
    spark_driver_memory: str = field(default="4g", metadata=_setting(
        "PARBENCH_SPARK_DRIVER_MEMORY", _text, "the Spark driver's JVM heap without a memory "
        "budget (under one, the heap comes from the budget)"))
    ray_address: str | None = field(default=None, metadata=_setting(
        "PARBENCH_RAY_ADDRESS", _text, "an existing Ray cluster (its head's GCS, HOST:PORT) for "
        "the ray engine; default: a local Ray"))
    batch_backend: str = field(default="local", metadata=_setting(
        "PARBENCH_BATCH", _choice(BATCH_BACKENDS), "how the batch engine runs its job arrays"))
    batch_dir: Path | None = field(default=None, metadata=_setting(
        "PARBENCH_BATCH_DIR", _path, "job folder of the batch engine, on a file system every "
        "node reads; default: the system's temporary folder"))
    cluster_state: Path = field(default=Path(DEFAULT_CLUSTER_STATE), metadata=_setting(
        "PARBENCH_STATE", _path, "state folder of `python -m workloads cluster`"))
    connect_timeout: float = field(default=5.0, metadata=_setting(
        "PARBENCH_CONNECT_TIMEOUT", _seconds, "seconds an engine waits for the Dask scheduler, "
        "Spark master or Ray head at its address to answer before it says so in one line"))
    timeout: float = field(default=1800.0, metadata=_setting(
        "PARBENCH_TIMEOUT", _seconds, "seconds a benchmark combination may run before asv ends "
        "it (reported as timed out)"))
    memory: int | None = field(default=None, metadata=_setting(
        "PARBENCH_MEMORY", _size, "memory budget of a run's whole process tree (e.g. 2GiB); "
        "past it the run ends as out of memory; default: none"))
    memory_enforcement: str = field(default="auto", metadata=_setting(
        "PARBENCH_MEMORY_ENFORCEMENT", _choice(ENFORCEMENTS), "how a memory budget is enforced: "
        "a cgroup where one can be made, else a watchdog (auto), or only one of them"))
    #: field name -> the variable it came from, or "default".
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, root: Path | None = None,
                 cores: int | None = None) -> Settings:
        """The settings of `env` (default: this process's environment); relative default
        folders are under `root` (default: the working directory)."""
        env = os.environ if env is None else env
        base = (root or Path.cwd()).absolute()
        values: dict[str, Any] = {
            "data": base / DEFAULT_DATA,
            "cluster_state": base / DEFAULT_CLUSTER_STATE,
            "workers": worker_counts(cores),
        }
        sources = {}
        for f in fields(cls):
            if "env" not in f.metadata:
                continue
            text = env.get(f.metadata["env"], "").strip()
            if text:
                values[f.name] = f.metadata["parse"](text, f.metadata["env"])
            sources[f.name] = f.metadata["env"] if text else "default"
        if sources["workers"] != "default":
            _check_worker_counts(values["workers"], values.get("max_workers"))
        return cls(**values, sources=sources)

    @staticmethod
    def variable(name: str) -> str:
        """The environment variable of setting `name` (for `export` lines)."""
        return {f.name: f.metadata["env"] for f in fields(Settings) if "env" in f.metadata}[name]

    def describe(self) -> list[dict[str, Any]]:
        """Every setting: name, variable, effective value, where it came from, what it does."""
        rows = []
        for f in fields(self):
            if "env" not in f.metadata:
                continue
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            rows.append({"setting": f.name, "variable": f.metadata["env"], "value": value,
                         "source": self.sources.get(f.name, "default"),
                         "help": f.metadata["help"]})
        return rows
