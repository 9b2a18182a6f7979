"""Inputs for the tests of the workloads that move rows by key, shared by the engine tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from workloads.data.dataset import Dataset, Input
from workloads.layout import CSV_COLUMNS, GOAL_COLUMNS

#: The workloads that move rows by key (a shuffle by team; a join on the match key).
KEYED = ["unbeaten_streaks", "top_scorers"]


def duplicate_key_inputs(folder: Path) -> dict[str, Input]:
    """top_scorers inputs with a match key twice in the match table (no dataset has goals on
    such a key): its goals count once per match row, in each row's tournament, as an SQL inner
    join counts them (`DUPLICATE_KEY_ANSWER`)."""
    matches = folder / "matches.csv"
    matches.write_text("\n".join([",".join(CSV_COLUMNS),
                                  "0,2001-01-01,A,B,2,0,Cup,X,Y,False",
                                  "1,2001-01-01,A,B,2,0,Cup,X,Y,False",
                                  "2,2001-01-01,A,B,1,0,Shield,X,Y,False",
                                  "3,2001-01-02,C,D,3,0,Shield,X,Y,False"]) + "\n")
    goals = folder / "goals.csv"
    goals.write_text("\n".join([",".join(GOAL_COLUMNS),
                                "2001-01-01,A,B,A,Ann,1,FALSE,FALSE",
                                "2001-01-01,A,B,A,Bob,2,FALSE,FALSE",
                                "2001-01-02,C,D,C,Bob,3,FALSE,FALSE",
                                "2001-01-02,C,D,C,Cy,4,FALSE,FALSE",
                                "2001-01-02,C,D,C,Cy,5,FALSE,FALSE"]) + "\n")
    return {"goals": Input("goals", (str(goals),), "csv"),
            "matches": Input("matches", (str(matches),), "csv")}


#: Cup: Ann 2, Bob 2 (the key's two Cup rows); Shield: Ann 1, Bob 1 + 1, Cy 2.
DUPLICATE_KEY_ANSWER = {"Cup": ["Ann", 2], "Shield": ["Bob", 2]}


def goal_file_errors(dataset: Callable[[str], Dataset],
                     folder: Path) -> list[tuple[dict[str, Input], str]]:
    """top_scorers inputs with a bad goal file (an unparsable own_goal on line 3; a missing
    file), each with what the error must say."""
    src = dataset("0.01").inputs("top_scorers")
    lines = Path(src["goals"].paths[0]).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",FALSE,", ",Maybe,", 1)
    bad = folder / "part-00000.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    gone = str(folder / "part-99999.csv")
    return [({**src, "goals": Input("goals", paths, "csv")}, message) for paths, message in [
        ((str(bad), *src["goals"].paths[1:]), f"{bad}:3: malformed row"),
        ((*src["goals"].paths, gone), "part-99999.csv is missing")]]
