"""The real data that synthetic data imitates, as shipped in `datagen/tutorial/`.

* The text model: the novel's vocabulary with its word counts (`vocabulary.tsv`) and the number
  of words on its non-empty lines (`line_lengths.tsv`), both derived once from *A Tale of Two
  Cities* (`python -m datagen.model NOVEL` rewrites them).
* The match table: `match_results.csv`, parsed into numpy arrays, plus what the synthetic
  generator needs to write its rows fast (each real row's CSV bytes, a typed Arrow table).

Everything is loaded lazily and cached per process, so pool workers load it once.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

TUTORIAL_DIR = Path(__file__).resolve().parent / "tutorial"
MATCHES_FILE = "match_results.csv"
TEXT_SAMPLES = tuple(f"text_sample_{i}.txt" for i in range(7))
NOVEL_FILE = "a_tale_of_two_cities_pg98.txt"
VOCABULARY_FILE = "vocabulary.tsv"
LINE_LENGTHS_FILE = "line_lengths.tsv"
README_FILE = "README.md"

WORD_RE = re.compile(r"[a-z]+")
NOVEL_START = "*** START OF"
NOVEL_END = "*** END OF"


# --------------------------------------------------------------------------- text model


def novel_body(text: str) -> list[str]:
    """The novel's lines strictly between the `*** START OF` and `*** END OF` lines."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(NOVEL_START))
    end = next(i for i, line in enumerate(lines) if line.startswith(NOVEL_END))
    return lines[start + 1:end]


def derive_text_model(text: str) -> tuple[Counter[str], Counter[int]]:
    """(word -> count, words-per-line -> lines) of the novel; lines without words are left out."""
    words: Counter[str] = Counter()
    lengths: Counter[int] = Counter()
    for line in novel_body(text):
        tokens = WORD_RE.findall(line.lower())
        if tokens:
            words.update(tokens)
            lengths[len(tokens)] += 1
    return words, lengths


def write_text_model(novel: Path, folder: Path = TUTORIAL_DIR) -> None:
    """Derive the text model from the novel and write its two TSV files into `folder`."""
    words, lengths = derive_text_model(novel.read_text(encoding="utf-8"))
    vocab = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
    (folder / VOCABULARY_FILE).write_text(
        "".join(f"{w}\t{c}\n" for w, c in vocab), encoding="utf-8", newline="\n")
    (folder / LINE_LENGTHS_FILE).write_text(
        "".join(f"{n}\t{c}\n" for n, c in sorted(lengths.items())), encoding="utf-8",
        newline="\n")


def _read_tsv(path: Path) -> list[tuple[str, int]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, count = line.split("\t")
        rows.append((key, int(count)))
    return rows


@dataclass(frozen=True)
class TextModel:
    """The novel's vocabulary (most frequent first) and line-length histogram."""

    words: tuple[str, ...]
    counts: np.ndarray  # int64, per word
    line_lengths: np.ndarray  # int64, words on a line
    line_counts: np.ndarray  # int64, lines of that length

    @property
    def total_words(self) -> int:
        return int(self.counts.sum())

    @cached_property
    def line_probabilities(self) -> np.ndarray:
        return self.line_counts / self.line_counts.sum()

    @cached_property
    def mean_line_length(self) -> float:
        return float((self.line_lengths * self.line_counts).sum() / self.line_counts.sum())

    @cached_property
    def bytes_per_word(self) -> float:
        """Mean bytes a word takes in a text file, its separator included."""
        lengths = np.array([len(w) + 1 for w in self.words], dtype=np.float64)
        return float((lengths * self.counts).sum() / self.counts.sum())

    @cached_property
    def word_table(self):
        """Arrow binary array of 2V strings: word i then a space at i, then LF at V + i."""
        from datagen import arrowbuf

        encoded = [w.encode("ascii") for w in self.words]
        return arrowbuf.binaries([w + b" " for w in encoded] + [w + b"\n" for w in encoded])


@cache
def text_model(folder: Path = TUTORIAL_DIR) -> TextModel:
    vocab = _read_tsv(folder / VOCABULARY_FILE)
    lengths = _read_tsv(folder / LINE_LENGTHS_FILE)
    return TextModel(
        words=tuple(w for w, _ in vocab),
        counts=np.array([c for _, c in vocab], dtype=np.int64),
        line_lengths=np.array([int(n) for n, _ in lengths], dtype=np.int64),
        line_counts=np.array([c for _, c in lengths], dtype=np.int64),
    )


# --------------------------------------------------------------------------- match table


@dataclass(frozen=True)
class MatchTable:
    """A results table in the tutorial's columns, as numpy arrays (teams as ids into `teams`)."""

    dates: np.ndarray  # datetime64[D]
    date_text: tuple[str, ...]  # the ISO dates as written
    teams: tuple[str, ...]  # sorted distinct home and away teams
    home: np.ndarray  # int32 team ids
    away: np.ndarray
    home_score: np.ndarray  # int64
    away_score: np.ndarray
    tournament: tuple[str, ...]
    city: tuple[str, ...]
    country: tuple[str, ...]
    neutral: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.home)

    @cached_property
    def rest_bytes(self) -> list[bytes]:
        """Each row's CSV bytes after its date, from `,home_team` to the LF, as the csv
        module writes them (minimal quoting)."""
        home = [self.teams[i] for i in self.home]
        away = [self.teams[i] for i in self.away]
        rows = zip(home, away, map(str, self.home_score.tolist()),
                   map(str, self.away_score.tolist()), self.tournament, self.city, self.country,
                   ["True" if n else "False" for n in self.neutral.tolist()], strict=True)
        fields = {*self.teams, *self.tournament, *self.city, *self.country}
        if not any(c in f for f in fields for c in ',"\r\n'):
            # no field needs quoting: the csv module would write the fields as they are
            return [("," + ",".join(row) + "\n").encode("utf-8") for row in rows]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        out = []
        for row in rows:
            buf.seek(0)
            buf.truncate()
            writer.writerow(row)
            out.append(("," + buf.getvalue()).encode("utf-8"))
        return out

    @cached_property
    def csv_pieces(self):
        """(`,date` of every row, `rest_bytes` of every row) as Arrow binary arrays."""
        from datagen import arrowbuf

        dates = [b"," + d.encode("ascii") for d in self.date_text]
        return arrowbuf.binaries(dates), arrowbuf.binaries(self.rest_bytes)

    def arrow(self):
        """The rows as a typed Arrow table with `workloads.layout.PARQUET_COLUMNS`, string columns
        dictionary-encoded (fast to `take` and to write as Parquet: write them with
        `store_schema=False` so that they read back as plain strings)."""
        import pyarrow as pa

        from datagen import arrowbuf
        from workloads.layout import PARQUET_COLUMNS

        columns = [
            arrowbuf.dates(self.dates),
            arrowbuf.dictionary(self.home, self.teams),
            arrowbuf.dictionary(self.away, self.teams),
            arrowbuf.ints(self.home_score.astype(np.int32)),
            arrowbuf.ints(self.away_score.astype(np.int32)),
            arrowbuf.encode(self.tournament),
            arrowbuf.encode(self.city),
            arrowbuf.encode(self.country),
            arrowbuf.bools(self.neutral),
        ]
        return pa.table(columns, names=list(PARQUET_COLUMNS))


