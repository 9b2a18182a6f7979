"""The `tutorial` dataset: the course's real files, shipped in `datagen/tutorial/`.

Its files are byte-identical copies (the seven text samples as text parts 0-6, match_results.csv
as the one CSV part) plus the same table as typed Parquet. Its answers come from the tutorial's
own algorithms: word count by mapper, shuffler and reducer over lines split on spaces, and home
advantage by a row-wise function over the rows the csv module reads; the other answers from the
parsed arrays, through `datagen.answers` like every dataset's.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from datagen import answers, generate, model, store
from datagen.layout import MATCHES_DIR, TEXT_DIR, TUTORIAL, part_name

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
    if row["neutral"] == "True":
        return 0
    home, away = int(row["home_score"]), int(row["away_score"])
    return (home > away) - (home < away)


def tutorial_home_advantage(table: str) -> int:
    return sum(advantage(row) for row in csv.DictReader(io.StringIO(table, newline="")))


# --------------------------------------------------------------------------- the dataset


def estimated_bytes(formats: tuple[str, ...]) -> int:
    size = sum((model.TUTORIAL_DIR / f).stat().st_size for f in model.TEXT_SAMPLES)
    csv_size = (model.TUTORIAL_DIR / model.MATCHES_FILE).stat().st_size
    return size + csv_size * (("csv" in formats) + 0.25 * ("parquet" in formats))


def tutorial_dataset(out: Path, formats: tuple[str, ...], replace: bool) -> dict[str, Any]:
    """Write the tutorial dataset at `out/tutorial`; return its manifest."""
    from datagen.synthetic import parquet_bytes

    src = model.TUTORIAL_DIR
    texts = [(src / f).read_bytes() for f in model.TEXT_SAMPLES]
    table_bytes = (src / model.MATCHES_FILE).read_bytes()
    real = model.parse_matches(table_bytes)
    with generate.partial_folder(out, NAME) as partial:
        files: dict[str, Any] = {}
        for i, data in enumerate(texts):
            name = f"{TEXT_DIR}/{part_name(i, 'text')}"
            files[name] = store.write_file(partial / name, data)
        if "csv" in formats:
            name = f"{MATCHES_DIR}/{part_name(0, 'csv')}"
            files[name] = store.write_file(partial / name, table_bytes)
        if "parquet" in formats:
            rows = np.arange(len(real))
            buf = parquet_bytes(rows, rows, real.arrow())
            name = f"{MATCHES_DIR}/{part_name(0, 'parquet')}"
            files[name] = store.write_file(partial / name, buf)

        text = [t.decode("utf-8") for t in texts]
        answer = {"wordcount": tutorial_wordcount(text)}
        answer.update(answers.match_answers(real.teams, real.home, real.away, real.home_score,
                                            real.away_score, real.neutral))
        by_rows = tutorial_home_advantage(table_bytes.decode("utf-8"))
        if by_rows != answer["home_advantage"]:  # two algorithms, one answer
            raise RuntimeError(f"home advantage: {by_rows} row by row, "
                               f"{answer['home_advantage']} from the arrays")
        answer["home_advantage"] = by_rows
        counts = {"words": sum(answer["wordcount"].values()),
                  "lines": sum(len(t.splitlines()) for t in text),
                  "matches": len(real), "teams": len(answer["team_records"])}
        doc = generate.manifest(NAME, params(formats), files, counts, answer)
        store.finish(partial, out / NAME, doc, replace)
    return doc
