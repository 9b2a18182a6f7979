"""Every stored result as CSV: one row per result, with its identity and reason."""

from __future__ import annotations

import csv
import io

from reports.model import Cell

COLUMNS = ("machine", "engine", "versions", "workload", "benchmark", "scale", "bytes", "rows",
           "format", "workers", "hosts", "link", "wire_bytes", "median", "q25", "q75", "iqr", "n",
           "unit", "status", "reason", "commit", "environment", "python", "commit_date_ms",
           "run_at", "shown")


def row(c: Cell) -> dict[str, object]:
    size = c.size
    iqr = c.q75 - c.q25 if c.q25 is not None and c.q75 is not None else None
    return {
        "machine": c.machine, "engine": c.engine,
        "versions": "; ".join(f"{k} {v}" for k, v in c.versions), "workload": c.metric,
        "benchmark": c.benchmark, "scale": c.scale, "bytes": size.bytes if size else None,
        "rows": "; ".join(f"{n} {what}" for what, n in size.rows) if size else None,
        "format": size.format if size else None, "workers": c.workers, "hosts": c.hosts,
        "link": c.link, "wire_bytes": c.wire_bytes, "median": c.value,
        "q25": c.q25, "q75": c.q75, "iqr": iqr, "n": c.samples, "unit": c.unit,
        "status": c.status, "reason": c.reason, "commit": c.commit, "environment": c.env,
        "python": c.python, "commit_date_ms": c.date, "run_at": c.started_at,
        "shown": "yes" if c.shown else f"no: {c.hidden}"}


def csv_text(cells: list[Cell]) -> str:
    """CSV of `cells` (every stored result), shown ones first."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for c in sorted(cells, key=lambda c: (not c.shown, c.benchmark, c.scale or "",
                                          c.workers or 0, c.commit, c.env)):
        w.writerow(row(c))
    return buf.getvalue()