class TableError(ValueError):
    """A results table that does not have the tutorial's form."""


def parse_matches(data: bytes, source: str = MATCHES_FILE) -> MatchTable:
    """Parse a results table in the tutorial's CSV form (header, then one row per match)."""
    from workloads.layout import CSV_COLUMNS

    text = data.decode("utf-8")
    if '"' in text or "\r" in text:
        reader = csv.reader(io.StringIO(text, newline=""))
    else:  # no quoting and no CR: what the csv module would read is plain splitting
        reader = iter([line.split(",") for line in text.split("\n")[:-1]])
    header = next(reader, None)
    if header is None or tuple(header) != CSV_COLUMNS:
        raise TableError(f"{source}: header is {header!r}, expected {list(CSV_COLUMNS)}")
    rows = list(reader)
    if not rows or any(len(r) != len(CSV_COLUMNS) for r in rows):
        raise TableError(f"{source}: no rows, or rows without {len(CSV_COLUMNS)} fields")
    _, date, home, away, hs, as_, tournament, city, country, neutral = zip(*rows, strict=True)
    if not set(neutral) <= {"True", "False"}:
        raise TableError(f"{source}: neutral must be True or False")
    teams = tuple(sorted(set(home) | set(away)))
    ids = {t: i for i, t in enumerate(teams)}
    return MatchTable(
        dates=np.array(date, dtype="datetime64[D]"),
        date_text=tuple(date),
        teams=teams,
        home=np.array([ids[t] for t in home], dtype=np.int32),
        away=np.array([ids[t] for t in away], dtype=np.int32),
        home_score=np.array(hs, dtype=np.int64),
        away_score=np.array(as_, dtype=np.int64),
        tournament=tournament,
        city=city,
        country=country,
        neutral=np.array([n == "True" for n in neutral], dtype=bool),
    )


@cache
def csv_row_bytes(folder: Path = TUTORIAL_DIR) -> float:
    """Mean bytes of a real CSV row without its index field (for size estimates)."""
    data = (folder / MATCHES_FILE).read_bytes()
    rows = data.count(b"\n") - 1
    index = sum(len(str(i)) for i in range(rows))
    return (len(data) - data.index(b"\n") - 1 - index) / rows


@cache
def real_matches(folder: Path = TUTORIAL_DIR) -> MatchTable:
    """The tutorial's `match_results.csv`, parsed."""
    return parse_matches((folder / MATCHES_FILE).read_bytes())


def main(argv: list[str] | None = None) -> int:
    """`python -m datagen.model NOVEL [FOLDER]`: rewrite the text model from the novel."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        print("usage: python -m datagen.model NOVEL.txt [FOLDER]", file=sys.stderr)
        return 2
    folder = Path(args[1]) if len(args) == 2 else TUTORIAL_DIR
    write_text_model(Path(args[0]), folder)
    model = text_model.__wrapped__(folder)
    print(f"{folder}: {len(model.words)} words, {model.total_words} tokens, "
          f"{int(model.line_counts.sum())} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
