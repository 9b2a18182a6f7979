"""Hostile input on every engine: one line naming the problem, a non-zero exit, never a traceback
or a wrong answer.

The same malformed file is refused the same way by every engine (the one validation of
`workloads.data.validate`); a dataset in a folder whose name holds glob characters is read exactly;
worker counts above the machine's bound are refused before anything starts.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from workloads import engines, spec
from workloads.cli import main
from workloads.data.dataset import Dataset
from workloads.runtime.errors import ParbenchError
from workloads.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ENGINES = engines.names()


def rewrite_csv(path: Path, edit: Callable[[list[list[str]]], None]) -> None:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    edit(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def set_field(row: int, column: int, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[row][column] = value

    return edit


def drop_column(column: int) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        for r in rows:
            del r[column]

    return edit


#: name -> (workload, format, damage, what the one line must say). Line 3 is the second match.
MALFORMED: dict[str, tuple[str, str, Callable[[Path], None], str]] = {
    "text not UTF-8": ("wordcount", "csv", lambda ds: (ds / "text/part-00000.txt").write_bytes(
        (ds / "text/part-00000.txt").read_bytes() + b"caf\xe9\n"), "part-00000.txt:"),
    "blank score": ("mean_home_score", "csv", lambda ds: rewrite_csv(
        ds / "matches/part-00000.csv", set_field(2, 4, "")), "part-00000.csv:3: malformed row"),
    "blank neutral": ("home_advantage", "csv", lambda ds: rewrite_csv(
        ds / "matches/part-00000.csv", set_field(2, 9, "")), "part-00000.csv:3: malformed row"),
    "neutral 0": ("home_advantage", "csv", lambda ds: rewrite_csv(
        ds / "matches/part-00000.csv", set_field(2, 9, "0")), "part-00000.csv:3: malformed row"),
    "negative score": ("team_records", "csv", lambda ds: rewrite_csv(
        ds / "matches/part-00000.csv", set_field(2, 5, "-1")), "part-00000.csv:3: malformed row"),
    "city dropped": ("team_records", "csv", lambda ds: rewrite_csv(
        ds / "matches/part-00000.csv", drop_column(7)), "part-00000.csv:1: header"),
    "empty parquet": ("team_ratings", "parquet", lambda ds: (
        ds / "matches/part-00000.parquet").write_bytes(b""), "part-00000.parquet"),
    "parquet column dropped": ("team_records", "parquet", lambda ds: drop_parquet_column(
        ds / "matches/part-00000.parquet", "neutral"), "no column neutral"),
}


def drop_parquet_column(path: Path, column: str) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    pq.write_table(table.drop_columns([column]), path)


@pytest.fixture(scope="module")
def damaged(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One private copy of scale 0.01 per kind of damage."""
    out = {}
    for name, (_, _, damage, _) in MALFORMED.items():
        ds = tmp_path_factory.mktemp("damaged") / "scale-0.01"
        shutil.copytree(data_dir / "scale-0.01", ds)
        damage(ds)
        out[name] = ds
    return out


@pytest.mark.parametrize("case", list(MALFORMED))
@pytest.mark.parametrize("name", ENGINES)
def test_malformed_input_is_one_line_for_every_engine(name, case, damaged, capsys):
    workload, fmt, _, needle = MALFORMED[case]
    workers = "1"
    status = main(["run", workload, "--engine", name, "--workers", workers, "--no-verify",
                   "--format", fmt, "--data", str(damaged[case])])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("python -m workloads: error: "), err
    assert needle in err and "Traceback" not in err


@pytest.mark.parametrize("manifest", ["[]", '{"answers": null}', '"x"', "{"])
def test_broken_manifest_is_one_line(manifest, data_dir, tmp_path):
    ds = tmp_path / "scale-0.01"
    shutil.copytree(data_dir / "scale-0.01", ds)
    (ds / "manifest.json").write_text(manifest)
    proc = subprocess.run([sys.executable, "-m", "workloads", "run", "wordcount", "--data",
                           str(ds)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "manifest" in proc.stderr and "python -m datagen" in proc.stderr


@pytest.fixture(scope="module")
def glob_named(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scale-0.01 under `g/ds[1]`, and beside it, under the names a glob of that path matches
    (`g/ds1`), another dataset: a reader that expands globs reads the wrong files."""
    root = tmp_path_factory.mktemp("g")
    shutil.copytree(data_dir / "scale-0.01", root / "ds[1]" / "scale-0.01")
    shutil.copytree(data_dir / "scale-0.1", root / "ds1" / "scale-0.01")
    return root / "ds[1]" / "scale-0.01"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("name", ENGINES)
def test_paths_are_read_literally(name, fmt, glob_named, engine):
    ds = Dataset.open(glob_named)
    ds.verify()
    for workload in ("wordcount", "team_records"):
        spec.get(workload).check(ds.answer(workload), engine(name, 1).run(workload, ds, fmt))


@pytest.mark.parametrize("name", [n for n in ENGINES
                                  if engines.implementation(n).max_workers != 1])
def test_workers_above_the_bound_are_refused(name):
    with pytest.raises(ParbenchError, match="at most 3 .the max_workers setting"):
        engines.create(name, 4, Settings(max_workers=3))
    with pytest.raises(ParbenchError, match=r"at most \d+ \(4 per core"):
        engines.create(name, 10_000, Settings())  # refused before any process starts


@pytest.mark.slow  # a JVM
def test_spark_leaves_no_temporary_file(data_dir, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "workloads", "run", "mean_home_score",
                           "--engine", "spark", "--data", str(data_dir / "scale-0.01")],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a JVM
def test_spark_start_failure_names_its_kept_log(tmp_path, monkeypatch, engine):
    engine.release("spark")  # one JVM per process: the shared one goes first
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    engine = engines.create("spark", 1, Settings(spark_driver_memory="1x"))
    with pytest.raises(ParbenchError, match="Spark did not start") as failure:
        engine.start()
    log = Path(str(failure.value).rsplit("see ", 1)[1])
    assert log.parent == tmp_path and log.name.startswith("parbench-spark.") and log.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [log.name]
