"""`python -m workloads settings` (text and --json), the text form of `python -m workloads
engines`, and the one line a bad `PARBENCH_*` value gives: each command runs as a user runs it,
in a fresh process with only the variables a test sets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Every setting and its variable, as the settings table of the docs lists them.
VARIABLES = {
    "data": "PARBENCH_DATA", "scales": "PARBENCH_SCALES", "workers": "PARBENCH_WORKERS",
    "max_workers": "PARBENCH_MAX_WORKERS", "format": "PARBENCH_FORMAT",
    "engines": "PARBENCH_ENGINES", "dask_address": "PARBENCH_DASK_ADDRESS",
    "spark_master": "PARBENCH_SPARK_MASTER", "spark_driver_memory": "PARBENCH_SPARK_DRIVER_MEMORY",
    "ray_address": "PARBENCH_RAY_ADDRESS", "batch_backend": "PARBENCH_BATCH",
    "batch_dir": "PARBENCH_BATCH_DIR", "cluster_state": "PARBENCH_STATE",
    "connect_timeout": "PARBENCH_CONNECT_TIMEOUT", "timeout": "PARBENCH_TIMEOUT",
    "memory": "PARBENCH_MEMORY", "memory_enforcement": "PARBENCH_MEMORY_ENFORCEMENT",
}


def run(cwd: Path, *args: str, module: str = "workloads",
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` in `cwd`, with no PARBENCH_* variable but those of `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARBENCH_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), clean.get("PYTHONPATH"))))
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**clean, **(env or {})})


def settings_json(cwd: Path, env: dict[str, str] | None = None) -> dict[str, dict]:
    proc = run(cwd, "settings", "--json", env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return json.loads(proc.stdout)


def powers_of_two_and(cores: int) -> list[int]:
    """The default worker counts, as the docs define them: 1, 2, 4, … below the cores, and the
    core count."""
    return [2**k for k in range(cores.bit_length()) if 2**k < cores] + [cores]


def test_the_docs_list_every_setting() -> None:
    docs = "".join((ROOT / name).read_text(encoding="utf-8")
                   for name in ("README.md", "docs/design.md"))
    assert set(re.findall(r"^\| `(PARBENCH_\w+)` \|", docs, re.M)) == set(VARIABLES.values())


def test_defaults_as_json(tmp_path: Path) -> None:
    """Nothing set (an empty or blank variable counts as unset): every setting, its default
    value, "default" as its source; relative folders under the working directory."""
    got = settings_json(tmp_path, {"PARBENCH_FORMAT": "", "PARBENCH_WORKERS": "  "})
    assert list(got) == list(VARIABLES)
    assert {s: r["variable"] for s, r in got.items()} == VARIABLES
    assert {s: r["source"] for s, r in got.items()} == dict.fromkeys(VARIABLES, "default")
    assert {s: r["value"] for s, r in got.items()} == {
        "data": str(tmp_path / "data"), "scales": None,
        "workers": powers_of_two_and(os.cpu_count() or 1), "max_workers": None,
        "format": "csv", "engines": {}, "dask_address": None, "spark_master": None,
        "spark_driver_memory": "4g", "ray_address": None, "batch_backend": "local",
        "batch_dir": None, "cluster_state": str(tmp_path / ".parbench" / "cluster"),
        "connect_timeout": 5.0, "timeout": 1800.0, "memory": None, "memory_enforcement": "auto"}
    assert all(r["help"] for r in got.values())


#: A value for every variable, and the setting it gives (folders relative to the test's folder).
SET = {
    "PARBENCH_DATA": ("d", "{cwd}/d"),
    "PARBENCH_SCALES": ("1, 0.1", ["1", "0.1"]),
    "PARBENCH_WORKERS": ("4 1,2 4", [1, 2, 4]),
    "PARBENCH_MAX_WORKERS": ("5", 5),
    "PARBENCH_FORMAT": ("parquet", "parquet"),
    "PARBENCH_ENGINES": ("mine = my.module:Mine, other=/x/y.py:Other",
                         {"mine": "my.module:Mine", "other": "/x/y.py:Other"}),
    "PARBENCH_DASK_ADDRESS": ("tcp://10.0.0.1:8786", "tcp://10.0.0.1:8786"),
    "PARBENCH_SPARK_MASTER": ("spark://10.0.0.1:7077", "spark://10.0.0.1:7077"),
    "PARBENCH_SPARK_DRIVER_MEMORY": ("2g", "2g"),
    "PARBENCH_RAY_ADDRESS": ("10.0.0.1:6379", "10.0.0.1:6379"),
    "PARBENCH_BATCH": ("slurm", "slurm"),
    "PARBENCH_BATCH_DIR": ("~/jobs", "{home}/jobs"),
    "PARBENCH_STATE": ("state", "{cwd}/state"),
    "PARBENCH_CONNECT_TIMEOUT": ("2.5", 2.5),
    "PARBENCH_TIMEOUT": ("90", 90.0),
    "PARBENCH_MEMORY": ("1.5GiB", 1536 * 2**20),
    "PARBENCH_MEMORY_ENFORCEMENT": ("watchdog", "watchdog"),
}


def _expected(value: object, cwd: Path) -> object:
    return value.format(cwd=cwd, home=cwd / "home") if isinstance(value, str) else value


def test_variables_set_show_as_such(tmp_path: Path) -> None:
    env = {var: text for var, (text, _) in SET.items()} | {"HOME": str(tmp_path / "home")}
    got = settings_json(tmp_path, env)
    by_var = {r["variable"]: r for r in got.values()}
    for var, (_, value) in SET.items():
        assert by_var[var]["source"] == var
        assert by_var[var]["value"] == _expected(value, tmp_path), var


def test_text_form(tmp_path: Path) -> None:
    """A header, then one line per setting: name, value (lists space-separated, mappings as
    name=target, "-" for none), "$VARIABLE" or "default", and what it means."""
    env = {"PARBENCH_WORKERS": "2 1", "PARBENCH_ENGINES": "mine=my.module:Mine",
           "PARBENCH_BATCH_DIR": "jobs"}
    proc = run(tmp_path, "settings", env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["setting", "value", "from", "meaning"]
    assert [line.split()[0] for line in lines[1:]] == list(VARIABLES)
    shown = {line.split()[0]: line for line in lines[1:]}

    def row(setting: str, value: str, source: str) -> str:
        return f"{setting:<20} {value:<32} {source:<30} "

    assert shown["workers"].startswith(row("workers", "1 2", "$PARBENCH_WORKERS"))
    assert shown["engines"].startswith(row("engines", "mine=my.module:Mine", "$PARBENCH_ENGINES"))
    assert shown["batch_dir"].startswith(
        row("batch_dir", str(tmp_path / "jobs"), "$PARBENCH_BATCH_DIR"))
    assert shown["format"].startswith(row("format", "csv", "default"))
    assert shown["scales"].startswith(row("scales", "-", "default"))
    assert shown["dask_address"].startswith(row("dask_address", "-", "default"))
    assert shown["data"].startswith(row("data", str(tmp_path / "data"), "default"))


@pytest.mark.parametrize(("var", "text", "needle"), [
    ("PARBENCH_WORKERS", "0", "positive integers"),
    ("PARBENCH_WORKERS", "1 two", "positive integers"),
    ("PARBENCH_MAX_WORKERS", "many", "positive integer"),
    ("PARBENCH_SCALES", "ten", "positive, finite scales"),
    ("PARBENCH_SCALES", "nan", "positive, finite scales"),
    ("PARBENCH_FORMAT", "xls", "choose csv or parquet"),
    ("PARBENCH_BATCH", "pbs", "choose local or slurm"),
    ("PARBENCH_ENGINES", "mine", "is not name=module:Class"),
    ("PARBENCH_ENGINES", "mine=module", "is not name=module:Class"),
    ("PARBENCH_SCALES", "inf", "positive, finite scales"),
    ("PARBENCH_SCALES", "1e400", "positive, finite scales"),
    ("PARBENCH_DATA", "/", "the root of the file system"),
    ("PARBENCH_DATA", __file__, "is a file, not a folder"),
    ("PARBENCH_WORKERS", "1 99999", "99999 workers is more than this machine runs"),
    ("PARBENCH_TIMEOUT", "inf", "positive number of seconds"),
    ("PARBENCH_TIMEOUT", "-5", "positive number of seconds"),
    ("PARBENCH_MEMORY", "lots", "is not a size"),
    ("PARBENCH_MEMORY", "64MiB", "below the smallest budget"),
    ("PARBENCH_MEMORY_ENFORCEMENT", "kernel", "choose auto or cgroup or watchdog"),
])
def test_a_bad_value_is_one_line_and_exit_2(tmp_path: Path, var: str, text: str,
                                            needle: str) -> None:
    proc = run(tmp_path, "settings", env={var: text})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"python -m workloads: error: {var}") and needle in line, line


def test_a_bad_value_stops_datagen_the_same_way(tmp_path: Path) -> None:
    proc = run(tmp_path, "--scale", "0.01", "--out", str(tmp_path / "out"), module="datagen",
               env={"PARBENCH_MAX_WORKERS": "none"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("python -m datagen: error: PARBENCH_MAX_WORKERS='none'"), line
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- engines


def no_java() -> dict[str, str]:
    """PATH without `java` and JAVA_HOME empty: spark reports itself unavailable instead of
    starting a JVM to ask its version."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not os.access(os.path.join(d, "java"), os.X_OK)]
    return {"PATH": os.pathsep.join(dirs), "JAVA_HOME": ""}


