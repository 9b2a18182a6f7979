"""matplotlib figures for inline SVG: the decision chart, side-by-side bars, scaling, start-up and
memory. Each function returns a Figure (constrained layout, legends outside the axes); `to_svg`
writes it with `bbox_inches="tight"`, which grows it to hold every legend and label, and
prefixes its ids so that many figures share one page. Text is drawn as paths: the page looks
the same whatever fonts the reader's browser has.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Iterable

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
    ScalarFormatter,
)

from reports import metrics  # noqa: E402
from reports.model import (  # noqa: E402
    OK,
    SKIPPED,
    Cell,
    Decision,
    Grid,
    Spread,
    engine_order,
    fmt_time,
)

PALETTE = ["#222222", "#8c564b", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#843c39"]
MARKERS = "osD^v<>ph*XPd8H"
#: Longest failure text drawn in place of a bar (the table below holds all of it).
MAX_BAR_TEXT = 70
_ids = itertools.count(1)


def styles(engines: Iterable[str]) -> dict[str, dict]:
    """One colour and marker per engine, the same in every figure."""
    return {e: {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}
            for i, e in enumerate(engine_order(engines))}


def to_svg(fig: Figure) -> str:
    """The figure as an `<svg>` element for inline use: tight box, unique ids, no XML header."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.08,
                metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    prefix = f"f{next(_ids)}-"
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)
    return text.replace("<svg ", '<svg class="chart" ', 1)


def _workers_axis(ax, workers: list[int], label: bool = True) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(workers) or [1]))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    if label:
        ax.set_xlabel("workers")
    ax.grid(True, alpha=0.3)


def _log_axis(axis, fmt) -> None:
    """A log axis labelled by `fmt`, ticks at 1, 2 and 5 of each decade (of each decade's 1
    only when the data span more than three decades). Call it once the data are drawn."""
    lo, hi = axis.get_view_interval()
    wide = lo > 0 and hi / lo > 10**3
    axis.set_major_locator(LogLocator(base=10, subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def _number(v: float) -> str:
    return f"{v:g}"


def _figure(w: float, h: float) -> Figure:
    """A figure whose layout makes room for titles, labels and "outside" legends."""
    return Figure(figsize=(w, h), layout="constrained")


def _empty(ax, text: str = "no successful results") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777",
            fontsize=8, wrap=True)


def _legend_below(fig: Figure, axes, extra: list | None = None, ncols: int = 4) -> None:
    """One legend for the whole figure, below the panels, each label once."""
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=False):
            seen.setdefault(lab, h)
    for h in extra or []:
        seen.setdefault(h.get_label(), h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside lower center", frameon=False,
                   ncols=min(ncols, len(seen)), fontsize=8)


def _label(engine: str, mark: str) -> str:
    return f"{engine} [{mark}]" if mark else engine


def decision(dec: Decision, style: dict[str, dict], marks: dict[str, str]) -> Figure:
    """Time against data size (log-log), each engine at its best worker count per size, with
    the sizes at which the fastest engine changes."""
    fig = _figure(4.3, 3.3)
    ax = fig.subplots()
    for e in engine_order(dec.series):
        pts = sorted(dec.series[e].items())
        ax.plot([x for x, _ in pts], [t for _, t in pts], lw=1.5, ms=5,
                label=_label(e, marks.get(e, "")), **style[e])
    for c in dec.crossings:
        if c.at is not None:
            ax.axvline(c.at, color="#c00", ls=":", lw=1.2)
            ax.annotate(f"{c.after} overtakes {c.before} ≈ {dec.fmt_x(c.at)}", (c.at, 1),
                        xycoords=("data", "axes fraction"), xytext=(-2, -4),
                        textcoords="offset points", ha="right", va="top", rotation=90,
                        fontsize=6.5, color="#c00")
        else:
            ax.axvspan(c.lo, c.hi, color="#c00", alpha=0.06)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axis(ax.xaxis, _number)
    _log_axis(ax.yaxis, fmt_time)
    ax.set_xlabel("data read (MB, log scale)" if dec.in_mb else "data scale (log)")
    ax.set_ylabel("median time, best worker count (log)")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"{dec.workload}: which engine wins at which size", fontsize=10)
    if ax.lines:
        fig.legend(fontsize=7, loc="outside lower center", frameon=False, ncols=3)
    else:
        _empty(ax)
    return fig


