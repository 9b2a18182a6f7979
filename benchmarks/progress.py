"""`python -m benchmarks.progress --machine NAME -- asv run ...`: run asv, say how far it has got.

asv runs every benchmark × parameter combination in a process of its own and says little while a
long run goes on. This runner counts the combinations the command will run (from the suite and
its `-b` filters), follows the `start` record each benchmark process writes
(`benchmarks/outcomes.py`), and prints one line per combination: k of N, the time elapsed and an
estimate of what is left. At the end it prints the wall time and how many combinations were ok,
failed (or timed out) and skipped, from the results asv stored.
"""

from __future__ import annotations

import importlib
import itertools
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from reports import load, model, sidecar
from workloads.runtime import console
from workloads.runtime.errors import ParbenchError

PROG = "python -m benchmarks.progress"
#: The suite's modules: asv's benchmark files in this folder (`bench_*.py`).
SUITE = tuple(f"{__package__}.{path.stem}" for path in
              sorted(Path(__file__).parent.glob(f"{sidecar.MODULE_PREFIX}*.py")))
POLL_SECONDS = 1.0


def combinations(patterns: list[str]) -> list[str]:
    """asv's names of the benchmark × parameter combinations a run with `-b patterns` runs."""
    found = []
    for module_name in SUITE:
        module = importlib.import_module(module_name)
        short = module_name.split(".", 1)[1]
        for cls_name, cls in vars(module).items():
            if cls_name.startswith("_") or not isinstance(cls, type):
                continue
            for attr in dir(cls):
                method = getattr(cls, attr)
                name = f"{short}.{cls_name}.{attr}"
                if not (attr.startswith(sidecar.BENCHMARK_PREFIXES) and callable(method)):
                    continue
                params = getattr(method, "params", None) or getattr(cls, "params", None)
                # as asv selects: a parameterised benchmark's pattern is matched against each
                # combination's name, `name(2, '150')`, with the parameters as their reprs
                keys = ([f"{name}({', '.join(map(repr, c))})" for c in itertools.product(*params)]
                        if params else [name])
                found += [name for key in keys
                          if not patterns or any(re.search(p, key) for p in patterns)]
    return found


def _option_values(argv: list[str], *names: str) -> list[str]:
    values = []
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                values.append(argv[i + 1])
            elif arg.startswith(name + "="):
                values.append(arg.split("=", 1)[1])
    return values


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _new_records(folder: Path, offsets: dict[Path, int]) -> list[dict]:
    """The records appended to the sidecar files in `folder` since `offsets` (updated)."""
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, "rb") as f:
            f.seek(offsets.get(path, 0))
            chunk = f.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]
        offsets[path] = offsets.get(path, 0) + len(complete)
        records += [json.loads(line) for line in complete.splitlines()]
    return records


def run(command: list[str], folder: Path, total: int) -> tuple[int, float]:
    """Run `command`, printing a line per combination started; its exit status and wall time."""
    offsets = {path: path.stat().st_size for path in folder.glob("*.jsonl")}
    began = time.monotonic()
    seen = 0
    benchmark = None
    proc = subprocess.Popen(command)
    while True:
        done = proc.poll() is not None
        for record in _new_records(folder, offsets):
            if record.get("event") == "start":
                seen += 1
                elapsed = time.monotonic() - began
                left = elapsed / seen * max(total - seen, 0) if seen > 1 else None
                estimate = f", about {_minutes(left)} left" if left is not None else ""
                what = ".".join(filter(None, (record["benchmark"], record.get("method"))))
                # asv ends its line naming a benchmark only when all its combinations are done.
                lead = "\n" if what != benchmark else ""
                benchmark = what
                print(f"{lead}[{seen}/{total}] {_minutes(elapsed)} elapsed{estimate}: "
                      f"{what} ({', '.join(record['params'])})",
                      file=sys.stderr, flush=True)
        if done:
            return proc.returncode, time.monotonic() - began
        time.sleep(POLL_SECONDS)


def summary(results: Path, machine: str, since: float) -> Counter[str]:
    """Statuses of the combinations asv stored for `machine` since `since` (Unix time)."""
    cells = load.stored_cells(results, machine)
    return Counter("skipped" if c.status == model.SKIPPED else
                   "ok" if c.status == model.OK else "failed or timed out"
                   for c in cells if c.started_at is not None and c.started_at >= since - 1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv

    def go() -> int:
        if "--" not in argv:
            raise ParbenchError("usage: python -m benchmarks.progress --machine NAME "
                                "[--results DIR] -- asv run ...")
        own, command = argv[:argv.index("--")], argv[argv.index("--") + 1:]
        machine = (_option_values(own, "--machine") or [None])[0]
        results = Path((_option_values(own, "--results") or [".asv/results"])[0])
        if machine is None:
            raise ParbenchError("--machine NAME is needed (the machine asv records)")
        total = len(combinations(_option_values(command, "-b", "--bench")))
        outcomes = sidecar.folder(results) / sidecar.OUTCOMES_DIR
        outcomes.mkdir(parents=True, exist_ok=True)
        since = time.time()
        print(f"asv: {total} combinations to run", file=sys.stderr, flush=True)
        status, wall = run(command, outcomes, total)
        counts = summary(results, machine, since)
        print(f"asv: {_minutes(wall)} in all; " + ", ".join(
            f"{counts[k]} {k}" for k in ("ok", "failed or timed out", "skipped")),
            file=sys.stderr, flush=True)
        return status

    return console.run(PROG, go)


if __name__ == "__main__":
    sys.exit(main())
