"""The `tutorial` dataset: the course's real files, shipped in `datagen/tutorial/`.

Its files are byte-identical copies (the seven text samples as text parts 0-6, match_results.csv
as the one CSV part) plus the same table as typed Parquet. Its answers come from the parsed
arrays through `datagen.answers`, like every dataset's, and are checked against the tutorial's
own algorithms: word count by mapper, shuffler and reducer over lines split on spaces, and home
advantage by a row-wise function over the rows the csv module reads.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from datagen import answers, generate, model, store
from workloads.layout import MATCHES, TEXT, TEXT_FORMAT, TUTORIAL, part_name

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


def tables(texts: list[str], real: model.MatchTable) -> answers.Tables:
    """The tutorial's texts (as word counts) and match table as the generator's arrays."""
    counts = Counter(w for t in texts for w in t.split())
    words = sorted(counts)
    return answers.Tables(words, np.array([counts[w] for w in words], dtype=np.int64),
                          real.teams, real.home, real.away, real.home_score, real.away_score,
                          real.neutral)


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
            name = f"{TEXT}/{part_name(i, TEXT_FORMAT)}"
            files[name] = store.write_file(partial / name, data)
        if "csv" in formats:
            name = f"{MATCHES}/{part_name(0, 'csv')}"
            files[name] = store.write_file(partial / name, table_bytes)
        if "parquet" in formats:
            rows = np.arange(len(real))
            buf = parquet_bytes(rows, rows, real.arrow())
            name = f"{MATCHES}/{part_name(0, 'parquet')}"
            files[name] = store.write_file(partial / name, buf)

        text = [t.decode("utf-8") for t in texts]
        answer = answers.answers(tables(text, real))
        # The course's own code gives the same answers as the arrays: two algorithms, one answer.
        for workload, by_course in (
                ("wordcount", tutorial_wordcount(text)),
                ("home_advantage", tutorial_home_advantage(table_bytes.decode("utf-8")))):
            if by_course != answer[workload]:
                raise RuntimeError(f"{workload}: the course's code and the arrays disagree")
        counts = {"words": sum(answer["wordcount"].values()),
                  "lines": sum(len(t.splitlines()) for t in text),
                  "matches": len(real), "teams": len(answer["team_records"])}
        doc = generate.manifest(NAME, params(formats), files, counts, answer)
        store.finish(partial, out / NAME, doc, replace)
    return doc