def test_engines_text_form_says_what_json_says(tmp_path: Path) -> None:
    """One line per engine, in the registry's order, plugins last: its name, "available" or
    "unavailable: " and the reason, then the versions found in parentheses."""
    env = {**no_java(), "PARBENCH_ENGINES": "ghost=no_such_module_here:Engine"}
    listed = run(tmp_path, "engines", "--json", env=env)
    text = run(tmp_path, "engines", env=env)
    assert listed.returncode == text.returncode == 0, (listed.stderr, text.stderr)
    rows = json.loads(listed.stdout)["engines"]
    lines = text.stdout.splitlines()
    assert len(lines) == len(rows) and rows[-1]["engine"] == "ghost"
    for row, line in zip(rows, lines, strict=True):
        versions = ", ".join(f"{k} {v}" for k, v in row["versions"].items())
        state = "available" if row["available"] else f"unavailable: {row['reason']}"
        assert line == f"{row['engine']:<18} {state}" + (f"  ({versions})" if versions else "")
    by_name = {row["engine"]: row for row in rows}
    assert not by_name["ghost"]["available"] and "no_such_module_here" in lines[-1]
    assert not by_name["spark"]["available"] and "java" in by_name["spark"]["reason"].lower()
    assert by_name["serial"]["available"]
    assert lines[0].startswith("serial             available")
