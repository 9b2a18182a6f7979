"""`python -m datagen --force` and what datagen refuses without it: an up-to-date dataset is
kept, or rewritten with --force; a folder that is not a complete dataset, a file in the way and
a dataset with other parameters are refused in one line (exit 2, nothing touched) and replaced
with --force; a dataset of another generator version is replaced as stale. Whatever happens,
the output folder ends up holding the dataset alone, every file matching its manifest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workloads.data.dataset import VERIFIED

ROOT = Path(__file__).resolve().parents[1]
NAME = "scale-0.01"
ARGS = ("--scale", "0.01", "--formats", "csv")


def datagen(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    return subprocess.run([sys.executable, "-m", "datagen", "--out", str(out), *ARGS, *args],
                          capture_output=True, text=True, timeout=120, env=env)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def assert_only_the_dataset(out: Path, seed: int = 2022) -> None:
    """`out` holds the dataset and nothing else (no hidden folder or file left aside); every
    file the manifest lists has its size and sha256, and no other file is there."""
    assert [p.name for p in out.iterdir()] == [NAME]
    folder = out / NAME
    m = manifest(folder)
    assert m["params"]["seed"] == seed
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert on_disk == set(m["files"]) | {"manifest.json", VERIFIED}
    assert set(json.loads((folder / VERIFIED).read_text())) == set(m["files"])  # found whole
    for name, entry in m["files"].items():
        data = (folder / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])


def assert_refused(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout)
    (line,) = proc.stderr.splitlines()
    assert line.startswith("python -m datagen: error: ") and "--force" in line, line
    for needle in needles:
        assert needle in line, line


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("template")
    proc = datagen(out)
    assert proc.returncode == 0, proc.stderr
    return out / NAME


@pytest.fixture
def out(template: Path, tmp_path: Path) -> Path:
    """A fresh output folder holding a copy of the up-to-date dataset."""
    shutil.copytree(template, tmp_path / "out" / NAME)
    return tmp_path / "out"


def test_up_to_date_is_kept_and_force_rewrites_it(out: Path) -> None:
    before = (out / NAME / "manifest.json").read_bytes()
    (out / NAME / "notes.txt").write_text("mine")  # outside the manifest: not checked
    proc = datagen(out)
    assert proc.returncode == 0 and proc.stdout.startswith(f"{NAME}: up to date"), proc.stderr
    assert (out / NAME / "notes.txt").exists()
    proc = datagen(out, "--force")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{NAME}: wrote ") and "; rewritten (--force) -> " in proc.stdout
    assert (out / NAME / "manifest.json").read_bytes() == before  # the same seed, the same bytes
    assert_only_the_dataset(out)  # a new folder: the note went with the old one


def test_an_incomplete_folder_is_refused_then_replaced(out: Path) -> None:
    folder = out / NAME
    (folder / "manifest.json").unlink()  # as a copy that stopped half-way
    proc = datagen(out)
    assert_refused(proc, f"{folder} exists but is not a complete dataset")
    assert not (folder / "manifest.json").exists() and (folder / "text").is_dir()
    proc = datagen(out, "--force")
    assert proc.returncode == 0 and "; replaced an incomplete folder -> " in proc.stdout, \
        proc.stderr
    assert_only_the_dataset(out)


def test_a_file_in_the_way_is_refused_then_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / NAME).write_text("not a dataset")
    assert_refused(datagen(out), "is not a complete dataset")
    assert (out / NAME).read_text() == "not a dataset"
    proc = datagen(out, "--force")
    assert proc.returncode == 0 and "replaced an incomplete folder" in proc.stdout, proc.stderr
    assert_only_the_dataset(out)


def test_other_parameters_are_refused_naming_them_then_replaced(out: Path) -> None:
    before = (out / NAME / "manifest.json").read_bytes()
    assert_refused(datagen(out, "--seed", "7"),
                   f"{out / NAME} holds a dataset with other parameters (seed 2022 instead of 7)")
    assert (out / NAME / "manifest.json").read_bytes() == before
    proc = datagen(out, "--seed", "7", "--force")
    assert proc.returncode == 0 and "; replaced (other parameters) -> " in proc.stdout, proc.stderr
    assert_only_the_dataset(out, seed=7)


def test_another_generator_version_is_replaced_without_force(out: Path) -> None:
    m = manifest(out / NAME)
    m["generator"]["version"] = "0.0.1"
    (out / NAME / "manifest.json").write_text(json.dumps(m))
    proc = datagen(out)
    assert proc.returncode == 0, proc.stderr
    assert "; replaced (it was written by generator version 0.0.1) -> " in proc.stdout
    assert manifest(out / NAME)["generator"]["version"] != "0.0.1"
    assert_only_the_dataset(out)
