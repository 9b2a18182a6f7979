"""Tests of `datagen`: the CLI, the on-disk contract, determinism, atomicity, statistics, answers.

The expensive datasets (scale 1 with two workers, scale 0.1, the tutorial: the session's
`data_dir`; scale 1 again with one worker) are generated once per session.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import plain_reference
import psutil
import pyarrow.parquet as pq
import pytest

from datagen import answers, goals, model, store, synthetic
from workloads import layout, spec
from workloads.data.dataset import VERIFIED, Dataset, DatasetError

ROOT = Path(__file__).resolve().parents[1]

#: Tolerances of the scale-1 statistics against the real table (absolute).
MEAN_TOL = 0.03
SHARE_TOL = 0.01


def run_cli(*args: str, timeout: float = 300,
            prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*prefix, sys.executable, "-m", "datagen", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


#: Runs a command without the capabilities that let root write where permissions forbid it.
AS_UNPRIVILEGED = (("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
                   if os.geteuid() == 0 else ())


def generate(out: Path, *args: str) -> None:
    res = run_cli("--out", str(out), *args)
    assert res.returncode == 0, res.stderr


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv_rows(ds: Dataset, kind: str = "matches") -> list[list[str]]:
    columns = layout.TABLE_COLUMNS[kind, "csv"]
    rows = []
    for path in ds.input(kind, "csv").paths:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            assert tuple(next(reader)) == columns
            rows.extend(reader)
    return rows


def read_parquet_rows(ds: Dataset, kind: str = "matches") -> list[list[str]]:
    """The Parquet rows written as their CSV text (booleans and NA as each table writes them)."""
    true, false = ("True", "False") if kind == "matches" else ("TRUE", "FALSE")
    rows = []
    for path in ds.input(kind, "parquet").paths:
        table = pq.read_table(path)
        assert tuple(table.column_names) == layout.TABLE_COLUMNS[kind, "parquet"]
        for row in zip(*table.to_pydict().values(), strict=True):
            rows.append([v.isoformat() if hasattr(v, "isoformat") else "NA" if v is None
                         else (true if v else false) if isinstance(v, bool) else str(v)
                         for v in row])
    return rows


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """scale-1 (two workers), scale-1 again (one worker), scale-0.1 and the tutorial."""
    one = tmp_path_factory.mktemp("w1")
    generate(one, "--scale", "1", "--workers", "1")
    return {"scale-1": data_dir / "scale-1", "scale-1/w1": one / "scale-1",
            "scale-0.1": data_dir / "scale-0.1", "tutorial": data_dir / "tutorial"}


@pytest.fixture(scope="session")
def novel_counts() -> dict[str, int]:
    tm = model.text_model()
    return dict(zip(tm.words, map(int, tm.counts), strict=True))


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize("name", ["scale-1", "scale-0.1", "tutorial"])
def test_datasets_open_and_verify(data: dict[str, Path], name: str) -> None:
    ds = Dataset.open(data[name])
    ds.verify()
    m = ds.manifest
    assert m["format"] == layout.MANIFEST_FORMAT and m["name"] == name
    assert m["generator"]["name"] == "parbench.datagen"
    assert set(m["answers"]) == set(spec.NAMES)
    on_disk = {str(p.relative_to(data[name])) for p in data[name].rglob("*") if p.is_file()}
    assert on_disk == set(m["files"]) | {layout.MANIFEST, VERIFIED}  # what verify found whole
    assert ds.formats == ("csv", "parquet")
    # the manifest is deterministic JSON: sorted keys, one line per file
    raw = (data[name] / layout.MANIFEST).read_bytes()
    assert raw == store.manifest_bytes(json.loads(raw))
    assert json.dumps(json.loads(raw), sort_keys=True) == json.dumps(json.loads(raw))
    assert all(f'  "{n}": {{"bytes": ' in raw.decode() for n in m["files"])


def test_params_and_parts(data: dict[str, Path]) -> None:
    m1 = Dataset.open(data["scale-1"]).manifest
    assert m1["params"] == {"kind": "synthetic", "scale": 1.0, "seed": 2022,
                            "formats": ["csv", "parquet"]}
    assert m1["counts"]["words"] == synthetic.WORDS_PER_SCALE == 138_490
    assert m1["counts"]["matches"] == synthetic.MATCHES_PER_SCALE == 44_060
    names = sorted(m1["files"])
    for kind, folder, at_least in (("txt", "text", 16), ("csv", "matches", 16),
                                   ("parquet", "matches", 16), ("csv", "goals", 14),
                                   ("parquet", "goals", 14)):
        parts = [n for n in names if n.startswith(folder + "/") and n.endswith(layout.SUFFIX[kind])]
        assert len(parts) >= at_least
        assert parts == [f"{folder}/{layout.part_name(i, kind)}" for i in range(len(parts))]
    m01 = Dataset.open(data["scale-0.1"]).manifest
    assert m01["counts"]["words"] == round(0.1 * 138_490)
    assert m01["counts"]["matches"] == round(0.1 * 44_060)
    assert len(Dataset.open(data["scale-0.1"]).input("text").paths) >= 2
    assert len(Dataset.open(data["scale-0.1"]).input("matches").paths) >= 2
    assert len(Dataset.open(data["scale-0.1"]).input("goals").paths) >= 2


def test_plan_sizes() -> None:
    tiny = synthetic.make_plan(0.01, 1, ("csv",))
    assert (tiny.words, tiny.matches) == (1385, 441)
    assert tiny.text_parts >= 2 and tiny.match_parts >= 2
    big = synthetic.make_plan(1000, 1, ("csv", "parquet"))
    assert big.match_parts > 16  # no file over ~64 MB
    assert big.csv_bytes / big.match_parts < 128 * 2**20
    assert layout.scale_dirname(0.1) == "scale-0.1" and layout.scale_dirname(10.0) == "scale-10"


def test_same_seed_same_bytes_whatever_workers(data: dict[str, Path]) -> None:
    a, b = data["scale-1"], data["scale-1/w1"]
    assert (a / layout.MANIFEST).read_bytes() == (b / layout.MANIFEST).read_bytes()
    files = json.loads((a / layout.MANIFEST).read_text(encoding="utf-8"))["files"]
    for name, entry in files.items():
        assert sha256(b / name) == sha256(a / name) == entry["sha256"], name


def test_other_seed_other_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", "--scale", "0.01", "--seed", "1", "--formats", "csv")
    generate(tmp_path / "b", "--scale", "0.01", "--seed", "2", "--formats", "csv")
    fa = Dataset.open(tmp_path / "a" / "scale-0.01").manifest["files"]
    fb = Dataset.open(tmp_path / "b" / "scale-0.01").manifest["files"]
    assert set(fa) == set(fb) and all(n.endswith((".txt", ".csv")) for n in fa)
    assert all(fa[n]["sha256"] != fb[n]["sha256"] for n in fa)


def test_text_form(data: dict[str, Path]) -> None:
    ds = Dataset.open(data["scale-1"])
    lines = 0
    for path in ds.input("text").paths:
        raw = Path(path).read_bytes()
        assert raw.endswith(b"\n") and b"\r" not in raw
        for line in raw.decode("ascii").split("\n")[:-1]:
            assert re.fullmatch(r"[a-z]+( [a-z]+)*", line), line
            lines += 1
    assert lines == ds.manifest["counts"]["lines"]
    # the novel has 12,366 non-empty lines of 11.2 words on average
    assert abs(lines - 12_366) / 12_366 < 0.03


def test_text_follows_the_novel(data: dict[str, Path], novel_counts: dict[str, int]) -> None:
    counts = Dataset.open(data["scale-1"]).answer("wordcount")
    top = sorted(counts, key=lambda w: (-counts[w], w))[:20]
    novel_top = sorted(novel_counts, key=lambda w: (-novel_counts[w], w))[:20]
    assert set(top) == set(novel_top)
    assert set(counts) <= set(novel_counts)
    # every word's count is within one per text part of the novel's (see datagen.synthetic)
    parts = len(Dataset.open(data["scale-1"]).input("text").paths)
    assert all(abs(counts.get(w, 0) - c) <= parts for w, c in novel_counts.items())


def test_matches_form(data: dict[str, Path]) -> None:
    ds = Dataset.open(data["scale-1"])
    for path in ds.input("matches", "csv").paths:
        raw = Path(path).read_bytes()
        assert raw.startswith(b",date,home_team,") and b"\r" not in raw and raw.endswith(b"\n")
        raw.decode("utf-8")
    rows = read_csv_rows(ds)
    assert [int(r[0]) for r in rows] == list(range(44_060))
    dates = [r[1] for r in rows]
    assert dates == sorted(dates) and all(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in dates)
    assert {r[9] for r in rows} == {"True", "False"}
    # rows written exactly as the csv module writes them (minimal quoting)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows[:2000])
    first = Path(ds.input("matches", "csv").paths[0]).read_text(encoding="utf-8")
    assert first.split("\n", 1)[1].startswith(buf.getvalue()[:100_000])
    # Parquet: the same rows, typed, the id as match_id
    real = model.real_matches()
    table = pq.read_table(ds.input("matches", "parquet").paths[3])
    assert tuple(table.column_names) == layout.PARQUET_COLUMNS
    types = [str(t) for t in table.schema.types]
    assert types == ["int64", "date32[day]", "string", "string", "int32", "int32", "string",
                     "string", "string", "bool"]
    assert read_parquet_rows(ds) == rows  # the same rows, the id as match_id
    assert set(table.column("home_team").to_pylist()) <= set(real.teams)


def test_statistics_follow_the_real_table(data: dict[str, Path]) -> None:
    real = model.real_matches()
    rows = read_csv_rows(Dataset.open(data["scale-1"]))
    hs = np.array([int(r[4]) for r in rows])
    as_ = np.array([int(r[5]) for r in rows])
    neutral = np.array([r[9] == "True" for r in rows])
    assert abs(hs.mean() - 1.74) < MEAN_TOL and abs(hs.mean() - real.home_score.mean()) < MEAN_TOL
    assert abs(as_.mean() - 1.18) < MEAN_TOL
    assert abs(as_.mean() - real.away_score.mean()) < MEAN_TOL
    assert abs(neutral.mean() - 0.248) < SHARE_TOL
    real_home_wins = (real.home_score > real.away_score).mean()
    assert abs((hs > as_).mean() - real_home_wins) < SHARE_TOL
    assert (hs > as_)[~neutral].mean() > (hs < as_)[~neutral].mean() + 0.2  # home advantage
    teams = {r[2] for r in rows} | {r[3] for r in rows}
    assert teams <= set(real.teams) and len(teams) > 300
    assert {r[6] for r in rows} <= set(real.tournament)
    assert rows[0][1] == "1872-11-30" and rows[-1][1] == "2022-09-30"


def test_answers_self_consistent(data: dict[str, Path]) -> None:
    for name in ("scale-1", "scale-0.1", "tutorial"):
        m = Dataset.open(data[name]).manifest
        a, counts = m["answers"], m["counts"]
        assert sum(a["wordcount"].values()) == counts["words"]
        recs = a["team_records"]
        assert sum(r["played"] for r in recs.values()) == 2 * counts["matches"]
        assert all(r["won"] + r["drawn"] + r["lost"] == r["played"] for r in recs.values())
        assert sum(r["goals_for"] for r in recs.values()) == sum(
            r["goals_against"] for r in recs.values())
        assert sum(r["won"] for r in recs.values()) == sum(r["lost"] for r in recs.values())
        assert len(recs) == counts["teams"] and set(a["team_ratings"]) == set(recs)
        assert all(math.isfinite(v) for v in a["team_ratings"].values())
        assert set(a["unbeaten_streaks"]) == set(recs)
        assert all(0 <= a["unbeaten_streaks"][t] <= r["won"] + r["drawn"] for t, r in recs.items())
        assert any(n == 0 for n in a["unbeaten_streaks"].values()) or name != "tutorial"
        assert a["top_scorers"] and all(g >= 1 for _, g in a["top_scorers"].values())
        assert counts["scorers"] > 0 and counts["goals"] >= sum(
            g for _, g in a["top_scorers"].values())
        for w in spec.NAMES:  # stored in the spec's JSON form
            assert spec.answer_to_json(w, a[w]) == a[w], w


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("name", ["scale-0.1", "tutorial"])
def test_answers_equal_a_recomputation_from_the_files(data: dict[str, Path], name: str,
                                                      fmt: str) -> None:
    """The plain-Python reference (tests/plain_reference.py, which shares no code with the
    generator or the spec) over the tables in either format: the Parquet rows as CSV text."""
    ds = Dataset.open(data[name])
    read = read_csv_rows if fmt == "csv" else read_parquet_rows
    texts = [Path(p).read_text(encoding="utf-8") for p in ds.input("text").paths]
    recomputed = plain_reference.answers(texts, read(ds), read(ds, "goals"))
    assert set(recomputed) == set(spec.NAMES)
    assert plain_reference.differences(ds.manifest["answers"], recomputed) == []


def test_weighted_answers_equal_repeated_rows() -> None:
    rng = np.random.default_rng(7)
    n, teams = 300, [f"t{i}" for i in range(12)]
    home = rng.integers(0, 12, n)
    away = (home + rng.integers(1, 12, n)) % 12
    hs, as_ = rng.integers(0, 5, n), rng.integers(0, 4, n)
    neutral = rng.random(n) < 0.25
    w = rng.integers(0, 4, n)
    no_words = ([], np.zeros(0, np.int64))
    weighted = answers.Tables(*no_words, teams, home, away, hs, as_, neutral, w)
    rep = np.repeat(np.arange(n), w)
    plain = answers.Tables(*no_words, teams, home[rep], away[rep], hs[rep], as_[rep],
                           neutral[rep])
    for workload in ("mean_home_score", "home_advantage", "team_records", "team_ratings"):
        spec.get(workload).check(answers.ANSWERS[workload](plain),
                                 answers.ANSWERS[workload](weighted))


# --------------------------------------------------------------------------- synthetic goals


def _keys(rows: list[list[str]]) -> list[tuple[str, str, str]]:
    return [(r[1], r[2], r[3]) for r in rows]


@pytest.mark.parametrize("name", ["scale-1", "scale-0.1"])
def test_synthetic_match_keys_are_unique(data: dict[str, Path], name: str) -> None:
    keys = _keys(read_csv_rows(Dataset.open(data[name])))
    assert len(set(keys)) == len(keys)


def test_calendar_keeps_keys_unique_past_a_date_s_capacity() -> None:
    """At scale 400 the busiest dates hold more matches than there are pairings: the surplus
    moves to the next days, dates still never decrease, and no key repeats."""
    plan = synthetic.make_plan(400, 2022, ("csv",))
    cal = synthetic.calendar(plan.matches)
    sizes = np.diff(cal.start)
    assert cal.start[-1] == plan.matches and sizes.max() == synthetic.day_capacity()
    assert np.all(np.diff(cal.day) > 0) and np.all(sizes > 0)
    assert not set(cal.day.tolist()) <= set(model.real_matches().days.tolist())
    busiest = int(cal.start[np.argmax(sizes)])
    k = next(k for k in range(plan.match_parts) if plan.match_range(k)[1] > busiest)
    rows = synthetic.match_rows(plan, k)
    pair = synthetic.pairings()[rows.j]
    assert np.all(np.diff(rows.day) >= 0)
    assert len(np.unique(rows.day * 10**6 + pair)) == len(rows.j)


def _by_key(ds: Dataset) -> dict[tuple[str, str, str], list[str]]:
    return dict(zip(_keys(read_csv_rows(ds)), read_csv_rows(ds), strict=True))


def test_goals_agree_with_their_match(data: dict[str, Path]) -> None:
    ds = Dataset.open(data["scale-1"])
    matches = _by_key(ds)
    goals = read_csv_rows(ds, "goals")
    assert len(goals) == ds.manifest["counts"]["goals"]
    per_side: collections.Counter[tuple[tuple[str, str, str], str]] = collections.Counter()
    for date, home, away, team, scorer, minute, own_goal, penalty in goals:
        assert (date, home, away) in matches and team in (home, away)
        assert own_goal in ("TRUE", "FALSE") and penalty in ("TRUE", "FALSE")
        assert not (own_goal == penalty == "TRUE") and scorer
        assert minute == "NA" or 1 <= int(minute) <= 122
        assert scorer != "NA" or minute == "NA"
        per_side[(date, home, away), team] += 1
    # every match with goal rows has exactly its score's: home_score for the home side...
    for key in {k for k, _ in per_side}:
        match = matches[key]
        assert (per_side[key, key[1]], per_side[key, key[2]]) == (int(match[4]), int(match[5]))


def _rate(rows: list[list[str]], hit, among=lambda r: True) -> tuple[float, int]:
    pool = [r for r in rows if among(r)]
    return sum(map(hit, pool)) / len(pool), len(pool)


def test_goals_follow_the_real_file(data: dict[str, Path]) -> None:
    """Own goals, penalties, unknown scorers and minutes at the real file's rates, within four
    standard errors of a binomial; goal records for each tournament's matches as often; as
    many distinct scorers (13,377) within 5%."""
    ds = Dataset.open(data["scale-1"])
    synth = read_csv_rows(ds, "goals")
    with open(model.TUTORIAL_DIR / model.GOALS_FILE, encoding="utf-8", newline="") as f:
        real = list(csv.reader(f))[1:]
    not_own = lambda r: r[6] == "FALSE"  # noqa: E731
    for hit, among in ((lambda r: r[6] == "TRUE", lambda r: True),
                       (lambda r: r[7] == "TRUE", not_own),
                       (lambda r: r[4] == "NA", lambda r: not_own(r) and r[7] == "FALSE"),
                       (lambda r: r[5] == "NA", lambda r: r[4] != "NA")):
        p, _ = _rate(real, hit, among)
        q, n = _rate(synth, hit, among)
        assert abs(q - p) <= 4 * math.sqrt(p * (1 - p) / n), (p, q)
    minutes = [[int(r[5]) for r in rows if r[5] != "NA"] for rows in (real, synth)]
    assert abs(np.mean(minutes[0]) - np.mean(minutes[1])) < 1.0
    assert abs(len(synth) - len(real)) / len(real) < 0.05
    # matches with goal rows, per tournament, of those with a goal
    shares = []
    for table, goal_rows in ((read_csv_rows(Dataset.open(data["tutorial"])), real),
                             (read_csv_rows(ds), synth)):
        recorded = {(r[0], r[1], r[2]) for r in goal_rows}
        scoring = [r for r in table if int(r[4]) + int(r[5]) > 0]
        n = collections.Counter(r[6] for r in scoring)
        k = collections.Counter(r[6] for r in scoring if (r[1], r[2], r[3]) in recorded)
        shares.append({t: (k[t] / n[t], n[t]) for t in n})
    for t, (p, n) in shares[0].items():
        if n >= 300:
            q, m = shares[1][t]
            assert abs(q - p) <= max(4 * math.sqrt(p * (1 - p) / m), 0.02), (t, p, q)
    names = {r[4] for r in synth}
    assert ds.manifest["counts"]["scorers"] == len(names)
    assert abs(len(names) - 13_377) / 13_377 < 0.05


@pytest.mark.slow  # scale 10
def test_distinct_scorers_grow_with_the_scale(data: dict[str, Path], tmp_path: Path) -> None:
    generate(tmp_path, "--scale", "10", "--workers", "2", "--formats", "csv")
    ds = Dataset.open(tmp_path / "scale-10")
    names = {r[4] for r in read_csv_rows(ds, "goals")}
    assert ds.manifest["counts"]["scorers"] == len(names)
    at_1 = Dataset.open(data["scale-1"]).manifest["counts"]["scorers"]
    # the pools grow like goals**0.75 (10**0.75 = 5.6); more of a bigger pool gets to score
    assert 5 * at_1 < len(names) < 10 * at_1
    keys = _keys(read_csv_rows(ds))
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("parts", [1, 3, 16])
def test_cut_takes_every_goal_once_in_team_order(parts: int) -> None:
    rng = np.random.default_rng(parts)
    counts = [rng.integers(0, 5, 30) for _ in range(7)]  # 7 scratch files, 30 teams
    cut = goals.cut(counts, parts)
    total = int(sum(c.sum() for c in counts))
    assert len(cut) == parts and all(cut)
    taken = {k: [] for k in range(7)}
    first_team = []
    for slices in cut:
        for k, a, b in slices:
            taken[k].append((a, b))
        k, a, _ = slices[0]
        first_team.append(int(np.searchsorted(np.cumsum(counts[k]), a, side="right")))
    for k, spans in taken.items():  # each scratch file read once, in order, without a gap
        assert [a for a, _ in spans] == [0] + [b for _, b in spans[:-1]]
        assert spans[-1][1] == counts[k].sum()
    assert first_team == sorted(first_team)
    sizes = [sum(b - a for _, a, b in slices) for slices in cut]
    assert sum(sizes) == total and max(sizes) <= total / parts + 7 * 4
    assert goals.cut([np.zeros(5, np.int64)] * 2, 4) == [[]]  # no goal: one empty part


def _csv_file(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))[1:]


def test_goal_files_are_ordered_by_team_and_cut_apart_from_the_matches(
        data: dict[str, Path]) -> None:
    ds = Dataset.open(data["scale-1"])
    match_files = [(rows[0][1], rows[-1][1]) for rows in map(_csv_file,
                                                             ds.input("matches", "csv").paths)]
    spans = []
    for path in ds.input("goals", "csv").paths:
        rows = _csv_file(path)
        order = [(r[3], r[0]) for r in rows]
        assert order == sorted(order)  # by team, then date
        dates = {r[0] for r in rows}
        spans.append(sum(any(lo <= d <= hi for d in dates) for lo, hi in match_files))
    # every goal file holds goals of matches from several match files
    assert min(spans) >= 2 and np.mean(spans) > len(match_files) / 2


# --------------------------------------------------------------------------- tutorial


def readme_hashes() -> dict[str, str]:
    text = (model.TUTORIAL_DIR / model.README_FILE).read_text(encoding="utf-8")
    return dict(re.findall(r"^\| (\S+) \| [\d,]+ \| ([0-9a-f]{64}) \|$", text, re.M))


def test_tutorial_files_are_the_real_files(data: dict[str, Path]) -> None:
    hashes = readme_hashes()
    ds = Dataset.open(data["tutorial"])
    assert ds.manifest["params"] == {"kind": "tutorial", "formats": ["csv", "parquet"]}
    texts = ds.input("text").paths
    assert len(texts) == 7
    for i, path in enumerate(texts):
        assert sha256(Path(path)) == hashes[f"text_sample_{i}.txt"]
    # the samples are the novel's opening sentence, in order, lower-cased
    novel = (model.TUTORIAL_DIR / model.NOVEL_FILE).read_text(encoding="utf-8")
    words = " ".join(re.findall(r"[a-z]+", " ".join(model.novel_body(novel)).lower()))
    sample_words = " ".join(Path(p).read_text(encoding="ascii") for p in texts).split()
    assert len(sample_words) == 85
    assert " ".join(sample_words) in words and words.count("it was the best of times") == 1
    (table,) = ds.input("matches", "csv").paths
    assert sha256(Path(table)) == hashes["match_results.csv"]
    (goals,) = ds.input("goals", "csv").paths
    assert sha256(Path(goals)) == hashes["goalscorers.csv"]
    counts = ds.manifest["counts"]
    assert counts["matches"] == 44_060 and counts["teams"] == 316 and counts["lines"] == 7
    assert counts["goals"] == 41_008 and counts["scorers"] == 13_377
    # Parquet: the same goals, typed; the scorer NA a string, the minute NA a null
    table = pq.read_table(ds.input("goals", "parquet").paths[0])
    assert [str(t) for t in table.schema.types] == [
        "date32[day]", "string", "string", "string", "string", "int32", "bool", "bool"]
    assert table.column("scorer").null_count == 0 and table.column("minute").null_count == 258
    assert table.column("scorer").to_pylist().count("NA") == 49


def test_tutorial_answers(data: dict[str, Path]) -> None:
    ds = Dataset.open(data["tutorial"])
    texts = [Path(p).read_text(encoding="utf-8") for p in ds.input("text").paths]
    expected = collections.Counter(w for t in texts for w in t.split())
    # the course splits each stripped line on single spaces: the same words here
    by_course = collections.Counter(w for t in texts for line in t.splitlines()
                                    for w in line.strip().split(" "))
    assert ds.answer("wordcount") == dict(expected) == dict(by_course)
    top = {w: ds.answer("wordcount")[w] for w in ("the", "it", "was", "of")}
    assert top == {"the": 11, "it": 10, "was": 10, "of": 10}
    assert ds.manifest["counts"]["words"] == 85
    assert ds.answer("home_advantage") == 8061
    assert ds.answer("mean_home_score") == pytest.approx(1.7404675442578301, rel=1e-12)


def _shipped(name: str) -> list[dict[str, str]]:
    with open(model.TUTORIAL_DIR / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_real_goal_file_is_well_formed(data: dict[str, Path], fmt: str) -> None:
    """Its mess (NA scorers and minutes, quoted names) is valid data, for every engine."""
    from workloads.data.validate import validate

    validate(Dataset.open(data["tutorial"]).inputs("top_scorers", fmt).values())
    validate(Dataset.open(data["scale-0.1"]).inputs("top_scorers", fmt).values())


def test_tutorial_goal_answers_pinned(data: dict[str, Path]) -> None:
    """Two tournaments and two teams, by plain Python over the shipped CSV files and by hand."""
    matches, goals = _shipped("match_results.csv"), _shipped("goalscorers.csv")
    in_tournament: dict[tuple[str, str, str], list[str]] = collections.defaultdict(list)
    for m in matches:
        in_tournament[m["date"], m["home_team"], m["away_team"]].append(m["tournament"])
    scored: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for g in goals:
        for t in in_tournament.get((g["date"], g["home_team"], g["away_team"]), ()):
            if g["own_goal"] == "FALSE" and g["scorer"] != "NA":
                scored[t][g["scorer"]] += 1
    copa, world_cup = scored["Copa América"], scored["FIFA World Cup"]
    # a tie at 17 in the Copa América, broken by code point: N (U+004E) before Z
    assert sorted(n for n in copa.values())[-2:] == [17, 17]
    assert {s for s, n in copa.items() if n == 17} == {"Norberto Doroteo Méndez", "Zizinho"}
    assert world_cup.most_common(2) == [("Miroslav Klose", 16), ("Ronaldo", 15)]
    ds = Dataset.open(data["tutorial"])
    tops = ds.answer("top_scorers")
    assert tops["Copa América"] == ["Norberto Doroteo Méndez", 17]
    assert tops["FIFA World Cup"] == ["Miroslav Klose", 16]

    def longest_unbeaten(team: str) -> int:
        run = best = 0
        for m in sorted(matches, key=lambda m: (m["date"], int(m[""]))):
            if team in (m["home_team"], m["away_team"]):
                mine, theirs = ((m["home_score"], m["away_score"]) if m["home_team"] == team
                                else (m["away_score"], m["home_score"]))
                run = run + 1 if int(mine) >= int(theirs) else 0
                best = max(best, run)
        return best

    assert longest_unbeaten("Italy") == 37 == ds.answer("unbeaten_streaks")["Italy"]
    assert longest_unbeaten("Niue") == 0 == ds.answer("unbeaten_streaks")["Niue"]


def test_text_model_derives_from_the_novel() -> None:
    novel = model.TUTORIAL_DIR / model.NOVEL_FILE
    assert sha256(novel) == readme_hashes()[model.NOVEL_FILE]
    words, lengths = model.derive_text_model(novel.read_text(encoding="utf-8"))
    assert sum(words.values()) == 138_490 and len(words) == 9_698
    tm = model.text_model()
    assert dict(zip(tm.words, tm.counts.tolist(), strict=True)) == dict(words)
    assert dict(zip(tm.line_lengths.tolist(), tm.line_counts.tolist(), strict=True)) == {
        n: c for n, c in lengths.items()}


# --------------------------------------------------------------------------- CLI behaviour


@pytest.mark.parametrize("args", [
    ["--scale", "0"], ["--scale", "-1"], ["--scale", "abc"], ["--scale", "nan"],
    ["--scale", "inf"], ["--scale", "1e-9"], ["--scale", "1e308"], ["--scale", "1e7"],
    ["--scale", "1", "--workers", "0"], ["--scale", "1", "--workers", "100000"],
    ["--scale", "1", "--workers", "two"], ["--scale", "1", "--formats", "csv,xls"],
    ["--scale", "1", "--seed", "-1"], [], ["--scale"], ["--scale", "1", "--bogus"],
])
def test_bad_input(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "out"
    res = run_cli("--out", str(out), *args)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith("python -m datagen: error: ")
    assert res.stdout == ""
    assert not out.exists()


def test_bad_out(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)  # read-only: root runs the command without its override (setpriv)
    for out in (afile, afile / "sub", ro / "out", ro):
        res = run_cli("--scale", "0.01", "--out", str(out), prefix=AS_UNPRIVILEGED)
        assert res.returncode == 2, (out, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "--out" in res.stderr
        assert "writable" in res.stderr or "not a directory" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "ro"]
    assert list(ro.iterdir()) == [] and afile.read_text() == "x"


def test_up_to_date_force_and_other_params(tmp_path: Path) -> None:
    generate(tmp_path, "--scale", "0.01", "--workers", "2")
    target = tmp_path / "scale-0.01"
    before = (target / layout.MANIFEST).stat().st_mtime_ns
    res = run_cli("--out", str(tmp_path), "--scale", "0.01")
    assert res.returncode == 0 and res.stdout.startswith("scale-0.01: up to date")
    assert (target / layout.MANIFEST).stat().st_mtime_ns == before
    # other parameters: refused without --force, nothing touched
    res = run_cli("--out", str(tmp_path), "--scale", "0.01", "--formats", "csv")
    assert res.returncode == 2 and "--force" in res.stderr
    assert (target / layout.MANIFEST).stat().st_mtime_ns == before
    generate(tmp_path, "--scale", "0.01", "--formats", "csv", "--force")
    ds = Dataset.open(target)
    ds.verify()
    assert ds.formats == ("csv",) and ds.manifest["params"]["formats"] == ["csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scale-0.01"]


def _paused_after_first_part(out: Path, proc: subprocess.Popen, timeout: float = 60) -> Path:
    """The partial folder, once a first match file is written into it; the run is then paused
    (SIGSTOP), so it cannot end before the signal that follows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        for partial in out.glob(f".*{layout.PARTIAL_MARK}*"):
            if any((partial / layout.MATCHES).glob("part-*")):
                proc.send_signal(signal.SIGSTOP)
                while psutil.Process(proc.pid).status() != psutil.STATUS_STOPPED:
                    assert proc.poll() is None, "the run ended before it could be interrupted"
                    time.sleep(0.01)
                return partial
        time.sleep(0.02)
    raise AssertionError("no part was written in time")


