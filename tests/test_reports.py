"""Reports: formulas against hand values; a report from hand-written asv result files (every
derived number checked by hand); a report from real asv runs (two commits, two environments,
another scale) with the benchmarks' failure records; the page in headless Chromium."""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

import pytest
from conftest import require

from reports import metrics, model
from reports.__main__ import main
from reports.load import load_machine, versions_path
from reports.sidecar import NO_RECORD, engine_of_suite, suite_name
from workloads import engines

ROOT = Path(__file__).resolve().parents[1]
NAN = float("nan")

# --- formulas against values worked out by hand -------------------------------------------------


def test_speedup_efficiency_karp_flatt_by_hand() -> None:
    # T(p) = 8 (0.2 + 0.8/p): 8, 4.8, 3.2, 2.4 seconds.
    times = {1: 8.0, 2: 4.8, 4: 3.2, 8: 2.4}
    assert metrics.speedup(times) == pytest.approx({1: 1.0, 2: 5 / 3, 4: 2.5, 8: 10 / 3})
    assert metrics.efficiency(metrics.speedup(times)) == pytest.approx(
        {1: 1.0, 2: 0.8333333, 4: 0.625, 8: 0.4166667})
    # e = (1/S - 1/p) / (1 - 1/p): at p = 2, (0.6 - 0.5) / 0.5 = 0.2; at 8, (0.3 - 0.125)/0.875.
    assert metrics.karp_flatt_curve(metrics.speedup(times)) == pytest.approx(
        {2: 0.2, 4: 0.2, 8: 0.2})
    assert metrics.karp_flatt(0.5, 2) == pytest.approx(3.0)  # slower on 2 workers: e > 1
    assert math.isnan(metrics.karp_flatt(1.0, 1))
    assert metrics.workers_worth_it(metrics.speedup(times)) == 4  # 0.625 ≥ 0.5 > 0.417
    assert metrics.workers_worth_it({1: 1.0, 4: 2.0}) == 4  # exactly 0.5 counts
    assert metrics.speedup({2: 1.0}) == {}  # no T(1): no speedup
    assert metrics.karp_flatt_meaningful([1, 2, 4]) and not metrics.karp_flatt_meaningful([1, 2])
    assert not metrics.karp_flatt_meaningful([2, 4, 8])


def test_speedup_over_baseline_and_best() -> None:
    assert metrics.speedup_over(6.0, {1: 3.0, 2: 1.5}) == {1: 2.0, 2: 4.0}
    assert metrics.speedup_over(None, {1: 3.0}) == {}
    assert metrics.best_time({1: 3.0, 2: 1.0, 4: 1.0}) == (2, 1.0)
    assert metrics.best_time({}) is None


def test_quartiles_and_noise_by_hand() -> None:
    # Linear interpolation between order statistics, as asv: position (n - 1) q.
    assert metrics.quantile([4, 1, 3, 2], 0.25) == pytest.approx(1.75)  # 1 + 0.75 (2 - 1)
    assert metrics.quantile([4, 1, 3, 2], 0.5) == pytest.approx(2.5)
    assert metrics.quantile([4, 1, 3, 2], 0.75) == pytest.approx(3.25)
    assert metrics.summarize([5.0, 180.0]) == metrics.Summary(92.5, 48.75, 136.25, 2)
    assert math.isnan(metrics.quantile([], 0.5))
    assert metrics.noise(1, 2.0, 2.0, 2.0).startswith("n = 1")
    assert metrics.noise(5, 4.0, 3.8, 4.8) == "noisy: IQR is 25% of the median"
    assert metrics.noise(5, 4.0, 3.9, 4.1) is None
    assert metrics.overlap((0.29, 0.31), (0.28, 0.36)) and not metrics.overlap((1, 2), (3, 4))


def test_growth_exponent_and_crossover_by_hand() -> None:
    assert metrics.growth_exponent({0.1: 0.3 * 0.1**1.5, 10: 0.3 * 10**1.5}) == pytest.approx(1.5)
    assert metrics.growth_exponent({1: 2.0, 10: 20.0}) == pytest.approx(1.0)
    assert metrics.growth_exponent({1: 4.0, 10: 4.0}) == pytest.approx(0.0)
    assert math.isnan(metrics.growth_exponent({1: 2.0}))
    serial = {0.1: 1.0, 1: 10.0, 10: 100.0}
    assert metrics.crossover({0.1: 5.0, 1: 8.0, 10: 20.0}, serial) == 1
    assert metrics.crossover({0.1: 0.5, 1: 5.0, 10: 50.0}, serial) == 0.1  # always faster
    assert metrics.crossover({0.1: 2.0, 1: 20.0, 10: 200.0}, serial) is None  # never
    assert metrics.crossover({0.1: 0.5, 1: 20.0, 10: 50.0}, serial) == 10  # from 10 on
    assert metrics.crossover({1: 1.0}, {10: 5.0}) is None  # nothing in common


def test_crossings_by_hand() -> None:
    # pandas T = 0.5 x, spark T = 4: equal at x = 8; the chart's log-log line is exact here.
    cross = metrics.crossings({"pandas": {1: 0.5, 10: 5.0}, "spark": {1: 4.0, 10: 4.0}})
    assert cross == [metrics.Crossing(1, 10, "pandas", "spark", pytest.approx(8.0))]
    # a: T = x; b: T = 4: cross at 4 between sizes 1 and 10 (not at a measured size).
    assert metrics.crossings({"a": {1: 1, 10: 10}, "b": {1: 4, 10: 4}})[0].at == \
        pytest.approx(4.0)
    # The new winner was not measured at the smaller size: where they cross is unknown.
    assert metrics.crossings({"a": {1: 1, 10: 10}, "b": {10: 4}})[0].at is None
    assert metrics.crossings({"a": {1: 1, 10: 10}, "b": {1: 2, 10: 20}}) == []
    assert metrics.winners({"a": {1: 1, 10: 10}, "b": {1: 2, 10: 5}}) == {1: "a", 10: "b"}


