"""Every formula of the report, as pure functions (no I/O): speedup, efficiency, Karp–Flatt,
growth exponent, crossovers, quartiles and noise.

Times are medians in seconds, keyed by worker count (``{p: T(p)}``) or by data size
(``{size: T}``, size in bytes or scale). Missing, failed or skipped measurements are simply absent
from the mappings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

#: A worker count is "worth it" while the parallel efficiency S(p)/p stays at least this.
WORTH_IT_EFFICIENCY = 0.5
#: A number is flagged as noisy when its interquartile range exceeds this share of its median.
NOISY_SPREAD = 0.2
#: Karp–Flatt is drawn only for engines measured at this many worker counts or more (1 included):
#: with two, it is one number per engine that says nothing about how overhead grows with p.
KARP_FLATT_MIN_WORKERS = 3


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


def quantile(values: Iterable[float], q: float) -> float:
    """The q-quantile with linear interpolation between order statistics (as asv computes its
    q_25 and q_75); NaN for no values."""
    y = sorted(values)
    if not y:
        return math.nan
    z = (len(y) - 1) * q
    j = math.floor(z)
    return y[-1] if j >= len(y) - 1 else (1 - (z - j)) * y[j] + (z - j) * y[j + 1]


@dataclass(frozen=True)
class Summary:
    """Median, quartiles and count of some values."""

    median: float
    q25: float
    q75: float
    n: int


def summarize(values: Iterable[float]) -> Summary:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return Summary(quantile(vals, 0.5), quantile(vals, 0.25), quantile(vals, 0.75), len(vals))


def spread(median: float | None, q25: float | None, q75: float | None) -> float | None:
    """Interquartile range as a share of the median (None when unknown)."""
    if not _ok(median) or q25 is None or q75 is None:
        return None
    return (q75 - q25) / median


def noise(n: int | None, median: float | None, q25: float | None, q75: float | None,
          limit: float = NOISY_SPREAD) -> str | None:
    """Why a measurement deserves a warning: a single sample, or a spread above `limit`."""
    if n is not None and n <= 1:
        return "n = 1: a single sample, no spread known"
    s = spread(median, q25, q75)
    if s is not None and s > limit:
        return f"noisy: IQR is {s:.0%} of the median"
    return None


def overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    """Whether two interquartile ranges (q25, q75) overlap: the order of their medians is within
    the noise."""
    if a is None or b is None:
        return False
    return a[0] <= b[1] and b[0] <= a[1]


def karp_flatt_meaningful(workers: Iterable[int]) -> bool:
    """Karp–Flatt says how overhead grows with p only from 1 and at least two more counts."""
    ps = set(workers)
    return 1 in ps and len(ps) >= KARP_FLATT_MIN_WORKERS


@dataclass(frozen=True)
class Crossing:
    """Where the fastest engine changes between two neighbouring measured sizes."""

    lo: float  # the last measured size at which `before` is fastest
    hi: float  # the first measured size at which `after` is fastest
    before: str
    after: str
    at: float | None  # where their log-log lines cross (None: one of them unmeasured at lo/hi)


def winners(series: Mapping[str, Mapping[float, float]]) -> dict[float, str]:
    """Per size: the engine with the smallest time (ties: the first name)."""
    out: dict[float, str] = {}
    for x in sorted({x for by_x in series.values() for x in by_x}):
        cands = [(t, e) for e, by_x in series.items() if _ok(t := by_x.get(x))]
        if cands:
            out[x] = min(cands)[1]
    return out


def crossings(series: Mapping[str, Mapping[float, float]]) -> list[Crossing]:
    """Every change of the fastest engine along the measured sizes, with the size at which the
    two engines' times cross when both are measured at both neighbouring sizes (interpolated
    linearly in log size and log time, as the decision chart draws them)."""
    win = winners(series)
    out = []
    for lo, hi in pairwise(sorted(win)):
        a, b = win[lo], win[hi]
        if a == b:
            continue
        ta, tb = series[a], series[b]
        at = None
        if all(_ok(v) for v in (ta.get(lo), ta.get(hi), tb.get(lo), tb.get(hi))) and lo > 0:
            d_lo = math.log(ta[lo]) - math.log(tb[lo])
            d_hi = math.log(ta[hi]) - math.log(tb[hi])
            if d_hi != d_lo:
                f = d_lo / (d_lo - d_hi)
                at = math.exp(math.log(lo) + f * (math.log(hi) - math.log(lo)))
        out.append(Crossing(lo, hi, a, b, at))
    return out
