"""Pure scaling metrics: speedup, efficiency, Karp–Flatt, growth exponent, crossover (no I/O).

Times are medians in seconds, keyed by worker count (``{p: T(p)}``) or by data scale
(``{scale: T}``). Missing, failed or skipped measurements are simply absent from the mappings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: A worker count is "worth it" while the parallel efficiency S(p)/p stays at least this.
WORTH_IT_EFFICIENCY = 0.5


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def speedup(times: Mapping[int, float]) -> dict[int, float]:
    """S(p) = T(1)/T(p) for every measured p; empty when T(1) is not measured."""
    t1 = times.get(1)
    if not _ok(t1):
        return {}
    return {p: t1 / t for p, t in sorted(times.items()) if _ok(t)}


def speedup_over(baseline: float | None, times: Mapping[int, float]) -> dict[int, float]:
    """T_baseline / T(p) for every measured p (e.g. T_serial(1) / T_engine(p))."""
    if not _ok(baseline):
        return {}
    return {p: baseline / t for p, t in sorted(times.items()) if _ok(t)}


def efficiency(speedups: Mapping[int, float]) -> dict[int, float]:
    """Parallel efficiency E(p) = S(p)/p."""
    return {p: s / p for p, s in sorted(speedups.items())}


def karp_flatt(s: float, p: int) -> float:
    """Karp–Flatt experimentally determined serial fraction e = (1/S − 1/p)/(1 − 1/p).

    Undefined (NaN) for p = 1. For T(p) = T1·(f + (1−f)/p) it is exactly f.
    """
    if p <= 1 or not _ok(s):
        return math.nan
    return (1 / s - 1 / p) / (1 - 1 / p)


def karp_flatt_curve(speedups: Mapping[int, float]) -> dict[int, float]:
    """Karp–Flatt serial fraction for every p > 1."""
    return {p: karp_flatt(s, p) for p, s in sorted(speedups.items()) if p > 1}


def workers_worth_it(speedups: Mapping[int, float],
                     threshold: float = WORTH_IT_EFFICIENCY) -> int | None:
    """The largest p whose efficiency S(p)/p is still ≥ threshold (None without speedups)."""
    good = [p for p, e in efficiency(speedups).items() if e >= threshold]
    return max(good) if good else None


def growth_exponent(times: Mapping[float, float]) -> float:
    """Least-squares slope b of log T = a + b·log scale (T ∝ scale^b); NaN under two scales."""
    pts = [(math.log(s), math.log(t)) for s, t in times.items() if _ok(s) and _ok(t)]
    if len({x for x, _ in pts}) < 2:
        return math.nan
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    return sxy / sxx


def crossover(times: Mapping[float, float], reference: Mapping[float, float]) -> float | None:
    """The smallest scale from which `times` beats `reference` at every larger common scale.

    Only scales measured for both count. None means "never": slower at the largest common scale,
    or no common scale at all.
    """
    common = sorted(s for s in times if s in reference and _ok(times[s]) and _ok(reference[s]))
    found: float | None = None
    for s in reversed(common):
        if times[s] < reference[s]:
            found = s
        else:
            break
    return found


def best_time(times: Mapping[int, float]) -> tuple[int, float] | None:
    """(p, T) with the smallest time, fewest workers on ties; None when nothing is measured."""
    measured = [(t, p) for p, t in times.items() if _ok(t)]
    if not measured:
        return None
    t, p = min(measured)
    return p, t