def _no_dataset_in(out: Path) -> None:
    for entry in out.iterdir():
        with pytest.raises(DatasetError):
            Dataset.open(entry)


def _start(out: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "datagen", "--out", str(out), *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow  # scale 20
def test_sigkill_leaves_no_dataset_and_the_next_run_succeeds(tmp_path: Path) -> None:
    args = ("--scale", "20", "--workers", "2")
    proc = _start(tmp_path, *args)
    try:
        partial = _paused_after_first_part(tmp_path, proc)
        workers = psutil.Process(proc.pid).children(recursive=True)
    finally:
        proc.kill()
        proc.communicate()
    assert not (tmp_path / "scale-20").exists()
    _no_dataset_in(tmp_path)
    # the orphaned workers notice and stop within a few seconds
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    res = run_cli("--out", str(tmp_path), *args)
    assert res.returncode == 0, res.stderr
    assert not partial.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scale-20"]
    Dataset.open(tmp_path / "scale-20").verify()


@pytest.mark.slow  # scale 20
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_cleans_up(tmp_path: Path, sig: int, status: int) -> None:
    proc = _start(tmp_path, "--scale", "20", "--workers", "2")
    try:
        _paused_after_first_part(tmp_path, proc)
        proc.send_signal(sig)
        proc.send_signal(signal.SIGCONT)  # the signal is delivered as the run goes on
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == status, err
    assert len(err.decode().strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_concurrent_runs_of_one_dataset(tmp_path: Path) -> None:
    procs = [_start(tmp_path, "--scale", "0.1", "--workers", "1") for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scale-0.1"]
    Dataset.open(tmp_path / "scale-0.1").verify()


def test_workers_above_the_max_workers_setting_are_refused(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PARBENCH_MAX_WORKERS": "2"}
    res = subprocess.run([sys.executable, "-m", "datagen", "--scale", "0.01", "--workers", "3",
                          "--out", str(tmp_path / "out")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "at most 2 (the max_workers setting)" in res.stderr
    assert not (tmp_path / "out").exists()


def test_up_to_date_compares_content_not_size(tmp_path: Path) -> None:
    """A same-size edit of one score: the dataset is no longer up to date, it is rewritten."""
    generate(tmp_path, "--scale", "0.01", "--formats", "csv")
    part = tmp_path / "scale-0.01" / "matches" / "part-00000.csv"
    original = part.read_bytes()
    lines = original.split(b"\n")
    row = next(i for i, line in enumerate(lines[1:], 1) if len(line.split(b",")[4]) == 1)
    fields = lines[row].split(b",")
    fields[4] = b"7" if fields[4] != b"7" else b"8"  # one digit for one digit
    lines[row] = b",".join(fields)
    part.write_bytes(b"\n".join(lines))
    assert part.stat().st_size == len(original) and part.read_bytes() != original
    res = run_cli("--out", str(tmp_path), "--scale", "0.01", "--formats", "csv")
    assert res.returncode == 0, res.stderr
    assert "replaced (damaged: 1 files differ, first matches/part-00000.csv)" in res.stdout
    assert part.read_bytes() == original