def test_engine_names() -> None:
    """Every registered engine's benchmark class names it again, known or not; a name that
    kebab case cannot give back is found among the known ones."""
    for name in engines.names():
        assert engine_of_suite(suite_name(name)) == name
        assert engine_of_suite(suite_name(name), engines.names()) == name
    assert engine_of_suite("DaskThreads") == "dask-threads"
    assert engine_of_suite("DuckDB") == "duckdb"
    assert suite_name("spark-3") == "Spark3" and engine_of_suite("Spark3") == "spark3"
    assert engine_of_suite("Spark3", ["spark", "spark-3"]) == "spark-3"


def test_report_imports_no_engine() -> None:
    """The report reads results: building a page imports neither the engine registry nor any
    engine (nor, through them, a framework)."""
    code = ("import sys, reports.__main__, reports.build, reports.load, reports.page\n"
            "print(sorted(m for m in sys.modules if m.startswith('workloads.engines')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_engines_known_from_the_versions_file(tmp_path: Path) -> None:
    """The engines the report knows are the versions file's: a class whose engine name kebab
    case cannot give back is named as the file names it, and a listed engine without results is
    not measured."""
    results = tmp_path / ".asv" / "results"
    write_hand(results, {"bench_engines.Serial.time_wordcount": {(1, "1"): (2.0, 2.0, 2.0, 3)},
                         "bench_engines.Spark3.time_wordcount": {(1, "1"): (1.0, 1.0, 1.0, 3)}})
    m = load_machine(results, "handbox")
    assert {c.engine for c in m.cells} == {"serial", "spark3"} and m.not_measured == []
    versions_path(results, "handbox").write_text(json.dumps({"engines": [
        {"engine": name, "available": True, "reason": "", "versions": {}}
        for name in ("serial", "spark-3", "duckdb")], "python": "3.11.7"}))
    m = load_machine(results, "handbox")
    assert {c.engine for c in m.cells} == {"serial", "spark-3"}
    assert m.not_measured == ["duckdb"]


def _cells(engine: str, times: dict[int, float]) -> dict[int, model.Cell]:
    return {p: model.Cell("engines", engine, "wordcount", "seconds", p, "1", model.OK, t, t, t, 3)
            for p, t in times.items()}


def test_scaling_figure_karp_flatt_only_from_three_worker_counts() -> None:
    from reports import figures

    style = figures.styles(["slow", "two"])
    # slow: S(2) = 1/2.5 = 0.4, so e = (2.5 - 0.5)/0.5 = 4: drawn at the top edge as ▲.
    g = {"slow": {1.0: _cells("slow", {1: 1.0, 2: 2.5, 4: 0.5})},
         "two": {1.0: _cells("two", {1: 1.0, 2: 0.6})}}
    fig = figures.scaling("wordcount", g, [(1.0, "1 MB")], style, {})
    kf = fig.axes[2]
    assert kf.get_ylabel().startswith("Karp–Flatt")
    lines = [ln for ln in kf.lines if ln.get_marker() == "^"]
    assert len(lines) == 1 and list(lines[0].get_ydata()) == [1.0] and \
        list(lines[0].get_xdata()) == [2]
    assert len(kf.lines) == 2  # "two" has no Karp–Flatt curve: only 1 and 2 workers
    fig = figures.scaling("wordcount", {"two": g["two"]}, [(1.0, "1 MB")], style, {})
    assert len(fig.axes) == 2  # no Karp–Flatt row at all


# --- hand-written asv result files and sidecar records ------------------------------------------

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat"]
MACHINE_JSON = {"machine": "handbox", "num_cpu": "8", "ram": str(16 * 2**30), "os": "Linux",
                "arch": "x86_64", "cpu": "Hand <CPU> @ 2 GHz", "version": 1}
PY = "/hand/bin/python"
ENV = "existing-py_hand_bin_python"
T0 = 1_800_000_000.0  # Unix seconds: when the hand-written asv run began
STEP = 2000.0  # seconds between two combinations of one benchmark
VERSIONS = {"Serial": {}, "Pandas": {"pandas": "2.2.3"}, "DaskThreads": {"dask": "2025.1.0"},
            "Spark": {"pyspark": "4.3.0"}}


def skip(reason: str) -> tuple:
    return ("skip", reason)


def fail(reason: str) -> tuple:
    return ("fail", reason)


def killed(after: float | None = None, timeout: float = 1800) -> tuple:
    return ("kill", after, timeout)


NOREC = ("norec",)
MISMATCH = "AnswerMismatch: wordcount: answer differs from expected (3 keys expected, 2 given)"

#: benchmark → {(workers, scale): (median, q25, q75, n) | a skip/fail/kill | NOREC}.
HAND = {
    "bench_engines.Serial.time_wordcount": {
        (1, "1"): (2.0, 1.9, 2.1, 5), (1, "10"): (20.0, 20.0, 20.0, 1),
        (2, "1"): skip("serial runs on at most 1 worker(s)"),
        (2, "10"): skip("serial runs on at most 1 worker(s)")},
    "bench_engines.Pandas.time_wordcount": {
        (1, "1"): (0.5, 0.45, 0.55, 5), (1, "10"): (5.0, 4.9, 5.2, 5)},
    "bench_engines.DaskThreads.time_wordcount": {
        (1, "1"): (3.0, 2.9, 3.1, 3), (2, "1"): (1.6, 1.5, 1.7, 3),
        (1, "10"): (30.0, 29.0, 31.0, 3), (2, "10"): (16.0, 15.5, 16.5, 3)},
    "bench_engines.Spark.time_wordcount": {
        (1, "1"): (8.0, 7.9, 8.1, 5), (2, "1"): (5.0, 4.9, 5.1, 5), (4, "1"): (4.0, 3.9, 4.1, 5),
        (8, "1"): killed(), (1, "10"): (16.0, 15.9, 16.1, 5), (2, "10"): (8.0, 7.9, 8.1, 5),
        (4, "10"): (4.0, 3.8, 4.8, 5), (8, "10"): fail(MISMATCH)},
    "bench_engines.Serial.time_team_records": {(1, "1"): (1.0, 0.95, 1.05, 5),
                                               (1, "10"): (10.0, 9.9, 10.1, 5)},
    "bench_engines.Pandas.time_team_records": {(1, "1"): (0.30, 0.29, 0.31, 5),
                                               (1, "10"): NOREC},
    "bench_engines.DaskThreads.time_team_records": {
        (1, "1"): (0.60, 0.58, 0.62, 5), (2, "1"): (0.32, 0.28, 0.36, 5),
        (1, "10"): (6.0, 5.9, 6.1, 5), (2, "10"): killed(after=5.0, timeout=60)},
    "bench_engines.Spark.track_startup": {
        (1, "1"): (4.0, None, None, 1), (1, "10"): (6.0, None, None, 1),
        (2, "1"): (180.0, None, None, 1), (2, "10"): (5.0, None, None, 1)},
    "bench_datagen.Datagen.time_generate": {(1, "1"): (0.4, 0.39, 0.41, 3),
                                            (2, "1"): (0.25, 0.24, 0.26, 3)},
}


def facts(cls: str, scale: str) -> dict:
    s = float(scale)
    return {"python": "3.11.9", "format": "csv", "versions": VERSIONS.get(cls, {}), "data": {
        "wordcount": {"bytes": int(s * 1e6), "format": "txt",
                      "rows": {"lines": int(100 * s), "words": int(1000 * s)}},
        "team_records": {"bytes": int(s * 2e6), "rows": {"matches": int(500 * s)}}}}


def write_hand(results: Path, hand: dict, commit: str = "1" * 40, env: str = ENV,
               python: str = PY, date_ms: int = 1_700_000_000_000, t0: float = T0,
               decoys: bool = True, record_env: bool = False) -> None:
    """asv's results file (format 2) and the sidecar records a real run would have left: with
    the executable, as in an existing environment, or with `record_env` the environment's
    name, as asv sets ASV_ENV_NAME in the environments it builds."""
    machine = results / "handbox"
    machine.mkdir(parents=True, exist_ok=True)
    (machine / "machine.json").write_text(json.dumps(MACHINE_JSON))
    out, records = {}, []

    def rec(t: float, event: str, cls: str, combo: tuple, **kw) -> None:
        records.append({"v": 1, "t": t, "event": event, "benchmark": cls,
                        "params": [repr(combo[0]), repr(combo[1])],
                        "env": env if record_env else None, "commit": None,
                        "executable": "/elsewhere/python" if record_env else python,
                        "host": "h", "pid": 1, **kw})

    for i, (key, values) in enumerate(hand.items()):
        start = t0 + i * 100 * STEP
        cls_name = key.rsplit(".", 1)[0]
        workers = sorted({p for p, _ in values})
        scales = sorted({s for _, s in values}, key=float)
        combos = list(itertools.product(workers, scales))
        res, q25, q75, n = [], [], [], []
        for j, (p, s) in enumerate(combos):
            v = values.get((p, s))
            t = start + 10 + j * STEP
            if v is None:
                continue
            if v[0] == "norec":
                res.append(None), q25.append(None), q75.append(None), n.append(None)
                continue
            rec(t, "start", cls_name, (p, s), timeout=v[2] if v[0] == "kill" else 1800)
            if isinstance(v[0], float):
                rec(t + 1, "ready", cls_name, (p, s), **facts(cls_name.split(".")[1], s))
                res.append(v[0]), q25.append(v[1]), q75.append(v[2]), n.append(v[3])
                continue
            res.append(NAN if v[0] == "skip" else None)
            q25.append(None), q75.append(None), n.append(None)
            if v[0] == "skip":
                rec(t + 1, "skip", cls_name, (p, s), reason=v[1])
            elif v[0] == "fail":
                rec(t + 1, "ready", cls_name, (p, s), **facts(cls_name.split(".")[1], s))
                rec(t + 2, "fail", cls_name, (p, s), method=key.rsplit(".", 1)[1], reason=v[1],
                    where="teardown")
                if decoys:  # another environment's failure and an older run's: not this one
                    records.append({**records[-1], "executable": "/other/python",
                                    "reason": "DECOY: another environment"})
                    records.append({**records[-1], "executable": python, "t": t0 - 5000,
                                    "reason": "STALE: an older run"})
            elif v[0] == "kill" and v[1] is not None:
                # The next process (another benchmark's) started this long after it.
                rec(t + v[1], "start", "bench_engines.Other", (1, "1"))
        out[key] = [res, [[repr(p) for p in workers], [repr(s) for s in scales]], "v1",
                    int(start * 1000), len(combos) * STEP + 100, None, None, q25, q75,
                    [1 if x is not None else None for x in n], n]
    doc = {"commit_hash": commit, "env_name": env, "date": date_ms,
           "params": {**{k: v for k, v in MACHINE_JSON.items() if k != "version"},
                      "python": python},
           "python": python, "requirements": {}, "env_vars": {}, "result_columns": COLUMNS,
           "results": out, "durations": {}, "version": 2}
    (machine / f"{commit[:8]}-{env}.json").write_text(json.dumps(doc))
    side = results.parent / "parbench" / "outcomes"
    side.mkdir(parents=True, exist_ok=True)
    with open(side / "h.jsonl", "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


@pytest.fixture(scope="module")
def hand_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("hand") / ".asv" / "results"
    write_hand(results, HAND)
    return results


@pytest.fixture(scope="module")
def hand(hand_results: Path) -> model.MachineReport:
    return load_machine(hand_results, "handbox")


def find(cells: list[model.Cell], benchmark: str, workers: int, scale: str) -> model.Cell:
    got = [c for c in cells if c.benchmark.endswith(benchmark) and c.workers == workers
           and c.scale == scale]
    assert len(got) == 1, (benchmark, workers, scale, got)
    return got[0]


def test_hand_cells_medians_iqr_and_reasons(hand: model.MachineReport) -> None:
    c = find(hand.cells, "Spark.time_wordcount", 4, "10")
    assert (c.status, c.value, c.q25, c.q75, c.samples) == (model.OK, 4.0, 3.8, 4.8, 5)
    assert c.noise == "noisy: IQR is 25% of the median"
    assert c.size == model.DataSize(10_000_000, (("lines", 1000), ("words", 10000)), "txt")
    assert c.versions == (("pyspark", "4.3.0"),) and c.python == "3.11.9"
    assert find(hand.cells, "Serial.time_wordcount", 1, "10").noise.startswith("n = 1")
    skipped = find(hand.cells, "Serial.time_wordcount", 2, "1")
    assert (skipped.status, skipped.reason) == (model.SKIPPED, "serial runs on at most 1 worker(s)")
    failed = find(hand.cells, "Spark.time_wordcount", 8, "10")
    assert (failed.status, failed.reason) == (model.FAILED, MISMATCH)  # not the decoys
    timed_out = find(hand.cells, "Spark.time_wordcount", 8, "1")
    assert (timed_out.status, timed_out.reason) == (
        model.TIMED_OUT, "timed out after 1800 s, its time limit")
    crashed = find(hand.cells, "DaskThreads.time_team_records", 2, "10")
    assert (crashed.status, crashed.reason) == (
        model.KILLED, "killed after 5 s, before its 60 s timeout: crashed (out of memory?) or "
        "stopped")
    # No record at all (a run without the sidecar): the benchmark ran 4100 s, past the 60 s
    # default timeout, so it may have timed out.
    silent = find(hand.cells, "Pandas.time_team_records", 1, "10")
    assert (silent.status, silent.reason) == (model.FAILED_OR_TIMED_OUT, NO_RECORD)
    assert len(hand.stored) == len(hand.cells) == sum(len(v) for v in HAND.values())
    assert hand.pythons == ["3.11.9"]  # not asv's interpreter path


def test_hand_verdict(hand: model.MachineReport) -> None:
    v = {(r.workload, r.scale): r for r in model.verdicts(hand.cells)}
    # wordcount, 1 MB: pandas 0.5 s; serial/pandas = 2.0/0.5; dask-threads 2 workers:
    # E = (3.0/1.6)/2 = 0.9375 and 1.6 s beats spark's 4.0 s at 4 workers (E = (8/4)/4 = 0.5).
    w1 = v[("wordcount", 1.0)]
    assert (w1.fastest.engine, w1.fastest.workers, w1.fastest.time) == ("pandas", 1, 0.5)
    assert w1.fastest.over_serial == pytest.approx(4.0)
    assert (w1.parallel.engine, w1.parallel.workers, w1.parallel.time) == ("dask-threads", 2, 1.6)
    assert w1.parallel.efficiency == pytest.approx(0.9375)
    assert (w1.runner_up.engine, w1.runner_up.workers, w1.runner_up.time) == \
        ("dask-threads", 2, 1.6)
    assert not w1.close and w1.size.bytes == 1_000_000
    # wordcount, 10 MB: spark 4 workers 4.0 s (E = 16/4/4 = 1; 8 workers failed), 20/4 = 5×;
    # runner-up pandas 5.0 s.
    w10 = v[("wordcount", 10.0)]
    assert (w10.fastest.engine, w10.fastest.workers, w10.fastest.time) == ("spark", 4, 4.0)
    assert w10.fastest.over_serial == pytest.approx(5.0)
    assert (w10.parallel.engine, w10.parallel.workers) == ("spark", 4)
    assert w10.parallel.efficiency == pytest.approx(1.0)
    assert (w10.runner_up.engine, w10.runner_up.time) == ("pandas", 5.0)
    # team_records, 2 MB: pandas 0.30 s and dask-threads 0.32 s: IQRs overlap.
    t1 = v[("team_records", 1.0)]
    assert (t1.fastest.engine, t1.runner_up.engine, t1.close) == ("pandas", "dask-threads", True)
    assert t1.fastest.over_serial == pytest.approx(1.0 / 0.3)
    # team_records, 20 MB: pandas failed, dask-threads' 2-worker run crashed: dask-threads on
    # one worker (6 s) is fastest, no engine has two worker counts there.
    t10 = v[("team_records", 10.0)]
    assert (t10.fastest.engine, t10.fastest.workers, t10.fastest.time) == ("dask-threads", 1, 6.0)
    assert t10.fastest.over_serial == pytest.approx(10 / 6)
    assert t10.parallel is None and "more than one worker count" in t10.parallel_note
    assert (t10.runner_up.engine, t10.runner_up.time) == ("serial", 10.0)


def test_hand_decision_growth_and_crossovers(hand: model.MachineReport) -> None:
    dec = model.decision(hand.cells, "wordcount")
    assert dec.in_mb and dec.series["spark"] == {1.0: 4.0, 10.0: 4.0}
    assert dec.series["dask-threads"] == {1.0: 1.6, 10.0: 16.0}
    # pandas T = 0.5 MB, spark T = 4: spark overtakes at 8 MB.
    assert dec.crossings == [metrics.Crossing(1.0, 10.0, "pandas", "spark", pytest.approx(8.0))]
    assert dec.winner_text() == ("pandas at 1 MB; spark at 10 MB (overtakes pandas at ≈ 8 MB, "
                                 "between 1 MB and 10 MB)")
    fits = {g.engine: g for g in model.growth(model.times(hand.cells, "wordcount"))}
    assert fits["serial"].exponent == pytest.approx(1.0)  # 2 s → 20 s for 10× the data
    assert (fits["spark"].workers, fits["spark"].exponent) == (4, pytest.approx(0.0))
    assert (fits["dask-threads"].workers, fits["dask-threads"].exponent) == \
        (2, pytest.approx(1.0))
    assert fits["spark"].beats == {"serial": 10, "pandas": 10}  # 4 s > 2 s at scale 1
    assert fits["dask-threads"].beats == {"serial": 1, "pandas": None}
    assert fits["pandas"].beats == {"serial": 1}


def test_hand_startup_spread(hand: model.MachineReport) -> None:
    rows = {(r.engine, r.workers): r for r in model.spreads(hand.cells, model.STARTUP)}
    assert rows[("spark", 1)].summary == metrics.Summary(5.0, 4.5, 5.5, 2)
    assert rows[("spark", 2)].summary == metrics.Summary(92.5, 48.75, 136.25, 2)
    assert sorted(rows[("spark", 2)].values) == [5.0, 180.0]


@pytest.fixture(scope="module")
def hand_page(hand_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("handpage")
    assert main(["--results", str(hand_results), "--out", str(out)]) == 0
    return out / "index.html"


def verdict_row(html: str, workload: str, scale: str) -> str:
    m = re.search(rf'<tr data-workload="{workload}" data-scale="{scale}">(.*?)</tr>', html)
    assert m, (workload, scale)
    return m.group(1)


def test_hand_page(hand_page: Path) -> None:
    html = hand_page.read_text(encoding="utf-8")
    row = verdict_row(html, "wordcount", "10")
    assert "10 MB txt · 1,000 lines · 10,000 words" in row
    assert "20 MB csv · 5,000 matches" in verdict_row(html, "team_records", "10")
    assert '<b>spark</b> · 4 workers · 4 s' in row and "5.00×" in row
    assert "noisy: IQR is 25% of the median" in row and "1.25× the fastest" in row
    row = verdict_row(html, "wordcount", "1")
    assert "efficiency 0.94" in row and "3.20× the fastest" in row and "4.00×" in row
    assert "too close to call" in verdict_row(html, "team_records", "1")
    assert "no engine measured at more than one worker count" in \
        verdict_row(html, "team_records", "10")
    assert "spark at 10 MB (overtakes pandas at ≈ 8 MB" in html
    # Above the largest size: not measured, and the scale that would give a gigabyte.
    assert "Above 10 MB nothing was measured: the page does not extrapolate." in html
    assert "This input holds 1 MB per unit of scale: 1 GB is scale ≈ 1,000" in html
    # Failures with their reasons, the Karp–Flatt explanation where it cannot be drawn.
    assert "TIMED OUT" in html and "timed out after 1800 s" in html
    assert unescape(MISMATCH) in unescape(html) and "DECOY" not in html and "STALE" not in html
    assert "serial runs on at most 1 worker(s)" in html
    # Karp–Flatt: spark has 1, 2 and 4 workers for wordcount; team_records only 1 and 2.
    records = html.split('id="w-team_records"', 1)[1]
    assert "Karp–Flatt for engines measured at 3 or more worker counts: spark." in html
    assert "Karp–Flatt is not drawn: it needs 3 or more worker counts" in records
    assert "measured here: 1, 2." in records
    # One file: SVG inline (2 workloads × 3 figures, start-up), the CSV as a data URI.
    assert html.count("<svg") == 2 * 3 + 1 and "<img" not in html
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//|url\(http', html)
    assert "Hand &lt;CPU&gt; @ 2 GHz" in html and "<CPU>" not in html and "16.0 GiB" in html
    assert "1.60× faster with 2 workers" in html  # data generation: 0.4 / 0.25
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(
        re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', html).group(1)
    ).decode())))
    assert len(rows) == sum(len(v) for v in HAND.values())
    spark = next(r for r in rows if r["benchmark"] == "bench_engines.Spark.time_wordcount"
                 and r["workers"] == "4" and r["scale"] == "10")
    assert (spark["median"], spark["iqr"], spark["n"], spark["bytes"], spark["versions"]) == \
        ("4.0", str(4.8 - 3.8), "5", "10000000", "pyspark 4.3.0")
    assert next(r for r in rows if r["workers"] == "8" and r["scale"] == "10")["reason"] == \
        MISMATCH
    assert (hand_page.parent / "results.csv").read_text().count("\n") == len(rows) + 1


