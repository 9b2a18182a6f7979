"""`python -m datagen`: write synthetic datasets (`--scale N ...`) and the tutorial dataset.

examples:
    python -m datagen --scale 1 10            # data/scale-1, data/scale-10
    python -m datagen --scale 0.1 --out /tmp/d --workers 2 --formats csv
    python -m datagen --tutorial              # data/tutorial, the course's real files
    python -m datagen --scale 1 --force       # rewrite data/scale-1 even if it is up to date

Bad input ends the run before anything is written: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagen import GENERATOR, __version__, store
from workloads.layout import FORMATS, scale_dirname
from workloads.runtime import console, limits
from workloads.runtime.errors import EXIT_FAILED, ParbenchError
from workloads.runtime.settings import DEFAULT_DATA, Settings

PROG = "python -m datagen"
DEFAULT_SEED = 2022


class WriteFailed(ParbenchError):
    """A dataset could not be written (the disk, another run); nothing half-written is left."""

    exit_code = EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    p = console.ArgumentParser(prog=PROG,
                description="Write parbench datasets: synthetic data at any scale (folders "
                            "scale-N)\nand the tutorial's real data (folder tutorial).",
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--scale", nargs="+", metavar="N", default=[],
                   help="dataset size, 1 = the real data (138,490 words, 44,060 matches and "
                        "their goals); "
                        "several are allowed; fractions such as 0.1 too")
    p.add_argument("--tutorial", action="store_true",
                   help="write the tutorial dataset (the course's real files) as OUT/tutorial")
    p.add_argument("--out", default=DEFAULT_DATA, metavar="DIR",
                   help=f"folder that receives the datasets (default: {DEFAULT_DATA}/)")
    p.add_argument("--seed", default=str(DEFAULT_SEED), metavar="S",
                   help="random seed, a whole number >= 0; the same seed gives the same bytes "
                        f"(default: {DEFAULT_SEED})")
    p.add_argument("--workers", default=None, metavar="W",
                   help="generator processes (default: all cores, here "
                        f"{limits.default_workers()})")
    p.add_argument("--formats", default=",".join(FORMATS), metavar="LIST",
                   help="formats of the match and goal tables, comma-separated: csv, "
                        "parquet or csv,parquet (default: csv,parquet)")
    p.add_argument("--force", action="store_true",
                   help="rewrite datasets that are up to date, replace ones with other parameters")
    p.add_argument("--version", action="version", version=f"{GENERATOR} {__version__}")
    return p


@dataclass(frozen=True)
class Options:
    scales: tuple[float, ...]
    tutorial: bool
    out: Path
    seed: int
    workers: int
    formats: tuple[str, ...]
    force: bool


def _scale(text: str) -> float:
    from datagen.synthetic import MATCHES_PER_SCALE, MAX_SCALE, MIN_SCALE

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ParbenchError(f"--scale {text!r} is not a positive number: give a size such as "
                            "1 (the real data), 10 or 0.1")
    if value < MIN_SCALE:
        rows = round(MIN_SCALE * MATCHES_PER_SCALE)
        raise ParbenchError(f"--scale {text} is too small (under {rows} match rows): use "
                            f"{MIN_SCALE:g} or more")
    if value > MAX_SCALE:
        raise ParbenchError(f"--scale {text} is too large (over {MAX_SCALE:g} times the real "
                            f"data): use at most {MAX_SCALE:g}")
    return value


def _whole(option: str, text: str, minimum: int, example: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        kind = "positive" if minimum > 0 else "non-negative"
        raise ParbenchError(f"{option} {text!r} is not a {kind} whole number: give e.g. "
                            f"{option} {example}")
    return value


def _formats(text: str) -> tuple[str, ...]:
    asked = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in asked if f not in FORMATS]
    if unknown or not asked:
        what = f"unknown format {unknown[0]!r}" if unknown else "no format given"
        raise ParbenchError(f"--formats {text!r}: {what}: choose csv, parquet or csv,parquet")
    return tuple(f for f in FORMATS if f in asked)


def _check_out(out: Path) -> Path:
    """The existing folder where `out` is or will be created; ParbenchError if it cannot be."""
    here = out
    while not here.exists() and not here.is_symlink() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        where = "" if here == out else f" ({here} is a file)"
        raise ParbenchError(f"--out {out} is not a directory{where}: give a folder path "
                            "(it is created if missing)")
    try:  # try rather than os.access: it also catches read-only mounts, and root
        os.rmdir(tempfile.mkdtemp(prefix=".datagen-probe-", dir=here))
    except OSError as exc:
        raise ParbenchError(f"--out {out} is not writable ({exc.strerror or exc}): give a folder "
                            "you can write to") from None
    return here


def parse_args(argv: list[str] | None) -> Options:
    args = build_parser().parse_args(argv)
    scales = tuple(_scale(s) for s in args.scale)
    if not scales and not args.tutorial:
        raise ParbenchError("nothing to do: give --scale N [N ...] and/or --tutorial "
                            "(see python -m datagen --help)")
    workers = (limits.default_workers() if args.workers is None
               else _whole("--workers", args.workers, 1, "2"))
    limits.check_workers("datagen --workers", workers, Settings.from_env().max_workers)
    seed = _whole("--seed", args.seed, 0, str(DEFAULT_SEED))
    formats = _formats(args.formats)
    unique: dict[str, float] = {}
    for s in scales:
        unique.setdefault(scale_dirname(s), s)
    return Options(tuple(unique.values()), args.tutorial, Path(args.out), seed, workers,
                   formats, args.force)


# --------------------------------------------------------------------------- what to write


@dataclass
class Job:
    name: str
    params: dict[str, Any]
    estimated_bytes: float
    plan: Any = None  # synthetic.Plan, or None for the tutorial
    action: str = "write"  # "write", "replace" or "skip"
    note: str = ""


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k} {old.get(k)!r} instead of {new.get(k)!r}"
                     for k in keys if old.get(k) != new.get(k))


def _is_current(target: Path, params: dict[str, Any]) -> bool:
    manifest = store.read_manifest(target)
    return (manifest is not None and manifest["params"] == params
            and manifest["generator"] == {"name": GENERATOR, "version": __version__}
            and not store.damaged_files(target))


def decide(job: Job, out: Path, force: bool) -> None:
    """Set `job.action`: skip an up-to-date dataset, refuse to overwrite others without force."""
    target = out / job.name
    if not target.exists() and not target.is_symlink():
        return
    manifest = store.read_manifest(target)
    if manifest is None:
        if not force:
            raise ParbenchError(f"{target} exists but is not a complete dataset: move it away or "
                                "add --force to replace it")
        job.action, job.note = "replace", "replaced an incomplete folder"
        return
    same_version = manifest["generator"] == {"name": GENERATOR, "version": __version__}
    if manifest["params"] != job.params:
        if not force:
            raise ParbenchError(f"{target} holds a dataset with other parameters "
                                f"({_differences(manifest['params'], job.params)}): "
                                "add --force to replace it, or choose another --out")
        job.action, job.note = "replace", "replaced (other parameters)"
    elif not same_version:
        job.action = "replace"
        job.note = (f"replaced (it was written by generator version "
                    f"{manifest['generator'].get('version')})")
    elif damaged := store.damaged_files(target):
        job.action = "replace"
        job.note = f"replaced (damaged: {len(damaged)} files differ, first {damaged[0]})"
    elif force:
        job.action, job.note = "replace", "rewritten (--force)"
    else:
        job.action = "skip"


def plan_jobs(opts: Options) -> list[Job]:
    from datagen import synthetic, tutorial_dataset

    jobs = []
    for s in opts.scales:
        plan = synthetic.make_plan(s, opts.seed, opts.formats)
        jobs.append(Job(plan.name, plan.params, plan.estimated_bytes, plan))
    if opts.tutorial:
        jobs.append(Job(tutorial_dataset.NAME, tutorial_dataset.params(opts.formats),
                        tutorial_dataset.estimated_bytes(opts.formats)))
    return jobs


def _gb(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9)):
        if n >= size / 10:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1e6:.1f} MB"


def check_space(jobs: list[Job], here: Path) -> None:
    need = sum(j.estimated_bytes for j in jobs if j.action != "skip")
    free = shutil.disk_usage(here).free
    if need * 1.05 + 2**24 > free:
        raise ParbenchError(f"not enough free space at {here}: the datasets need about "
                            f"{_gb(need)}, {_gb(free)} is free: free some space, choose another "
                            "--out or a smaller --scale")


# --------------------------------------------------------------------------- main


def _size(files: dict[str, Any]) -> int:
    return sum(f["bytes"] for f in files.values())


def run(opts: Options, jobs: list[Job]) -> None:
    from datagen import generate, synthetic, tutorial_dataset

    opts.out.mkdir(parents=True, exist_ok=True)
    for stale in store.clean_stale(opts.out):
        print(f"removed {stale}, left by an interrupted run", file=sys.stderr)
    with generate.Runner(opts.workers) as runner:
        if any(job.plan is not None and job.action != "skip" for job in jobs):
            # load the real data once, then fork the workers (which inherit it): the time
            # printed for each dataset below is its generation alone
            synthetic.preload(opts.formats, [j.plan for j in jobs
                                             if j.plan is not None and j.action != "skip"])
            runner.start()
        for job in jobs:
            target = opts.out / job.name
            if job.action == "skip":
                print(f"{job.name}: up to date ({target})")
                continue
            t0 = time.perf_counter()
            replace = job.action == "replace"
            try:
                if job.plan is None:
                    doc = tutorial_dataset.tutorial_dataset(opts.out, opts.formats, replace)
                else:
                    doc = generate.synthetic_dataset(job.plan, opts.out, runner, replace)
            except FileExistsError:
                # another run wrote this dataset meanwhile: fine if it is the one asked for
                if not _is_current(target, job.params):
                    raise
                print(f"{job.name}: up to date ({target}, written meanwhile by another run)")
                continue
            dt = time.perf_counter() - t0
            size = _size(doc["files"])
            note = f"; {job.note}" if job.note else ""
            print(f"{job.name}: wrote {len(doc['files'])} files, {size / 1e6:.1f} MB in "
                  f"{dt:.2f} s ({size / 1e6 / max(dt, 1e-9):.1f} MB/s, {opts.workers} workers)"
                  f"{note} -> {target}")


def main(argv: list[str] | None = None) -> int:
    return console.run(PROG, lambda: generate(argv),
                       interrupted="interrupted; no partial dataset was left behind")


def generate(argv: list[str] | None) -> int:
    opts = parse_args(argv)
    here = _check_out(opts.out)
    jobs = plan_jobs(opts)
    for job in jobs:
        decide(job, opts.out, opts.force)
    check_space(jobs, here)
    try:
        run(opts, jobs)
    except FileExistsError as exc:
        raise WriteFailed(f"{exc.filename} was written by another run meanwhile: run again to "
                          "check it, or add --force to replace it") from None
    except OSError as exc:
        raise WriteFailed(f"cannot write {exc.filename or opts.out}: "
                          f"{exc.strerror or exc}") from None
    return 0
