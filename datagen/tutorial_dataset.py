"""The `tutorial` dataset: the course's real files, shipped in `datagen/tutorial/`.

Its files are byte-identical copies (the seven text samples as text parts 0-6, match_results.csv
as the one match CSV part, goalscorers.csv as the one goal CSV part) plus the same tables as typed
Parquet. Its answers come from the parsed arrays through `datagen.answers`, like every dataset's,
and are checked against plain row-by-row algorithms: the tutorial's word count by mapper,
shuffler and reducer over lines split on spaces, and home advantage, unbeaten streaks and top
scorers by loops over the rows the csv module reads.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from datagen import answers, arrowbuf, generate, model, store
from workloads import spec
from workloads.layout import (
    GOAL_TRUE,
    GOALS,
    MATCH_TRUE,
    MATCHES,
    TEXT,
    TEXT_FORMAT,
    TUTORIAL,
    part_name,
)

NAME = TUTORIAL


def params(formats: tuple[str, ...]) -> dict[str, Any]:
    return {"kind": "tutorial", "formats": list(formats)}


# --------------------------------------------------------------------------- the course's code


def mapper(line: str) -> Iterator[tuple[str, int]]:
    """(word, 1) for every word of a line split on spaces, as the course's mapper does."""
    for word in line.strip().split(" "):
        yield word, 1


def shuffler(pairs: Iterable[tuple[str, int]]) -> dict[str, list[int]]:
    """Group the mapped pairs by word."""
    groups: dict[str, list[int]] = defaultdict(list)
    for word, count in pairs:
        groups[word].append(count)
    return groups


def reducer(word: str, counts: list[int]) -> tuple[str, int]:
    return word, sum(counts)


def tutorial_wordcount(texts: Iterable[str]) -> dict[str, int]:
    pairs = (pair for text in texts for line in text.splitlines() for pair in mapper(line))
    return dict(reducer(word, counts) for word, counts in shuffler(pairs).items())


def advantage(row: dict[str, str]) -> int:
    """One match's contribution to home advantage: sign(home - away), 0 on neutral ground."""
    if row["neutral"] == MATCH_TRUE:
        return 0
    home, away = int(row["home_score"]), int(row["away_score"])
    return (home > away) - (home < away)


def tutorial_home_advantage(table: str) -> int:
    return sum(advantage(row) for row in csv.DictReader(io.StringIO(table, newline="")))


def _rows(table: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(table, newline="")))


def row_by_row_unbeaten_streaks(table: str) -> dict[str, int]:
    """Each team's longest unbeaten run, walking its matches in (date, id) order."""
    run: dict[str, int] = {}
    longest: dict[str, int] = {}
    for row in sorted(_rows(table), key=lambda r: (r["date"], int(r[""]))):
        home, away = int(row["home_score"]), int(row["away_score"])
        for team, unbeaten in ((row["home_team"], home >= away), (row["away_team"], away >= home)):
            run[team] = run.get(team, 0) + 1 if unbeaten else 0
            longest[team] = max(longest.get(team, 0), run[team])
    return longest


def row_by_row_top_scorers(goals: str, table: str) -> dict[str, list[Any]]:
    """Top scorer per tournament: each goal counted once per match row with its (date, teams)."""
    tournaments: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for m in _rows(table):
        tournaments[m["date"], m["home_team"], m["away_team"]].append(m["tournament"])
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for goal in _rows(goals):
        if goal["own_goal"] == GOAL_TRUE or goal["scorer"] == spec.UNKNOWN_SCORER:
            continue
        for tournament in tournaments.get((goal["date"], goal["home_team"], goal["away_team"]),
                                          ()):
            counts[tournament][goal["scorer"]] += 1
    return {t: list(spec.top_scorer(c)) for t, c in counts.items()}


# --------------------------------------------------------------------------- the dataset


