"""The manifests' answers against an oracle of their own: every workload recomputed with the
standard library alone (tests/plain_reference.py) over the raw text and CSV files of the
tutorial data and of synthetic datasets. Neither module imports `workloads/` or `datagen/`; the
oracle itself is checked on a table worked by hand below. Tolerances: the mean within a relative
1e-9, ratings within 1e-6 (plain_reference's MEAN_REL_TOL and RATING_ABS_TOL), the rest exact.
"""

from __future__ import annotations

import ast
import copy
import math
from pathlib import Path

import pytest
from plain_reference import answers, dataset_answers, differences, manifest_answers

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------- worked by hand

MATCH_ROWS = [  # id, date, home, away, home score, away score, tournament, city, country, neutral
    ["0", "2001-03-01", "A", "B", "1", "1", "Cup", "x", "y", "False"],
    ["1", "2001-02-01", "C", "A", "2", "0", "Friendly", "x", "y", "True"],
    ["2", "2001-02-01", "A", "D", "3", "1", "Friendly", "x", "y", "False"],
    ["3", "2001-03-01", "A", "B", "1", "1", "Cup", "x", "y", "False"],  # match 0's key again
]
GOAL_ROWS = [  # date, home, away, team, scorer, minute, own goal, penalty
    ["2001-03-01", "A", "B", "A", "Zed", "10", "FALSE", "FALSE"],
    ["2001-03-01", "A", "B", "B", "Éva", "NA", "FALSE", "FALSE"],
    ["2001-02-01", "C", "A", "C", "Cal", "5", "FALSE", "FALSE"],
    ["2001-02-01", "C", "A", "C", "Aaron", "80", "TRUE", "FALSE"],  # own goal: left out
    ["2001-02-01", "A", "D", "A", "NA", "30", "FALSE", "FALSE"],  # unknown scorer: left out
    ["2001-02-01", "A", "D", "A", "NA", "40", "FALSE", "FALSE"],
    ["2001-02-01", "A", "D", "A", "Abe", "60", "FALSE", "TRUE"],  # a penalty counts
    ["2001-04-01", "A", "B", "A", "Éva", "1", "FALSE", "FALSE"],  # joins no match
]
TEXTS = ["the cat saw\tthe dog\n", "The end.  the\n"]
S = 1 / (1 + math.exp(-0.3))  # σ(0.3): a home side's expected points between equal ratings


def sigma(d: float) -> float:
    return 1 / (1 + math.exp(-d))


def test_the_reference_gives_the_hand_worked_answers() -> None:
    """By hand: A drew 0 and 3, lost 1 (neutral), won 2. In (date, id) order A plays 1 L, 2 W,
    0 D, 3 D: a run of 3 (in file order, 2). Cup: the key of matches 0 and 3 joins both, so
    Zed and Éva score 2 each and the tie goes to "Zed" (U+005A before U+00C9); the goal of
    2001-04-01 joins nothing. Friendly: Cal 1, Abe 1 -> Abe (Aaron's own goal and NA's two
    left out, either would win). Ratings after one pass, e = y − σ(d) per match:
    gA = (0.5 − S) − 0.5 + (1 − S) + (0.5 − S), gB = −2(0.5 − S), gC = 0.5, gD = −(1 − S)."""
    got = answers(TEXTS, MATCH_ROWS, GOAL_ROWS, passes=1)
    assert got["wordcount"] == {"the": 3, "cat": 1, "saw": 1, "dog": 1, "The": 1, "end.": 1}
    assert got["mean_home_score"] == 7 / 4
    assert got["home_advantage"] == 1  # 0, 1 and 3 are not neutral: a draw, a win, a draw
    assert got["team_records"] == {
        "A": dict(played=4, won=1, drawn=2, lost=1, goals_for=5, goals_against=5),
        "B": dict(played=2, won=0, drawn=2, lost=0, goals_for=2, goals_against=2),
        "C": dict(played=1, won=1, drawn=0, lost=0, goals_for=2, goals_against=0),
        "D": dict(played=1, won=0, drawn=0, lost=1, goals_for=1, goals_against=3)}
    assert got["unbeaten_streaks"] == {"A": 3, "B": 2, "C": 1, "D": 0}
    assert got["top_scorers"] == {"Cup": ["Zed", 2], "Friendly": ["Abe", 1]}
    one = {"A": 4 * (1.5 - 3 * S) / 4, "B": 4 * (2 * S - 1) / 2, "C": 4 * 0.5, "D": 4 * (S - 1)}
    assert got["team_ratings"] == pytest.approx(one, abs=1e-12)
    # pass 2 reads pass 1's ratings: the same four matches with d = rᵢ − rⱼ (+ 0.3)
    r = one
    e0 = e3 = 0.5 - sigma(r["A"] - r["B"] + 0.3)
    e1 = 1 - sigma(r["C"] - r["A"])
    e2 = 1 - sigma(r["A"] - r["D"] + 0.3)
    two = {"A": r["A"] + 4 * (e0 - e1 + e2 + e3) / 4, "B": r["B"] + 4 * (-e0 - e3) / 2,
           "C": r["C"] + 4 * e1, "D": r["D"] - 4 * e2}
    assert answers(TEXTS, MATCH_ROWS, GOAL_ROWS, passes=2)["team_ratings"] == pytest.approx(
        two, abs=1e-12)


def test_differences_name_every_kind_of_disagreement() -> None:
    right = answers(TEXTS, MATCH_ROWS, GOAL_ROWS)
    assert differences(right, copy.deepcopy(right)) == []
    changes = {
        "wordcount": lambda a: a["wordcount"].update(the=2.7),
        "mean_home_score": lambda a: a.update(mean_home_score=1.75 * (1 + 1e-8)),
        "home_advantage": lambda a: a.update(home_advantage=True),  # 1, but not a count
        "team_records": lambda a: a["team_records"]["A"].update(goals_for=5.0),
        "team_ratings": lambda a: a["team_ratings"].update(C=a["team_ratings"]["C"] + 2e-6),
        "unbeaten_streaks": lambda a: a["unbeaten_streaks"].pop("D"),
        "top_scorers": lambda a: a["top_scorers"].update(Test=["Zed", 2]),
    }
    for name, change in changes.items():
        wrong = copy.deepcopy(right)
        change(wrong)
        found = differences(wrong, right)
        assert len(found) == 1 and found[0].startswith(name), (name, found)
    within = copy.deepcopy(right)
    within["team_ratings"]["C"] += 5e-7
    within["mean_home_score"] *= 1 + 5e-10
    assert differences(within, right) == []


def test_neither_module_imports_the_project() -> None:
    for module in (HERE / "plain_reference.py", Path(__file__)):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        assert {name.split(".")[0] for name in imported} <= {
            "__future__", "ast", "collections", "copy", "csv", "json", "math", "pathlib",
            "typing", "pytest", "plain_reference"}, module.name


# --------------------------------------------------------------------------- the manifests


@pytest.mark.parametrize("name", ["tutorial", "scale-0.01", "scale-0.1", "scale-1"])
def test_manifest_answers_equal_the_plain_reference(data_dir: Path, name: str) -> None:
    folder = data_dir / name
    computed = dataset_answers(folder)
    assert differences(manifest_answers(folder), computed) == []
    if name == "tutorial":  # the course's own results on its data
        assert computed["home_advantage"] == 8061
        assert computed["mean_home_score"] == pytest.approx(1.7404675442578301, rel=1e-12)
        assert computed["unbeaten_streaks"]["Italy"] == 37
        assert computed["top_scorers"]["FIFA World Cup"] == ["Miroslav Klose", 16]
