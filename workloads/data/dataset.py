"""Open a dataset folder written by `datagen`: its manifest, its files, and their integrity."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from workloads import spec
from workloads.layout import (
    FORMATS,
    MANIFEST,
    MANIFEST_FORMAT,
    MANIFEST_KEYS,
    SCALE_PREFIX,
    SUFFIX,
    TEXT,
    TEXT_FORMAT,
    TUTORIAL,
    scale_dirname,
)
from workloads.runtime.errors import DatasetError

#: The files of a dataset found whole, with what identifies each version of them: name -> [bytes,
#: mtime_ns, ctime_ns, inode, sha256].
VERIFIED = ".verified.json"


def datagen_command(path: Path, *flags: str) -> str:
    """The command, in backticks, that (re)generates the dataset at `path` with `flags`; for a
    folder datagen would not name so (it writes scale-N and tutorial), how to make one."""
    name, out = path.name, path.parent
    out_arg = "" if str(out) in ("data", ".") else f" --out {out}"
    extra = "".join(f" {flag}" for flag in flags)
    if name == TUTORIAL:
        return f"`python -m datagen --tutorial{out_arg}{extra}`"
    if name.startswith(SCALE_PREFIX):
        return f"`python -m datagen --scale {name.removeprefix(SCALE_PREFIX)}{out_arg}{extra}`"
    return (f"`python -m datagen --scale 1{out_arg}{extra}` and use {out / (SCALE_PREFIX + '1')} "
            f"(datagen names its datasets {SCALE_PREFIX}N and {TUTORIAL}, not {name})")


@dataclass(frozen=True)
class Input:
    """The files of one kind of input ("text", "matches"), in order, and their format ("txt",
    "csv" or "parquet")."""

    kind: str
    paths: tuple[str, ...]
    fmt: str

    def __post_init__(self) -> None:
        if not self.paths:
            raise DatasetError("no input files")


#: What a workload method receives: its inputs by kind ("text", "matches").
Inputs = Mapping[str, Input]


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
    def at_scale(cls, scale: str | float, root: str | os.PathLike[str]) -> Dataset:
        return cls.open(Path(root) / scale_dirname(scale))

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def manifest(self) -> dict[str, Any]:
        file = self.path / MANIFEST
        hint = f"run {datagen_command(self.path)}"
        if not file.is_file():
            raise DatasetError(f"no dataset at {self.path} (no {MANIFEST}): {hint}")
        try:
            manifest = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"unreadable manifest {file} ({exc}): run "
                               f"{datagen_command(self.path, '--force')}") from None
        missing = problems(manifest)
        if missing:
            raise DatasetError(f"incomplete dataset {self.path} (manifest lacks "
                               f"{', '.join(missing)}): run "
                               f"{datagen_command(self.path, '--force')}")
        return manifest

    def answer(self, workload: str) -> Any:
        """The expected answer of `workload` as the manifest records it."""
        return self.manifest["answers"][workload]

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(f for f in FORMATS if self._names("matches", f))

    def _names(self, kind: str, fmt: str) -> list[str]:
        return sorted(n for n in self.manifest["files"]
                      if n.startswith(kind + "/") and n.endswith(SUFFIX[fmt]))

    def input(self, kind: str, fmt: str = "csv") -> Input:
        """The files of one kind of input; tables in format `fmt`."""
        if kind == TEXT:
            fmt = TEXT_FORMAT
        elif fmt not in FORMATS:
            raise DatasetError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
        names = self._names(kind, fmt)
        if not names:
            raise DatasetError(f"dataset {self.path} has no {kind} files in {fmt}: run "
                               f"{datagen_command(self.path, '--formats', fmt, '--force')}")
        # absolute: workers of a cluster do not share the driver's working directory
        return Input(kind, tuple(str((self.path / n).absolute()) for n in names), fmt)

    def inputs(self, workload: str, fmt: str = "csv") -> dict[str, Input]:
        """What `workload` reads, by kind."""
        return {kind: self.input(kind, fmt) for kind in spec.get(workload).inputs}

    def verify(self, inputs: Iterable[Input] | None = None) -> None:
        """Check each file's size and sha256 against the manifest (all files by default)."""
        for name in self.damaged(inputs)[:1]:
            file = self.path / name
            if not file.is_file():
                raise DatasetError(f"{file} is missing from dataset {self.path}: run "
                                   f"{datagen_command(self.path, '--force')}")
            raise DatasetError(f"{file} no longer matches its sha256 in the manifest: "
                               f"run {datagen_command(self.path, '--force')}")

    def damaged(self, inputs: Iterable[Input] | None = None) -> list[str]:
        """The files (all, or those `inputs` read) that are missing or whose size or sha256
        differs from the manifest's.

        A file hashed whole once is not hashed again while its size, times and inode stay those
        it had then (`VERIFIED`): every run and benchmark process checks its data, and hashing
        gigabytes each time would cost more than many runs. Any write to a file changes its
        change time, which no one can set back."""
        files = self.manifest["files"]
        names = sorted(files) if inputs is None else [
            os.path.relpath(p, self.path.absolute()) for inp in inputs for p in inp.paths]
        whole = self._verified()
        found, bad = dict(whole), []
        for name in names:
            stamp = self._stamp(name)
            if stamp is not None and whole.get(name) == stamp:
                continue
            if (stamp is None or stamp[0] != files[name]["bytes"]
                    or sha256(self.path / name) != files[name]["sha256"]):
                bad.append(name)
                found.pop(name, None)
            else:
                found[name] = stamp
        if found != whole:
            self._remember(found)
        return bad

    def written(self) -> None:
        """Remember every file of the manifest as whole: `datagen` has just written them, and
        hashed each as it wrote it."""
        stamps = {name: self._stamp(name) for name in self.manifest["files"]}
        self._remember({name: stamp for name, stamp in stamps.items() if stamp is not None})

    def _stamp(self, name: str) -> list | None:
        """What identifies this version of file `name` (None if it is not a file)."""
        try:
            st = (self.path / name).stat()
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                self.manifest["files"][name]["sha256"]]

    def _verified(self) -> dict[str, list]:
        try:
            found = json.loads((self.path / VERIFIED).read_text())
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def _remember(self, found: dict[str, list]) -> None:
        """Write `VERIFIED` whole (a read-only dataset is simply hashed every time)."""
        tmp = self.path / f"{VERIFIED}.{os.getpid()}"
        try:
            tmp.write_text(json.dumps(found))
            os.replace(tmp, self.path / VERIFIED)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def problems(manifest: Any) -> list[str]:
    """What a manifest lacks to be complete for the workloads of the spec (empty: nothing)."""
    if not isinstance(manifest, dict):
        return ["its top-level object"]
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    answers = manifest.get("answers")
    if not isinstance(answers, dict):
        missing.append("answers")
    else:
        for w in spec.NAMES:
            if w not in answers:
                missing.append(f"answers.{w}")
            elif not spec.get(w).well_formed(answers[w]):
                missing.append(f"answers.{w} in its workload's form")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(e, dict) and {"bytes", "sha256"} <= set(e) for e in files.values()):
        missing.append("files (bytes and sha256 of each)")
    if manifest.get("format") != MANIFEST_FORMAT:
        missing.append(f"format {MANIFEST_FORMAT!r}")
    return list(dict.fromkeys(missing))


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
