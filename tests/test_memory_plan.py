"""What `make bench MEMORY=SIZE` measures: the scales of each ratio of input to memory, and the
benchmarks asv selects with the plan's pattern (asv's own selection)."""

from __future__ import annotations

import importlib
import os
import types

import pytest
from asv.benchmarks import Benchmarks

from benchmarks import memory_plan
from reports.sidecar import suite_name
from workloads import engines, spec
from workloads.data.dataset import Dataset

GiB = 2**30


def test_scales_give_each_ratio_of_the_budget(data_dir):
    """The match CSV grows linearly with the scale: at each planned scale it is the ratio's
    share of the budget, to the two significant digits the plan rounds to."""
    per_scale = sum(os.path.getsize(p) for p in
                    Dataset.open(data_dir / "scale-1").input("matches", "csv").paths)
    scales = memory_plan.scales(GiB, str(data_dir))
    assert len(scales) == len(memory_plan.RATIOS)
    for ratio, scale in zip(memory_plan.RATIOS, scales, strict=True):
        assert float(scale) * per_scale / GiB == pytest.approx(ratio, rel=0.05)


def _selected(found: list[dict], pattern: str) -> Benchmarks:
    conf = types.SimpleNamespace(benchmark_dir="benchmarks")
    return Benchmarks(conf, found, regex=[pattern])


def test_the_patterns_select_the_planned_timings_of_every_engine_once():
    """The engines that use several workers in one run, pandas and serial (one worker only) in
    another: together every engine's timings of the planned workloads, each in one run."""
    suites = [suite_name(n) for n in engines.names()]
    names = [f"bench_engines.{suite}.{method}" for suite in suites
             for method in (*(f"time_{w}" for w in spec.NAMES), "track_peak_memory")]
    found = [{"name": n, "params": [["1", "2"], ["'150'", "'1200'"]], "param_names":
              ["workers", "scale"], "type": "time"} for n in names]
    found.append({"name": "bench_engines.Duckdb.track_startup", "params": [["2"]],
                  "param_names": ["workers"], "type": "track"})
    several = _selected(found, memory_plan.bench_pattern())
    one = _selected(found, memory_plan.bench_pattern(one_worker=True))
    assert not set(several) & set(one)
    assert sorted([*several, *one]) == sorted(f"bench_engines.{suite}.time_{w}"
                                               for suite in suites for w in memory_plan.WORKLOADS)
    assert {n.split(".")[1] for n in one} == {
        suite_name(n) for n in engines.names() if engines.engine_class(n).max_workers == 1
    } >= {"Pandas", "Serial"}
    # every parameter combination of each
    assert all(len(several.benchmark_selection[n]) == 4 for n in several)


def test_the_progress_display_counts_what_asv_selects():
    """`make bench`'s progress counts the combinations asv runs with the plan's pattern."""
    from benchmarks import progress

    found = []
    for module_name in progress.SUITE:
        module = importlib.import_module(module_name)
        for cls_name, cls in vars(module).items():
            if cls_name.startswith("_") or not isinstance(cls, type):
                continue
            for attr in dir(cls):
                if attr.startswith(("time_", "track_", "peakmem_", "mem_")):
                    method = getattr(cls, attr)
                    params = getattr(method, "params", None) or getattr(cls, "params", [])
                    found.append({"name": f"{module_name.split('.', 1)[1]}.{cls_name}.{attr}",
                                  "params": [[repr(v) for v in p] for p in params]})
    pattern = memory_plan.bench_pattern()
    selected = _selected(found, pattern)
    asv_count = sum(len(selected.benchmark_selection[n]) for n in selected)
    assert asv_count > 0
    assert len(progress.combinations([pattern])) == asv_count
