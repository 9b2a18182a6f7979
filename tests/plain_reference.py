"""Every workload's answer computed again with nothing but the standard library, as an oracle.

The generator, the engines and the spec's check share the spec's helpers and constants; an
answer recomputed with them would agree with a bug they share. This module imports nothing from
`workloads/` or `datagen/`: it restates each definition of docs/design.md ("Workloads") and the
CSV columns of its "Datasets" section, reads the raw part files with `csv`, and returns answers
in the manifest's JSON form (dicts, lists, ints and floats), so that a manifest is compared with
plain `==` and the tolerances below.
"""

from __future__ import annotations

import collections
import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: The match CSV's header: an unnamed first column holding the match id, then the course's columns.
MATCH_HEADER = ["", "date", "home_team", "away_team", "home_score", "away_score", "tournament",
                "city", "country", "neutral"]
#: The goal CSV's header, the real goal file's.
GOAL_HEADER = ["date", "home_team", "away_team", "team", "scorer", "minute", "own_goal",
               "penalty"]
#: design.md's comparison: the mean within a relative 1e-9, every rating within 1e-6; the rest
#: exactly. Sums taken in another order differ in their last bits, far inside these bounds.
MEAN_REL_TOL = 1e-9
RATING_ABS_TOL = 1e-6
#: team_ratings: passes, home-ground bonus, step (design.md, "team_ratings").
PASSES, HOME_BONUS, STEP = 10, 0.3, 4.0
RECORD_FIELDS = ("played", "won", "drawn", "lost", "goals_for", "goals_against")

Row = Sequence[str]


def read_table(folder: Path, header: list[str]) -> list[list[str]]:
    """The rows of every `*.csv` part of `folder`, in part order, as text; each part's header
    must be `header`."""
    rows: list[list[str]] = []
    for path in sorted(folder.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            assert next(reader) == header, path
            rows.extend(reader)
    return rows


def read_texts(folder: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))]


def manifest_answers(dataset: Path) -> dict[str, Any]:
    return json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))["answers"]


def dataset_answers(dataset: Path) -> dict[str, Any]:
    """All seven answers of the dataset folder `dataset`, from its text and CSV files."""
    return answers(read_texts(dataset / "text"), read_table(dataset / "matches", MATCH_HEADER),
                   read_table(dataset / "goals", GOAL_HEADER))


def answers(texts: Iterable[str], matches: Sequence[Row], goals: Iterable[Row],
            passes: int = PASSES) -> dict[str, Any]:
    """The seven answers from the texts and the match and goal rows (each row its CSV fields as
    text, in the headers' order; Parquet rows written out as the CSV writes them serve too)."""
    words: collections.Counter[str] = collections.Counter()
    for text in texts:
        words.update(text.split())
    games = [(r[2], r[3], int(r[4]), int(r[5]), _flag(r[9], "True", "False")) for r in matches]
    return {
        "wordcount": dict(words),
        "mean_home_score": sum(g[2] for g in games) / len(games),
        "home_advantage": sum(_sign(hs - as_) for _, _, hs, as_, neutral in games if not neutral),
        "team_records": team_records(games),
        "team_ratings": team_ratings(games, passes),
        "unbeaten_streaks": unbeaten_streaks(matches),
        "top_scorers": top_scorers(matches, goals),
    }


def _flag(text: str, true: str, false: str) -> bool:
    assert text in (true, false), text
    return text == true


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def team_records(games: Iterable[tuple[str, str, int, int, bool]]) -> dict[str, dict[str, int]]:
    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0] * 6)
    for home, away, hs, as_, _ in games:
        for team, scored, conceded in ((home, hs, as_), (away, as_, hs)):
            c = counts[team]
            c[0] += 1
            c[1 + (1 - _sign(scored - conceded))] += 1  # won, drawn or lost
            c[4] += scored
            c[5] += conceded
    return {t: dict(zip(RECORD_FIELDS, c, strict=True)) for t, c in counts.items()}


