"""serial and pandas against the tutorial's own code and against the manifests' answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from workloads import engines, spec
from workloads.runtime.errors import DataError

#: The registered engines that run on one worker only: the baselines.
REFERENCE = [name for name in engines.names() if engines.implementation(name).max_workers == 1]


# --- the tutorial's own code, in the tutorial's style -----------------------------------------


def mapper(line: str) -> Iterator[tuple[str, int]]:
    for word in line.strip().split(" "):
        yield word, 1


def shuffler(pairs: Iterator[tuple[str, int]]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for word, one in pairs:
        groups.setdefault(word, []).append(one)
    return groups


def reducer(word: str, ones: list[int]) -> tuple[str, int]:
    return word, sum(ones)


def tutorial_wordcount(files: list[str]) -> dict[str, int]:
    pairs = (pair for f in files for line in Path(f).read_text().splitlines()
             for pair in mapper(line))
    return dict(reducer(w, ones) for w, ones in shuffler(pairs).items())


def home_advantage_row(row: pd.Series) -> int:
    if row["neutral"]:
        return 0
    if row["home_score"] > row["away_score"]:
        return 1
    if row["home_score"] < row["away_score"]:
        return -1
    return 0


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFERENCE)
def test_tutorial_wordcount_matches_tutorial_code(name, engine, dataset):
    ds = dataset("tutorial")
    inp = ds.input("text")
    expected = tutorial_wordcount(list(inp.paths))
    assert len(expected) > 30
    spec.get("wordcount").check(expected, engine(name).run("wordcount", ds))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("name", REFERENCE)
def test_tutorial_matches_match_tutorial_code(name, fmt, engine, dataset):
    ds = dataset("tutorial")
    df = pd.read_csv(ds.input("matches", "csv").paths[0])
    assert len(df) == 44060
    e = engine(name)
    spec.get("mean_home_score").check(df["home_score"].mean(),
                                      e.run("mean_home_score", ds, fmt))
    spec.get("home_advantage").check(int(df.apply(home_advantage_row, axis=1).sum()),
                                     e.run("home_advantage", ds, fmt))


@pytest.mark.parametrize("scale", ["tutorial", "0.01", "0.1", "1"])
@pytest.mark.parametrize("workload", list(spec.NAMES))
@pytest.mark.parametrize("name", REFERENCE)
def test_equals_manifest(name, workload, scale, engine, dataset):
    ds = dataset(scale)
    spec.get(workload).check(ds.answer(workload), engine(name).run(workload, ds))


@pytest.mark.parametrize("workload", ["team_records", "team_ratings"])
@pytest.mark.parametrize("name", REFERENCE)
def test_parquet_equals_manifest(name, workload, engine, dataset):
    ds = dataset("0.1")
    spec.get(workload).check(ds.answer(workload), engine(name).run(workload, ds, "parquet"))


@pytest.mark.parametrize("name", REFERENCE)
def test_missing_file_is_named(name, engine, dataset, tmp_path):
    ds = dataset("0.01")
    inp = ds.input("matches")
    gone = str(tmp_path / "part-99999.csv")
    from workloads.data.dataset import Input

    with pytest.raises(DataError, match="part-99999.csv"):
        engine(name).run_inputs("team_records",
                                {"matches": Input("matches", (*inp.paths, gone), "csv")})


def test_check_names_first_differences():
    w = spec.get("wordcount")
    with pytest.raises(spec.AnswerMismatch, match=r"'the': expected 3, got 2"):
        w.check({"the": 3, "a": 1}, {"the": 2, "a": 1})
    with pytest.raises(spec.AnswerMismatch, match="missing"):
        w.check({"the": 3, "a": 1}, {"the": 3})
    spec.get("team_ratings").check({"x": 1.0}, {"x": 1.0 + 1e-8})
    with pytest.raises(spec.AnswerMismatch):
        spec.get("team_ratings").check({"x": 1.0}, {"x": 1.0 + 1e-5})
    with pytest.raises(spec.AnswerMismatch, match="expected 5, got 4"):
        spec.get("home_advantage").check(5, 4)
