"""Reports: pure metrics, a report from a real (tiny) asv run, the page in Chromium."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

import pytest

from reports import metrics, model
from reports.__main__ import main
from reports.load import versions_path
from workloads import engines

ROOT = Path(__file__).resolve().parents[1]

# --- metrics from hand-made numbers -------------------------------------------------------------


def amdahl(t1: float, f: float, ps: list[int]) -> dict[int, float]:
    return {p: t1 * (f + (1 - f) / p) for p in ps}


def test_speedup_efficiency_karp_flatt_exact() -> None:
    times = amdahl(8.0, 0.2, [1, 2, 4, 8])
    s = metrics.speedup(times)
    assert s[1] == 1 and s[2] == pytest.approx(1 / 0.6) and s[8] == pytest.approx(1 / 0.3)
    e = metrics.efficiency(s)
    assert e[4] == pytest.approx(s[4] / 4)
    assert metrics.karp_flatt_curve(s) == pytest.approx({2: 0.2, 4: 0.2, 8: 0.2})
    assert math.isnan(metrics.karp_flatt(1.0, 1))
    # Efficiency 1/(p(f + (1-f)/p)): 0.833 at 2, 0.625 at 4, 0.417 at 8.
    assert metrics.workers_worth_it(s) == 4
    assert metrics.speedup({2: 1.0}) == {}  # no T(1): no speedup


def test_speedup_over_baseline_and_best() -> None:
    assert metrics.speedup_over(6.0, {1: 3.0, 2: 1.5}) == {1: 2.0, 2: 4.0}
    assert metrics.speedup_over(None, {1: 3.0}) == {}
    assert metrics.best_time({1: 3.0, 2: 1.0, 4: 1.0}) == (2, 1.0)
    assert metrics.best_time({}) is None


def test_growth_exponent() -> None:
    assert metrics.growth_exponent({s: 0.3 * s**1.5 for s in (0.1, 1, 10, 100)}) == \
        pytest.approx(1.5)
    assert metrics.growth_exponent({1: 2.0, 10: 20.0}) == pytest.approx(1.0)
    assert math.isnan(metrics.growth_exponent({1: 2.0}))


def test_crossover() -> None:
    serial = {0.1: 1.0, 1: 10.0, 10: 100.0}
    spark = {0.1: 5.0, 1: 8.0, 10: 20.0}  # fixed overhead, faster work
    assert metrics.crossover(spark, serial) == 1
    assert metrics.crossover({0.1: 0.5, 1: 5.0, 10: 50.0}, serial) == 0.1  # always faster
    assert metrics.crossover({0.1: 2.0, 1: 20.0, 10: 200.0}, serial) is None  # never
    assert metrics.crossover({0.1: 0.5, 1: 20.0, 10: 50.0}, serial) == 10  # from 10 on
    assert metrics.crossover({1: 1.0}, {10: 5.0}) is None  # nothing in common


def test_engine_names() -> None:
    for name in engines.names():
        assert engines.engine_of_suite(engines.suite_name(name)) == name
    assert engines.engine_of_suite("DaskThreads") == "dask-threads"
    assert engines.engine_of_suite("DuckDB", known=[]) == "duckdb"


# --- a real asv run of a tiny fake suite --------------------------------------------------------

BENCH_ENGINES = '''
import time

UNIT = 0.004  # seconds per unit of scale, one worker


class _Engine:
    params = ([1, 2, 4], ["0.1", "1", "10"])
    param_names = ["workers", "scale"]
    rounds, repeat, number, warmup_time = 1, 3, 1, 0
    one_worker, overhead, serial_fraction, speed = False, 0.0, 0.1, 1.0

    def setup(self, workers, scale):
        if self.one_worker and workers > 1:
            raise NotImplementedError("one worker only")

    def _run(self, workers, scale):
        f = self.serial_fraction
        time.sleep(self.overhead + UNIT * float(scale) / self.speed * (f + (1 - f) / workers))

    def time_wordcount(self, workers, scale):
        self._run(workers, scale)

    def time_team_ratings(self, workers, scale):
        self._run(workers, scale)

    def track_startup(self, workers, scale):
        return 0.2 + self.overhead * 50

    track_startup.unit = "seconds"

    def track_peak_memory(self, workers, scale):
        return (60 + 25 * workers * self.speed + 8 * float(scale)) * 2**20

    track_peak_memory.unit = "bytes"


class Serial(_Engine):
    engine = "serial"
    one_worker = True


class Pandas(_Engine):
    engine = "pandas"
    one_worker, speed = True, 2.5


class DaskThreads(_Engine):
    engine = "dask-threads"
    overhead, serial_fraction = 0.002, 0.2


    def time_team_ratings(self, workers, scale):
        if workers == 4 and scale == "0.1":
            time.sleep(10)  # past its timeout: asv stops it
        self._run(workers, scale)

    time_team_ratings.timeout = 1.0


class Spark(_Engine):
    engine = "spark"
    overhead, serial_fraction, speed = 0.01, 0.05, 1.5

    def time_wordcount(self, workers, scale):
        if workers == 2 and scale == "1":
            raise AssertionError("wrong answer")
        self._run(workers, scale)
'''

BENCH_DATAGEN = '''
import time


class Datagen:
    params = ([1, 2], ["1"])
    param_names = ["workers", "scale"]
    rounds, repeat, number, warmup_time = 1, 3, 1, 0

    def time_generate(self, workers, scale):
        time.sleep(0.004 / workers)
'''

VERSIONS = {"engines": [
    {"engine": "serial", "available": True, "reason": "", "versions": {"python": "3.11.7"}},
    {"engine": "dask-threads", "available": True, "reason": "", "versions": {"dask": "2025.1"}},
    {"engine": "spark", "available": False, "reason": "needs <java> 17",
     "versions": {"pyspark": "4.3.0"}}], "python": "3.11.7"}


def asv(project: Path, env: dict[str, str], *args: str) -> None:
    """Run asv; status 2 means "some benchmarks failed", which this suite does on purpose."""
    proc = subprocess.run([sys.executable, "-m", "asv", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def asv_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """.asv/results of a real `asv run` over a fake suite (2 s sleep budget, ~10 s in all)."""
    project = tmp_path_factory.mktemp("asvproject")
    (project / "benchmarks").mkdir()
    (project / "benchmarks" / "__init__.py").write_text("")
    (project / "benchmarks" / "bench_engines.py").write_text(BENCH_ENGINES)
    (project / "benchmarks" / "bench_datagen.py").write_text(BENCH_DATAGEN)
    (project / "asv.conf.json").write_text(json.dumps({
        "version": 1, "project": "fake", "repo": ".", "environment_type": "existing",
        "benchmark_dir": "benchmarks", "results_dir": ".asv/results", "env_dir": ".asv/env",
        "html_dir": ".asv/html"}))
    env = dict(os.environ, HOME=str(project), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "fake suite"]):
        subprocess.run(["git", *cmd], cwd=project, env=env, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, env=env, check=True,
                            capture_output=True, text=True).stdout.strip()
    asv(project, env, "machine", "--yes", "--machine", "fakebox", "--num_cpu", "4",
        "--ram", str(8 * 2**30), "--cpu", "Fake <CPU> @ 3 GHz", "--os", "Linux",
        "--arch", "x86_64")
    asv(project, env, "run", "--python=same", "--set-commit-hash", commit,
        "--launch-method=forkserver", "--machine", "fakebox")
    results = project / ".asv" / "results"
    versions = versions_path(results / "fakebox")
    versions.parent.mkdir(parents=True, exist_ok=True)
    versions.write_text(json.dumps(VERSIONS))
    return results


@pytest.fixture(scope="module")
def report(asv_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert main(["--results", str(asv_results), "--out", str(out)]) == 0
    return out / "index.html"


def cell(html: str, engine: str, workers: int, scale: str, metric_id: str) -> str:
    """Text of one results-table cell inside the section of one workload."""
    section = html.split(f'id="w-{metric_id}"', 1)[1].split("<h2", 1)[0]
    m = re.search(rf'<td class="([^"]*)" data-engine="{engine}" data-workers="{workers}" '
                  rf'data-scale="{scale}" data-status="([^"]*)">(.*?)</td>', section)
    assert m, f"no cell for {engine} {workers} {scale}"
    return m.group(2)


def test_report_from_real_asv_run(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    # The failed and the skipped combinations are shown as such.
    assert cell(html, "spark", 2, "1", "wordcount") == "failed"
    assert cell(html, "spark", 2, "1", "team_ratings") == "ok"
    assert cell(html, "serial", 2, "10", "wordcount") == "skipped"
    assert cell(html, "pandas", 4, "0.1", "team_ratings") == "skipped"
    assert cell(html, "dask-threads", 4, "10", "wordcount") == "ok"
    assert cell(html, "dask-threads", 4, "0.1", "team_ratings") == "failed or timed out"
    assert "FAILED</td>" in html and ">skipped</td>" in html
    assert "n = 3" in html and "IQR" in html
    # Summary, machine details, versions; names escaped.
    summary = html.split('class="summary"', 1)[1].split("</table>", 1)[0]
    assert summary.count("<tr>") == 1 + 2 * 3  # header + 2 workloads × 3 scales
    assert "Fake &lt;CPU&gt; @ 3 GHz" in html and "<CPU>" not in html
    assert "needs &lt;java&gt; 17" in html and "pyspark 4.3.0" in html
    assert "8.0 GiB" in html
    # Figures exist, are PNGs and are referenced relatively.
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == 5 and all(not s.startswith(("/", "http")) for s in srcs)
    for src in srcs:
        assert (report.parent / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "dask-threads" in unescape(html) and "datagen" in html


def test_growth_and_crossover_from_real_run(asv_results: Path) -> None:
    from reports import load

    m = load.load_machine(asv_results, "fakebox")
    fits = {g.engine: g for g in model.growth(model.times(m.cells, "team_ratings"))}
    assert 0.3 < fits["serial"].exponent < 1.5  # sleep ∝ scale, plus timer noise at 0.1
    assert fits["serial"].beats == {"pandas": None}  # serial never beats pandas
    assert fits["pandas"].beats["serial"] is not None
    assert fits["spark"].beats["serial"] == 10  # 10 ms start-up per call: slower below scale 10
    assert fits["spark"].workers == 4


def test_several_machines_and_no_results(asv_results: Path, tmp_path: Path) -> None:
    """Two machines (a renamed copy; start-up results only, to draw few figures): an index.

    Without benchmarks.json, every stored result counts and params are (workers, scale).
    """
    results = tmp_path / "results"
    shutil.copytree(asv_results, results)
    (results / "benchmarks.json").unlink()
    shutil.copytree(results / "fakebox", results / "otherbox")
    for f in results.glob("*box/*.json"):
        data = json.loads(f.read_text())
        if f.name == "machine.json":
            data["machine"] = f.parent.name
        elif "results" in data:
            data["params"]["machine"] = f.parent.name
            data["results"] = {k: v for k, v in data["results"].items() if "startup" in k}
        f.write_text(json.dumps(data))
    out = tmp_path / "html"
    assert main(["--results", str(results), "--out", str(out)]) == 0
    index = (out / "index.html").read_text()
    assert 'href="fakebox/index.html"' in index and 'href="otherbox/index.html"' in index
    other = (out / "otherbox" / "index.html").read_text()
    assert 'data-engine="spark" data-workers="4" data-scale="10" data-status="ok"' in other
    assert main(["--results", str(results), "--machine", "nope", "--out", str(out)]) == 2

    proc = subprocess.run([sys.executable, "-m", "reports", "--results", str(tmp_path / "none")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "make bench" in proc.stderr


# --- the page in headless Chromium (Chrome DevTools protocol over a stdlib websocket) -----------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """The least of a websocket client that the Chrome DevTools protocol needs."""

    def __init__(self, url: str) -> None:
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            .encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.events: list[dict] = []
        self.last_id = 0

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("devtools closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _send(self, payload: bytes, opcode: int = 1) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> dict:
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise ConnectionError("devtools closed the websocket")
            if opcode == 9:
                self._send(payload, opcode=10)
                continue
            if opcode in (0, 1, 2):
                parts.append(payload)
                if b0 & 0x80:
                    return json.loads(b"".join(parts))

    def call(self, method: str, **params: object) -> dict:
        self.last_id += 1
        self._send(json.dumps({"id": self.last_id, "method": method, "params": params}).encode())
        while True:
            msg = self._message()
            if msg.get("id") == self.last_id:
                assert "error" not in msg, msg
                return msg.get("result", {})
            self.events.append(msg)

    def wait(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events:
                if ev.get("method") == method:
                    return ev
            self.events.append(self._message())
        raise TimeoutError(method)


IMAGES_JS = ("JSON.stringify(Array.from(document.images).map(i => "
             "({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})))")


def console_errors(events: list[dict]) -> list[str]:
    out = []
    for ev in events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append(json.dumps(p.get("exceptionDetails", {}))[:300])
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(json.dumps(p.get("args", []))[:300])
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
    return out


def browse(page: Path, screenshot: Path) -> tuple[list[dict], list[str]]:
    """Open `page` in headless Chromium: (image load states, console errors); save a screenshot."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--window-size=1400,3000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.is_file() and port_file.read_text().strip()):
                assert proc.poll() is None and time.monotonic() < deadline, "chromium did not start"
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                target = next(t for t in json.load(r) if t.get("type") == "page")
            cdp = DevTools(target["webSocketDebuggerUrl"])
            for domain in ("Page", "Runtime", "Log"):
                cdp.call(f"{domain}.enable")
            cdp.call("Page.navigate", url=page.resolve().as_uri())
            cdp.wait("Page.loadEventFired")
            images = json.loads(cdp.call("Runtime.evaluate", expression=IMAGES_JS,
                                         returnByValue=True)["result"]["value"])
            size = cdp.call("Page.getLayoutMetrics")["cssContentSize"]
            shot = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": size["width"],
                                  "height": size["height"], "scale": 1})
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            return images, console_errors(cdp.events)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: run .ci/install-chromium.sh")
def test_page_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    shot = Path(os.environ.get("PARBENCH_REPORT_SCREENSHOT", tmp_path / "report.png"))
    images, errors = browse(report, shot)
    assert len(images) == 5 and all(i["ok"] for i in images), images
    assert errors == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