def team_ratings(games: Sequence[tuple[str, str, int, int, bool]], passes: int
                 ) -> dict[str, float]:
    played: collections.Counter[str] = collections.Counter()
    for home, away, *_ in games:
        played[home] += 1
        played[away] += 1
    rating = dict.fromkeys(played, 0.0)
    for _ in range(passes):
        g = dict.fromkeys(played, 0.0)
        for home, away, hs, as_, neutral in games:
            y = 1.0 if hs > as_ else 0.5 if hs == as_ else 0.0
            d = rating[home] - rating[away] + (0.0 if neutral else HOME_BONUS)
            e = y - 1.0 / (1.0 + math.exp(-d))
            g[home] += e
            g[away] -= e
        rating = {t: rating[t] + STEP * g[t] / played[t] for t in played}
    return rating


def unbeaten_streaks(matches: Iterable[Row]) -> dict[str, int]:
    run: dict[str, int] = {}
    best: dict[str, int] = {}
    for r in sorted(matches, key=lambda r: (r[1], int(r[0]))):  # (date, match id)
        hs, as_ = int(r[4]), int(r[5])
        for team, scored, conceded in ((r[2], hs, as_), (r[3], as_, hs)):
            run[team] = run.get(team, 0) + 1 if scored >= conceded else 0
            best[team] = max(best.get(team, 0), run[team])
    return best


def top_scorers(matches: Iterable[Row], goals: Iterable[Row]) -> dict[str, list[Any]]:
    """An inner join on (date, home team, away team), each matching pair counted."""
    tournaments: dict[tuple[str, str, str], list[str]] = collections.defaultdict(list)
    for r in matches:
        tournaments[r[1], r[2], r[3]].append(r[6])
    scored: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for date, home, away, _team, scorer, _minute, own_goal, _penalty in goals:
        if _flag(own_goal, "TRUE", "FALSE") or scorer == "NA":
            continue
        for t in tournaments.get((date, home, away), ()):
            scored[t][scorer] += 1
    out: dict[str, list[Any]] = {}
    for t, by_scorer in scored.items():
        most = max(by_scorer.values())
        out[t] = [min(s for s, n in by_scorer.items() if n == most), most]  # code-point order
    return out


def differences(expected: dict[str, Any], computed: dict[str, Any]) -> list[str]:
    """Where the manifest-form answers `expected` and `computed` disagree, one line each (at
    most five per workload); floats within the tolerances above, everything else by `==` and
    type, so that 2.0 never stands for the count 2."""
    out: list[str] = []
    for name in sorted(expected.keys() | computed.keys()):
        if name not in expected or name not in computed:
            out.append(f"{name}: only in {'computed' if name in computed else 'expected'}")
            continue
        a, b = expected[name], computed[name]
        if name == "mean_home_score":
            if not (type(a) is float and math.isclose(a, b, rel_tol=MEAN_REL_TOL, abs_tol=0)):
                out.append(f"{name}: expected {b!r}, the manifest has {a!r}")
            continue
        if not isinstance(b, dict):
            if type(a) is not type(b) or a != b:
                out.append(f"{name}: expected {b!r}, the manifest has {a!r}")
            continue
        if not isinstance(a, dict) or a.keys() != b.keys():
            keys = a.keys() if isinstance(a, dict) else set()
            out.append(f"{name}: keys differ: missing {sorted(b.keys() - keys)[:5]}, "
                       f"unexpected {sorted(keys - b.keys())[:5]}")
            continue
        same = _close if name == "team_ratings" else _identical
        differ = [k for k in sorted(b) if not same(a[k], b[k])]
        out.extend(f"{name}[{k!r}]: expected {b[k]!r}, the manifest has {a[k]!r}"
                   for k in differ[:5])
    return out


def _close(a: Any, b: float) -> bool:
    return type(a) is float and abs(a - b) <= RATING_ABS_TOL


def _identical(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON types all the way down (True is not 1, 2.0 is not 2)."""
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(
            _identical(a[k], b[k]) for k in b)
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(map(_identical, a, b))
    return type(a) is type(b) and a == b
