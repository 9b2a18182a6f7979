"""What `make bench MEMORY=SIZE` measures: the scales of each ratio of input to memory, and the
benchmarks asv selects with the plan's pattern (asv's own selection)."""

from __future__ import annotations

import os
import types

import pytest
from asv.benchmarks import Benchmarks

from benchmarks import memory_plan
from workloads import spec
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


def test_the_pattern_selects_the_timings_of_the_planned_workloads():
    names = [f"bench_engines.{suite}.{method}" for suite in ("Duckdb", "DaskDistributed")
             for method in (*(f"time_{w}" for w in spec.NAMES), "track_peak_memory")]
    found = [{"name": n, "params": [["1", "2"], ["'150'", "'1200'"]], "param_names":
              ["workers", "scale"], "type": "time"} for n in names]
    found.append({"name": "bench_engines.Duckdb.track_startup", "params": [["2"]],
                  "param_names": ["workers"], "type": "track"})
    conf = types.SimpleNamespace(benchmark_dir="benchmarks")
    selected = Benchmarks(conf, found, regex=[memory_plan.bench_pattern()])
    assert sorted(selected) == sorted(f"bench_engines.{suite}.time_{w}"
                                      for suite in ("Duckdb", "DaskDistributed")
                                      for w in memory_plan.WORKLOADS)
    # every parameter combination of each
    assert all(len(selected.benchmark_selection[n]) == 4 for n in selected)
