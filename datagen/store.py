"""Writing a dataset folder atomically.

A dataset is written into a hidden folder beside its target, `.<name>.partial-<host>-<pid>`;
its manifest is written last, and then the folder is renamed into place. A run that dies leaves
only the hidden folder, which is not a dataset (a name starting with "." never is) and which the
next run on this host removes once the process that owned it is gone. Replacing a dataset
(`--force`) moves the old folder aside only once the new one is complete.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Any

from workloads.data.dataset import Dataset
from workloads.layout import MANIFEST, PARTIAL_MARK
from workloads.runtime.errors import DatasetError

OLD_MARK = ".old-"
_STALE_RE = re.compile(r"^\.(?P<name>.+)(?:\.partial-|\.old-)(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)$")


def host_tag() -> str:
    """This host's name, reduced to letters, digits and dashes."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def partial_path(out: Path, name: str) -> Path:
    return out / f".{name}{PARTIAL_MARK}{host_tag()}-{os.getpid()}"


def _old_path(out: Path, name: str) -> Path:
    return out / f".{name}{OLD_MARK}{host_tag()}-{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: Path) -> list[Path]:
    """Remove the hidden folders that dead runs on this host left in `out`; return them."""
    removed = []
    if not out.is_dir():
        return removed
    host = host_tag()
    for entry in out.iterdir():
        m = _STALE_RE.match(entry.name)
        if not m or m["host"] != host or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(m["pid"])
        if pid != os.getpid() and pid_alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def write_file(path: Path, *chunks: Any) -> dict[str, Any]:
    """Write the chunks (bytes or other buffers) to `path`; return its manifest entry."""
    h = hashlib.sha256()
    size = 0
    with open(path, "wb") as f:
        for chunk in chunks:
            view = memoryview(chunk)
            f.write(view)
            h.update(view)
            size += view.nbytes
    return {"bytes": size, "sha256": h.hexdigest()}


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def _expand(value: Any, depth: int) -> bool:
    """Write this object one key per line? Small flat ones (a file's entry, a team's record,
    the params) stay on one line: readable, and the C encoder does most of the work."""
    if not isinstance(value, dict) or depth >= 3:
        return False
    return len(value) > 6 or any(isinstance(v, dict) for v in value.values())


def _pretty(value: Any, depth: int, out: list[str]) -> None:
    if not _expand(value, depth):
        out.append(_dumps(value))
        return
    pad = " " * (depth + 1)
    out.append("{\n")
    for i, key in enumerate(sorted(value)):
        out.append(f"{pad}{_dumps(str(key))}: ")
        _pretty(value[key], depth + 1, out)
        out.append(",\n" if i < len(value) - 1 else "\n")
    out.append(" " * depth + "}")


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as written: sorted keys, so equal content gives equal bytes."""
    out: list[str] = []
    _pretty(manifest, 0, out)
    return ("".join(out) + "\n").encode("utf-8")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete dataset at `folder`, or None when it is not one."""
    try:
        return Dataset.open(folder).manifest
    except DatasetError:
        return None


def damaged_files(folder: Path) -> list[str]:
    """Files of the dataset's manifest that are missing or whose content (sha256) differs."""
    return Dataset.open(folder).damaged()


def finish(partial: Path, target: Path, manifest: dict[str, Any], replace: bool) -> None:
    """Write the manifest into `partial`, then move `partial` into place at `target`.

    With `replace`, an existing `target` is moved aside (hidden) just before the new folder takes
    its name, and deleted after; without it an existing `target` is an error (FileExistsError).
    """
    (partial / MANIFEST).write_bytes(manifest_bytes(manifest))
    if not target.exists() and not target.is_symlink():
        _rename_new(partial, target)
        Dataset.open(target).written()
        return
    if not replace:
        raise FileExistsError(errno.EEXIST, "a dataset appeared meanwhile", str(target))
    old = _old_path(target.parent, target.name)
    os.rename(target, old)
    try:
        _rename_new(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(old, target)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:  # a link or a file that stood where the dataset goes (--force replaces it too)
        old.unlink()
    Dataset.open(target).written()


def _rename_new(src: Path, dst: Path) -> None:
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(errno.EEXIST, "a dataset appeared meanwhile", str(dst)) from exc
        raise
