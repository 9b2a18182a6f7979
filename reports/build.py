"""Write the report: one self-contained HTML page (and its CSV) per machine, plus an index."""

from __future__ import annotations

import datetime
import re
import warnings
from html import escape
from pathlib import Path

from reports import export, load, network, page
from reports.load import NoResults
from reports.model import MachineReport
from workloads.runtime import console
from workloads.runtime.errors import ParbenchError

PROG = "python -m reports"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"


def write_machine(m, out: Path) -> Path:
    """out/index.html (figures inline, the CSV inside it) and out/results.csv for one machine."""
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    index = out / "index.html"
    with warnings.catch_warnings():  # a plotting library's advice is not the report's business
        warnings.simplefilter("ignore")
        index.write_text(page.render(m, now), encoding="utf-8")
    (out / "results.csv").write_text(export.csv_text(m.stored), encoding="utf-8")
    return index


def with_network(reports: list[MachineReport], results: Path, names: list[str],
                 options: tuple[float, str | None, str | None]) -> None:
    """Give each report the shown results of its family (`network.family`), for the section
    "Over a network"; a machine of the family without the chosen commit or environment adds
    none."""
    loaded = {m.name: m for m in reports}
    for m in reports:
        for name in network.family(m.name, names):
            if name not in loaded:
                try:
                    loaded[name] = load.load_machine(results, name, *options)
                except load.NotSelected:
                    continue
            m.network += loaded[name].cells


def build(results: Path, out: Path, machine: str | None = None,
          timeout: float = load.DEFAULT_TIMEOUT, commit: str | None = None,
          env: str | None = None) -> Path:
    """Build the report; returns the index page. Raises a ParbenchError when there is nothing
    to report on, or no such machine, commit or environment. Results files that cannot be read
    are named on stderr (and in each page's failures); the rest are reported."""
    if out.exists() and not out.is_dir():
        raise ParbenchError(f"--out {out} is a file: give a folder for the report")
    names = load.machines(results)
    if not names:
        raise NoResults(f"no asv results in {results}: run `make bench` or `asv run` first")
    if machine is not None:
        if machine not in names:
            raise ParbenchError(f"no results for machine {machine!r} in {results} "
                                f"(known: {', '.join(names)})")
        names = [machine]
    reports, refusals = [], []
    for n in names:
        try:
            reports.append(load.load_machine(results, n, timeout, commit, env))
        except load.NotSelected as exc:
            refusals.append(exc)
    if not reports:  # no machine has that commit or environment: name what they have
        raise ParbenchError(load.NotSelected.merged(refusals))
    with_network(reports, results, names=load.machines(results),
                 options=(timeout, commit, env))
    for m in reports:
        for problem in m.unreadable:
            console.report(PROG, f"cannot read {problem}: left out of the report")
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
