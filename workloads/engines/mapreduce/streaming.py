"""The word-count mapper and reducer as Hadoop Streaming programs (text lines in, text lines out).

On a cluster they run unchanged::

    hadoop jar hadoop-streaming.jar -input text/ -output counts/ \\
        -mapper 'python -m workloads.engines.mapreduce mapper' \\
        -reducer 'python -m workloads.engines.mapreduce reducer'

and locally as ``cat text/* | python -m ... mapper | LC_ALL=C sort | python -m ... reducer``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from typing import Any, TextIO

from workloads.spec import ParbenchError

#: The mapper reads this many characters of lines at a time ...
CHUNK_CHARS = 1 << 20
#: ... and writes its combined counts out whenever it holds this many distinct words, so its
#: memory is bounded as Hadoop's sort buffer bounds a Java mapper's.
BUFFER_KEYS = 100_000


class StreamError(ParbenchError):
    """A Streaming program's input line is malformed."""


def word_pairs(lines: Iterable[str]) -> Iterator[tuple[str, int]]:
    """(word, 1) for every `str.split` token of every line (plain mappers)."""
    for line in lines:
        for word in line.split():
            yield word, 1


def total(key: str, values: Iterable[int], cache: Any = None) -> int:
    """Sum of a key's counts (the reducer of wordcount and home_advantage)."""
    return sum(values)


def _write(counts: Iterable[tuple[str, int]], out: TextIO) -> None:
    out.writelines(f"{word}\t{count}\n" for word, count in counts)


def mapper(lines: TextIO, out: TextIO, combine: bool = True) -> None:
    """`word\\t1` per word of the input, or with `combine` `word\\tcount` per word and buffer."""
    if not combine:
        _write(word_pairs(lines), out)
        return
    counts: Counter[str] = Counter()
    while chunk := lines.readlines(CHUNK_CHARS):
        counts.update("".join(chunk).split())
        if len(counts) >= BUFFER_KEYS:
            _write(counts.items(), out)
            counts.clear()
    _write(counts.items(), out)


def parse(lines: Iterable[str], source: str = "<stdin>") -> Iterator[tuple[str, int]]:
    """(word, count) of each `word\\tcount` line; errors name the line."""
    for number, line in enumerate(lines, 1):
        word, tab, count = line.rstrip("\n").partition("\t")
        try:
            if not tab:
                raise ValueError
            yield word, int(count)
        except ValueError:
            raise StreamError(f"{source}:{number}: expected 'word<TAB>count', got {line!r}") \
                from None


def reducer(lines: TextIO, out: TextIO) -> None:
    """`word\\ttotal` per run of equal words in sorted `word\\tcount` lines (O(1) memory a key)."""
    for word, group in groupby(parse(lines), key=itemgetter(0)):
        out.write(f"{word}\t{total(word, (count for _, count in group))}\n")
