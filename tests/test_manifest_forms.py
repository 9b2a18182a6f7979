"""A manifest is checked where it is read: an answer not of its workload's form is a corrupt
manifest in one line (never a traceback, never a "wrong answer" of the engine), and the fix-it
line is a command that works, in closed backticks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(data: Path, workload: str = "team_records") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workloads", "run", workload, "--data",
                           str(data)], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize(("workload", "answer"), [
    ("team_records", "lots"), ("mean_home_score", "3.5"), ("wordcount", {"the": 2.5}),
    ("top_scorers", {"Friendly": ["Someone"]}), ("home_advantage", None)])
def test_an_answer_not_of_its_form_is_a_corrupt_manifest(data_dir, tmp_path, workload, answer):
    ds = tmp_path / "scale-0.01"
    shutil.copytree(data_dir / "scale-0.01", ds)
    manifest = json.loads((ds / "manifest.json").read_text())
    manifest["answers"][workload] = answer
    (ds / "manifest.json").write_text(json.dumps(manifest))
    proc = run(ds, workload)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"answers.{workload} in its workload's form" in proc.stderr
    assert f"`python -m datagen --scale 0.01 --out {tmp_path} --force`" in proc.stderr


def test_the_fix_it_line_of_a_folder_datagen_did_not_name(data_dir, tmp_path):
    ds = tmp_path / "mydata"
    shutil.copytree(data_dir / "scale-0.01", ds)
    (ds / "manifest.json").write_text("{")
    proc = run(ds)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    commands = re.findall(r"`([^`]*)`", proc.stderr)
    assert commands == [f"python -m datagen --scale 1 --out {tmp_path} --force"], proc.stderr
    assert " N " not in proc.stderr and str(tmp_path / "scale-1") in proc.stderr
