"""The report's section "Over a network", from asv results files and sidecar records as
`make bench` and `make bench HOSTS=2 LINK=...` leave them: a machine on one host and its
`-hosts-2-<rate>` machines, whose times and bytes over the wire one table sets side by side."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

from benchmarks.network_plan import bench_pattern
from reports import load, network
from reports.__main__ import main
from reports.build import with_network
from reports.sidecar import WIRE_EVENT

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat"]
PY = "/net/bin/python"
ENV = "existing-py_net_bin_python"
BENCH = "bench_engines.DaskDistributed.time_team_records"
CLASS, METHOD = BENCH.rsplit(".", 1)
T0 = 1_800_000_000.0
#: machine suffix → (median seconds, [(bytes over the wire, calls) per sample]); None: one host.
RUNS = {None: (0.5, []), "100mbit": (2.0, [(3_000_000, 2), (7_000_000, 3)]),
        "unshaped": (1.0, [(4_000_000, 2)])}


def write_machine(results: Path, name: str, value: float, samples: list[tuple[int, int]],
                  t0: float, hosts: dict) -> None:
    """One results file of `name` (team_records on dask-distributed, 1 worker, scale 1) and the
    records its benchmark process wrote: start, ready, a wire record after each sample, each with
    the mean per call over the samples so far, as `bench_engines` writes it."""
    machine = results / name
    machine.mkdir(parents=True)
    (machine / "machine.json").write_text(json.dumps(
        {"machine": name, "num_cpu": "2", "os": "Linux", "arch": "x86_64", "cpu": "net",
         "ram": "1", "version": 1}))
    doc = {"commit_hash": "1" * 40, "env_name": ENV, "date": 1_700_000_000_000,
           "params": {"machine": name, "python": PY}, "python": PY, "requirements": {},
           "env_vars": {}, "result_columns": COLUMNS, "durations": {}, "version": 2,
           "results": {BENCH: [[value], [["1"], ["'1'"]], "v1", int(t0 * 1000), 100.0, None,
                               None, [value * 0.9], [value * 1.1], [1], [3]]}}
    (machine / f"11111111-{ENV}.json").write_text(json.dumps(doc))
    common = {"v": 1, "benchmark": CLASS, "params": ["1", "'1'"], "env": None, "commit": None,
              "executable": PY, "host": "h", "pid": 1}
    records = [{**common, "t": t0 + 1, "event": "start", "method": METHOD, "timeout": 60},
               {**common, "t": t0 + 2, "event": "ready", "format": "csv", **hosts,
                "data": {"team_records": {"bytes": 3_500_000, "rows": {"matches": 44060}}}}]
    sent = calls = 0
    for i, (sample_bytes, sample_calls) in enumerate(samples):
        sent, calls = sent + sample_bytes, calls + sample_calls
        records.append({**common, "t": t0 + 3 + i, "event": WIRE_EVENT, "method": METHOD,
                        **hosts, "wire_bytes": round(sent / calls), "calls": calls})
    # Another environment's process at the same time: not this result's.
    records.append({**records[-1], "executable": "/other/python", "wire_bytes": 1})
    side = results.parent / "parbench" / "outcomes"
    side.mkdir(parents=True, exist_ok=True)
    with open(side / "h.jsonl", "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


def write_family(results: Path) -> None:
    for i, (link, (value, samples)) in enumerate(RUNS.items()):
        name = "box" if link is None else network.machine_name("box", 2, link)
        hosts = {} if link is None else {"hosts": 2, "link": link}
        write_machine(results, name, value, samples, T0 + 1000 * i, hosts)


def test_the_section_sets_rates_side_by_side(tmp_path: Path) -> None:
    results = tmp_path / ".asv" / "results"
    write_family(results)
    machines = load.machines(results)
    assert network.family("box-hosts-2-unshaped", machines) == [
        "box", "box-hosts-2-100mbit", "box-hosts-2-unshaped"]
    report = load.load_machine(results, "box-hosts-2-100mbit")
    with_network([report], results, machines, (60.0, None, None))
    (sec,) = network.sections(report.network)
    assert (sec.workload, sec.scale, sec.hosts, sec.links) == (
        "team_records", "1", 2, ["100mbit", "unshaped"])  # slowest link first
    (row,) = sec.rows
    slow, fast = row.outcomes["100mbit"], row.outcomes["unshaped"]
    assert (slow.value, fast.value, row.alone and row.alone.value) == (2.0, 1.0, 0.5)
    # The mean per call over every sample: (3 + 7) MB over 5 calls.
    assert (slow.wire_bytes, fast.wire_bytes) == (2_000_000, 2_000_000)
    assert row.alone is not None and row.alone.hosts is None

    out = tmp_path / "html"
    assert main(["--results", str(results), "--machine", "box-hosts-2-100mbit",
                 "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    section = unescape(re.search(r'<section id="network">.*?</section>', page, re.S)[0])
    heads = re.findall(r"<th[^>]*>(.*?)</th>", section)
    assert heads == ["engine", "100mbit", "unshaped", "one machine"]
    cells = [re.sub(r"<[^>]+>", " ", td).split() for td in
             re.findall(r"<td[^>]*>(.*?)</td>", section)]
    assert cells[0] == ["dask-distributed"]
    assert cells[1][:2] == ["2", "s"] and " ".join(cells[1][-5:]) == "2 MB over the wire"
    assert cells[2][:2] == ["1", "s"] and " ".join(cells[2][-5:]) == "2 MB over the wire"
    assert cells[3][:2] == ["500", "ms"] and "wire" not in cells[3]
    assert '<a href="#network">' in page
    csv_rows = (out / "results.csv").read_text().splitlines()
    assert csv_rows[0].split(",")[9:12] == ["workers", "hosts", "link"]


def test_no_section_without_network_results(tmp_path: Path) -> None:
    results = tmp_path / ".asv" / "results"
    write_machine(results, "box", 0.5, [], T0, {})
    out = tmp_path / "html"
    assert main(["--results", str(results), "--out", str(out)]) == 0
    assert 'id="network"' not in (out / "index.html").read_text()


def test_make_bench_runs_the_timings_of_each_kinds_engine() -> None:
    assert re.match(bench_pattern("dask"), BENCH)
    assert not re.match(bench_pattern("dask"), "bench_engines.DaskThreads.time_team_records")
    assert re.match(bench_pattern("spark"), "bench_engines.Spark.time_wordcount(1, '1')")
    assert not re.match(bench_pattern("ray"), "bench_engines.Ray.track_startup")
