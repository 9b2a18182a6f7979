"""A three-match table worked by hand: the answers of the spec, pinned, against the generator's
answer functions, the spec's rating helpers and every engine.

The generator, the engines and the other tests' recomputations all lean on the spec's constants
and helpers; a misreading of the rating update shared by all of them would pass every other test.
These values do not come from the project's code:

    id  date         match                          tournament
    0   2001-03-01   m1  A 1–1 B  at A's ground       Cup
    1   2001-02-01   m2  C 2–0 A  neutral ground      Friendly
    2   2001-02-01   m3  A 3–1 D  at A's ground       Friendly

Records: A played 3 (won m3, drew m1, lost m2), goals 1+0+3 for, 1+2+1 against; B, C, D one each.
Ratings, pass 1 (all ratings 0; S = σ(0.3) = 1/(1+e^-0.3)):
    e1 = 0.5 − S (draw, home bonus), e2 = 1 − σ(0) = 0.5 (neutral: no bonus), e3 = 1 − S;
    gA = e1 − e2 + e3 = 1 − 2S,  gB = −e1 = S − 0.5,  gC = e2 = 0.5,  gD = −e3 = S − 1;
    r = 4·g/n with nA = 3:  rA = 4(1 − 2S)/3,  rB = 4(S − 0.5),  rC = 2,  rD = 4(S − 1).
Ratings after 10 passes: the same update iterated with 50-digit decimal arithmetic, outside this
project, rounded to 15 digits.

Unbeaten streaks, each team's matches in (date, id) order: A plays m2 (lost), m3 (won), m1 (drawn),
so its longest unbeaten run is 2 (in file or id order, m1 m2 m3, it would be 1; with the
same-date tie m2/m3 broken the wrong way, 1 too). B drew its one match (1), C won its one (1),
D lost its one (0: a team that never went unbeaten still appears).

Goals (match, team credited, scorer, minute, own goal, penalty), agreeing with the scores:

    g1  m1  A  Zed   10               g5  m3  A  NA    30
    g2  m1  B  Éva   NA minute        g6  m3  A  NA    40
    g3  m2  C  Cal   5                g7  m3  A  Abe   60  penalty
    g4  m2  C  Aaron 80  own goal     g8  m3  D  Dan   70
    g9  2001-04-01 A v B (no such match)  A  Éva  1

Top scorers. Cup (m1): Zed 1 and Éva 1 tie, and "Zed" < "Éva" in code points (Z is U+005A, É
U+00C9; a locale's collation would put Éva first). g9 joins no match; joined on the teams alone,
it would give Éva 2 in the Cup. Friendly (m2, m3): Cal 1, Abe 1 (penalties count), Dan 1; the
own goal g4 and the unknown scorers g5, g6 are left out (counted, Aaron or NA would win), so
the tie goes to Abe.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen import answers
from workloads import engines, spec
from workloads.data.dataset import Dataset
from workloads.layout import (
    CSV_COLUMNS,
    GOAL_COLUMNS,
    MANIFEST,
    MANIFEST_FORMAT,
    PARQUET_COLUMNS,
)

S = 1 / (1 + math.exp(-0.3))

MATCHES = [  # date, home, away, home score, away score, neutral, tournament; id = position
    ("2001-03-01", "A", "B", 1, 1, False, "Cup"),
    ("2001-02-01", "C", "A", 2, 0, True, "Friendly"),
    ("2001-02-01", "A", "D", 3, 1, False, "Friendly"),
]
GOALS = [  # date, home, away, team, scorer, minute, own goal, penalty
    ("2001-03-01", "A", "B", "A", "Zed", 10, False, False),
    ("2001-03-01", "A", "B", "B", "Éva", None, False, False),
    ("2001-02-01", "C", "A", "C", "Cal", 5, False, False),
    ("2001-02-01", "C", "A", "C", "Aaron", 80, True, False),
    ("2001-02-01", "A", "D", "A", "NA", 30, False, False),
    ("2001-02-01", "A", "D", "A", "NA", 40, False, False),
    ("2001-02-01", "A", "D", "A", "Abe", 60, False, True),
    ("2001-02-01", "A", "D", "D", "Dan", 70, False, False),
    ("2001-04-01", "A", "B", "A", "Éva", 1, False, False),
]
TEXT = "the cat saw the dog\nthe end\n"

RECORDS = {  # played, won, drawn, lost, goals for, goals against
    "A": (3, 1, 1, 1, 4, 4),
    "B": (1, 0, 1, 0, 1, 1),
    "C": (1, 1, 0, 0, 2, 0),
    "D": (1, 0, 0, 1, 1, 3),
}
RATINGS_1 = {"A": 4 * (1 - 2 * S) / 3, "B": 4 * (S - 0.5), "C": 2.0, "D": 4 * (S - 1)}
RATINGS_10 = {"A": -0.101421689312457, "B": 0.198322641174395, "C": 3.71766238719003,
              "D": -3.61171996042705}
EXPECTED = {
    "wordcount": {"the": 3, "cat": 1, "saw": 1, "dog": 1, "end": 1},
    "mean_home_score": (1 + 2 + 3) / 3,
    "home_advantage": 0 + 1,  # m1 a draw, m3 a home win; m2 is on neutral ground
    "team_records": {t: dict(zip(spec.RECORD_FIELDS, r, strict=True)) for t, r in RECORDS.items()},
    "team_ratings": RATINGS_10,
    "unbeaten_streaks": {"A": 2, "B": 1, "C": 1, "D": 0},
    "top_scorers": {"Cup": ["Zed", 1], "Friendly": ["Abe", 1]},
}


def test_pass_one_by_hand():
    assert RATINGS_1["A"] == pytest.approx(-0.198513378164424, abs=1e-14)
    assert RATINGS_1["D"] == pytest.approx(-1.70222993275336, abs=1e-14)


def tables() -> answers.Tables:
    """The table as the generator's arrays, made the way the tutorial dataset makes them."""
    teams = ["A", "B", "C", "D"]
    ids = {t: i for i, t in enumerate(teams)}
    home, away = np.array([ids[m[1]] for m in MATCHES]), np.array([ids[m[2]] for m in MATCHES])
    hs, as_ = np.array([m[3] for m in MATCHES]), np.array([m[4] for m in MATCHES])
    days = np.array([m[0] for m in MATCHES], dtype="datetime64[D]").astype(np.int64)
    order = np.lexsort((np.arange(len(MATCHES)), days))  # (date, id)
    streaks = answers.Streaks.of(4, home[order], away[order], hs[order], as_[order])
    tournaments = sorted({m[6] for m in MATCHES})
    match_keys = [(m[0], m[1], m[2]) for m in MATCHES]
    counted = [g for g in GOALS if not g[6] and g[4] != "NA"]
    keys = {k: i for i, k in enumerate(sorted(set(match_keys) | {g[:3] for g in GOALS}))}
    g, m = answers.join_pairs(np.array([keys[x[:3]] for x in counted]),
                              np.array([keys[k] for k in match_keys]))
    scorers = sorted({x[4] for x in GOALS})
    scorer_goals = answers.ScorerGoals.count(
        np.array([tournaments.index(MATCHES[i][6]) for i in m]),
        np.array([scorers.index(counted[i][4]) for i in g]))
    return answers.Tables(
        words=[], word_counts=np.zeros(0, np.int64), teams=teams, home=home, away=away,
        home_score=hs, away_score=as_, neutral=np.array([m[5] for m in MATCHES]),
        streaks=streaks, scorer_goals=scorer_goals, tournaments=tournaments,
        scorer_name=scorers.__getitem__)


