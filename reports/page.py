"""The report's HTML: one self-contained page per machine (inline CSS and SVG, the CSV as a data
URI, no scripts, nothing fetched)."""

from __future__ import annotations

import base64
import datetime
import math
from collections import defaultdict
from html import escape

from matplotlib.figure import Figure

from reports import export, figures, memory, metrics, model, network
from reports.model import (
    BAD,
    OK,
    PEAK_MEMORY,
    SKIPPED,
    STARTUP,
    Cell,
    Growth,
    Ident,
    MachineReport,
    Pick,
    Verdict,
    fmt_scale,
    fmt_time,
)
from workloads.runtime.memory import format_size

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1440px;padding:0 24px 48px;color:#1d1d1f}
h1{font-size:24px;margin:20px 0 2px}h2{font-size:19px;margin:28px 0 6px;
border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:14px 0 4px}
.sub{color:#555;margin:0 0 10px}.card{background:#f5f8fc;border:1px solid #d4e2f2;
border-radius:8px;padding:8px 16px;margin:10px 0}.card h2{border:0;margin:6px 0}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 7px;
text-align:right;vertical-align:top}th{background:#f3f3f3}td.l,th.l{text-align:left}
small{color:#666;font-size:11px}td small{display:block}
.failed,.killed,.failed-or-timed-out{background:#fde2e1;color:#9b1c1c}
.skipped{background:#f4f4f4;color:#777}.na{color:#999}
.warn{color:#b35c00;font-weight:700;cursor:help}
sup.tag{color:#1f5fa8;font-weight:700;cursor:help}sup.mixed{color:#b00;font-weight:700;cursor:help}
nav{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #eee;z-index:1}
nav a{margin-right:12px}code{background:#f3f3f3;padding:0 3px;border-radius:3px}
.figs{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:6px 0}svg.chart{max-width:100%;height:auto;display:block}
details{margin:6px 0}summary{cursor:pointer;color:#1f5fa8}
.verdict td{font-size:13px}.verdict b{font-size:14px}
"""

STATUS_TEXT = {model.FAILED: "FAILED", model.KILLED: "KILLED", model.TIMED_OUT: "TIMED OUT",
               model.OUT_OF_MEMORY: "OUT OF MEMORY",
               model.FAILED_OR_TIMED_OUT: "FAILED or timed out", SKIPPED: "skipped"}
MAX_CELL_REASON = 160


def css_class(status: str) -> str:
    return status.replace(" ", "-")


def fmt_value(value: float | None, unit: str) -> str:
    """Human units: seconds → µs/ms/s/min, bytes → MiB/GiB."""
    if value is None or not math.isfinite(value):
        return "–"
    if unit == "seconds":
        return fmt_time(value)
    if unit == "bytes":
        return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"
    return f"{value:.4g} {escape(unit)}".strip()


def fmt_ratio(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.2f}×"


class Marks:
    """Identity marks: results of the main (commit, environment) carry none; others carry their
    tag (B, C, …); numbers computed from several carry "mixed A+B"."""

    def __init__(self, m: MachineReport) -> None:
        self.tags = m.tags
        self.primary = m.primary
        self.names = {i.ident: f"commit {i.commit[:8]} in {i.env}" for i in m.identities}

    def text(self, idents: set[Ident] | frozenset[Ident]) -> str:
        """"" for the main identity, "B" for another, "A+B" for several (plain text)."""
        ids = set(idents)
        if not ids or ids == {self.primary}:
            return ""
        return "+".join(sorted(self.tags.get(i, "?") for i in ids))

    def html(self, idents: set[Ident] | frozenset[Ident]) -> str:
        text = self.text(idents)
        if not text:
            return ""
        title = escape("; ".join(self.names.get(i, "?") for i in sorted(idents)))
        if "+" in text:
            return (f'<sup class="mixed" title="computed from results of different commits or '
                    f'environments: {title}">mixed {text}</sup>')
        return f'<sup class="tag" title="{title}">{text}</sup>'

    def of_engines(self, cells: list[Cell]) -> dict[str, str]:
        """Per engine: the mark of the identities of its cells (for figure legends)."""
        by_e: dict[str, set[Ident]] = defaultdict(set)
        for c in cells:
            if c.status == OK:
                by_e[c.engine].add(c.ident)
        return {e: self.text(ids) for e, ids in by_e.items()}


def warn(cell: Cell | None) -> str:
    note = cell.noise if cell is not None else None
    return f' <span class="warn" title="{escape(note)}">⚠</span>' if note else ""


def _time(cell: Cell) -> str:
    """`1.23 s` with its IQR and n below it."""
    extra = []
    if cell.q25 is not None and cell.q75 is not None and (cell.samples or 0) > 1:
        extra.append(f"IQR {fmt_value(cell.q25, cell.unit)} – {fmt_value(cell.q75, cell.unit)}")
    if cell.samples is not None:
        extra.append(f"n = {cell.samples}")
    small = f"<small>{' · '.join(extra)}</small>" if extra else ""
    return f"{fmt_value(cell.value, cell.unit)}{warn(cell)}{small}"


def _reason(c: Cell) -> str:
    r = c.reason or ""
    short = r if len(r) <= MAX_CELL_REASON else r[: MAX_CELL_REASON - 1] + "…"
    return f'<small title="{escape(r)}">{escape(short)}</small>' if r else ""


def cell_td(c: Cell | None, marks: Marks, extra: str = "") -> str:
    """One result: its time, or its status and why; `extra` (HTML) below it."""
    if c is None:
        return '<td class="na">–</td>'
    attrs = (f'data-engine="{escape(c.engine)}" data-workers="{c.workers}" '
             f'data-scale="{escape(str(c.scale))}" data-status="{escape(c.status)}"')
    tag = marks.html({c.ident})
    if c.status != OK:
        return (f'<td class="l {css_class(c.status)}" {attrs}>{STATUS_TEXT[c.status]}{tag}'
                f"{_reason(c)}{extra}</td>")
    return f'<td class="num ok" {attrs}>{_time(c)}{tag}{extra}</td>'


def results_table(cells: list[Cell], marks: Marks, heads: dict[str | None, str] | None = None
                  ) -> str:
    """Rows: engine × workers; columns: scales (headed by data size where known)."""
    if not cells:
        return '<p class="na">No results.</p>'
    scales = sorted({c.scale for c in cells}, key=lambda s: (s is None, _float(s)))
    rows: dict[tuple[str, int | None], dict[str | None, Cell]] = {}
    for c in cells:
        rows.setdefault((c.engine, c.workers), {})[c.scale] = c
    order = {e: i for i, e in enumerate(model.engine_order({c.engine for c in cells}))}
    head = "".join(f"<th>{(heads or {}).get(s) or f'scale {escape(str(s))}'}</th>"
                   for s in scales)
    body = []
    for (e, p), by_scale in sorted(rows.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] or 0)):
        tds = "".join(cell_td(by_scale.get(s), marks) for s in scales)
        body.append(f'<tr><td class="l">{escape(e)}</td><td>{p if p is not None else "–"}</td>'
                    f"{tds}</tr>")
    return (f'<table class="results"><tr><th class="l">engine</th><th>workers</th>{head}</tr>'
            + "".join(body) + "</table>")


def _float(s: str | None) -> float:
    try:
        return float(s) if s is not None else math.inf
    except ValueError:
        return math.inf


def _pick_td(pk: Pick | None, marks: Marks, empty: str = "–", extra: str = "") -> str:
    if pk is None:
        return f'<td class="l na">{escape(empty)}</td>'
    c = pk.cell
    if c.samples is not None and c.samples <= 1:
        iqr = "a single sample: spread unknown"
    elif c.q25 is not None and c.q75 is not None:
        iqr = f"IQR {fmt_time(c.q25)} – {fmt_time(c.q75)} · n = {c.samples}"
    else:
        iqr = f"IQR unknown · n = {c.samples}"
    note = f"<small>{escape(pk.note)}</small>" if pk.note else ""
    return (f'<td class="l" data-engine="{escape(pk.engine)}" data-workers="{pk.workers}">'
            f"<b>{escape(pk.engine)}</b> · {pk.workers} worker{'s' if pk.workers > 1 else ''}"
            f" · {fmt_time(pk.time)}{warn(c)}{marks.html({c.ident})}{extra}"
            f"<small>{iqr}</small>{note}</td>")


def _mixed(marks: Marks, idents: set[Ident] | frozenset[Ident]) -> str:
    """The mark of a number computed from several results, when they differ in identity."""
    return marks.html(idents) if len(set(idents)) > 1 else ""


def verdict_table(rows: list[Verdict], marks: Marks) -> str:
    if not rows:
        return '<p class="na">No successful engine results yet.</p>'
    body = []
    for v in rows:
        f, par, run = v.fastest, v.parallel, v.runner_up
        eff = ""
        if par is not None and par.efficiency is not None and par.workers > 1:
            eff = f" · efficiency {par.efficiency:.2f}" + _mixed(marks, par.idents)
        runner_extra = ""
        if run is not None and f is not None and f.time > 0:
            runner_extra = (f" · {run.time / f.time:.2f}× the fastest"
                            + _mixed(marks, {run.cell.ident, f.cell.ident}))
            if v.close:
                runner_extra += (' <span class="warn" title="the interquartile ranges of the '
                                 'fastest and the runner-up overlap">too close to call</span>')
        hosts_extra = ""
        if v.hosts is not None and f is not None and f.time > 0:
            hosts_extra = (f" · {v.hosts.time / f.time:.2f}× the fastest"
                           + _mixed(marks, {v.hosts.cell.ident, f.cell.ident}))
        over = f.over_serial if f else None
        body.append(
            f'<tr data-workload="{escape(v.workload)}" data-scale="{fmt_scale(v.scale)}">'
            f'<td class="l">{escape(v.workload)}</td>'
            f'<td class="l">{escape(model.size_label(v.scale, v.size))}'
            f"<small>scale {fmt_scale(v.scale)}</small></td>"
            f"{_pick_td(f, marks)}"
            f'<td class="over">{fmt_ratio(over)}{marks.html(f.idents) if over else ""}</td>'
            f"{_pick_td(par, marks, v.parallel_note, eff)}"
            f"{_pick_td(run, marks, 'no other engine measured', runner_extra)}"
            f"{_pick_td(v.hosts, marks, 'none measured', hosts_extra)}</tr>")
    return ('<table class="verdict"><tr><th class="l">workload</th><th class="l">data read</th>'
            '<th class="l">fastest engine (its best worker count)</th>'
            "<th>speedup over serial</th>"
            '<th class="l">fastest parallel engine, at the most workers with efficiency ≥ 0.5'
            '</th><th class="l">runner-up</th>'
            '<th class="l">fastest engine that can span hosts</th></tr>'
            + "".join(body) + "</table>")


def growth_table(fits: list[Growth], marks: Marks | None = None,
                 idents: dict[str, set[Ident]] | None = None) -> str:
    def cross(g: Growth, b: str) -> str:
        if b == g.engine:
            return '<td class="na">(baseline)</td>'
        if b not in g.beats:
            return '<td class="na">no baseline results</td>'
        s = g.beats[b]
        return "<td>never</td>" if s is None else f"<td>from scale {fmt_scale(s)}</td>"

    def mark(e: str) -> str:
        return _mixed(marks, (idents or {}).get(e, set())) if marks else ""

    rows = "".join(
        f'<tr data-engine="{escape(g.engine)}"><td class="l">{escape(g.engine)}</td>'
        f'<td>{g.workers if g.workers else "–"}</td>'
        f"<td>{'–' if math.isnan(g.exponent) else f'{g.exponent:.2f}'}{mark(g.engine)}</td>"
        f"{cross(g, 'serial')}{cross(g, 'pandas')}</tr>" for g in fits)
    return ('<table class="growth"><tr><th class="l">engine</th><th>fitted at workers</th>'
            "<th>growth exponent b (T ∝ size<sup>b</sup>)</th><th>beats serial</th>"
            f"<th>beats pandas</th></tr>{rows}</table>")


def identity_table(m: MachineReport) -> str:
    rows = []
    for i in m.identities:
        when = _date(i.date)
        run = _when(i.last_run)
        rows.append(f'<tr><td class="l"><b>{escape(i.tag)}</b></td>'
                    f'<td class="l"><code>{escape(i.commit[:8])}</code> <small>{when}</small></td>'
                    f'<td class="l">{escape(i.env)}</td><td>{escape(i.python or "?")}</td>'
                    f"<td>{i.shown}</td><td>{i.stored}</td><td>{run}</td></tr>")
    return ('<table class="identities"><tr><th class="l">mark</th><th class="l">commit</th>'
            '<th class="l">environment</th><th>Python</th><th>results shown</th>'
            "<th>stored</th><th>last run</th></tr>" + "".join(rows) + "</table>")


def _date(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "committed %Y-%m-%d")


def _when(t: float | None) -> str:
    if not t:
        return "?"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def engine_versions(m: MachineReport) -> dict[str, str]:
    """Per engine: the framework versions its shown results ran (recorded by each benchmark
    process), else those of `make bench`'s versions file."""
    seen: dict[str, list[str]] = defaultdict(list)
    for c in m.cells:
        if c.suite == "engines" and (c.versions or c.python):
            text = ", ".join(f"{k} {v}" for k, v in c.versions) or f"python {c.python}"
            if text not in seen[c.engine]:
                seen[c.engine].append(text)
    out = {e: "; ".join(v) for e, v in seen.items()}
    for e in m.file_engines:
        vers = e.get("versions")
        if e.get("engine") not in out and isinstance(vers, dict) and vers:
            out[str(e["engine"])] = ", ".join(f"{k} {v}" for k, v in vers.items()) + " (file)"
    return out


def machine_table(m: MachineReport) -> str:
    info = m.info
    ram = str(info.get("ram", ""))
    if ram.isdigit():
        ram = f"{int(ram) / 2**30:.1f} GiB"
    python = ", ".join(m.pythons) or str((m.versions or {}).get("python") or "") or \
        "unknown (asv stored the interpreter's path; no benchmark process recorded its version)"
    items = [("machine", m.name), ("CPU", info.get("cpu")), ("cores", info.get("num_cpu")),
             ("memory", ram), ("OS", info.get("os")), ("architecture", info.get("arch")),
             ("Python", python), ("commits shown", ", ".join(c[:8] for c in m.commits))]
    rows = "".join(f'<tr><th class="l">{k}</th><td class="l">{escape(str(v or "unknown"))}</td>'
                   "</tr>" for k, v in items)
    return f"<table>{rows}</table>"


def versions_table(m: MachineReport) -> str:
    vers = engine_versions(m)
    avail = {str(e.get("engine")): e for e in m.file_engines}
    names = model.engine_order(set(vers) | set(avail))
    if not names:
        return ('<p class="na">Framework versions unknown: no benchmark process recorded them '
                "and there is no <code>.asv/parbench/&lt;machine&gt;-versions.json</code> "
                "(<code>make bench</code> writes it).</p>")
    rows = []
    for e in names:
        a = avail.get(e)
        ok = "–" if a is None else ("yes" if a.get("available") else "no")
        rows.append(f'<tr><td class="l">{escape(e)}</td><td class="l">{ok}</td>'
                    f'<td class="l">{escape(vers.get(e, "unknown"))}</td>'
                    f'<td class="l">{escape(str((a or {}).get("reason") or ""))}</td></tr>')
    return ('<table class="versions"><tr><th class="l">engine</th><th class="l">available '
            '(versions file)</th><th class="l">versions (as run)</th><th class="l">reason</th>'
            "</tr>" + "".join(rows) + "</table>")


def unreadable(files: list[str]) -> str:
    """The results files the report could not read, and why."""
    if not files:
        return ""
    items = "".join(f"<li>{escape(f)}</li>" for f in files)
    return (f'<p class="bad">Results files left out: they could not be read.</p>'
            f'<ul class="problems">{items}</ul>')


def problems(cells: list[Cell]) -> str:
    """Every combination without a result, grouped by status and reason."""
    groups: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    for c in cells:
        if c.status != OK:
            groups[(c.status, c.reason)].append(c)
    if not groups:
        return "<p>Every combination gave a result.</p>"
    items = []
    for (status, reason), cs in sorted(groups.items(), key=lambda kv: (kv[0][0] == SKIPPED,
                                                                       -len(kv[1]))):
        where = sorted({f"{c.engine} {c.metric} (workers {c.workers}, scale {c.scale})"
                        for c in cs})
        more = f" and {len(where) - 6} more" if len(where) > 6 else ""
        items.append(f'<li><span class="{css_class(status)}">{STATUS_TEXT[status]}</span> '
                     f"×{len(cs)}: <i>{escape(reason or 'no reason recorded')}</i><br>"
                     f"<small>{escape('; '.join(where[:6]))}{more}</small></li>")
    return f'<ul class="problems">{"".join(items)}</ul>'


def summary_line(cells: list[Cell]) -> str:
    counts = model.status_counts(cells)
    parts = [f"{counts[s]} {t.lower()}" for s, t in STATUS_TEXT.items() if counts.get(s)]
    line = f"{len(cells)} combinations shown: {counts.get(OK, 0)} ok"
    bad = sum(counts.get(s, 0) for s in BAD)
    link = ' (<a href="#problems">why</a>)' if bad or counts.get(SKIPPED) else ""
    return f"<p>{line}{', ' + ', '.join(parts) if parts else ''}{link}.</p>"


def spread_table(rows: list[model.Spread], unit: str, marks: Marks) -> str:
    body = []
    for r in rows:
        s = r.summary
        note = metrics.noise(s.n, s.median, s.q25, s.q75)
        w = f' <span class="warn" title="{escape(note)}">⚠</span>' if note else ""
        vals = ", ".join(fmt_value(v, unit) for v in sorted(r.values))
        body.append(f'<tr data-engine="{escape(r.engine)}" data-workers="{r.workers}">'
                    f'<td class="l">{escape(r.engine)}</td><td>{r.workers}</td>'
                    f"<td>{fmt_value(s.median, unit)}{w}{marks.html(r.idents)}</td>"
                    f"<td>{fmt_value(s.q25, unit)} – {fmt_value(s.q75, unit)}</td>"
                    f'<td>{s.n}</td><td class="l"><small>{vals}</small></td></tr>')
    return ('<table class="spread"><tr><th class="l">engine</th><th>workers</th><th>median</th>'
            '<th>IQR</th><th>n</th><th class="l">every value</th></tr>' + "".join(body)
            + "</table>")


def _datagen(cells: list[Cell]) -> str:
    """One line: the generator's speedup with its most workers, per scale."""
    parts = []
    by_scale: dict[str | None, dict[int, float]] = defaultdict(dict)
    for c in cells:
        if c.status == OK and c.workers and c.value:
            by_scale[c.scale][c.workers] = c.value
    for scale, by_p in sorted(by_scale.items(), key=lambda kv: _float(kv[0])):
        sp = metrics.speedup(by_p)
        if len(sp) > 1:
            p = max(sp)
            parts.append(f"scale {escape(str(scale))}: {fmt_ratio(sp[p])} faster with {p} "
                         "workers than with 1")
    return f"<p>Generating data: {'; '.join(parts)}.</p>" if parts else ""


def _fig(fig: Figure, caption: str, fid: str) -> str:
    return (f'<figure class="fig" id="{escape(fid)}">{figures.to_svg(fig)}<figcaption><small>'
            f"{caption}</small></figcaption></figure>")


def csv_link(m: MachineReport) -> str:
    data = base64.b64encode(export.csv_text(m.stored).encode()).decode()
    return (f'<a class="csv" download="parbench-{escape(m.name)}.csv" '
            f'href="data:text/csv;charset=utf-8;base64,{data}">download every stored result '
            f"as CSV</a> ({len(m.stored)} rows: engine, versions, workload, scale, bytes, rows, "
            "workers, median, IQR, n, status, reason, commit, environment)")


METHOD = """
<ul>
<li><b>Which results</b>: every result asv stored for this machine is read with its commit and
environment; per combination (benchmark, workers, scale) the page shows the newest: that of the
newest commit (by commit date), the most recently run among equals (<code>--commit</code> and
<code>--env</code> choose others). Results of another commit or environment than the main one
(A) carry its mark (<sup class="tag">B</sup>); a number computed from results of several carries
<sup class="mixed">mixed A+B</sup>. The CSV holds every stored result, superseded ones too.</li>
<li>Times are asv's medians; IQR is asv's 25th–75th percentile of the samples, <i>n</i> their
number. <span class="warn">⚠</span> marks a single sample or an IQR above {noisy:.0%} of the
median.</li>
<li><b>Fastest engine</b>: the smallest median of any engine at any worker count. <b>Fastest
parallel engine</b>: among engines measured at more than one worker count, the smallest median
at the engine's <i>workers worth it</i> — the largest worker count whose efficiency
E(p) = S(p)/p is still ≥ {worth} (S(p) = T(1)/T(p), same engine). <b>Runner-up</b>: the second
fastest engine; "too close to call" when the two IQRs overlap. <b>Speedup over serial</b> =
T<sub>serial</sub>(1)/T.</li>
<li><b>Decision chart</b>: each engine at its fastest worker count per size; a dotted line marks
where the fastest engine changes, at the size where the two engines' lines cross (linear in
log size and log time between the two measured sizes).</li>
<li><b>Karp–Flatt</b> serial fraction e = (1/S − 1/p)/(1 − 1/p), drawn only for engines
measured at {kf} or more worker counts: a constant e is a fixed serial part, a growing e overhead
that grows with p; e &lt; 0 is a superlinear speedup, e &gt; 1 (▲) a slowdown (S &lt; 1).</li>
<li><b>Growth exponent</b> b: least-squares slope of log T against log scale at the worker count
fastest at the largest scale; b ≈ 1 is linear in the data. <b>Beats serial/pandas</b>: the
smallest measured scale from which the engine (at its fastest workers) is faster at every larger
measured scale; "never": slower at the largest.</li>
<li><b>Status</b>: FAILED — the benchmark raised (a wrong answer shows its mismatch message);
TIMED OUT — its process ran until its time limit and asv ended it there;
KILLED — its process started and ended well before its time limit with no result: it crashed or
was stopped;
FAILED or timed out — no reason was recorded and it ran long enough to have timed out;
OUT OF MEMORY — it went over the memory budget of its run and was ended, with the budget and its
peak;
skipped — not applicable, with the reason (one-worker engines at more workers, data missing,
engine unavailable). Reasons come from the benchmarks' records in <code>.asv/parbench/</code>,
since asv keeps no error output.</li>
<li><b>Data sizes</b>: bytes of the files a workload reads (MB = 10<sup>6</sup> bytes) and the
rows they hold, as each benchmark process recorded them; "scale N" where none was recorded.
Sizes above the largest measured are not measured: the page does not extrapolate.</li>
<li><b>Start-up</b>: seconds to start the engine, outside every workload's time, once per
process (one per scale): median, IQR and every value. <b>Peak memory</b>: peak RSS of the whole
process tree (driver, JVM, workers) while every workload runs once: one sample each.</li>
</ul>
""".format(noisy=metrics.NOISY_SPREAD, worth=metrics.WORTH_IT_EFFICIENCY,  # noqa: UP032
           kf=metrics.KARP_FLATT_MIN_WORKERS)


def _round(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def beyond(dec: model.Decision) -> str:
    """What the page says about sizes above the largest measured one: nothing measured, and
    which scale would give a gigabyte of this workload's input."""
    if not dec.scale_of:
        return ""
    largest = max(dec.scale_of)
    text = (f" Above {dec.fmt_x(largest)} nothing was measured: the page does not "
            "extrapolate.")
    if dec.in_mb and dec.scale_of[largest] > 0:
        mb_per_scale = largest / dec.scale_of[largest]
        text += (f" This input holds {mb_per_scale:.3g} MB per unit of scale: 1 GB is scale "
                 f"≈ {_round(1000 / mb_per_scale)} (<code>make bench SCALES=…</code> measures it).")
    return text


def karp_flatt_note(g: model.Grid) -> str:
    """Which engines the Karp–Flatt panel shows, or why it shows none."""
    drawn = sorted({e for e, by_s in g.items() for by_p in by_s.values()
                    if metrics.karp_flatt_meaningful(by_p)})
    if drawn:
        return (f"Karp–Flatt for engines measured at {metrics.KARP_FLATT_MIN_WORKERS} or more "
                f"worker counts: {escape(', '.join(drawn))}.")
    counts = sorted({p for by_s in g.values() for by_p in by_s.values() for p in by_p})
    return (f"Karp–Flatt is not drawn: it needs {metrics.KARP_FLATT_MIN_WORKERS} or more worker "
            "counts (1 and two more) to say how overhead grows with p; measured here: "
            f"{', '.join(map(str, counts)) or 'none'}.")


def _columns(cells: list[Cell], w: str) -> list[tuple[float, str]]:
    return [(s, model.size_label(s, sz)) for s, sz in model.sizes(cells, w).items()]


def workload_section(m: MachineReport, w: str, style: dict, marks: Marks,
                     versions: dict[str, str]) -> str:
    cells = model.select(m.cells, "engines", w)
    dec = model.decision(m.cells, w)
    cols = _columns(m.cells, w)
    emarks = marks.of_engines(cells)
    panels = []
    for s, label in cols:
        by_e: dict[str, list[Cell]] = defaultdict(list)
        for c in cells:
            if c.scale_value == s:
                by_e[c.engine].append(c)
        panels.append((label, dict(by_e)))
    g = model.grid(m.cells, w)
    winner = escape(dec.winner_text()) + _mixed(
        marks, {c.ident for by_x in dec.cells.values() for c in by_x.values()})
    above = beyond(dec)
    engine_ids: dict[str, set[Ident]] = defaultdict(set)
    for c in cells:
        if c.status == OK:
            engine_ids[c.engine].add(c.ident)
    heads = {str(c.scale): escape(label) for c in cells for s, label in cols
             if c.scale_value == s}
    return "\n".join([
        f'<section id="w-{escape(w)}"><h2>{escape(w)}</h2>',
        f'<p class="winner"><b>Fastest by data size</b>: {winner or "–"}.{above}</p>',
        '<div class="figs">',
        _fig(figures.decision(dec, style, emarks), "Each engine at its fastest worker count per "
             "size; dotted: where the fastest engine changes.", f"fig-{w}-decision"),
        _fig(figures.bars(w, panels, style, versions, emarks), "Solid: at its best worker count "
             "(w), with IQR whiskers; hatched: on 1 worker. ⚠: a single sample or a noisy one.",
             f"fig-{w}-bars") if panels else "",
        "</div>",
        "<details><summary>Scaling with workers (speedup, efficiency, Karp–Flatt) and growth "
        "with data size</summary>",
        _fig(figures.scaling(w, g, cols, style, emarks),
             "Speedup with IQR bars against the ideal S = p; efficiency against 0.5. "
             + karp_flatt_note(g), f"fig-{w}-scaling"),
        growth_table(model.growth(model.times(m.cells, w)), marks, engine_ids),
        "</details>",
        "<details><summary>Every result (median, IQR, n; status and reason)</summary>",
        results_table(cells, marks, heads), "</details></section>"])


def memory_verdict(secs: list[memory.Section], marks: Marks) -> str:
    """Per workload and budget: the engine to use at the largest ratio measured."""
    body = []
    for s in secs:
        pick, spanning, single = s.pick, s.spanning, s.single
        if spanning is None or single is None:
            verdict = "–: " + ("no engine that can span hosts completed" if spanning is None
                               else "no single-process engine completed")
        elif s.distributed_wins:
            verdict = (f"yes: {escape(spanning.engine)} is "
                       f"{(single.value or 0) / (spanning.value or 1):.2f}× faster than "
                       f"{escape(single.engine)}")
        else:
            verdict = (f"no: the fastest of them, {escape(spanning.engine)}, takes "
                       f"{(spanning.value or 0) / (single.value or 1):.2f}× "
                       f"{escape(single.engine)}'s time")
        engine = (f"<b>{escape(pick.engine)}</b> · {pick.workers} workers · "
                  f"{fmt_time(pick.value)}{marks.html({pick.ident})}" if pick else
                  '<span class="bad">none completed</span>')
        body.append(f'<tr><td class="l">{escape(s.workload)}</td>'
                    f'<td class="l">{memory_size(s.budget)}</td>'
                    f"<td>{memory.ratio_label(s.top)}</td><td class=\"l\">{engine}</td>"
                    f'<td class="l">{verdict}</td></tr>')
    return ('<table class="verdict"><tr><th class="l">workload</th><th class="l">memory</th>'
            "<th>input / memory</th><th class=\"l\">engine to use there</th>"
            '<th class="l">does an engine that can span hosts beat the single-process ones?'
            "</th></tr>" + "".join(body) + "</table>")


def memory_section(secs: list[memory.Section], cells: list[Cell], marks: Marks) -> str:
    """Every engine's outcome by ratio of input to memory, per workload and budget."""
    out = ['<section id="memory"><h2>When the data outgrows memory</h2>',
           "<p>Each run's whole process tree under a memory budget (driver, JVM, workers, "
           "object store), enforced by a cgroup or a watchdog; the input is the bytes of the "
           "files the workload reads. <b>Spill cost</b>: time per MB at the largest ratio the "
           "engine completed over its time per MB at the smallest.</p>"]
    for s in secs:
        sizes = model.sizes(cells, s.workload)
        scale_of = {size.bytes / s.budget: scale for scale, size in sizes.items()
                    if size is not None and size.bytes}
        heads = "".join(
            f"<th>{memory.ratio_label(r)}<small>"
            f"{escape(model.size_label(scale_of.get(r, 0), sizes.get(scale_of.get(r, 0))))}"
            "</small></th>" for r in s.ratios)
        rows = []
        for row in s.rows:
            tds = "".join(cell_td(row.outcomes.get(r), marks) for r in s.ratios)
            largest = memory.ratio_label(row.largest) if row.largest is not None else "none"
            cost = f"{row.spill_cost:.2f}" if row.spill_cost is not None else "–"
            rows.append(f'<tr><td class="l">{escape(row.engine)}</td>{tds}'
                        f"<td>{largest}</td><td>{cost}</td></tr>")
        out.append(f"<h3>{escape(s.workload)} · memory {memory_size(s.budget)}</h3>"
                   '<table class="results"><tr><th class="l">engine</th>' + heads
                   + "<th>largest completed</th><th>spill cost</th></tr>" + "".join(rows)
                   + "</table>")
    out.append("</section>")
    return "".join(out)


def network_section(secs: list[network.Section], cells: list[Cell], marks: Marks) -> str:
    """Per workload, scale and hosts: every engine's time at each link rate, with the MB that
    crossed the links per call, beside its time on one machine."""
    out = ['<section id="network"><h2>Over a network</h2>',
           "<p>Each engine on a cluster spread over emulated hosts (network namespaces on one "
           "machine, each host on its share of the cores): the scheduler on the first host, a "
           "worker on each other one, the driver on a host of its own; every link shaped to the "
           "rate in the column. <b>MB over the wire</b>: the bytes every host sent to the others "
           "per call (MB = 10⁶ bytes). <b>One machine</b>: the same engine at the same workers "
           "without the network.</p>"]
    for s in secs:
        size = model.sizes(cells, s.workload).get(float(s.scale or "nan"))
        heads = "".join(f"<th>{escape(link)}</th>" for link in s.links)
        rows = []
        for row in s.rows:
            tds = "".join(cell_td(row.outcomes.get(link), marks, _wire(row.outcomes.get(link)))
                          for link in s.links)
            rows.append(f'<tr><td class="l">{escape(row.engine)}</td>{tds}'
                        f"{cell_td(row.alone, marks)}</tr>")
        out.append(f"<h3>{escape(s.workload)} · {s.hosts} hosts · "
                   f"{escape(model.size_label(float(s.scale or 'nan'), size))}</h3>"
                   '<table class="results"><tr><th class="l">engine</th>' + heads
                   + "<th>one machine</th></tr>" + "".join(rows) + "</table>")
    out.append("</section>")
    return "".join(out)


def _wire(cell: Cell | None) -> str:
    mb = network.wire_mb(cell)
    return f"<small>{model.fmt_mb(mb)} over the wire</small>" if mb is not None else ""


def memory_size(size: int) -> str:
    return escape(format_size(size))


def render(m: MachineReport, generated: str) -> str:
    """The whole page of one machine."""
    engine_cells = [c for c in m.cells if c.suite == "engines"]
    style = figures.styles({c.engine for c in engine_cells})
    marks = Marks(m)
    versions = engine_versions(m)
    ws = model.workloads(m.cells)
    outgrown = memory.sections(m.cells)
    over = network.sections(m.network)
    nav = '<a href="#verdict">verdict</a>' + ('<a href="#memory">outgrowing memory</a>'
                                              if outgrown else "") + (
        '<a href="#network">over a network</a>' if over else "") + "".join(
        f'<a href="#w-{escape(w)}">{escape(w)}</a>' for w in ws)
    nav += ('<a href="#resources">start-up &amp; memory</a><a href="#problems">failures</a>'
            '<a href="#machine">machine &amp; versions</a><a href="#method">how to read</a>')
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
           f"<title>parbench report: {escape(m.name)}</title><link rel='icon' href='data:,'>"
           f"<style>{CSS}</style></head><body>",
           f"<h1>parbench report: {escape(m.name)}</h1>",
           f'<p class="sub">{escape(str(m.info.get("num_cpu") or "?"))} cores · '
           f'{escape(str(m.info.get("cpu") or "CPU unknown"))} · generated {escape(generated)}'
           + (f" · {escape(m.selection)}" if m.selection else "") + "</p>",
           '<div class="card" id="verdict"><h2>Verdict: which engine, how many workers</h2>',
           verdict_table(model.verdicts(m.cells), marks),
           summary_line(engine_cells),
           f"<p>{csv_link(m)}</p>"]
    if m.not_measured:
        out.append(f"<p><small>No results on this machine for: "
                   f"{escape(', '.join(m.not_measured))}.</small></p>")
    if len(m.identities) > 1:
        out.append("<details><summary>Results of several commits or environments: marks "
                   f"{', '.join(i.tag for i in m.identities)}</summary>"
                   f"{identity_table(m)}</details>")
    if outgrown:
        out += ["<h3>When the input is larger than memory</h3>", memory_verdict(outgrown, marks)]
    out += ["</div>", f"<nav>{nav}</nav>"]
    if outgrown:
        out.append(memory_section(outgrown, m.cells, marks))
    if over:
        out.append(network_section(over, m.network, marks))
    out += [workload_section(m, w, style, marks, versions) for w in ws]
    startup = model.spreads(m.cells, STARTUP)
    mem = model.select(m.cells, "engines", PEAK_MEMORY)
    mem_cols = [(s, f"scale {fmt_scale(s)}") for s in model.scales(mem)]
    if startup or mem:
        out += ['<section id="resources"><h2>Start-up time and peak memory</h2>',
                '<div class="figs">',
                _fig(figures.startup(startup, style, marks.of_engines(
                    model.select(m.cells, "engines", STARTUP))),
                     "Start-up per worker count: every process (dots), median and IQR.",
                     "fig-startup") if startup else "",
                _fig(figures.memory(mem, mem_cols, style, marks.of_engines(mem)),
                     "Peak RSS of the whole process tree, one sample per combination.",
                     "fig-memory") if mem else "", "</div>",
                "<details><summary>Start-up: median, IQR, n and every value</summary>",
                spread_table(startup, "seconds", marks), "</details>",
                "<details><summary>Peak memory of the whole process tree</summary>",
                results_table(mem, marks), "</details></section>"]
    else:
        out.append('<section id="resources"><h2>Start-up time and peak memory</h2><p class="na">'
                   "Not measured in these runs (<code>make bench QUICK=1</code> times the "
                   "workloads only).</p></section>")
    gen = [c for c in m.cells if c.suite == "datagen"]
    if gen:
        out += ['<section id="datagen"><h2>Data generation</h2>', _datagen(gen),
                results_table(gen, marks), "</section>"]
    out += ['<section id="problems"><h2>Failures and skips</h2>', unreadable(m.unreadable),
            problems(m.cells),
            "</section>",
            '<section id="machine"><h2>Machine and versions</h2><div class="figs">',
            machine_table(m), versions_table(m), "</div>", identity_table(m), "</section>",
            f'<section id="method"><h2>How to read this</h2>{METHOD}</section></body></html>']
    return "\n".join(out)
