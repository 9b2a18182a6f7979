"""A three-match table worked by hand: the answers of the spec, pinned, against the generator's
answer functions, the spec's rating helpers and every engine.

The generator, the engines and the other tests' recomputations all lean on the spec's constants
and helpers; a misreading of the rating update shared by all of them would pass every other test.
These values do not come from the project's code:

    m1  A 1–1 B  at A's ground       m2  C 2–0 A  neutral ground       m3  A 3–1 D  at A's ground

Records: A played 3 (won m3, drew m1, lost m2), goals 1+0+3 for, 1+2+1 against; B, C, D one each.
Ratings, pass 1 (all ratings 0; S = σ(0.3) = 1/(1+e^-0.3)):
    e1 = 0.5 − S (draw, home bonus), e2 = 1 − σ(0) = 0.5 (neutral: no bonus), e3 = 1 − S;
    gA = e1 − e2 + e3 = 1 − 2S,  gB = −e1 = S − 0.5,  gC = e2 = 0.5,  gD = −e3 = S − 1;
    r = 4·g/n with nA = 3:  rA = 4(1 − 2S)/3,  rB = 4(S − 0.5),  rC = 2,  rD = 4(S − 1).
Ratings after 10 passes: the same update iterated with 50-digit decimal arithmetic, outside this
project, rounded to 15 digits.
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
from workloads.dataset import Dataset
from workloads.layout import CSV_COLUMNS, MANIFEST, MANIFEST_FORMAT, PARQUET_COLUMNS

S = 1 / (1 + math.exp(-0.3))

MATCHES = [  # date, home, away, home score, away score, neutral
    ("2001-01-01", "A", "B", 1, 1, False),
    ("2001-02-01", "C", "A", 2, 0, True),
    ("2001-03-01", "A", "D", 3, 1, False),
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
}


def test_pass_one_by_hand():
    assert RATINGS_1["A"] == pytest.approx(-0.198513378164424, abs=1e-14)
    assert RATINGS_1["D"] == pytest.approx(-1.70222993275336, abs=1e-14)


def tables() -> answers.Tables:
    teams = ["A", "B", "C", "D"]
    ids = {t: i for i, t in enumerate(teams)}
    return answers.Tables(
        words=[], word_counts=np.zeros(0, np.int64), teams=teams,
        home=np.array([ids[m[1]] for m in MATCHES]), away=np.array([ids[m[2]] for m in MATCHES]),
        home_score=np.array([m[3] for m in MATCHES]), away_score=np.array([m[4] for m in MATCHES]),
        neutral=np.array([m[5] for m in MATCHES]))


def test_generator_answers_equal_the_hand_values():
    t = tables()
    for workload in ("mean_home_score", "home_advantage", "team_records", "team_ratings"):
        spec.get(workload).check(EXPECTED[workload], answers.ANSWERS[workload](t))
    spec.get("team_ratings").check(RATINGS_1, answers.team_ratings(t, passes=1))


def test_spec_helpers_give_pass_one():
    played = {t: r[0] for t, r in RECORDS.items()}
    ratings = dict.fromkeys(played, 0.0)
    gradient = dict.fromkeys(played, 0.0)
    for _, home, away, hs, as_, neutral in MATCHES:
        e = spec.rating_error(ratings[home], ratings[away], neutral, hs, as_)
        gradient[home] += e
        gradient[away] -= e
    spec.get("team_ratings").check(RATINGS_1, spec.apply_pass(ratings, gradient, played))


def _file(folder: Path, name: str, data: bytes) -> tuple[str, dict]:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return name, {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.fixture(scope="module")
def hand_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The table as a dataset folder, its manifest holding the hand-worked answers."""
    folder = tmp_path_factory.mktemp("hand") / "hand"
    rows = [",".join(CSV_COLUMNS)] + [f"{i},{d},{h},{a},{hs},{as_},Cup,X,Y,{n}"
                                       for i, (d, h, a, hs, as_, n) in enumerate(MATCHES)]
    columns = list(zip(*MATCHES, strict=True))
    table = pa.table([pa.array(np.array(columns[0], dtype="datetime64[D]")),
                      pa.array(columns[1]), pa.array(columns[2]),
                      pa.array(columns[3], pa.int32()), pa.array(columns[4], pa.int32()),
                      *(pa.array(["Cup", "X", "Y"][i:i + 1] * len(MATCHES)) for i in range(3)),
                      pa.array(columns[5])], names=list(PARQUET_COLUMNS))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    files = dict([_file(folder, "text/part-00000.txt", TEXT.encode()),
                  _file(folder, "matches/part-00000.csv", ("\n".join(rows) + "\n").encode()),
                  _file(folder, "matches/part-00000.parquet", sink.getvalue().to_pybytes())])
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