def _short(text: str, limit: int = MAX_BAR_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bars(workload: str, panels: list[tuple[str, dict[str, list[Cell]]]],
         style: dict[str, dict], versions: dict[str, str], marks: dict[str, str]) -> Figure:
    """Per data size, every engine's time side by side: at its best worker count (IQR whiskers)
    and on one worker; the reason where it has no time. `panels`: (title, engine → cells)."""
    names = engine_order({e for _, by_e in panels for e in by_e})
    n = len(names)
    fig = _figure(3.0 * len(panels), 1.2 + 0.34 * max(n, 2))
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (title, by_e) in zip(axes, panels, strict=True):
        oks = [c.value for cs in by_e.values() for c in cs if c.status == OK and c.value]
        top = max(oks) if oks else 1.0
        for i, e in enumerate(names):
            cells = by_e.get(e, [])
            good = {c.workers: c for c in cells if c.status == OK and c.value is not None}
            best = min(good.values(), key=lambda c: (c.value, c.workers)) if good else None
            y = n - 1 - i
            if best is not None:
                q = best.quartiles or (best.value, best.value)
                ax.barh(y + 0.18, best.value, height=0.36, color=style[e]["color"],
                        xerr=[[max(0.0, best.value - q[0])], [max(0.0, q[1] - best.value)]],
                        error_kw={"lw": 0.8, "capsize": 2})
                warn = " ⚠" if best.noise else ""
                ax.text(max(best.value, q[1]) + top * 0.02, y + 0.18,
                        f"{fmt_time(best.value)} · {best.workers} w{warn}",
                        va="center", fontsize=7)
                one = good.get(1)
                if one is not None and best.workers != 1:
                    ax.barh(y - 0.18, one.value, height=0.36, color=style[e]["color"],
                            alpha=0.35, hatch="///", edgecolor="white")
                    ax.text(one.value + top * 0.02, y - 0.18, f"{fmt_time(one.value)} · 1 w",
                            va="center", fontsize=7, color="#555")
            else:
                bad = [c for c in cells if c.status != OK]
                bad.sort(key=lambda c: (c.status == SKIPPED, c.workers or 0))
                text = (f"{bad[0].status}: {_short(bad[0].reason)}" if bad else "not measured")
                colour = "#999" if not bad or bad[0].status == SKIPPED else "#b00"
                ax.text(top * 0.01, y, text, va="center", fontsize=7, color=colour)
        ax.set_xlim(0, top * 1.45)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_yticks(range(n))
        ax.set_yticklabels([_label(e, marks.get(e, "")) for e in reversed(names)], fontsize=8)
        ax.set_xlabel("median time", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_time(v) if v else "0"))
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(title.replace(" · ", "\n", 1), fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    handles = [Patch(facecolor="#888", label="best worker count (w), IQR whiskers"),
               Patch(facecolor="#888", alpha=0.35, hatch="///", edgecolor="white",
                     label="1 worker")]
    handles += [Patch(facecolor=style[e]["color"], label=f"{e}: {versions[e]}")
                for e in names if versions.get(e)]
    fig.legend(handles=handles, loc="outside lower left", frameon=False, fontsize=7,
               ncols=2 if len(panels) < 3 else 3)
    fig.suptitle(f"{workload}: every engine side by side", fontsize=10)
    return fig


SCALING_ROWS = ("speedup T(1)/T(p)", "efficiency S(p)/p", "Karp–Flatt serial fraction e")


def scaling(workload: str, g: Grid, columns: list[tuple[float, str]],
            style: dict[str, dict], marks: dict[str, str]) -> Figure:
    """Rows: speedup (IQR bars, ideal line), efficiency, Karp–Flatt; one column per data size.

    Karp–Flatt is drawn only for engines with ≥ 3 worker counts (its row only when one has
    them; the page's caption says why not); values above 1 (slower than on one worker) sit on
    the top edge as ▲."""
    workers = sorted({p for by_s in g.values() for by_p in by_s.values() for p in by_p}) or [1]
    cols = len(columns) or 1
    with_kf = any(metrics.karp_flatt_meaningful(by_p) for by_s in g.values()
                  for by_p in by_s.values())
    rows = 3 if with_kf else 2
    fig = _figure(3.6 * cols, 2.2 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    for j, (s, title) in enumerate(columns):
        kf_any = False
        for e in engine_order(g):
            by_p = g[e].get(s, {})
            sp = metrics.speedup({p: c.value for p, c in by_p.items()})
            if len(sp) < 2:
                continue
            st = dict(style[e], label=_label(e, marks.get(e, "")), lw=1.4, ms=4)
            ps, t1 = list(sp), by_p[1].value
            q = [by_p[p].quartiles or (by_p[p].value, by_p[p].value) for p in ps]
            lo = [max(0.0, sp[p] - t1 / b) for p, (_, b) in zip(ps, q, strict=True)]
            hi = [max(0.0, t1 / a - sp[p]) for p, (a, _) in zip(ps, q, strict=True)]
            axes[0][j].errorbar(ps, list(sp.values()), yerr=[lo, hi], capsize=2, **st)
            axes[1][j].plot(ps, list(metrics.efficiency(sp).values()), **st)
            if with_kf and metrics.karp_flatt_meaningful(sp):
                kf = metrics.karp_flatt_curve(sp)
                kx = list(kf)
                ky = [min(v, 1.0) for v in kf.values()]
                axes[2][j].plot(kx, ky, **st)
                over = [p for p, v in kf.items() if v > 1]
                if over:
                    axes[2][j].plot(over, [1.0] * len(over), ls="none", marker="^", ms=7,
                                    color=style[e]["color"], clip_on=False)
                kf_any = True
        top = max(workers)
        axes[0][j].plot([1, top], [1, top], ls="--", color="#999", lw=1, label="ideal S = p")
        axes[1][j].axhline(1, ls="--", color="#999", lw=1)
        axes[1][j].axhline(metrics.WORTH_IT_EFFICIENCY, ls=":", color="#c00", lw=1,
                           label=f"efficiency {metrics.WORTH_IT_EFFICIENCY}: worth it above")
        axes[1][j].set_ylim(bottom=0)
        axes[0][j].set_title(title, fontsize=9)
        if len(axes[0][j].lines) <= 1:
            _empty(axes[0][j], "no engine measured at\nseveral worker counts")
            _empty(axes[1][j], "")
        if with_kf:
            axes[2][j].set_ylim(-0.1, 1.05)
            if not kf_any:
                _empty(axes[2][j], f"Karp–Flatt needs {metrics.KARP_FLATT_MIN_WORKERS} or "
                       "more worker counts\n(1 and two more)")
        for i, label in enumerate(SCALING_ROWS[:rows]):
            _workers_axis(axes[i][j], workers, label=i == rows - 1)
            if j == 0:
                axes[i][j].set_ylabel(label, fontsize=8)
    extra = [Patch(facecolor="none", edgecolor="none",
                   label="▲ Karp–Flatt e > 1: slower than on one worker")] if with_kf else []
    _legend_below(fig, axes.flat, extra, ncols=4)
    fig.suptitle(f"{workload}: scaling with workers", fontsize=10)
    return fig


def startup(rows: list[Spread], style: dict[str, dict], marks: dict[str, str]) -> Figure:
    """Start-up time per engine and worker count: every process's value (dots), the median
    (line) and the interquartile range (bars), on a log axis so one slow start hides nothing."""
    fig = _figure(6.0, 3.4)
    ax = fig.subplots()
    workers = sorted({r.workers for r in rows}) or [1]
    by_e: dict[str, list[Spread]] = {}
    for r in rows:
        by_e.setdefault(r.engine, []).append(r)
    for e in engine_order(by_e):
        rs = sorted(by_e[e], key=lambda r: r.workers)
        ps = [r.workers for r in rs]
        med = [r.summary.median for r in rs]
        yerr = [[max(0.0, r.summary.median - r.summary.q25) for r in rs],
                [max(0.0, r.summary.q75 - r.summary.median) for r in rs]]
        ax.errorbar(ps, med, yerr=yerr, capsize=2, lw=1.4, ms=5,
                    label=_label(e, marks.get(e, "")), **style[e])
        for r in rs:
            ax.plot([r.workers] * len(r.values), list(r.values), ls="none", marker=".",
                    ms=4, alpha=0.5, color=style[e]["color"])
    ax.set_yscale("log")
    _log_axis(ax.yaxis, fmt_time)
    _workers_axis(ax, workers)
    ax.set_ylabel("start-up time (log)")
    ax.set_title("start-up per worker count: median, IQR and every process", fontsize=10)
    if ax.lines:
        fig.legend(fontsize=7, loc="outside right upper", frameon=False)
    else:
        _empty(ax)
    return fig


def memory(cells: list[Cell], columns: list[tuple[float, str]], style: dict[str, dict],
           marks: dict[str, str]) -> Figure:
    """Peak memory of the whole process tree against workers, one panel per scale."""
    workers = sorted({c.workers for c in cells if c.workers}) or [1]
    cols = max(1, len(columns))
    fig = _figure(3.4 * cols, 3.0)
    axes = fig.subplots(1, cols, squeeze=False, sharey=True)[0]
    for ax, (s, title) in zip(axes, columns or [(math.nan, "")], strict=True):
        for e in engine_order({c.engine for c in cells}):
            pts = sorted((c.workers, c.value) for c in cells
                         if c.engine == e and c.scale_value == s and c.status == OK
                         and c.value is not None and c.workers)
            if pts:
                ax.plot([p for p, _ in pts], [v / 2**20 for _, v in pts], lw=1.4, ms=4,
                        label=_label(e, marks.get(e, "")), **style[e])
        ax.set_title(title, fontsize=9)
        _workers_axis(ax, workers)
        if not ax.lines:
            _empty(ax)
    axes[0].set_ylim(bottom=0)  # shared: after every panel is drawn
    axes[0].set_ylabel("peak memory (MiB), one sample")
    _legend_below(fig, axes, ncols=5)
    return fig