def test_generator_answers_equal_the_hand_values():
    t = tables()
    for workload in ("mean_home_score", "home_advantage", "team_records", "team_ratings",
                     "unbeaten_streaks", "top_scorers"):
        spec.get(workload).check(EXPECTED[workload], answers.ANSWERS[workload](t))
    spec.get("team_ratings").check(RATINGS_1, answers.team_ratings(t, passes=1))


def test_streak_summaries_of_pieces_combine_to_the_whole():
    """The generator's per-part summaries, cut anywhere and combined in order, give the same."""
    whole = tables().streaks
    teams = {"A": 0, "B": 1, "C": 2, "D": 3}
    ordered = [MATCHES[i] for i in (1, 2, 0)]  # (date, id) order
    for cut in range(len(ordered) + 1):
        pieces = [answers.Streaks.of(4, np.array([teams[m[1]] for m in part], dtype=np.int64),
                                     np.array([teams[m[2]] for m in part], dtype=np.int64),
                                     np.array([m[3] for m in part]), np.array([m[4] for m in part]))
                  for part in (ordered[:cut], ordered[cut:])]
        combined = pieces[0].then(pieces[1])
        for field in ("played", "first", "last", "best"):
            assert getattr(combined, field).tolist() == getattr(whole, field).tolist(), field


