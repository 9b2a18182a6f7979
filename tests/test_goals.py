"""Bad goal input to the serial engine and `python -m workloads run`: one clear line, a non-zero
exit; and the join semantics of top_scorers on a match key that occurs twice."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from keyed_inputs import DUPLICATE_KEY_ANSWER, duplicate_key_inputs

from workloads import spec
from workloads.data.dataset import Input
from workloads.engines.serial import SerialEngine
from workloads.layout import CSV_COLUMNS, GOAL_COLUMNS, MANIFEST
from workloads.runtime.errors import DataError

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("goals")
    res = run("datagen", "--scale", "0.01", "--workers", "1", "--out", str(out))
    assert res.returncode == 0, res.stderr
    return out / "scale-0.01"


@pytest.fixture
def copy(small: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small, tmp_path / "scale-0.01"))


def rewrite(dataset: Path, name: str, text: str) -> Path:
    """Replace a file of the dataset, its size and sha256 in the manifest too."""
    path = dataset / name
    path.write_text(text, encoding="utf-8")
    manifest = json.loads((dataset / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][name] = {"bytes": path.stat().st_size,
                               "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (dataset / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return path


def one_line_error(res: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert res.returncode == 2, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m workloads: error: "), res.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


def top_scorers(dataset: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("workloads", "run", "top_scorers", "--engine", "serial", "--data", str(dataset),
               *extra)


def test_the_small_dataset_checks(small: Path) -> None:
    res = top_scorers(small)
    assert res.returncode == 0 and "check: ok" in res.stdout, res


def test_a_goal_file_without_a_column(copy: Path) -> None:
    name = "goals/part-00001.csv"
    lines = (copy / name).read_text(encoding="utf-8").splitlines(keepends=True)
    drop = GOAL_COLUMNS.index("own_goal")
    cut = ["".join(",".join(f for i, f in enumerate(line.rstrip("\n").split(",")) if i != drop)
                   + "\n") for line in lines]
    path = rewrite(copy, name, "".join(cut))
    one_line_error(top_scorers(copy), f"{path}:1", "header has no column own_goal")
    one_line_error(top_scorers(copy, "--no-verify"), f"{path}:1", "header has no column own_goal")


@pytest.mark.parametrize(("edit", "what"), [
    (lambda line: line.rsplit(",", 1)[0] + "\n", "expected 8 fields, got 7"),
    (lambda line: line.replace(",FALSE,", ",no,", 1), "own_goal 'no' is not TRUE or FALSE"),
])
def test_a_malformed_goal_row_names_file_and_line(copy: Path, edit, what: str) -> None:
    """Found by the serial engine's reader (files that match the manifest) and by the
    validation of unverified files alike."""
    name = "goals/part-00000.csv"
    lines = (copy / name).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = edit(lines[4])
    path = rewrite(copy, name, "".join(lines))
    for extra in ((), ("--no-verify",)):
        one_line_error(top_scorers(copy, *extra), f"{path}:5", "malformed row", what)


def test_unverified_goal_files_are_validated(copy: Path) -> None:
    import pyarrow.parquet as pq

    name = "goals/part-00001.csv"
    lines = (copy / name).read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[2].split(",")
    fields[GOAL_COLUMNS.index("minute")] = "x"
    lines[2] = ",".join(fields)
    (copy / name).write_text("".join(lines), encoding="utf-8")
    one_line_error(top_scorers(copy, "--no-verify"), f"{copy / name}:3",
                   "minute 'x' is not a non-negative integer or NA")
    parquet = copy / "goals/part-00000.parquet"
    pq.write_table(pq.read_table(parquet).drop_columns(["penalty"]), parquet)
    one_line_error(top_scorers(copy, "--no-verify", "--format", "parquet"), str(parquet),
                   "no column penalty")


def test_goals_without_matches(copy: Path) -> None:
    shutil.rmtree(copy / "matches")
    manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = {n: e for n, e in manifest["files"].items()
                         if not n.startswith("matches/")}
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    one_line_error(top_scorers(copy, "--no-verify"), "no matches files")


def test_a_missing_goal_file(copy: Path) -> None:
    (copy / "goals" / "part-00000.csv").unlink()
    one_line_error(top_scorers(copy, "--no-verify"), "part-00000.csv is missing")


def test_every_matching_pair_counts(tmp_path: Path) -> None:
    """A match key twice in the match table (as in the real one): its goals count once per
    match row, in each row's tournament, as an SQL inner join counts them."""
    answer = SerialEngine().top_scorers(**duplicate_key_inputs(tmp_path))
    spec.get("top_scorers").check(DUPLICATE_KEY_ANSWER, answer)


def test_a_goal_file_read_directly_names_its_line(tmp_path: Path) -> None:
    goals = tmp_path / "goals.csv"
    goals.write_text(",".join(GOAL_COLUMNS) + "\n2001-01-01,A,B,A,Ann,1,FALSE\n")
    matches = tmp_path / "matches.csv"
    matches.write_text(",".join(CSV_COLUMNS) + "\n0,2001-01-01,A,B,1,0,Cup,X,Y,False\n")
    with pytest.raises(DataError, match=f"{goals}:2: malformed row"):
        SerialEngine().top_scorers(goals=Input("goals", (str(goals),), "csv"),
                                   matches=Input("matches", (str(matches),), "csv"))
