"""The verdict's notes, ties and single samples, on cells written by hand (values worked out in
each test's comments): the verdict the model computes and the row the page writes for it."""

from __future__ import annotations

import re
from html import unescape

import pytest

from reports import model, page

Times = dict[int, float | tuple[float, float, float, int]]


def cells(engine: str, times: Times, workload: str = "wordcount") -> list[model.Cell]:
    """One engine's successful cells at scale 1: workers → median, or (median, q25, q75, n);
    a bare median has a quartile 2% either side and 5 samples."""
    out = []
    for p, t in times.items():
        median, q25, q75, n = t if isinstance(t, tuple) else (t, 0.98 * t, 1.02 * t, 5)
        out.append(model.Cell("engines", engine, workload, "seconds", p, "1", model.OK, median,
                              q25, q75, n, commit="c" * 40, env="env"))
    return out


def verdict(*engines: list[model.Cell]) -> tuple[model.Verdict, str]:
    """The one verdict of these cells and its row of the page, as text (tags removed)."""
    all_cells = [c for cs in engines for c in cs]
    (v,) = model.verdicts(all_cells)
    report = model.MachineReport("m", {}, all_cells,
                                 identities=model.identities(all_cells, all_cells))
    html = page.verdict_table([v], page.Marks(report))
    return v, unescape(re.sub(r"<[^>]+>", " ", html))


def test_more_workers_not_worth_it() -> None:
    """dask-threads: T(1) = 1 s, T(2) = 1.2 s: S(2) = 1/1.2, E(2) = 0.42 < 0.5, so the
    parallel pick stays at 1 worker and says why."""
    v, row = verdict(cells("serial", {1: 2.0}), cells("dask-threads", {1: 1.0, 2: 1.2}))
    par = v.parallel
    assert (par.engine, par.workers, par.time) == ("dask-threads", 1, 1.0)
    assert par.note == "more workers not worth it: efficiency 0.42 at 2 workers"
    assert par.efficiency == pytest.approx(1.0)
    assert "more workers not worth it: efficiency 0.42 at 2 workers" in row
    assert "efficiency 1.00" not in row  # no efficiency shown for a 1-worker pick


def test_a_pick_below_the_fastest_count_names_the_fastest() -> None:
    """T(1) = 1, T(2) = 0.9 (E 0.56), T(4) = 0.6 (E 0.42): 2 workers are worth it, 4 are not;
    the pick is at 2 workers and notes the faster 4-worker time."""
    v, row = verdict(cells("serial", {1: 2.0}), cells("spark", {1: 1.0, 2: 0.9, 4: 0.6}))
    assert (v.parallel.workers, v.parallel.efficiency) == (2, pytest.approx(1 / 0.9 / 2))
    assert v.parallel.note == "fastest at 4 workers (600 ms, efficiency 0.42)"
    assert "efficiency 0.56" in row and "fastest at 4 workers (600 ms, efficiency 0.42)" in row
    # the fastest engine overall is spark at its fastest count, 2 / 0.6 = 3.33× over serial
    assert (v.fastest.engine, v.fastest.workers) == ("spark", 4)
    assert "3.33×" in row


def test_efficiency_unknown_without_a_one_worker_time() -> None:
    """ray at 2 and 4 workers only: no T(1), so no efficiency: the pick is its fastest count."""
    v, row = verdict(cells("serial", {1: 2.0}), cells("ray", {2: 0.8, 4: 0.5}))
    par = v.parallel
    assert (par.engine, par.workers, par.time) == ("ray", 4, 0.5)
    assert par.efficiency is None and par.note == "efficiency unknown: no 1-worker time"
    assert "efficiency unknown: no 1-worker time" in row and "efficiency 0." not in row


def test_a_tie_goes_to_the_first_name_and_is_too_close_to_call() -> None:
    """polars and duckdb both 0.5 s with the same quartiles: duckdb (first by name) is fastest,
    polars the runner-up at 1.00×, and their overlapping IQRs make it too close to call. Within
    an engine a tie goes to the fewer workers."""
    v, row = verdict(cells("polars", {1: 0.5}), cells("duckdb", {1: 0.5, 2: 0.5}))
    assert (v.fastest.engine, v.fastest.workers) == ("duckdb", 1)
    assert (v.runner_up.engine, v.runner_up.workers) == ("polars", 1)
    assert v.close and "1.00× the fastest" in row and "too close to call" in row


def test_apart_is_not_too_close_to_call() -> None:
    """Quartiles 0.49–0.51 and 0.58–0.62 do not overlap."""
    v, row = verdict(cells("polars", {1: 0.6}), cells("duckdb", {1: 0.5}))
    assert not v.close and "1.20× the fastest" in row and "too close to call" not in row


def test_single_samples_equal_are_too_close_to_call() -> None:
    """One sample each (asv's quartiles are then the sample itself), and the same time."""
    v, row = verdict(cells("polars", {1: (0.5, 0.5, 0.5, 1)}),
                     cells("duckdb", {1: (0.5, 0.5, 0.5, 1)}))
    assert v.close and "too close to call" in row
    assert row.count("a single sample: spread unknown") == 2 and row.count("⚠") == 2


def test_single_samples_apart_are_a_call_with_a_warning() -> None:
    """One sample each, 0.50 s and 0.51 s: no spread is known, so the quartiles (points) do not
    overlap and the page calls it, with each time flagged as a single sample."""
    v, row = verdict(cells("polars", {1: (0.51, 0.51, 0.51, 1)}),
                     cells("duckdb", {1: (0.5, 0.5, 0.5, 1)}))
    assert (v.fastest.engine, v.runner_up.engine, v.close) == ("duckdb", "polars", False)
    assert "too close to call" not in row and "1.02× the fastest" in row
    assert row.count("a single sample: spread unknown") == 2 and row.count("⚠") == 2
    assert v.fastest.cell.noise == "n = 1: a single sample, no spread known"
