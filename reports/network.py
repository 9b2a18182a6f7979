"""Over a network: the results measured on clusters spread over emulated hosts, by the rate of
the links between them, with the bytes that crossed the links per call.

Each host count and link rate is a machine of its own (`machine_name`: `NAME-hosts-2-100mbit`,
`NAME-hosts-2-unshaped`): asv would otherwise replace the results of one rate with the next. The
section gathers a machine's family, NAME and every `NAME-hosts-...`, so that one table holds a
workload's times at every rate, beside the same engine at the same workers on one machine (NAME's
results, where measured).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

from reports import model
from reports.memory import chosen
from reports.model import Cell
from workloads.cluster import link_bits  # the rates `cluster up --link` takes
from workloads.runtime.errors import ParbenchError
from workloads.wire import UNSHAPED, link_label

_MACHINE = re.compile(r"^(?P<base>.+)-hosts-(?P<hosts>\d+)-(?P<link>[A-Za-z0-9.]+)$")


def machine_name(base: str, hosts: int, link: str) -> str:
    """The machine the results of `hosts` emulated hosts at `link` ("" unshaped) are stored as."""
    return f"{base}-hosts-{hosts}-{link_label(link)}"


def parse(name: str) -> tuple[str, int, str] | None:
    """(base machine, hosts, link) of a `machine_name`; None for any other machine."""
    match = _MACHINE.match(name)
    if match is None:
        return None
    return match["base"], int(match["hosts"]), match["link"]


def family(name: str, names: list[str]) -> list[str]:
    """The machines of `names` whose results a page of `name` compares over a network: the base
    machine and its `-hosts-` machines; none when no such machine exists."""
    base = (parse(name) or (name,))[0]
    members = [n for n in names if (parse(n) or ("",))[0] == base]
    return ([base] if base in names else []) + members if members else []


def link_order(link: str) -> float:
    """Slowest first; unshaped (or an unknown rate) last."""
    try:
        return math.inf if link == UNSHAPED else float(link_bits(link))
    except ParbenchError:
        return math.inf


@dataclass(frozen=True)
class Row:
    """One engine on `hosts` emulated hosts."""

    engine: str
    outcomes: dict[str, Cell]  # link -> its result there (the fastest worker count that ran)
    alone: Cell | None  # the same engine at the same workers and scale on one machine


@dataclass(frozen=True)
class Section:
    """One workload at one scale on one number of hosts."""

    workload: str
    scale: str
    hosts: int
    links: list[str]
    rows: list[Row]


def sections(cells: list[Cell]) -> list[Section]:
    """Every workload × scale × hosts measured over an emulated network (`cells`: a family's)."""
    timed = [c for c in cells if c.suite == "engines" and c.metric in model.workloads(cells)]
    over = [c for c in timed if c.hosts is not None]
    groups: dict[tuple[str, str, int], list[Cell]] = defaultdict(list)
    for c in over:
        groups[(c.metric, c.scale or "", c.hosts or 0)].append(c)
    rank = {w: i for i, w in enumerate(model.workloads(over))}
    out = []
    for (workload, scale, hosts), group in sorted(
            groups.items(), key=lambda kv: (rank[kv[0][0]], float(kv[0][1] or 0), kv[0][2])):
        links = sorted({c.link or UNSHAPED for c in group}, key=link_order)
        rows = []
        for engine in model.engine_order({c.engine for c in group}):
            mine = [c for c in group if c.engine == engine]
            by_link: dict[str, list[Cell]] = defaultdict(list)
            for c in mine:
                by_link[c.link or UNSHAPED].append(c)
            workers = {c.workers for c in mine}
            local = [c for c in timed if c.hosts is None and c.engine == engine
                     and c.metric == workload and c.scale == scale and c.workers in workers]
            rows.append(Row(engine, {k: chosen(v) for k, v in by_link.items()},
                            chosen(local) if local else None))
        out.append(Section(workload, scale, hosts, links, rows))
    return out


def wire_mb(cell: Cell | None) -> float | None:
    """MB (10⁶ bytes) over the wire per call of a result, where recorded."""
    return cell.wire_bytes / 1e6 if cell is not None and cell.wire_bytes is not None else None