def test_identity_newest_commit_and_marks(tmp_path: Path) -> None:
    """Commit b (newer) re-measured pandas only: its time is divided by commit a's serial time,
    and the page says so; --commit a shows a alone; the CSV keeps all three results."""
    results = tmp_path / ".asv" / "results"
    a, b = "a" * 40, "b" * 40
    write_hand(results, {"bench_engines.Serial.time_wordcount": {(1, "1"): (2.0, 2.0, 2.0, 3)},
                         "bench_engines.Pandas.time_wordcount": {(1, "1"): (0.5, 0.5, 0.5, 3)}},
               commit=a, date_ms=1_000_000)
    write_hand(results, {"bench_engines.Pandas.time_wordcount": {(1, "1"): (0.4, 0.4, 0.4, 3)}},
               commit=b, date_ms=2_000_000, t0=T0 + 10**6, record_env=True)
    m = load_machine(results, "handbox")
    assert len(m.stored) == 3 and len(m.cells) == 2
    pandas = find(m.cells, "Pandas.time_wordcount", 1, "1")
    assert (pandas.commit, pandas.value) == (b, 0.4)
    assert pandas.size.bytes == 1_000_000  # its record named the environment
    (v,) = model.verdicts(m.cells)
    assert v.fastest.over_serial == pytest.approx(5.0)
    assert v.fastest.idents == {(a, ENV), (b, ENV)}
    out = tmp_path / "html"
    assert main(["--results", str(results), "--out", str(out)]) == 0
    row = verdict_row((out / "index.html").read_text(), "wordcount", "1")
    assert '5.00×<sup class="mixed"' in row and "commit aaaaaaaa" in row and "bbbbbbbb" in row
    assert main(["--results", str(results), "--out", str(out), "--commit", "aaaa"]) == 0
    row = verdict_row((out / "index.html").read_text(), "wordcount", "1")
    assert "4.00×" in row and "mixed" not in row
    shown = [r["shown"] for r in csv.DictReader(io.StringIO((out / "results.csv").read_text()))]
    assert sorted(shown) == ["no: not selected (--commit, --env)", "yes", "yes"]
    assert main(["--results", str(results), "--out", str(out), "--commit", "cccc"]) == 2
    assert main(["--results", str(results), "--out", str(out), "--env", "nope"]) == 2


