"""Open a dataset folder written by `datagen`: its manifest, its files, and their integrity."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from datagen.layout import (
    FORMATS,
    MANIFEST,
    MANIFEST_FORMAT,
    MANIFEST_KEYS,
    MATCHES_DIR,
    TEXT_DIR,
    WORKLOADS,
    scale_dirname,
)
from workloads.spec import ParbenchError

Format = Literal["csv", "parquet"]
DATA_ENV = "PARBENCH_DATA"


class DatasetError(ParbenchError):
    """A dataset is missing, incomplete or altered."""


def data_root() -> str:
    """The data folder: $PARBENCH_DATA or `data/`."""
    return os.environ.get(DATA_ENV, "data")


def datagen_command(path: Path) -> str:
    """The command that (re)generates the dataset at `path`."""
    name, out = path.name, path.parent
    out_arg = "" if str(out) in ("data", ".") else f" --out {out}"
    if name == "tutorial":
        return f"python -m datagen --tutorial{out_arg}"
    scale = name.removeprefix("scale-") if name.startswith("scale-") else "N"
    return f"python -m datagen --scale {scale}{out_arg}"


@dataclass(frozen=True)
class Input:
    """The files one workload reads, in order, and their format ("txt", "csv" or "parquet")."""

    paths: tuple[str, ...]
    fmt: str

    def __post_init__(self) -> None:
        if not self.paths:
            raise DatasetError("no input files")


@dataclass(frozen=True)
class Dataset:
    """A generated dataset: a folder with a complete manifest."""

    path: Path

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Dataset:
        """Open and validate the manifest (not the file hashes: see `verify`)."""
        ds = cls(Path(path))
        ds.manifest  # noqa: B018 - raises DatasetError when missing or incomplete
        return ds

    @classmethod
    def at_scale(cls, scale: str | float, root: str | os.PathLike[str] | None = None) -> Dataset:
        return cls.open(Path(root or data_root()) / scale_dirname(scale))

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def manifest(self) -> dict[str, Any]:
        file = self.path / MANIFEST
        hint = f"run `{datagen_command(self.path)}`"
        if not file.is_file():
            raise DatasetError(f"no dataset at {self.path} (no {MANIFEST}): {hint}")
        try:
            manifest = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"unreadable manifest {file} ({exc}): {hint} --force") from None
        missing = [k for k in MANIFEST_KEYS if k not in manifest]
        missing += [f"answers.{w}" for w in WORKLOADS if w not in manifest.get("answers", {})]
        if missing or manifest.get("format") != MANIFEST_FORMAT:
            what = ", ".join(missing) or f"format {manifest.get('format')!r}"
            raise DatasetError(f"incomplete dataset {self.path} (manifest lacks {what}): "
                               f"{hint} --force")
        return manifest

    def answer(self, workload: str) -> Any:
        """The expected answer of `workload` as the manifest records it."""
        return self.manifest["answers"][workload]

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(f for f in FORMATS if self._names(MATCHES_DIR, "." + f))

    def _names(self, folder: str, suffix: str) -> list[str]:
        return sorted(n for n in self.manifest["files"]
                      if n.startswith(folder + "/") and n.endswith(suffix))

    def input(self, data: str, fmt: str = "csv") -> Input:
        """The files of `data` ("text" or "matches"), matches in format `fmt`."""
        if data == "text":
            names, fmt = self._names(TEXT_DIR, ".txt"), "txt"
        else:
            if fmt not in FORMATS:
                raise DatasetError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
            names = self._names(MATCHES_DIR, "." + fmt)
            if not names:
                raise DatasetError(f"dataset {self.path} has no {fmt} files: run "
                                   f"`{datagen_command(self.path)} --formats {fmt} --force`")
        # absolute: workers of a cluster do not share the driver's working directory
        return Input(tuple(str((self.path / n).absolute()) for n in names), fmt)

    def verify(self, names: list[str] | None = None) -> None:
        """Check each file's size and sha256 against the manifest."""
        files = self.manifest["files"]
        for name in names or sorted(files):
            file = self.path / name
            if not file.is_file():
                raise DatasetError(f"{file} is missing from dataset {self.path}: run "
                                   f"`{datagen_command(self.path)} --force`")
            if file.stat().st_size != files[name]["bytes"] or sha256(file) != files[name]["sha256"]:
                raise DatasetError(f"{file} no longer matches its sha256 in the manifest: "
                                   f"run `{datagen_command(self.path)} --force`")


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
