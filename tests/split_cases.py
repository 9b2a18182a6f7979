"""Texts on which an engine's words must be exactly `str.split()`'s: shared by the engine tests."""

from __future__ import annotations

from pathlib import Path

#: One file each: tabs, CR LF, no-break and other Unicode spaces, separators str.isspace counts
#: (U+001C, U+0085), an empty file, no final newline, a zero-width space that is no space.
TEXTS = ["  leading and\ttabs  ", "crlf line\r\nnext\r\n", "nbsp\u00a0em\u2003space\u2028x",
         "", "no final newline", "Case case CASE, punctuation! kept.", "\x1cfs\x85nel\u3000",
         "\n\n  \n", "zero\u200bwidth is no space; Curaçao ünïcödé"]


def every_code_point() -> str:
    """Every code point of the Basic Multilingual Plane between two letters, one per word."""
    chars = (chr(i) for i in range(0x10000) if not 0xD800 <= i < 0xE000)
    return "".join(f"a{c}b " for c in chars)


def write_texts(folder: Path, texts: list[str]) -> tuple[str, ...]:
    """`texts` as part files in `folder` (UTF-8, bytes as given); their paths."""
    paths = []
    for i, text in enumerate(texts):
        path = folder / f"part-{i:05d}.txt"
        path.write_bytes(text.encode("utf-8"))
        paths.append(str(path))
    return tuple(paths)