# --- real asv runs of a small fake suite, recorded by the real benchmarks/outcomes.py -----------

BENCH_ENGINES = '''
import os
import time

from . import outcomes

SCALES = os.environ["FAKE_SCALES"].split()


class _Engine:
    params = ([1, 2], SCALES)
    param_names = ["workers", "scale"]
    rounds, repeat, number, warmup_time = 1, 2, 1, 0
    one_worker = False

    def setup(self, workers, scale):
        if self.one_worker and workers > 1:
            raise NotImplementedError(f"{self.engine} runs on at most 1 worker(s)")
        self.wrong = False

    def teardown(self, workers, scale):
        if getattr(self, "wrong", False):
            raise AssertionError("wordcount: answer differs from expected (3 keys expected)")

    def time_wordcount(self, workers, scale):
        time.sleep(0.001)

    def time_team_ratings(self, workers, scale):
        time.sleep(0.001)

    def track_startup(self, workers, scale):
        return 0.5 * workers + float(scale)

    track_startup.unit = "seconds"

    def track_peak_memory(self, workers, scale):
        return (100 + 10 * workers) * 2**20

    track_peak_memory.unit = "bytes"


def _facts(self, workers, scale):
    mb = int(float(scale) * 1e6)
    return {"format": "csv", "versions": {"fakeframe": "1.0"}, "data": {
        "wordcount": {"bytes": mb, "format": "txt", "rows": {"words": mb // 1000}},
        "team_ratings": {"bytes": 2 * mb, "rows": {"matches": mb // 2000}}}}


outcomes.recorded(_Engine, info=_facts)


class Serial(_Engine):
    engine = "serial"
    one_worker = True


class Pandas(_Engine):
    engine = "pandas"
    one_worker = True

    def time_wordcount(self, workers, scale):
        pass  # the fastest: its speedup over serial divides two environments' times


class DaskThreads(_Engine):
    engine = "dask-threads"

    def time_team_ratings(self, workers, scale):
        if workers == 2 and scale == "0.1":
            time.sleep(30)  # past its timeout: asv kills the process
        time.sleep(0.001)

    time_team_ratings.timeout = 1.0


class Spark(_Engine):
    engine = "spark"

    def time_wordcount(self, workers, scale):
        self.wrong = workers == 2 and scale == "1"
        time.sleep(0.001)
'''


