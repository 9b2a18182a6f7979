"""Running the part tasks of a dataset in parallel and assembling its manifest."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed, wait
from pathlib import Path
from typing import Any

import numpy as np

from datagen import GENERATOR, __version__, answers, goals, model, store, synthetic
from workloads.layout import GOALS, MANIFEST_FORMAT, MATCHES, TEXT

Task = tuple[Callable[..., Any], tuple[Any, ...]]


def _limit_threads() -> None:
    """One worker, one core: keep Arrow from starting thread pools of its own."""
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the parent died (even by SIGKILL): stop writing
            os._exit(1)


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    _limit_threads()
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


def _context() -> Any:
    # fork lets workers inherit the loaded model; elsewhere each worker loads it once
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class Runner:
    """Runs part tasks: in this process for one worker, else in a pool of worker processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(cancel=exc[0] is not None)

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None

    def start(self) -> None:
        """Start the worker processes now, before this process starts any thread of its own
        (a progress bar's monitor, say): forking a multi-threaded process is unsafe."""
        if self.workers > 1 and self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_context(),
                                             initializer=_init_worker)
            self._pool.submit(int).result()  # launches the workers

    def run(self, tasks: Sequence[Task], done: Callable[[Any], None]) -> list[Any]:
        """Results of `tasks` in their order; `done(result)` is called as each finishes."""
        if self.workers == 1 or len(tasks) == 1:
            _limit_threads()
            results = []
            for fn, args in tasks:
                results.append(fn(*args))
                done(results[-1])
            return results
        self.start()
        assert self._pool is not None
        futures: list[Future] = [self._pool.submit(fn, *args) for fn, args in tasks]
        try:
            for f in as_completed(futures):
                done(f.result())  # raises the first failure
        except BaseException:
            # let running tasks end before the caller removes the folder they write into
            for f in futures:
                f.cancel()
            wait(futures)
            raise
        return [f.result() for f in futures]


class Progress:
    """A tqdm bar on stderr (only on a terminal, and only once a run lasts over a second)."""

    def __init__(self, name: str, total_bytes: float, enabled: bool | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=max(int(total_bytes), 1), desc=name, unit="B", unit_scale=True,
                        file=sys.stderr, delay=1.0, leave=False, dynamic_ncols=True,
                        disable=None if enabled is None else not enabled)

    def __call__(self, result: Any) -> None:
        self.bar.update(sum(f["bytes"] for f in result.files.values()))

    def close(self) -> None:
        self.bar.close()


def manifest(name: str, params: dict[str, Any], files: dict[str, Any], counts: dict[str, int],
             answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "name": name,
        "generator": {"name": GENERATOR, "version": __version__},
        "params": params,
        "files": files,
        "counts": counts,
        "answers": answer,
    }


@contextlib.contextmanager
def partial_folder(out: Path, name: str):
    """A fresh hidden folder to write dataset `name` into; removed unless it was moved away."""
    partial = store.partial_path(out, name)
    shutil.rmtree(partial, ignore_errors=True)
    (partial / TEXT).mkdir(parents=True)
    (partial / MATCHES).mkdir()
    (partial / GOALS).mkdir()
    try:
        yield partial
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)


def synthetic_dataset(plan: synthetic.Plan, out: Path, runner: Runner, replace: bool,
                      progress: bool | None = None) -> dict[str, Any]:
    """Generate dataset `plan` at `out/plan.name`; return its manifest.

    Two rounds of tasks: the match parts (each draws its goals into a scratch file), then the
    text parts and the goal parts (each gathers its goals from every scratch file).
    """
    synthetic.preload(plan.formats, [plan])
    runner.start()
    with partial_folder(out, plan.name) as partial:
        bar = Progress(plan.name, plan.estimated_bytes, progress)
        try:
            match_results: list[synthetic.MatchResult] = runner.run(
                [(synthetic.match_part, (plan, k, str(partial)))
                 for k in range(plan.match_parts)], bar)
            cuts = goals.cut([r.drawn.team_goals for r in match_results], plan.goal_parts)
            tasks: list[Task] = [(goals.goal_part, (plan, g, cut, str(partial)))
                                 for g, cut in enumerate(cuts)]
            tasks += [(synthetic.text_part, (plan, k, str(partial)))
                      for k in range(plan.text_parts)]
            results = runner.run(tasks, bar)
        finally:
            bar.close()
        shutil.rmtree(partial / goals.SCRATCH)
        text_results = [r for r in results if isinstance(r, synthetic.TextResult)]

        tm, real = model.text_model(), model.real_matches()
        word_counts = np.sum([r.counts for r in text_results], axis=0)
        weights = np.sum([r.rows for r in match_results], axis=0)
        if int(word_counts.sum()) != plan.words or int(weights.sum()) != plan.matches:
            raise RuntimeError(f"{plan.name}: parts hold {int(word_counts.sum())} words and "
                               f"{int(weights.sum())} matches, not {plan.words} and "
                               f"{plan.matches}")
        streaks = match_results[0].streaks
        for r in match_results[1:]:
            streaks = streaks.then(r.streaks)
        drawn = [r.drawn for r in match_results]
        answer = answers.answers(answers.Tables(
            tm.words, word_counts, real.teams, real.home, real.away, real.home_score,
            real.away_score, real.neutral, weights, streaks,
            answers.ScorerGoals.merge([d.scorer_goals for d in drawn]), real.tournaments,
            goals.scorer_name))
        files: dict[str, Any] = {}
        for r in [*match_results, *results]:
            files.update(r.files)
        counts = {"words": plan.words, "lines": sum(r.lines for r in text_results),
                  "matches": plan.matches, "teams": len(answer["team_records"]),
                  "goals": sum(d.goals for d in drawn),
                  "scorers": goals.distinct_scorers(plan, drawn)}
        doc = manifest(plan.name, plan.params, files, counts, answer)
        store.finish(partial, out / plan.name, doc, replace)
    return doc
