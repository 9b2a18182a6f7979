"""The report never ends in a traceback on what it reads: a results file it cannot read is named
on stderr and in the page's failures, the rest reported; `--out` is checked first; `--commit`
names the commits of every machine; a recorded skip wins over asv's failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_reports import HAND, write_hand

from reports import model
from reports.load import load_machine

ROOT = Path(__file__).resolve().parents[1]


def report(results: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reports", "--results", str(results),
                           "--out", str(out), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def broken_beside(results: Path, content: bytes) -> Path:
    """A second results file of the hand machine with `content`."""
    path = results / "handbox" / "deadbeef-broken.json"
    path.write_bytes(content)
    return path


GOOD = json.dumps({"version": 2, "commit_hash": "d" * 40, "env_name": "x", "date": 1,
                   "params": {}, "python": "3.11", "requirements": {}, "env_vars": {},
                   "result_columns": ["result", "params"], "durations": {}})
BROKEN = {
    "truncated": GOOD[: len(GOOD) // 2].encode(),
    "empty": b"",
    "binary": b"\x00\xff\xfe garbage \x89PNG",
    "wrong types": GOOD.replace('"durations": {}', '"durations": {}, "results": '
                                '{"bench_engines.Serial.time_wordcount": [[1.0], "params"]}')
    .encode(),
    "nulls": GOOD.replace('"durations": {}', '"durations": {}, "results": '
                          '{"bench_engines.Serial.time_wordcount": [null, [null]]}').encode(),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_an_unreadable_results_file_is_named_and_the_rest_reported(tmp_path, kind):
    results = tmp_path / ".asv" / "results"
    write_hand(results, HAND)
    path = broken_beside(results, BROKEN[kind])
    proc = report(results, tmp_path / "html")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert [ln for ln in proc.stderr.splitlines() if str(path) in ln], proc.stderr
    page = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "Results files left out" in page and path.name in page
    assert 'data-workload="wordcount"' in page  # the readable file is still reported
    assert proc.stderr.count("\n") == 1  # one line, and no library warning


def test_out_that_is_a_file_is_one_line_before_anything_is_read(tmp_path):
    out = tmp_path / "page.html"
    out.write_text("mine")
    proc = report(tmp_path / "nothing", out)
    assert proc.returncode == 2 and "is a file" in proc.stderr
    assert proc.stderr.count("\n") == 1 and out.read_text() == "mine"


def test_an_unknown_commit_names_those_of_every_machine(tmp_path):
    results = tmp_path / ".asv" / "results"
    write_hand(results, HAND, commit="a" * 40)
    other = tmp_path / "other" / ".asv" / "results"
    write_hand(other, HAND, commit="b" * 40)
    (other / "handbox").rename(results / "otherbox")
    proc = report(results, tmp_path / "html", "--commit", "cafe")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "aaaaaaaa" in proc.stderr and "bbbbbbbb" in proc.stderr


def test_a_recorded_skip_wins_over_asvs_failure(tmp_path):
    """A timed call that raised NotImplementedError: asv stores a failure (null), the
    benchmark's record says why it was skipped."""
    results = tmp_path / ".asv" / "results"
    write_hand(results, {"bench_engines.Ray.time_wordcount": {(1, "1"): ("skip", "why not")}})
    doc_path = next(p for p in (results / "handbox").glob("*.json") if p.name != "machine.json")
    doc = json.loads(doc_path.read_text())
    doc["results"]["bench_engines.Ray.time_wordcount"][0] = [None]  # asv's failure
    doc_path.write_text(json.dumps(doc))
    (cell,) = [c for c in load_machine(results, "handbox").cells if c.engine == "ray"]
    assert (cell.status, cell.reason) == (model.SKIPPED, "why not")