def asv(project: Path, env: dict[str, str], *args: str) -> None:
    """Run asv; status 2 means "some benchmarks failed", which this suite does on purpose."""
    proc = subprocess.run([sys.executable, "-m", "asv", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode in (0, 2), proc.stdout[-3000:] + proc.stderr[-3000:]


def git(project: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


OTHER_PYTHON = next(str(p) for p in (Path(sys.executable).with_name(n) for n in (
    "python3", "python", f"python{sys.version_info[0]}.{sys.version_info[1]}"))
    if p.exists() and str(p) != sys.executable)


@pytest.fixture(scope="module")
def asv_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three real `asv run`s of a fake suite that uses the real benchmarks/outcomes.py:
    commit A in environment E1 at scales 0.1 and 1; commit B in E1 at scale 10 (Serial and
    Spark only); commit B in E2 (the same interpreter by another path) at 0.1, pandas'
    wordcount only."""
    project = tmp_path_factory.mktemp("asvproject")
    bench = project / "benchmarks"
    bench.mkdir()
    (bench / "__init__.py").write_text("")
    shutil.copy(ROOT / "benchmarks" / "outcomes.py", bench / "outcomes.py")
    (bench / "bench_engines.py").write_text(BENCH_ENGINES)
    (project / "asv.conf.json").write_text(json.dumps({
        "version": 1, "project": "fake", "repo": ".", "environment_type": "existing",
        "benchmark_dir": "benchmarks", "results_dir": ".asv/results", "env_dir": ".asv/env",
        "html_dir": ".asv/html", "default_benchmark_timeout": 60}))
    env = dict(os.environ, HOME=str(project), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t", FAKE_SCALES="0.1 1")
    git(project, env, "init", "-q")
    git(project, env, "add", "-A")
    git(project, env, "commit", "-qm", "fake suite", "--date", "2020-01-01T00:00:00")
    a = git(project, env, "rev-parse", "HEAD")
    (project / "README").write_text("b")
    git(project, env, "add", "-A")
    git(project, env, "commit", "-qm", "b", "--date", "2021-01-01T00:00:00")
    b = git(project, env, "rev-parse", "HEAD")
    asv(project, env, "machine", "--yes", "--machine", "fakebox", "--num_cpu", "4",
        "--ram", str(8 * 2**30), "--cpu", "Fake <CPU> @ 3 GHz", "--os", "Linux",
        "--arch", "x86_64")
    common = ["--launch-method=forkserver", "--machine", "fakebox"]
    asv(project, env, "run", "--python=same", "--set-commit-hash", a, *common)
    asv(project, dict(env, FAKE_SCALES="10"), "run", "--python=same", "--set-commit-hash", b,
        "-b", "Serial|Spark", *common)
    asv(project, dict(env, FAKE_SCALES="0.1"), "run", "-E", f"existing:{OTHER_PYTHON}",
        "--set-commit-hash", b, "-b", r"Pandas\.time_wordcount", *common)
    results = project / ".asv" / "results"
    versions_path(results, "fakebox").write_text(json.dumps({"engines": [
        {"engine": "spark", "available": False, "reason": "needs <java> 17",
         "versions": {"pyspark": "4.3.0"}},
        {"engine": "mapreduce", "available": True, "reason": "", "versions": {}}],
        "python": "3.11.7"}))
    return {"results": results, "a": a, "b": b}


def stored_values(results: Path) -> set[tuple]:
    """Every (commit, env, benchmark, params) in asv's results files, read as plain JSON."""
    out = set()
    for f in (results / "fakebox").glob("*-*.json"):
        doc = json.loads(f.read_text())
        for key, row in doc["results"].items():
            for combo in itertools.product(*row[1]):
                out.add((doc["commit_hash"], doc["env_name"], key, combo))
    return out


def test_real_runs_nothing_dropped_nothing_mixed_silently(asv_runs: dict) -> None:
    results, a, b = asv_runs["results"], asv_runs["a"], asv_runs["b"]
    m = load_machine(results, "fakebox")
    on_disk = stored_values(results)
    assert {(c.commit, c.env, c.benchmark) for c in m.stored} == {x[:3] for x in on_disk}
    # A: 4 engines × 4 benchmarks × 2 workers × 2 scales; B: 2 × 4 × 2 × 1; B in E2: 2.
    assert len(m.stored) == len(on_disk) == 4 * 4 * 2 * 2 + 2 * 4 * 2 + 2
    # benchmarks.json now knows scale 0.1 only; commit A's scales are all still shown.
    serial = {c.scale: c.commit for c in m.cells if c.benchmark.endswith("Serial.time_wordcount")
              and c.workers == 1}
    assert serial == {"0.1": a, "1": a, "10": b}
    pandas = find(m.cells, "Pandas.time_wordcount", 1, "0.1")
    assert pandas.commit == b and pandas.env != serial and "python" in pandas.env
    assert len({c.env for c in m.stored}) == 2 and len(m.identities) == 3
    (v,) = [r for r in model.verdicts(m.cells) if (r.workload, r.scale) == ("wordcount", 0.1)]
    assert len({i for pk in (v.fastest, v.runner_up) for i in pk.idents}) > 1
    assert m.pythons == [f"{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}"]


def test_real_runs_reasons_and_sizes(asv_runs: dict) -> None:
    m = load_machine(asv_runs["results"], "fakebox")
    bad = find(m.cells, "Spark.time_wordcount", 2, "1")
    assert bad.status == model.FAILED
    assert bad.reason == ("AssertionError: wordcount: answer differs from expected "
                          "(3 keys expected)")
    assert find(m.cells, "Spark.time_team_ratings", 2, "1").status == model.OK
    timed_out = find(m.cells, "DaskThreads.time_team_ratings", 2, "0.1")
    assert (timed_out.status, timed_out.reason) == (
        model.TIMED_OUT, "timed out after 1 s, its time limit")
    skipped = find(m.cells, "Serial.time_wordcount", 2, "1")
    assert (skipped.status, skipped.reason) == (model.SKIPPED, "serial runs on at most 1 worker(s)")
    ok = find(m.cells, "DaskThreads.time_wordcount", 2, "1")
    assert ok.size == model.DataSize(1_000_000, (("words", 1000),), "txt")
    assert ok.versions == (("fakeframe", "1.0"),) and ok.samples == 2


@pytest.fixture(scope="module")
def real_page(asv_runs: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert main(["--results", str(asv_runs["results"]), "--out", str(out)]) == 0
    return out / "index.html"


def test_real_page(real_page: Path, asv_runs: dict, tmp_path: Path) -> None:
    html = real_page.read_text(encoding="utf-8")
    row = verdict_row(html, "wordcount", "0.1")
    assert "0.1 MB txt · 100 words" in row and '<sup class="mixed"' in row
    winner = re.search(r'<p class="winner">(.*?)</p>', html).group(1)  # wordcount's
    assert "pandas at 0.1 MB" in winner and 'class="mixed"' in winner
    assert "timed out after 1 s, its time limit" in html
    assert "answer differs from expected" in html and "serial runs on at most 1 worker(s)" in html
    assert "needs &lt;java&gt; 17" in html and "fakeframe 1.0" in html
    assert "No results on this machine for: mapreduce." in html
    rows = list(csv.DictReader(io.StringIO((real_page.parent / "results.csv").read_text())))
    assert {(r["commit"], r["environment"], r["benchmark"]) for r in rows} == \
        {x[:3] for x in stored_values(asv_runs["results"])}
    assert len(rows) == len(stored_values(asv_runs["results"]))
    # One environment alone: the other's results are not shown, nothing is marked mixed.
    out = tmp_path / "e2"
    assert main(["--results", str(asv_runs["results"]), "--out", str(out),
                 "--env", OTHER_PYTHON.replace(os.sep, "_")]) == 0
    only = (out / "index.html").read_text()
    assert "mixed" not in verdict_row(only, "wordcount", "0.1") and "Serial" not in only


def test_several_machines_and_errors(asv_runs: dict, tmp_path: Path) -> None:
    """Two machines (a renamed copy; the tracked results only, to draw few figures): an index
    page; an unknown machine and no results are one line each on stderr, status 2."""
    results = tmp_path / "results"
    shutil.copytree(asv_runs["results"], results)
    shutil.copytree(results / "fakebox", results / "otherbox")
    for f in results.glob("*box/*.json"):
        data = json.loads(f.read_text())
        if f.name == "machine.json":
            data["machine"] = f.parent.name
        else:
            data["params"]["machine"] = f.parent.name
            data["results"] = {k: v for k, v in data["results"].items() if ".track_" in k}
        f.write_text(json.dumps(data))
    out = tmp_path / "html"
    assert main(["--results", str(results), "--out", str(out)]) == 0
    index = (out / "index.html").read_text()
    assert 'href="fakebox/index.html"' in index and 'href="otherbox/index.html"' in index
    assert (out / "otherbox" / "index.html").is_file()
    assert main(["--results", str(results), "--machine", "nope", "--out", str(out)]) == 2
    proc = subprocess.run([sys.executable, "-m", "reports", "--results", str(tmp_path / "none")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "make bench" in proc.stderr


# --- the page in headless Chromium (Chrome DevTools protocol over a stdlib websocket) -----------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """The least of a websocket client that the Chrome DevTools protocol needs."""

    def __init__(self, url: str) -> None:
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            .encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.events: list[dict] = []
        self.last_id = 0

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("devtools closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _send(self, payload: bytes, opcode: int = 1) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> dict:
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise ConnectionError("devtools closed the websocket")
            if opcode == 9:
                self._send(payload, opcode=10)
                continue
            if opcode in (0, 1, 2):
                parts.append(payload)
                if b0 & 0x80:
                    return json.loads(b"".join(parts))

    def call(self, method: str, **params: object) -> dict:
        self.last_id += 1
        self._send(json.dumps({"id": self.last_id, "method": method, "params": params}).encode())
        while True:
            msg = self._message()
            if msg.get("id") == self.last_id:
                assert "error" not in msg, msg
                return msg.get("result", {})
            self.events.append(msg)

    def wait(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events:
                if ev.get("method") == method:
                    return ev
            self.events.append(self._message())
        raise TimeoutError(method)

    def js(self, expression: str) -> object:
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"].get("value")


#: Every figure: its size, and how far each legend sits inside it (px; negative: outside).
FIGURES_JS = """JSON.stringify(Array.from(document.querySelectorAll('figure.fig')).map(f => {
  const svg = f.querySelector('svg'), r = svg ? svg.getBoundingClientRect() : null;
  const legends = svg ? Array.from(svg.querySelectorAll('g[id]'))
      .filter(g => /legend_[0-9]+$/.test(g.id)) : [];
  return {id: f.id, width: r ? r.width : 0, height: r ? r.height : 0,
          legends: legends.map(g => { const b = g.getBoundingClientRect();
            return {left: b.left - r.left, top: b.top - r.top, right: r.right - b.right,
                    bottom: r.bottom - b.bottom, width: b.width}; })};
}))"""


def console_errors(events: list[dict]) -> list[str]:
    out = []
    for ev in events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append(json.dumps(p.get("exceptionDetails", {}))[:300])
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(json.dumps(p.get("args", []))[:300])
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
    return out


def browse(page: Path, screenshot: Path | None = None, width: int = 1500,
           clip: tuple[str, int] | None = None) -> tuple[list[dict], list[str], int]:
    """Open `page` in headless Chromium with every <details> open: (figures, console errors,
    page height); save a screenshot of the page, or of `clip` = (element id, height)."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             f"--window-size={width},1000", "--hide-scrollbars", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.is_file() and port_file.read_text().strip()):
                assert proc.poll() is None and time.monotonic() < deadline, "chromium did not start"
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                target = next(t for t in json.load(r) if t.get("type") == "page")
            cdp = DevTools(target["webSocketDebuggerUrl"])
            for domain in ("Page", "Runtime", "Log"):
                cdp.call(f"{domain}.enable")
            cdp.call("Page.navigate", url=page.resolve().as_uri())
            cdp.wait("Page.loadEventFired")
            closed_height = cdp.call("Page.getLayoutMetrics")["cssContentSize"]["height"]
            cdp.js("document.querySelectorAll('details').forEach(d => d.open = true)")
            figs = json.loads(str(cdp.js(FIGURES_JS)))
            if screenshot is not None:
                cdp.js("document.querySelectorAll('details').forEach(d => d.open = false)")
                size = cdp.call("Page.getLayoutMetrics")["cssContentSize"]
                x = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
                if clip is not None:
                    cdp.js(f"document.getElementById('{clip[0]}').querySelectorAll('details')"
                           ".forEach(d => d.open = true)")
                    top = cdp.js(f"document.getElementById('{clip[0]}').getBoundingClientRect()"
                                 ".top + window.scrollY")
                    x = {"x": 0, "y": float(top) - 8, "width": size["width"], "height": clip[1]}
                shot = cdp.call("Page.captureScreenshot", format="png",
                                captureBeyondViewport=True, clip={**x, "scale": 1})
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            return figs, console_errors(cdp.events), int(closed_height)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_page_in_headless_chromium(real_page: Path, tmp_path: Path) -> None:
    """Every figure is drawn (inline SVG with a size) and every legend lies inside its figure;
    no console errors; the page stays short with its details closed."""
    require("Chromium", CHROMIUM is not None, ".ci/install-chromium.sh (as root)")
    shot = Path(os.environ.get("PARBENCH_REPORT_SCREENSHOT", tmp_path / "report.png"))
    figs, errors, height = browse(real_page, shot)
    html = real_page.read_text(encoding="utf-8")
    assert len(figs) == html.count("<svg") == 2 * 3 + 2  # 2 workloads × 3, start-up, memory
    for f in figs:
        assert f["width"] > 100 and f["height"] > 100, f
        assert f["legends"], f"{f['id']}: no legend"
        for leg in f["legends"]:
            assert leg["width"] > 0 and min(leg["left"], leg["top"], leg["right"],
                                            leg["bottom"]) >= -0.5, (f["id"], leg)
    assert errors == []
    # Short with its details closed (17,000 px for two scales before): about 800 px a workload.
    assert height < 2500 + 800 * html.count('<section id="w-'), height
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
