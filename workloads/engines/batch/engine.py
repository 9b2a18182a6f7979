"""batch: the tutorial's first option. Split the data into shards, run one independent job per
shard, merge the partial answers.

The input files are grouped into one shard per worker; a job is a fresh
`python -m workloads.engines.batch.job JOB INDEX` process that reads its shard and pickles its
partial answer into the job folder. Two backends run the job array: `local` (at
most `workers` jobs at a time on this machine) and `slurm` (`sbatch --array=0-(n-1)%workers`, the
job folder on a file system every node can read). `team_ratings` is one array per pass, each job
given the previous pass's ratings, as a batch user would chain jobs.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workloads import spec
from workloads.data import frames
from workloads.data.dataset import Input
from workloads.data.readers import missing_file
from workloads.engines.base import Availability, Engine
from workloads.runtime import limits, scratch
from workloads.runtime.errors import JobFailed, ParbenchError, last_error_line
from workloads.runtime.project import CODE_ROOT
from workloads.runtime.settings import Settings

SLURM_POLL_SECONDS = 0.2

# --------------------------------------------------------------------------- backends


class LocalBackend:
    """Each job a fresh process, at most `workers` at a time: a job array on one machine."""

    name = "local"

    def __init__(self) -> None:
        self.running: list[subprocess.Popen] = []

    def run_array(self, job_dir: Path, n: int, workers: int) -> None:
        pending = list(range(n))
        failed: list[int] = []
        procs: dict[int, subprocess.Popen] = {}
        while pending or procs:
            while pending and len(procs) < workers:
                i = pending.pop(0)
                with open(job_dir / f"task-{i}.log", "wb") as log:
                    procs[i] = subprocess.Popen(task_command(job_dir, i), stdout=log,
                                                stderr=subprocess.STDOUT, env=job_env())
            self.running = list(procs.values())
            for i, p in list(procs.items()):
                if p.poll() is not None:
                    del procs[i]
                    if p.returncode != 0:
                        failed.append(i)
            time.sleep(0.005)
        self.running = []
        if failed:
            raise task_failure(job_dir, failed)

    def cancel(self) -> None:
        for p in self.running:
            p.kill()
            p.wait()
        self.running = []


class SlurmBackend:
    """`sbatch --array=0-(n-1)%workers`, then poll until the array has left the queue.

    We poll `squeue` ourselves: `sbatch --wait` checks after 2, 10, then 42 s, which would add up
    to tens of seconds to every timed job. The job folder must be shared with the nodes
    (the `batch_dir` setting); a task's success is its output file, written whole at its end.
    """

    name = "slurm"

    def __init__(self) -> None:
        for tool in ("sbatch", "squeue", "scancel"):
            if shutil.which(tool) is None:
                raise ParbenchError(f"{Settings.variable('batch_backend')}=slurm but {tool} is "
                                    "not on PATH: install "
                                    "Slurm (.ci/install-slurm.sh) and start it with "
                                    "`python -m workloads cluster up slurm`")
        self.job_id: str | None = None

    def run_array(self, job_dir: Path, n: int, workers: int) -> None:
        command = " ".join(task_command(job_dir, "$SLURM_ARRAY_TASK_ID"))
        submit = ["sbatch", "--parsable", f"--array=0-{n - 1}%{workers}", "--job-name=parbench",
                  "--cpus-per-task=1", f"--chdir={job_dir}", f"--output={job_dir}/task-%a.log",
                  "--wrap", command]
        proc = subprocess.run(submit, capture_output=True, text=True, env=job_env())
        if proc.returncode != 0:
            raise JobFailed(f"sbatch failed: {last_error_line(proc.stderr)}")
        self.job_id = proc.stdout.strip().split(";")[0]
        while self._queued():
            time.sleep(SLURM_POLL_SECONDS)
        self.job_id = None
        failed = [i for i in range(n) if not (job_dir / f"out-{i}.pkl").is_file()]
        if failed:
            raise task_failure(job_dir, failed)

    def _queued(self) -> bool:
        proc = subprocess.run(["squeue", "-h", "-o", "%i", "-j", str(self.job_id)],
                              capture_output=True, text=True)
        # squeue forgets a finished job (non-zero exit, "Invalid job id") or lists nothing
        return proc.returncode == 0 and bool(proc.stdout.strip())

    def cancel(self) -> None:
        if self.job_id:
            subprocess.run(["scancel", self.job_id], capture_output=True)
            self.job_id = None


#: The module each job runs as.
JOB_MODULE = "workloads.engines.batch.job"


def task_command(job_dir: Path, index: int | str) -> list[str]:
    return [sys.executable, "-m", JOB_MODULE, str(job_dir / "job.json"), str(index)]


def job_env() -> dict[str, str]:
    """The environment of a job: this one, with this project importable and one thread for
    Arrow and numpy (OMP_NUM_THREADS, as for a Slurm task with one CPU): one job, one core."""
    root = str(CODE_ROOT)
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root,
            "OMP_NUM_THREADS": "1"}


def task_failure(job_dir: Path, failed: list[int]) -> JobFailed:
    i = failed[0]
    log = job_dir / f"task-{i}.log"
    last = ""
    if log.is_file():
        last = f": {last_error_line(log.read_text(errors='replace'))}"
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return JobFailed(f"batch array task {i}{more} failed{last}; see its log {log}")


BACKENDS = {"local": LocalBackend, "slurm": SlurmBackend}


def groups(items: list[Any], n: int) -> list[list[Any]]:
    """`items` in at most `n` contiguous groups of near-equal size."""
    k = min(n, len(items))
    bounds = [round(i * len(items) / k) for i in range(k + 1)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def shard(paths: tuple[str, ...], n: int) -> list[list[str]]:
    """`paths` in at most `n` contiguous groups of near-equal size (absolute paths)."""
    return groups([p if "://" in p else os.path.abspath(p) for p in paths], n)


# --------------------------------------------------------------------------- the engine


class BatchEngine(Engine):
    name = "batch"
    spans_hosts = True  # as a Slurm job array
    cluster_kind = "slurm"
    processes_per_worker = 1

    def __init__(self, workers: int = 1, settings: Settings | None = None) -> None:
        super().__init__(workers, settings)
        self.root: Path | None = None
        self.jobs = 0

    @property
    def on_this_machine(self) -> bool:
        return self.settings.batch_backend == "local"

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        backend = (settings or Settings.from_env()).batch_backend
        if backend == "slurm" and shutil.which("sbatch") is None:
            return Availability(False, f"{Settings.variable('batch_backend')}=slurm but sbatch "
                                "is not on PATH: run .ci/install-slurm.sh, then "
                                "`python -m workloads cluster up slurm`")
        return Availability(True, versions={"backend": backend})

    def start(self) -> None:
        self.backend = BACKENDS[self.settings.batch_backend]()
        base = self.settings.batch_dir  # a shared folder for a multi-node Slurm
        if base:
            base.mkdir(parents=True, exist_ok=True)
        self.root = scratch.folder("batch", within=base)
        super().start()

    def stop(self) -> None:
        if self.root is not None:
            self.backend.cancel()
            scratch.remove(self.root)  # not if kept: an error names a log in it
            self.root = None
        super().stop()

    def _shards(self, inp: Input) -> list[list[list[list[Any]]]]:
        """A shard of `inp`'s files per worker, as the chunks its job reads one at a time
        (`job`): all its files at once; under a memory budget one piece of a file after the
        other (`frames.pieces` of `limits.block_bytes`), so that a job holds one piece."""
        for path in inp.paths:
            if "://" not in path and not Path(path).exists():
                raise missing_file(path)
        most = limits.block_bytes(self.settings.memory, self.workers)
        if most is None:
            return [[[[path, None] for path in paths]] for paths in shard(inp.paths, self.workers)]
        return [[[[path, span]] for path, span in frames.pieces(paths, inp.fmt, most)]
                for paths in shard(inp.paths, self.workers)]

    def _array(self, task: str, inp: Input, **args: Any) -> list[Any]:
        """Run `task` over every shard of `inp` as one job array; the partial answers in order."""
        return self._run_array(task, self._shards(inp), inp.fmt, args)

    def _run_array(self, task: str, shards: list[list[list[list[Any]]]], fmt: str,
                   args: dict[str, Any]) -> list[Any]:
        """One job array, a job per shard (a list of chunks of pieces `[path, span]`); the
        jobs' partial answers in order."""
        assert self.root is not None
        self.jobs += 1
        job_dir = self.root / f"job-{self.jobs}"
        job_dir.mkdir()
        job = {"task": task, "shards": shards, "fmt": fmt, "args": args, "dir": str(job_dir)}
        (job_dir / "job.json").write_text(json.dumps(job))
        try:
            self.backend.run_array(job_dir, len(shards), self.workers)
        except JobFailed:
            scratch.keep(self.root)  # the error names a log in this folder: stop() leaves it
            raise
        parts = [pickle.loads((job_dir / f"out-{i}.pkl").read_bytes())
                 for i in range(len(shards))]
        shutil.rmtree(job_dir, ignore_errors=True)
        return parts

    def wordcount(self, text: Input) -> spec.WordCounts:
        return spec.merge_counts(self._array("wordcount", text))

    def mean_home_score(self, matches: Input) -> float:
        total, n = np.sum(self._array("mean_home_score", matches), axis=0)
        return float(total / n)

    def home_advantage(self, matches: Input) -> int:
        return sum(self._array("home_advantage", matches))

    def _records(self, matches: Input) -> pd.DataFrame:
        parts = self._array("team_records", matches)
        return pd.concat(parts).groupby(level=0).sum()

    def team_records(self, matches: Input) -> spec.TeamRecords:
        return frames.records_answer(self._records(matches))

    def team_ratings(self, matches: Input) -> spec.Ratings:
        played = self._records(matches)["played"].sort_index()
        teams = played.index
        ratings = np.zeros(len(teams))
        for _ in range(spec.RATING_PASSES):
            grads = self._array("rating_pass", matches, teams=teams.tolist(),
                                ratings=ratings.tolist())
            ratings = frames.step(ratings, np.sum(grads, axis=0), played.to_numpy())
        return frames.ratings_answer(teams, ratings)

    def _shuffled(self, first: dict[str, Input], second: str,
                  then: str | None = None) -> list[Any]:
        """Two arrays with a shuffle through files between them: for each (task, input) of
        `first`, an array that writes its rows into one file per bucket of their key (as many
        buckets as workers); then the array `second`, a job per bucket reading its files. Under
        a memory budget a bucket per piece or so (`limits.shuffle_partitions`), dealt to
        `workers` jobs that take them one at a time; and, given `then`, `second` writes its
        output into buckets again, which a third array, `then`, reads."""
        assert self.root is not None
        exchange = scratch.folder("exchange", within=self.root)
        try:
            shards = {task: self._shards(inp) for task, inp in first.items()}
            buckets = self.workers
            if self.settings.memory is not None:
                pieces = max(sum(map(len, s)) for s in shards.values())
                buckets = limits.shuffle_partitions(pieces, self.workers)
            args = {"exchange": str(exchange / "1"), "buckets": buckets}
            (exchange / "1").mkdir()
            for task, inp in first.items():
                self._run_array(task, shards[task], inp.fmt, args)
            if then is None or self.settings.memory is None:
                return self._run_array(second, _by_bucket(exchange / "1", buckets, self.workers),
                                       "pickle", {})
            (exchange / "2").mkdir()
            self._run_array(second, _by_bucket(exchange / "1", buckets, self.workers), "pickle",
                            {**args, "exchange": str(exchange / "2")})
            return self._run_array(then, _by_bucket(exchange / "2", buckets, self.workers),
                                   "pickle", {})
        finally:
            scratch.remove(exchange)

    def unbeaten_streaks(self, matches: Input) -> spec.Streaks:
        runs = self._shuffled({"streak_sides": matches}, "longest_runs")
        return {team: int(n) for part in runs for team, n in part.items()}

    def top_scorers(self, goals: Input, matches: Input) -> spec.TopScorers:
        """The join per bucket of the match key, then the (tournament, scorer) counts summed
        here; under a memory budget, where the counts can outgrow it (millions of scorers),
        they go into buckets by (tournament, scorer) instead, and a third array gives each
        bucket's candidates per tournament, of which the top is picked here."""
        parts = self._shuffled({"scoring_goals": goals, "fixtures": matches}, "joined_goals",
                               then="pair_tops")
        if self.settings.memory is not None:
            return frames.top_scorers(pd.concat(parts))
        return frames.top_scorers(pd.concat(parts).groupby(level=[0, 1]).sum())


def _by_bucket(exchange: Path, buckets: int, workers: int) -> list[list[list[list[Any]]]]:
    """The files of an exchange folder by bucket, a chunk each, dealt to `workers` jobs."""
    files = sorted(str(p) for p in exchange.iterdir())
    return groups([[[f, None] for f in files if f"-bucket-{b:05d}-" in Path(f).name]
                   for b in range(buckets)], workers)