def tables(texts: list[str], real: model.MatchTable, goals: model.GoalTable) -> answers.Tables:
    """The tutorial's texts (as word counts), match table and goal table as the generator's
    arrays and summaries."""
    counts = Counter(w for t in texts for w in t.split())
    words = sorted(counts)
    order = np.lexsort((real.ids, real.days))  # (date, id)
    streaks = answers.Streaks.of(len(real.teams), real.home[order], real.away[order],
                                 real.home_score[order], real.away_score[order])
    scorers = tuple(sorted(set(goals.scorer)))
    index = {s: i for i, s in enumerate(scorers)}
    scorer_code = np.array([index[s] for s in goals.scorer], dtype=np.int64)
    unknown = np.array([s == spec.UNKNOWN_SCORER for s in goals.scorer], dtype=bool)
    counted = np.flatnonzero(~goals.own_goal & ~unknown)
    goal_keys, match_keys = model.goal_match_keys(goals, real)
    g, m = answers.join_pairs(goal_keys[counted], match_keys)
    scorer_goals = answers.ScorerGoals.count(real.tournament_ids[m], scorer_code[counted][g])
    return answers.Tables(words, np.array([counts[w] for w in words], dtype=np.int64),
                          real.teams, real.home, real.away, real.home_score, real.away_score,
                          real.neutral, streaks=streaks, scorer_goals=scorer_goals,
                          tournaments=real.tournaments, scorer_name=scorers.__getitem__)


def estimated_bytes(formats: tuple[str, ...]) -> int:
    size = sum((model.TUTORIAL_DIR / f).stat().st_size for f in model.TEXT_SAMPLES)
    csv_size = sum((model.TUTORIAL_DIR / f).stat().st_size
                   for f in (model.MATCHES_FILE, model.GOALS_FILE))
    return size + csv_size * (("csv" in formats) + 0.25 * ("parquet" in formats))


def goals_parquet(goals: model.GoalTable) -> Any:
    """The real goal table as typed Parquet (a pyarrow Buffer)."""
    from datagen import goals as synthetic_goals

    table = synthetic_goals.goal_table(goals.days, goals.home, goals.away, goals.team,
                                       goals.teams, arrowbuf.strings(goals.scorer), goals.minute,
                                       goals.own_goal, goals.penalty)
    return arrowbuf.parquet(table, synthetic_goals.PARQUET_STATISTICS)


def tutorial_dataset(out: Path, formats: tuple[str, ...], replace: bool) -> dict[str, Any]:
    """Write the tutorial dataset at `out/tutorial`; return its manifest."""
    from datagen.synthetic import parquet_bytes

    src = model.TUTORIAL_DIR
    texts = [(src / f).read_bytes() for f in model.TEXT_SAMPLES]
    table_bytes = (src / model.MATCHES_FILE).read_bytes()
    goal_bytes = (src / model.GOALS_FILE).read_bytes()
    real = model.parse_matches(table_bytes)
    goals = model.parse_goals(goal_bytes)
    with generate.partial_folder(out, NAME) as partial:
        files: dict[str, Any] = {}
        for i, data in enumerate(texts):
            name = f"{TEXT}/{part_name(i, TEXT_FORMAT)}"
            files[name] = store.write_file(partial / name, data)
        for kind, data, parquet in ((MATCHES, table_bytes, lambda: parquet_bytes(
                real.ids, real.days, np.arange(len(real)), real.arrow())),
                                    (GOALS, goal_bytes, lambda: goals_parquet(goals))):
            if "csv" in formats:
                name = f"{kind}/{part_name(0, 'csv')}"
                files[name] = store.write_file(partial / name, data)
            if "parquet" in formats:
                name = f"{kind}/{part_name(0, 'parquet')}"
                files[name] = store.write_file(partial / name, parquet())

        text = [t.decode("utf-8") for t in texts]
        answer = answers.answers(tables(text, real, goals))
        # Plain row-by-row code gives the same answers as the arrays: two algorithms, one answer.
        table_text, goal_text = table_bytes.decode("utf-8"), goal_bytes.decode("utf-8")
        for workload, by_rows in (
                ("wordcount", tutorial_wordcount(text)),
                ("home_advantage", tutorial_home_advantage(table_text)),
                ("unbeaten_streaks", row_by_row_unbeaten_streaks(table_text)),
                ("top_scorers", row_by_row_top_scorers(goal_text, table_text))):
            if by_rows != answer[workload]:
                raise RuntimeError(f"{workload}: the row-by-row code and the arrays disagree")
        counts = {"words": sum(answer["wordcount"].values()),
                  "lines": sum(len(t.splitlines()) for t in text),
                  "matches": len(real), "teams": len(answer["team_records"]),
                  "goals": len(goals), "scorers": len(set(goals.scorer))}
        doc = generate.manifest(NAME, params(formats), files, counts, answer)
        store.finish(partial, out / NAME, doc, replace)
    return doc
