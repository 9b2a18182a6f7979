"""`python -m workloads run`: output, check, and one clear line for every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from workloads.data.dataset import sha256


def one_line_error(proc, code: int, *needles: str) -> None:
    """`proc` failed with exit status `code` and one line naming every needle."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("python -m workloads: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def copy(data_dir: Path, tmp_path: Path):
    """A private copy of the scale-0.01 dataset, to damage."""
    dst = tmp_path / "scale-0.01"
    shutil.copytree(data_dir / "scale-0.01", dst)
    return dst


def test_run_json(data_dir):
    proc = run_cli("workloads", "run", "team_records", "--engine", "pandas", "--data",
                   str(data_dir / "scale-0.1"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"workload", "engine", "workers", "answer", "check", "seconds"}
    assert out["check"] == "ok" and out["seconds"] > 0
    manifest = json.loads((data_dir / "scale-0.1" / "manifest.json").read_text())
    assert out["answer"] == manifest["answers"]["team_records"]


def test_run_text(data_dir):
    proc = run_cli("workloads", "run", "mean_home_score", "--data", str(data_dir / "tutorial"))
    assert proc.returncode == 0, proc.stderr
    assert "check: ok" in proc.stdout and "time:" in proc.stdout


@pytest.mark.parametrize(("args", "needles"), [
    (["run", "nosuch", "--data", "x"], ["unknown workload 'nosuch'", "wordcount"]),
    (["run", "wordcount", "--engine", "nosuch", "--data", "x"], ["unknown engine 'nosuch'"]),
    (["run", "wordcount", "--workers", "0", "--data", "x"], ["positive integer"]),
    (["run", "wordcount", "--data", "/nonexistent/scale-3"],
     ["no dataset", "python -m datagen --scale 3"]),
])
def test_bad_arguments(args, needles):
    one_line_error(run_cli("workloads", *args), 2, *needles)


def test_incomplete_manifest(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["answers"]["team_ratings"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    one_line_error(run_cli("workloads", "run", "wordcount", "--data", str(copy)), 2,
                   "incomplete dataset", "answers.team_ratings", "python -m datagen")


def test_changed_file_fails_sha(copy):
    part = sorted((copy / "text").iterdir())[0]
    part.write_text(part.read_text().replace("the", "teh", 1))
    one_line_error(run_cli("workloads", "run", "wordcount", "--data", str(copy)), 2,
                   part.name, "sha256", "--force")


@pytest.mark.parametrize("engine", ["serial", "pandas"])
def test_malformed_csv_row_names_file_and_line(copy, engine):
    part = sorted((copy / "matches").glob("*.csv"))[0]
    lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace(",", ",x", 1).rsplit(",", 2)[0] + "\n"  # too few fields
    part.write_text("".join(lines), encoding="utf-8")
    manifest = json.loads((copy / "manifest.json").read_text())
    entry = manifest["files"][f"matches/{part.name}"]
    entry["sha256"], entry["bytes"] = sha256(part), part.stat().st_size
    (copy / "manifest.json").write_text(json.dumps(manifest))
    proc = run_cli("workloads", "run", "team_records", "--engine", engine, "--data", str(copy))
    one_line_error(proc, 2, f"{part}:4", "malformed row")


@pytest.mark.parametrize("json_out", [False, True])
def test_wrong_answer_exits_1_with_the_check(data_dir, json_out):
    """An engine whose answer differs: the run completes, prints the mismatch, exits 1."""
    ds = data_dir / "scale-0.1"
    expected = json.loads((ds / "manifest.json").read_text())["answers"]["home_advantage"]
    plugin = f"wrong={Path(__file__).with_name('wrong_engine.py')}:WrongEngine"
    proc = run_cli("workloads", "run", "home_advantage", "--engine", "wrong", "--data", str(ds),
                   *(["--json"] if json_out else []), env={"PARBENCH_ENGINES": plugin})
    assert proc.returncode == 1, proc.stderr
    mismatch = f"home_advantage: expected {expected}, got {expected + 1}"
    if json_out:
        out = json.loads(proc.stdout)
        assert out["check"] == mismatch and out["answer"] == expected + 1
    else:
        assert f"check: {mismatch}" in proc.stdout.splitlines()
