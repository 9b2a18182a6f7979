"""`python -m workloads run`: output, check, and one clear line for every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from workloads.dataset import sha256


def one_line_error(proc, *needles: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
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
    one_line_error(run_cli("workloads", *args), *needles)


def test_incomplete_manifest(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["answers"]["team_ratings"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    one_line_error(run_cli("workloads", "run", "wordcount", "--data", str(copy)),
                   "incomplete dataset", "answers.team_ratings", "python -m datagen")


def test_changed_file_fails_sha(copy):
    part = sorted((copy / "text").iterdir())[0]
    part.write_text(part.read_text().replace("the", "teh", 1))
    one_line_error(run_cli("workloads", "run", "wordcount", "--data", str(copy)),
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
    one_line_error(proc, f"{part}:4", "malformed row")
