"""matplotlib figures (Agg backend, PNG files) of one machine's results."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from reports import metrics  # noqa: E402
from reports.model import (  # noqa: E402
    PEAK_MEMORY,
    STARTUP,
    Cell,
    Growth,
    Table,
    engine_order,
    fmt_scale,
    serial_time,
    times,
)

DPI = 100
PALETTE = ["#222222", "#8c564b", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
MARKERS = "osD^v<>ph*X"


def styles(engines: list[str]) -> dict[str, dict]:
    """One colour and marker per engine, the same in every figure."""
    return {e: {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}
            for i, e in enumerate(engine_order(engines))}


def _workers_axis(ax, workers: list[int], last: bool = True) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(workers) or [1]))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    if last:
        ax.set_xlabel("workers")
    ax.grid(True, alpha=0.3)


def _empty(ax, text: str = "no successful results") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#888")


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


def _legend(fig: Figure, axes) -> None:
    """One legend for the whole figure, below the panels, each label once."""
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=False):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="lower center", ncols=min(7, len(seen)),
                   bbox_to_anchor=(0.5, 0), frameon=False, fontsize=9)


def _grid(rows: int, cols: int, w: float, h: float, title: str = "", legend_in: float = 0.6):
    """A figure of rows × cols panels with fixed margins (cheaper than constrained layout)."""
    head = 0.8 if title else 0.5
    height = h * rows + legend_in + head
    fig = Figure(figsize=(w * cols, height))
    fig.subplots_adjust(left=0.75 / (w * cols), right=1 - 0.15 / (w * cols),
                        top=1 - head / height, bottom=(legend_in + 0.45) / height,
                        hspace=0.35, wspace=0.28)
    if title:
        fig.suptitle(title, fontsize=12, y=1 - 0.12 / height, va="top")
    return fig, fig.subplots(rows, cols, squeeze=False)


ROWS = ["speedup T(1)/T(p)", "efficiency S(p)/p", "Karp–Flatt serial fraction",
        "speedup over serial"]


def scaling(workload: str, table: Table, quart: dict, failed: set, style: dict[str, dict],
            path: Path) -> Path:
    """Rows: speedup (IQR bars, ideal), efficiency, Karp–Flatt, over serial; columns: scales.

    Failed or timed-out combinations are marked × on the speedup panels' workers axis.
    """
    scales = sorted({s for by_scale in table.values() for s in by_scale} |
                    {s for _, s, _ in failed}) or [math.nan]
    workers = sorted({p for bs in table.values() for by_p in bs.values() for p in by_p} |
                     {p for _, _, p in failed})
    fig, axes = _grid(len(ROWS), len(scales), 4.0, 2.6, f"{workload}: scaling with workers")
    for j, s in enumerate(scales):
        base = serial_time(table, s)
        for e in engine_order(table):
            by_p = table[e].get(s, {})
            st = dict(style[e], label=e, lw=1.5, ms=5)
            sp = metrics.speedup(by_p)
            if len(sp) > 1:
                ps, t1 = list(sp), by_p[1]
                q = [quart.get((e, s, p), (by_p[p], by_p[p])) for p in ps]
                lo = [max(0.0, sp[p] - t1 / b) for p, (_, b) in zip(ps, q, strict=True)]
                hi = [max(0.0, t1 / a - sp[p]) for p, (a, _) in zip(ps, q, strict=True)]
                axes[0][j].errorbar(ps, list(sp.values()), yerr=[lo, hi], capsize=3, **st)
                axes[1][j].plot(ps, list(metrics.efficiency(sp).values()), **st)
                kf = metrics.karp_flatt_curve(sp)
                axes[2][j].plot(list(kf), list(kf.values()), **st)
            over = metrics.speedup_over(base, by_p)
            if over:
                axes[3][j].plot(list(over), list(over.values()), **st)
        drawn = [bool(axes[i][j].lines) for i in range(len(ROWS))]
        on_axis = blended_transform_factory(axes[0][j].transData, axes[0][j].transAxes)
        here = sorted(x for x in failed if x[1] == s)
        for e, _, p in here:
            axes[0][j].plot([p], [0.04], transform=on_axis, ls="none", marker="x", ms=9, mew=2,
                            color=style[e]["color"], clip_on=False)
        if here:
            axes[0][j].plot([], [], ls="none", marker="x", ms=9, mew=2, color="#555",
                            label="failed or timed out")
        top = max(workers or [1])
        axes[0][j].plot([1, top], [1, top], ls="--", color="#999", lw=1, label="ideal")
        axes[1][j].axhline(1, ls="--", color="#999", lw=1)
        axes[1][j].axhline(metrics.WORTH_IT_EFFICIENCY, ls=":", color="#c00", lw=1,
                           label=f"efficiency {metrics.WORTH_IT_EFFICIENCY}")
        axes[3][j].axhline(1, ls="--", color="#999", lw=1)
        axes[0][j].set_title(f"scale {fmt_scale(s)}", fontsize=10)
        axes[1][j].set_ylim(bottom=0)
        for i, label in enumerate(ROWS):
            _workers_axis(axes[i][j], workers, last=i == len(ROWS) - 1)
            if j == 0:
                axes[i][j].set_ylabel(label, fontsize=9)
            if not drawn[i]:
                _empty(axes[i][j])
    _legend(fig, axes.flat)
    return _save(fig, path)


def data_size(workload: str, table: Table, quart: dict, fits: list[Growth],
              style: dict[str, dict], path: Path) -> Path:
    """Time against scale (log-log) per engine at its fitted worker count, exponent in legend."""
    fig = Figure(figsize=(7.5, 4.8))
    fig.subplots_adjust(left=0.1, right=0.97, top=0.92, bottom=0.12)
    ax = fig.subplots()
    drawn = False
    for g in fits:
        if g.workers is None:
            continue
        pts = sorted((s, by_p[g.workers]) for s, by_p in table[g.engine].items()
                     if g.workers in by_p)
        if not pts:
            continue
        xs, ys = [s for s, _ in pts], [t for _, t in pts]
        q = [quart.get((g.engine, s, g.workers), (t, t)) for s, t in pts]
        yerr = [[max(0.0, t - a) for t, (a, _) in zip(ys, q, strict=True)],
                [max(0.0, b - t) for t, (_, b) in zip(ys, q, strict=True)]]
        b = "n/a" if math.isnan(g.exponent) else f"{g.exponent:.2f}"
        ax.errorbar(xs, ys, yerr=yerr, capsize=3, lw=1.5, ms=5,
                    label=f"{g.engine} (p={g.workers}): b = {b}", **style[g.engine])
        drawn = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("data scale (1 = 44,060 matches + 138,490 words)")
    ax.set_ylabel("median time (s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"{workload}: time against data size, T ∝ scale^b", fontsize=11)
    if drawn:
        ax.legend(fontsize=8, loc="upper left")
    else:
        _empty(ax)
    return _save(fig, path)


def resources(cells: list[Cell], style: dict[str, dict], path: Path) -> Path:
    """Start-up time against workers, and whole-tree peak memory against workers per scale."""
    startup, memory = times(cells, STARTUP), times(cells, PEAK_MEMORY)
    scales = sorted({s for bs in memory.values() for s in bs}) or [math.nan]
    workers = sorted({c.workers for c in cells if c.suite == "engines" and c.workers})
    fig, grid = _grid(1, 1 + len(scales), 4.0, 3.0)
    axes = list(grid[0])
    for e in engine_order(startup):
        by_p: dict[int, list[float]] = {}
        for by_scale_p in startup[e].values():
            for p, v in by_scale_p.items():
                by_p.setdefault(p, []).append(v)
        ps = sorted(by_p)
        axes[0].plot(ps, [statistics.median(by_p[p]) for p in ps], label=e, lw=1.5, ms=5,
                     **style[e])
    axes[0].set_title("start-up time (s), median over scales", fontsize=9)
    for ax, s in zip(axes[1:], scales, strict=True):
        for e in engine_order(memory):
            by_p = memory[e].get(s, {})
            if by_p:
                ax.plot(list(by_p), [v / 2**20 for v in by_p.values()], label=e, lw=1.5, ms=5,
                        **style[e])
        ax.set_title(f"peak memory, whole process tree (MiB)\nscale {fmt_scale(s)}", fontsize=9)
    for ax in axes:
        ax.set_ylim(bottom=0)
        _workers_axis(ax, workers)
        if not ax.lines:
            _empty(ax)
    _legend(fig, axes)
    return _save(fig, path)