def test_spec_helpers_give_pass_one():
    played = {t: r[0] for t, r in RECORDS.items()}
    ratings = dict.fromkeys(played, 0.0)
    gradient = dict.fromkeys(played, 0.0)
    for _, home, away, hs, as_, neutral, _ in MATCHES:
        e = spec.rating_error(ratings[home], ratings[away], neutral, hs, as_)
        gradient[home] += e
        gradient[away] -= e
    spec.get("team_ratings").check(RATINGS_1, spec.apply_pass(ratings, gradient, played))


def _file(folder: Path, name: str, data: bytes) -> tuple[str, dict]:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return name, {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def _flag(value: bool) -> str:
    return "TRUE" if value else "FALSE"


@pytest.fixture(scope="module")
def hand_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The tables as a dataset folder, its manifest holding the hand-worked answers; the goals
    are cut in two files, out of date order."""
    folder = tmp_path_factory.mktemp("hand") / "hand"
    rows = [",".join(CSV_COLUMNS)] + [f"{i},{d},{h},{a},{hs},{as_},{t},X,Y,{n}"
                                       for i, (d, h, a, hs, as_, n, t) in enumerate(MATCHES)]
    columns = list(zip(*MATCHES, strict=True))
    matches = pa.table([pa.array(range(len(MATCHES)), pa.int64()),
                        pa.array(np.array(columns[0], dtype="datetime64[D]")),
                        pa.array(columns[1]), pa.array(columns[2]),
                        pa.array(columns[3], pa.int32()), pa.array(columns[4], pa.int32()),
                        pa.array(columns[6]), pa.array(["X"] * len(MATCHES)),
                        pa.array(["Y"] * len(MATCHES)), pa.array(columns[5])],
                       names=list(PARQUET_COLUMNS))
    goal_parts = (GOALS[4:], GOALS[:4])
    goal_csv = ["\n".join([",".join(GOAL_COLUMNS)] + [
        f"{d},{h},{a},{t},{s},{'NA' if m is None else m},{_flag(og)},{_flag(pen)}"
        for d, h, a, t, s, m, og, pen in part]) + "\n" for part in goal_parts]
    goal_parquet = [pa.table([pa.array(np.array(c, dtype="datetime64[D]")) if i == 0
                              else pa.array(c, pa.int32()) if i == 5 else pa.array(c)
                              for i, c in enumerate(zip(*part, strict=True))],
                             names=list(GOAL_COLUMNS)) for part in goal_parts]
    files = dict([_file(folder, "text/part-00000.txt", TEXT.encode()),
                  _file(folder, "matches/part-00000.csv", ("\n".join(rows) + "\n").encode()),
                  _file(folder, "matches/part-00000.parquet", _parquet(matches)),
                  *(_file(folder, f"goals/part-{i:05d}.csv", text.encode("utf-8"))
                    for i, text in enumerate(goal_csv)),
                  *(_file(folder, f"goals/part-{i:05d}.parquet", _parquet(table))
                    for i, table in enumerate(goal_parquet))])
    manifest = {"format": MANIFEST_FORMAT, "name": "hand", "generator": {}, "params": {},
                "files": files, "counts": {}, "answers": EXPECTED}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    ds = Dataset.open(folder)
    ds.verify()
    return ds


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("name", engines.names())
def test_every_engine_equals_the_hand_values(name, fmt, hand_dataset, engine):
    e = engine(name, 1)
    for w in spec.WORKLOADS:
        w.check(EXPECTED[w.name], e.run(w.name, hand_dataset, fmt))
