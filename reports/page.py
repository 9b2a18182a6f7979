"""The report's HTML: one self-contained page per machine (inline CSS, no scripts, local images)."""

from __future__ import annotations

import math
from html import escape

from reports import metrics, model
from reports.model import OK, Best, Cell, Growth, MachineReport, fmt_scale

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1320px;padding:0 24px 48px;color:#1d1d1f}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;margin:36px 0 8px;
border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
.sub{color:#666;margin:0 0 16px}.card{background:#f5f8fc;border:1px solid #d4e2f2;
border-radius:8px;padding:12px 18px;margin:12px 0}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;
text-align:right;vertical-align:top}th{background:#f3f3f3}td.l,th.l{text-align:left}
.summary td,.summary th{font-size:15px}
.num small{display:block;color:#777;font-size:11px}
.ok{}.failed,.failed-or-timed-out{background:#fde2e1;color:#9b1c1c;font-weight:600}
.skipped{background:#f1f1f1;color:#777}.not-run{background:#fff7db;color:#8a6d00}
.na{color:#999}img{max-width:100%;height:auto;display:block;margin:8px 0}
nav a{margin-right:12px}code{background:#f3f3f3;padding:0 3px;border-radius:3px}
.legend span{margin-right:14px;padding:1px 6px}
"""

STATUS_TEXT = {model.FAILED: "FAILED", model.FAILED_OR_TIMED_OUT: "FAILED or timed out",
               model.SKIPPED: "skipped", model.NOT_RUN: "not run"}


def css_class(status: str) -> str:
    return status.replace(" ", "-")


def fmt_value(value: float | None, unit: str) -> str:
    """Human units: seconds → µs/ms/s/min, bytes → MiB/GiB."""
    if value is None or not math.isfinite(value):
        return "–"
    if unit == "seconds":
        for scale, suffix in ((60, "min"), (1, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if abs(value) >= scale or suffix == "µs":
                return f"{value / scale:.3g} {suffix}"
    if unit == "bytes":
        return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"
    return f"{value:.4g} {escape(unit)}".strip()


def fmt_speedup(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.2f}×"


def _cell_td(c: Cell | None) -> str:
    if c is None:
        return '<td class="na">–</td>'
    attrs = (f'data-engine="{escape(c.engine)}" data-workers="{c.workers}" '
             f'data-scale="{escape(str(c.scale))}" data-status="{escape(c.status)}"')
    if c.status != OK:
        return f'<td class="{css_class(c.status)}" {attrs}>{STATUS_TEXT[c.status]}</td>'
    extra = []
    if c.q25 is not None and c.q75 is not None:
        extra.append(f"IQR {fmt_value(c.q25, c.unit)} – {fmt_value(c.q75, c.unit)}")
    if c.samples is not None:
        extra.append(f"n = {c.samples}")
    small = f"<small>{' · '.join(extra)}</small>" if extra else ""
    return f'<td class="num ok" {attrs}>{fmt_value(c.value, c.unit)}{small}</td>'


def results_table(cells: list[Cell]) -> str:
    """Rows: engine × workers; columns: scales. Every combination asv knows about is shown."""
    if not cells:
        return '<p class="na">No results.</p>'
    scales = sorted({c.scale for c in cells}, key=lambda s: (s is None, _float(s)))
    rows: dict[tuple[str, int | None], dict[str | None, Cell]] = {}
    for c in cells:
        rows.setdefault((c.engine, c.workers), {})[c.scale] = c
    order = {e: i for i, e in enumerate(model.engine_order({c.engine for c in cells}))}
    head = "".join(f"<th>scale {escape(str(s))}</th>" for s in scales)
    body = []
    for (e, p), by_scale in sorted(rows.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] or 0)):
        tds = "".join(_cell_td(by_scale.get(s)) for s in scales)
        body.append(f'<tr><td class="l">{escape(e)}</td><td>{p if p is not None else "–"}</td>'
                    f"{tds}</tr>")
    return (f'<table class="results"><tr><th class="l">engine</th><th>workers</th>{head}</tr>'
            + "".join(body) + "</table>")


def _float(s: str | None) -> float:
    try:
        return float(s) if s is not None else math.inf
    except ValueError:
        return math.inf


def summary_table(best: list[Best]) -> str:
    if not best:
        return '<p class="na">No successful engine results yet.</p>'
    rows = []
    for b in best:
        worth = b.worth_it if b.worth_it is not None else "–"
        rows.append(
            f'<tr><td class="l">{escape(b.workload)}</td><td>{fmt_scale(b.scale)}</td>'
            f'<td class="l"><b>{escape(b.engine)}</b></td><td>{b.workers}</td>'
            f"<td>{fmt_value(b.time, 'seconds')}</td><td><b>{fmt_speedup(b.over_serial)}</b></td>"
            f"<td>{worth}</td></tr>")
    return ('<table class="summary"><tr><th class="l">workload</th><th>scale</th>'
            '<th class="l">fastest engine</th><th>at workers</th><th>median time</th>'
            "<th>speedup over serial</th><th>workers worth it (efficiency ≥ 0.5)</th></tr>"
            + "".join(rows) + "</table>")


def growth_table(fits: list[Growth]) -> str:
    def cross(g: Growth, b: str) -> str:
        if b == g.engine:
            return '<td class="na">(baseline)</td>'
        if b not in g.beats:
            return '<td class="na">no baseline results</td>'
        s = g.beats[b]
        return "<td>never</td>" if s is None else f"<td>from scale {fmt_scale(s)}</td>"

    rows = "".join(
        f'<tr><td class="l">{escape(g.engine)}</td><td>{g.workers if g.workers else "–"}</td>'
        f"<td>{'–' if math.isnan(g.exponent) else f'{g.exponent:.2f}'}</td>"
        f"{cross(g, 'serial')}{cross(g, 'pandas')}</tr>" for g in fits)
    return ('<table><tr><th class="l">engine</th><th>fitted at workers</th>'
            "<th>growth exponent b</th><th>beats serial</th><th>beats pandas</th></tr>"
            f"{rows}</table>")


def machine_table(m: MachineReport) -> str:
    info = m.info
    ram = str(info.get("ram", ""))
    if ram.isdigit():
        ram = f"{int(ram) / 2**30:.1f} GiB"
    items = [("machine", m.name), ("CPU", info.get("cpu")), ("cores", info.get("num_cpu")),
             ("memory", ram), ("OS", info.get("os")), ("architecture", info.get("arch")),
             ("Python", (m.versions or {}).get("python") or ", ".join(m.pythons)),
             ("commits", ", ".join(c[:8] for c in m.commits))]
    rows = "".join(f'<tr><th class="l">{k}</th><td class="l">{escape(str(v or "unknown"))}</td>'
                   "</tr>" for k, v in items)
    return f"<table>{rows}</table>"


def versions_table(m: MachineReport) -> str:
    engines = (m.versions or {}).get("engines")
    if not isinstance(engines, list):
        return ('<p>Framework versions unknown: no <code>parbench-versions.json</code> next to '
                "<code>machine.json</code> (<code>make bench</code> writes it).</p>")
    rows = []
    for e in engines:
        if not isinstance(e, dict):
            continue
        vers = e.get("versions") or {}
        text = ", ".join(f"{k} {v}" for k, v in vers.items()) if isinstance(vers, dict) else vers
        avail = "yes</td>" if e.get("available") else 'no</td>'
        rows.append(f'<tr><td class="l">{escape(str(e.get("engine", "?")))}</td>'
                    f'<td class="l{"" if e.get("available") else " failed"}">{avail}'
                    f'<td class="l">{escape(str(text or "unknown"))}</td>'
                    f'<td class="l">{escape(str(e.get("reason") or ""))}</td></tr>')
    return ('<table><tr><th class="l">engine</th><th class="l">available</th>'
            '<th class="l">versions</th>'
            '<th class="l">reason</th></tr>' + "".join(rows) + "</table>")


def _datagen(cells: list[Cell]) -> str:
    """One line: the generator's speedup with its most workers, per scale."""
    parts = []
    for metric in sorted({c.metric for c in cells}):
        by_scale: dict[str | None, dict[int, float]] = {}
        for c in cells:
            if c.metric == metric and c.status == OK and c.workers and c.value:
                by_scale.setdefault(c.scale, {})[c.workers] = c.value
        for scale, by_p in sorted(by_scale.items(), key=lambda kv: _float(kv[0])):
            sp = metrics.speedup(by_p)
            if len(sp) > 1:
                p = max(sp)
                parts.append(f"{escape(metric)} at scale {escape(str(scale))}: "
                             f"{fmt_speedup(sp[p])} faster with {p} workers than with 1")
    return f"<p>{'; '.join(parts)}.</p>" if parts else ""


def _img(src: str, alt: str) -> str:
    return f'<img src="{escape(src)}" alt="{escape(alt)}">'


def _problems(cells: list[Cell]) -> str:
    """One line naming the combinations that did not give a result."""
    bad = [c for c in cells if c.status in (model.FAILED, model.FAILED_OR_TIMED_OUT)]
    counts = model.status_counts(cells)
    parts = [f"{counts.get(s, 0)} {t.lower()}" for s, t in STATUS_TEXT.items() if counts.get(s)]
    line = f"{len(cells)} combinations: {counts.get(OK, 0)} ok"
    line += (", " + ", ".join(parts)) if parts else ""
    names = [f"{escape(c.engine)} {escape(c.metric)} (workers {c.workers}, scale "
             f"{escape(str(c.scale))})" for c in bad[:8]]
    if bad:
        more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
        line += ". Failed: " + "; ".join(names) + more
    return f"<p>{line}.</p>"


METHOD = """
<ul>
<li>Times are asv's medians; error bars and IQR are asv's stored 25th–75th percentiles
(speedup bars: T(1)/q75(p) to T(1)/q25(p)); <i>n</i> is the number of samples.</li>
<li>Speedup S(p) = T(1)/T(p) of the same engine; efficiency S(p)/p; Karp–Flatt serial fraction
e = (1/S − 1/p)/(1 − 1/p) (constant e: a fixed serial part; growing e: overhead that grows
with p); speedup over serial = T<sub>serial</sub>(1)/T<sub>engine</sub>(p).</li>
<li><b>Workers worth it</b>: the largest worker count whose efficiency is still ≥ 0.5.</li>
<li><b>Growth exponent</b> b: least-squares slope of log T against log scale, at the worker count
that is fastest at the largest scale (listed per engine); b ≈ 1 is linear in data size.</li>
<li><b>Crossover</b>: the smallest measured scale from which the engine (at its fastest worker
count at each scale) is faster than the baseline at every larger measured scale; "never": slower
at the largest scale.</li>
<li>Status: <b>FAILED</b>: the benchmark raised (a wrong answer fails loudly); <b>FAILED or timed
out</b>: asv stores no reason and the benchmark ran long enough to have timed out;
<b>skipped</b>: not applicable (one-worker engines at more workers) or data missing;
<b>not run</b>: in the current benchmark suite but never run on this machine.</li>
<li>Start-up: engine start-up time, measured apart from the workloads. Peak memory: peak RSS of
the whole process tree (driver, JVM, worker processes) while running every workload once.</li>
</ul>
"""


def render(m: MachineReport, figs: dict[str, list[str]], generated: str) -> str:
    """The whole page; `figs` maps a section (workload, "resources") to image paths."""
    ws = model.workloads(m.cells)
    nav = "".join(f'<a href="#w-{escape(w)}">{escape(w)}</a>' for w in ws)
    nav += '<a href="#resources">start-up &amp; memory</a><a href="#datagen">datagen</a>'
    nav += '<a href="#machine">machine &amp; versions</a><a href="#method">method</a>'
    out = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>parbench report: {escape(m.name)}</title><link rel='icon' href='data:,'>"
           f"<style>{CSS}</style></head><body>",
           f"<h1>parbench report: {escape(m.name)}</h1>",
           f'<p class="sub">{escape(str(m.info.get("num_cpu") or "?"))} cores · '
           f'{escape(str(m.info.get("cpu") or "CPU unknown"))} · generated {escape(generated)}'
           "</p>",
           '<div class="card"><h3>Which engine, how many workers</h3>',
           summary_table(model.fastest(m.cells)),
           _problems([c for c in m.cells if c.suite == "engines"]), "</div>",
           f"<nav>{nav}</nav>"]
    for w in ws:
        table = model.times(m.cells, w)
        out += [f'<h2 id="w-{escape(w)}">{escape(w)}</h2>',
                *(_img(src, f"{w} figure") for src in figs.get(w, [])),
                "<h3>Growth with data size and crossover</h3>",
                growth_table(model.growth(table)),
                "<h3>Results (median, interquartile range, samples)</h3>",
                results_table(model.select(m.cells, "engines", w))]
    out += ['<h2 id="resources">Start-up time and peak memory</h2>',
            *(_img(src, "start-up and memory figure") for src in figs.get("resources", [])),
            "<h3>Start-up time</h3>", results_table(model.select(m.cells, "engines",
                                                                 model.STARTUP)),
            "<h3>Peak memory of the whole process tree</h3>",
            results_table(model.select(m.cells, "engines", model.PEAK_MEMORY))]
    gen = [c for c in m.cells if c.suite == "datagen"]
    out += ['<h2 id="datagen">Data generation</h2>', _datagen(gen),
            results_table(gen) if gen else '<p class="na">No datagen results.</p>']
    out += ['<h2 id="machine">Machine and versions</h2>', machine_table(m),
            "<h3>Frameworks</h3>", versions_table(m),
            f'<h2 id="method">How to read this</h2>{METHOD}</body></html>']
    return "\n".join(out)
