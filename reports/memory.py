"""When the data outgrows memory: the results measured under a memory budget, by the ratio of
their input (the bytes of the files the workload reads) to the budget.

Per workload and budget: every engine's outcome at each ratio (its time, out of memory with its
peak, timed out), the largest ratio it completed, and its cost of spilling: its time per MB at
the largest ratio it completed over its time per MB at the smallest. And per workload, the engine
to use at the largest ratio measured, with whether an engine that can span hosts beats the
single-process ones there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from reports import model
from reports.model import OK, SKIPPED, Cell


@dataclass(frozen=True)
class Row:
    """One engine under one budget."""

    engine: str
    outcomes: dict[float, Cell]  # ratio -> its result there (the fastest worker count that ran)
    largest: float | None  # the largest ratio it completed
    spill_cost: float | None  # (s/MB at `largest`) / (s/MB at the smallest ratio completed)


@dataclass(frozen=True)
class Section:
    """One workload under one budget."""

    workload: str
    budget: int
    ratios: list[float]
    rows: list[Row]
    top: float  # the largest ratio measured
    pick: Cell | None  # the fastest completed at `top`
    spanning: Cell | None  # the fastest completed at `top` of the engines that can span hosts
    single: Cell | None  # ... of the others

    @property
    def distributed_wins(self) -> bool | None:
        """Whether an engine that can span hosts is faster than every single-process one at the
        largest ratio (None where either side has no completed run)."""
        if self.spanning is None or self.single is None:
            return None
        return (self.spanning.value or 0) < (self.single.value or 0)


def ratio_label(ratio: float) -> str:
    return f"{ratio:.2g}×"


def chosen(cells: list[Cell]) -> Cell:
    """The cell that stands for an engine at one size: its fastest completed run, else what
    stopped it (a failure before a skip)."""
    done = [c for c in cells if c.status == OK and c.value is not None]
    if done:
        return min(done, key=lambda c: c.value or 0)
    return sorted(cells, key=lambda c: (c.status == SKIPPED, c.workers or 0))[0]


def _fastest(cells: list[Cell]) -> Cell | None:
    return min(cells, key=lambda c: c.value or 0) if cells else None


def _per_mb(cell: Cell, size: model.DataSize | None) -> float | None:
    mb = size.mb if size is not None else None
    return (cell.value or 0) / mb if mb else None


def sections(cells: list[Cell]) -> list[Section]:
    """Every workload × budget with results measured under a memory budget."""
    budgeted = [c for c in cells if c.suite == "engines" and c.memory
                and c.metric in model.workloads(cells)]
    out = []
    for workload in model.workloads(budgeted):
        size_of = model.sizes(cells, workload)
        by_budget: dict[int, list[Cell]] = defaultdict(list)
        for c in budgeted:
            if c.metric == workload:
                by_budget[c.memory or 0].append(c)
        for budget, group in sorted(by_budget.items()):
            ratio_of: dict[float, float] = {}
            for scale in {c.scale_value for c in group}:
                size = size_of.get(scale)
                if size is not None and size.bytes:
                    ratio_of[scale] = size.bytes / budget
            per_engine: dict[str, dict[float, list[Cell]]] = defaultdict(lambda: defaultdict(list))
            for c in group:
                if c.scale_value in ratio_of:
                    per_engine[c.engine][ratio_of[c.scale_value]].append(c)
            if not per_engine:
                continue
            ratios = sorted(set(ratio_of.values()))
            scale_at = {r: s for s, r in ratio_of.items()}
            rows = []
            for engine in model.engine_order(per_engine):
                outcomes = {r: chosen(cs) for r, cs in per_engine[engine].items()}
                done = sorted(r for r, c in outcomes.items() if c.status == OK)
                cost = None
                if len(done) > 1:
                    lo, hi = (_per_mb(outcomes[r], size_of.get(scale_at[r]))
                              for r in (done[0], done[-1]))
                    cost = hi / lo if lo and hi else None
                rows.append(Row(engine, outcomes, done[-1] if done else None, cost))
            top = ratios[-1]
            at_top = [r.outcomes[top] for r in rows
                      if top in r.outcomes and r.outcomes[top].status == OK]
            out.append(Section(
                workload, budget, ratios, rows, top, _fastest(at_top),
                _fastest([c for c in at_top if c.spans_hosts]),
                _fastest([c for c in at_top if c.spans_hosts is False])))
    return out
