"""Write the report: figures and one HTML page per machine, plus an index for several machines."""

from __future__ import annotations

import datetime
import re
from html import escape
from pathlib import Path

from reports import figures, load, model, page


class NoResults(Exception):
    """No asv results to report on."""


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"


def write_machine(m: model.MachineReport, out: Path) -> Path:
    """Figures under out/figures/ and out/index.html for one machine."""
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    for old in figdir.glob("*.png"):
        old.unlink()
    style = figures.styles(sorted({c.engine for c in m.cells if c.suite == "engines"}))
    figs: dict[str, list[str]] = {}
    for i, w in enumerate(model.workloads(m.cells)):
        table, quart = model.times(m.cells, w), model.quartiles(m.cells, w)
        stem = f"{i:02d}-{_slug(w)}"
        failed = model.failures(m.cells, w)
        paths = [figures.scaling(w, table, quart, failed, style, figdir / f"{stem}-scaling.png"),
                 figures.data_size(w, table, quart, model.growth(table), style,
                                   figdir / f"{stem}-size.png")]
        figs[w] = [p.relative_to(out).as_posix() for p in paths]
    res = figures.resources(m.cells, style, figdir / "resources.png")
    figs["resources"] = [res.relative_to(out).as_posix()]
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    index = out / "index.html"
    index.write_text(page.render(m, figs, now), encoding="utf-8")
    return index


def build(results: Path, out: Path, machine: str | None = None,
          timeout: float = load.DEFAULT_TIMEOUT) -> Path:
    """Build the report; returns the index page. Raises NoResults, or KeyError for a machine."""
    names = load.machines(results)
    if not names:
        raise NoResults(str(results))
    if machine is not None:
        if machine not in names:
            raise KeyError(machine)
        names = [machine]
    reports = [load.load_machine(results, n, timeout) for n in names]
    if len(reports) == 1:
        return write_machine(reports[0], out)
    links = []
    for m in reports:
        sub = _slug(m.name)
        write_machine(m, out / sub)
        links.append(f'<li><a href="{escape(sub)}/index.html">{escape(m.name)}</a> · '
                     f'{escape(str(m.info.get("num_cpu") or "?"))} cores · '
                     f'{escape(str(m.info.get("cpu") or ""))}</li>')
    index = out / "index.html"
    index.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>parbench reports'
        f"</title><style>{page.CSS}</style></head><body><h1>parbench reports</h1>"
        f"<p>One report per machine:</p><ul>{''.join(links)}</ul></body></html>",
        encoding="utf-8")
    return index
